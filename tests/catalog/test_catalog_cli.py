"""`pipeforge catalog ...` and `pipeforge new NAME@SPEC` as a user runs them: real databases, exit codes
0/1/2/3, and never a traceback for a user mistake. The command line runs in-process; help, an
unreachable database and the import check run the real process."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from generator.bundle import digest
from generator.yamlio import load_documents
from tests import clikit
from tests.conftest import ROOT, template_variant

MANIFEST = "[[cookiecutter.pipeline_name]][#{{}}#]/workflowtemplate.yaml"


def run(*args: str, url: str | None, cwd: Path | None = None, **env: str) -> subprocess.CompletedProcess[str]:
    """The command line in-process, on the catalog at ``url`` (None: the default one)."""
    result = clikit.run(*args, cwd=cwd or ROOT, env={"PIPEFORGE_DATABASE_URL": url, **env})
    assert "Traceback" not in result.stderr, result.stderr
    return result


def run_process(*args: str, url: str | None) -> subprocess.CompletedProcess[str]:
    """The real process: exit codes and messages as a shell sees them."""
    result = clikit.run_process(*args, cwd=ROOT, env={"PIPEFORGE_DATABASE_URL": url, "PYTHONPATH": str(ROOT)})
    assert "Traceback" not in result.stderr, result.stderr
    return result


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'cli-catalog.db'}"


def test_catalog_help_teaches_subcommands_specs_and_exit_codes() -> None:
    result = run_process("catalog", "--help", url=None)
    assert result.returncode == 0
    for word in ("publish", "list", "show", "yank", "unyank", "migrate", "PIPEFORGE_DATABASE_URL", "^1.2",
                 "3  conflict", "1  the template renders with lint errors"):
        assert word in result.stdout
    assert run_process("catalog", url=None).returncode == 2


def test_publish_list_show_yank_and_unyank(database_url: str, tmp_path: Path) -> None:
    v1, v2 = template_variant(tmp_path, version="1.0.0"), template_variant(tmp_path, version="1.1.0")
    published = run("catalog", "publish", str(v1), str(v2), "--publisher", "ci-bot", url=database_url)
    assert published.returncode == 0, published.stderr
    assert published.stdout.splitlines() == [
        f"Published demo-pipeline 1.0.0 ({digest(v1)}); lint: 0 warnings",
        f"Published demo-pipeline 1.1.0 ({digest(v2)}); lint: 0 warnings",
    ]
    again = run("catalog", "publish", str(v2), url=database_url)
    assert again.returncode == 0 and "already published with this content" in again.stdout

    listed = json.loads(run("catalog", "list", "--json", url=database_url).stdout)
    assert [(t["name"], t["latest"], [v["version"] for v in t["versions"]]) for t in listed] == [
        ("demo-pipeline", "1.1.0", ["1.0.0", "1.1.0"])]
    assert run("catalog", "list", url=database_url).stdout.startswith("demo-pipeline  1.1.0")

    shown = json.loads(run("catalog", "show", "demo-pipeline@~1.0", "--json", url=database_url).stdout)
    assert {k: shown[k] for k in ("name", "version", "digest", "yanked", "yank_reason", "publisher")} == {
        "name": "demo-pipeline", "version": "1.0.0", "digest": digest(v1), "yanked": False, "yank_reason": None,
        "publisher": "ci-bot"}
    assert shown["parameters"]["properties"]["namespace"]["default"] == "data-pipelines"

    yank = run("catalog", "yank", "demo-pipeline@1.1.0", "--reason", "leaks the scratch volume", url=database_url)
    assert (yank.returncode, yank.stdout) == (0, "Yanked demo-pipeline 1.1.0: leaks the scratch volume\n")
    assert json.loads(run("catalog", "show", "demo-pipeline", "--json", url=database_url).stdout)["version"] == "1.0.0"
    pinned = run("catalog", "show", "demo-pipeline@1.1.0", url=database_url)
    assert "YANKED: leaks the scratch volume" in pinned.stdout and "1.1.0 (yanked) <-" in pinned.stdout
    assert run("catalog", "unyank", "demo-pipeline@1.1.0", url=database_url).stdout == "Unyanked demo-pipeline 1.1.0\n"
    assert json.loads(run("catalog", "show", "demo-pipeline", "--json", url=database_url).stdout)["version"] == "1.1.0"


def test_other_content_under_a_published_version_exits_3_naming_both_digests(sqlite_url: str, tmp_path: Path) -> None:
    original, changed = template_variant(tmp_path), template_variant(tmp_path, note="changed")
    assert run("catalog", "publish", str(original), url=sqlite_url).returncode == 0
    result = run("catalog", "publish", str(changed), url=sqlite_url)
    assert result.returncode == 3
    assert digest(original) in result.stderr and digest(changed) in result.stderr
    assert result.stderr.startswith("pipeforge: error: demo-pipeline 1.0.0 is already published")


def test_each_folder_is_published_on_its_own_and_the_first_failure_sets_the_exit_code(
    sqlite_url: str, tmp_path: Path
) -> None:
    hostile = template_variant(tmp_path, version="2.0.0", folder="hostile")
    (hostile / "hooks").mkdir()
    (hostile / "hooks" / "post_gen_project.py").write_text("import shutil; shutil.rmtree('/')\n")
    good = template_variant(tmp_path, version="1.0.0")
    result = run("catalog", "publish", str(tmp_path / "missing"), str(hostile), str(good), url=sqlite_url)
    assert result.returncode == 2
    assert "missing: no such folder" in result.stderr
    assert f"{hostile} refused: 1 problem" in result.stderr and "cookiecutter hooks run code" in result.stderr
    assert "Published demo-pipeline 1.0.0" in result.stdout


def test_a_template_with_lint_errors_exits_1_listing_them(sqlite_url: str, tmp_path: Path) -> None:
    folder = template_variant(tmp_path)
    manifest = folder / MANIFEST
    manifest.write_text(manifest.read_text().replace('limit: "[[ retry_limit ]]"', ""))
    result = run("catalog", "publish", str(folder), url=sqlite_url)
    assert result.returncode == 1
    assert "lint errors; fix them before publishing" in result.stderr and "[PF201]" in result.stderr
    assert json.loads(run("catalog", "list", "--json", url=sqlite_url).stdout) == []


@pytest.mark.parametrize(("args", "says"), [
    (("catalog", "show", "nope"), "no template named 'nope' in the catalog; published: none yet"),
    (("catalog", "show", "demo@^x"), "is not a version spec"),
    (("catalog", "yank", "demo@1.0.0"), "the following arguments are required: --reason"),
    (("catalog", "yank", "demo", "--reason", "x"), "give NAME@VERSION with an exact version"),
    (("catalog", "unyank", "demo@1.0.0"), "no template named 'demo'"),
])
def test_user_mistakes_exit_2_with_a_message(sqlite_url: str, args: tuple[str, ...], says: str) -> None:
    result = run(*args, url=sqlite_url)
    assert result.returncode == 2 and says in result.stderr


def test_an_unreachable_database_exits_2_without_its_password() -> None:
    result = run_process("catalog", "list", url="postgresql://deployer:hunter2@127.0.0.1:1/catalog")
    assert result.returncode == 2
    assert "deployer:***@127.0.0.1:1/catalog" in result.stderr and "hunter2" not in result.stderr


def test_migrate_creates_then_reports_the_current_schema(sqlite_url: str) -> None:
    from catalog.migrate import HEAD

    first = run("catalog", "migrate", url=sqlite_url)
    assert first.returncode == 0 and f"from revision none to {HEAD}" in first.stdout
    assert f"is at the current schema (revision {HEAD})" in run("catalog", "migrate", url=sqlite_url).stdout


def test_new_renders_a_catalog_version_and_records_it(database_url: str, tmp_path: Path) -> None:
    folders = [template_variant(tmp_path, version=v) for v in ("1.0.0", "1.4.2", "2.0.0")]
    assert run("catalog", "publish", *map(str, folders), url=database_url).returncode == 0
    result = run("new", "demo-pipeline@^1.2", "--no-input", "-o", "out", "--set", "namespace=batch",
                 url=database_url, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert f"from demo-pipeline 1.4.2 ({digest(folders[1])})" in result.stdout
    (answers,) = load_documents((tmp_path / "out" / ".pipeforge-answers.yaml").read_text())
    assert (answers["template"], answers["version"], answers["digest"]) == ("demo-pipeline", "1.4.2",
                                                                          digest(folders[1]))
    assert answers["parameters"]["namespace"] == "batch"
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(".")) == [], "no staging left"


def test_new_prefers_a_local_template_unless_asked_for_the_catalog(sqlite_url: str, tmp_path: Path) -> None:
    builtin = ROOT / "templates" / "saga-compensation"
    mismatch = run("new", "saga-compensation@^2", "--no-input", url=sqlite_url, cwd=tmp_path)
    assert mismatch.returncode == 2 and "add --from-catalog" in mismatch.stderr
    missing = run("new", "saga-compensation@^1", "--from-catalog", "--no-input", url=sqlite_url, cwd=tmp_path)
    assert missing.returncode == 2 and "no template named 'saga-compensation' in the catalog" in missing.stderr
    assert run("catalog", "publish", str(builtin), url=sqlite_url).returncode == 0
    result = run("new", "saga-compensation@1.0.0", "--from-catalog", "--no-input", "--quiet", "-o", "o",
                 url=sqlite_url, cwd=tmp_path)
    assert result.returncode == 0 and f"({digest(builtin)})" in result.stdout


def test_an_unknown_template_names_local_and_catalog_and_creates_no_database(tmp_path: Path) -> None:
    result = run("new", "provison-process-publish", "--no-input", url=None, cwd=tmp_path,
                 XDG_DATA_HOME=str(tmp_path / "data"))
    assert result.returncode == 2
    assert "available: approval-gated-delete" in result.stderr and "the catalog is empty" in result.stderr
    assert not (tmp_path / "data").exists()


def test_the_local_paths_never_import_sqlalchemy(tmp_path: Path) -> None:
    for args in (["--help"], ["new", "provision-process-publish", "--no-input", "--quiet", "-o", "x"],
                 ["new", "provision-process-publish@^1", "--no-input", "--quiet", "-o", "y"]):
        result = subprocess.run([sys.executable, "-X", "importtime", "-m", "generator", *args], cwd=tmp_path,
                                capture_output=True, text=True, check=False, env={**os.environ,
                                                                                  "PYTHONPATH": str(ROOT)})
        assert result.returncode == 0, result.stderr
        assert "sqlalchemy" not in result.stderr and "alembic" not in result.stderr, args
