"""`pipeforge upgrade` with real template versions in a real catalog: local edits kept, template changes
applied, overlapping edits as conflicts with markers, no-op at the target, downgrade refused, yanked
targets only by exact pin, dry run writes nothing; and the parameter migrations of template.yaml."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from generator.template_spec import load_template
from generator.upgrade import migrate_answers
from tests.clikit import run
from tests.conftest import ROOT

MANIFEST = "workflowtemplate.yaml"


def pipeforge(*args: str, cwd: Path, url: str) -> subprocess.CompletedProcess[str]:
    return run(*args, cwd=cwd, env={"PIPEFORGE_DATABASE_URL": url})


def version_of(source: Path, target: Path, version: str, edit: Any = None) -> Path:
    shutil.copytree(source, target)
    meta = target / "template.yaml"
    meta.write_text(meta.read_text(encoding="utf-8").replace("version: 1.0.0", f"version: {version}"),
                    encoding="utf-8")
    if edit:
        edit(target)
    return target


def pod_gc_on_completion(folder: Path) -> None:
    manifest = folder / "[[cookiecutter.pipeline_name]][#{{}}#]" / MANIFEST
    text = manifest.read_text(encoding="utf-8")
    manifest.write_text(text.replace("strategy: OnPodSuccess", "strategy: OnPodCompletion"), encoding="utf-8")


@pytest.fixture
def catalog(tmp_path: Path) -> tuple[Path, str]:
    """A catalog with saga-compensation 1.0.0 and 1.1.0 (which changes podGC), and a pipeline at 1.0.0."""
    url = f"sqlite:///{tmp_path / 'catalog.db'}"
    source = ROOT / "templates" / "saga-compensation"
    v1 = version_of(source, tmp_path / "v1" / "saga-compensation", "1.0.0")
    v2 = version_of(source, tmp_path / "v2" / "saga-compensation", "1.1.0", pod_gc_on_completion)
    for folder in (v1, v2):
        assert pipeforge("catalog", "publish", str(folder), cwd=tmp_path, url=url).returncode == 0
    made = pipeforge("new", "saga-compensation@1.0.0", "--from-catalog", "--no-input", "-o", "pipeline",
                     cwd=tmp_path, url=url)
    assert made.returncode == 0, made.stderr
    return tmp_path, url


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


def test_local_edit_kept_and_template_change_applied(catalog: tuple[Path, str]) -> None:
    work, url = catalog
    manifest = work / "pipeline" / MANIFEST
    edit(manifest, "secondsAfterSuccess: 3600", "secondsAfterSuccess: 600  # we keep less")
    result = pipeforge("upgrade", "pipeline", cwd=work, url=url)
    assert result.returncode == 0, result.stderr
    assert "from saga-compensation 1.0.0 to 1.1.0" in result.stdout
    text = manifest.read_text(encoding="utf-8")
    assert "secondsAfterSuccess: 600  # we keep less" in text and "strategy: OnPodCompletion" in text
    answers = (work / "pipeline" / ".pipeforge-answers.yaml").read_text(encoding="utf-8")
    assert "version: 1.1.0" in answers
    again = pipeforge("upgrade", "pipeline", cwd=work, url=url)
    assert again.returncode == 0 and "already at saga-compensation 1.1.0" in again.stdout


def test_overlapping_edit_is_a_listed_conflict_with_markers(catalog: tuple[Path, str]) -> None:
    work, url = catalog
    manifest = work / "pipeline" / MANIFEST
    edit(manifest, "strategy: OnPodSuccess", "strategy: OnWorkflowSuccess")
    result = pipeforge("upgrade", "pipeline", cwd=work, url=url)
    assert result.returncode == 1
    assert "conflict" in result.stdout and MANIFEST in result.stdout
    text = manifest.read_text(encoding="utf-8")
    assert "<<<<<<< local" in text and ">>>>>>> new template version" in text
    assert "OnWorkflowSuccess" in text and "OnPodCompletion" in text


def test_dry_run_prints_the_diff_and_writes_nothing(catalog: tuple[Path, str]) -> None:
    work, url = catalog
    before = {p: p.read_bytes() for p in (work / "pipeline").iterdir()}
    result = pipeforge("upgrade", "pipeline", "--dry-run", cwd=work, url=url)
    assert result.returncode == 0
    assert "-    strategy: OnPodSuccess" in result.stdout and "+    strategy: OnPodCompletion" in result.stdout
    assert {p: p.read_bytes() for p in (work / "pipeline").iterdir()} == before


def test_downgrade_is_refused_and_yanked_targets_need_an_exact_pin(catalog: tuple[Path, str]) -> None:
    work, url = catalog
    assert pipeforge("upgrade", "pipeline", "--to", "1.1.0", cwd=work, url=url).returncode == 0
    down = pipeforge("upgrade", "pipeline", "--to", "1.0.0", cwd=work, url=url)
    assert down.returncode == 2 and "downgrade" in down.stderr and "Traceback" not in down.stderr
    shutil.rmtree(work / "pipeline")
    assert pipeforge("new", "saga-compensation@1.0.0", "--from-catalog", "--no-input", "-o", "pipeline",
                     cwd=work, url=url).returncode == 0
    assert pipeforge("catalog", "yank", "saga-compensation@1.1.0", "--reason", "bad", cwd=work,
                     url=url).returncode == 0
    latest = pipeforge("upgrade", "pipeline", cwd=work, url=url)
    assert latest.returncode == 0 and "already at saga-compensation 1.0.0" in latest.stdout
    pinned = pipeforge("upgrade", "pipeline", "--to", "1.1.0", cwd=work, url=url)
    assert pinned.returncode == 0 and "to 1.1.0" in pinned.stdout


def test_a_folder_without_answers_is_refused(tmp_path: Path) -> None:
    (tmp_path / "plain").mkdir()
    result = pipeforge("upgrade", "plain", cwd=tmp_path, url=f"sqlite:///{tmp_path / 'c.db'}")
    assert result.returncode == 2 and ".pipeforge-answers.yaml" in result.stderr


def test_migrations_rename_drop_and_default_parameters(tmp_path: Path) -> None:
    folder = shutil.copytree(ROOT / "templates" / "saga-compensation", tmp_path / "saga")
    meta = folder / "template.yaml"
    meta.write_text(meta.read_text(encoding="utf-8").replace("version: 1.0.0", "version: 2.0.0") + (
        "migrations:\n"
        "  - version: 1.5.0\n    rename: {retries: retry_limit}\n"
        "  - version: 2.0.0\n    defaults: {compensation_retry_limit: 7}\n"), encoding="utf-8")
    target = load_template(folder)
    answers = {"retries": 4, "namespace": "orders", "obsolete": "x"}
    values, renamed, dropped, added = migrate_answers(answers, "1.0.0", target)
    assert renamed == {"retries": "retry_limit"} and values["retry_limit"] == 4
    assert dropped == ["obsolete"] and "obsolete" not in values
    assert added["compensation_retry_limit"] == 7 and values["namespace"] == "orders"
    assert migrate_answers({"retries": 4}, "1.6.0", target)[1] == {}  # already past the rename


@pytest.mark.parametrize(("block", "message"), [
    ("migrations: {version: 2.0.0}\n", "must be a list"),
    ("migrations:\n  - rename: {a: b}\n", "needs a version"),
    ("migrations:\n  - version: 2.0.0\n    renames: {a: b}\n", "unknown keys"),
    ("migrations:\n  - version: 2.0.0\n    rename: [a, b]\n", "rename must map"),
])
def test_malformed_migrations_are_refused_with_the_place(tmp_path: Path, block: str, message: str) -> None:
    from generator.errors import TemplateDefinitionError

    folder = shutil.copytree(ROOT / "templates" / "saga-compensation", tmp_path / "saga")
    meta = folder / "template.yaml"
    meta.write_text(meta.read_text(encoding="utf-8") + block, encoding="utf-8")
    with pytest.raises(TemplateDefinitionError, match=message):
        load_template(folder)
