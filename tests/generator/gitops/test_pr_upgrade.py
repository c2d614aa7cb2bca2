"""``pipeforge pr --upgrade`` against a real git server on loopback and real catalog versions: the pipeline
deployed on main (local edits included) is merged to the new version on the target's one stable branch;
local edits and the folder's other files are kept, overlapping edits become listed conflicts with
markers, a re-run pushes nothing, a folder at (or above) the target is left alone, and with a forge the
same pull request carries the changelog, the conflict checklist, lint and fault-matrix before and after."""

from __future__ import annotations

import io
import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from generator.cli import main
from generator.gitops.pull_request import read_metadata
from tests.conftest import template_variant
from tests.fake_forge import DIALECTS, FakeForge
from tests.fake_forge import serving as serving_forge
from tests.gitserver import GitServer, commit, run

TEMPLATE = "saga-compensation"
TARGET = "apps/saga/pipeline"
BRANCH = "pipeforge/apps-saga-pipeline"
MANIFEST = "workflowtemplate.yaml"
CHANGELOG = "Pods are now collected on completion, failed ones included."


def _pod_gc_on_completion(folder: Path) -> None:
    manifest = folder / "[[cookiecutter.pipeline_name]][#{{}}#]" / MANIFEST
    text = manifest.read_text(encoding="utf-8")
    manifest.write_text(text.replace("strategy: OnPodSuccess", "strategy: OnPodCompletion"), encoding="utf-8")


@pytest.fixture
def catalog(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """A catalog with saga-compensation 1.0.0 and 1.1.0 (podGC on completion, with a changelog)."""
    url = f"sqlite:///{tmp_path / 'catalog.db'}"
    monkeypatch.setenv("PIPEFORGE_DATABASE_URL", url)
    old = template_variant(tmp_path, name=TEMPLATE, version="1.0.0", base=TEMPLATE)
    new = template_variant(tmp_path, name=TEMPLATE, version="1.1.0", base=TEMPLATE, note=CHANGELOG)
    _pod_gc_on_completion(new)
    for folder in (old, new):
        assert main(["catalog", "publish", str(folder)], out=io.StringIO()) == 0
    return url


def cli(*args: str) -> tuple[int, str]:
    out = io.StringIO()
    code = main(list(args), out=out)
    return code, out.getvalue()


def upgrade(git_server: GitServer, *extra: str) -> tuple[int, dict[str, Any]]:
    code, text = cli("pr", "--upgrade", "--repo", git_server.repo_url, "--path", TARGET, "--json", *extra)
    return code, json.loads(text) if text.startswith("{") else {"text": text}


def remote(git_server: GitServer, *args: str) -> str:
    return run("git", "--git-dir", str(git_server.bare), *args)


@pytest.fixture
def deployed(git_server: GitServer, catalog: str, tmp_path: Path) -> Path:
    """1.0.0 delivered by `pipeforge pr` and merged into main by a person; a work clone of main."""
    del catalog  # in the environment
    code, _ = cli("pr", f"{TEMPLATE}@1.0.0", "--from-catalog", "--repo", git_server.repo_url, "--path", TARGET,
                  "--set", "namespace=saga")
    assert code == 0
    work = tmp_path / "work"
    run("git", "clone", "--quiet", str(git_server.bare), str(work))
    run("git", "-C", str(work), "merge", "--quiet", "--ff-only", f"origin/{BRANCH}")
    run("git", "-C", str(work), "push", "--quiet", "origin", "main")
    run("git", "-C", str(work), "push", "--quiet", "origin", f":{BRANCH}")  # merged: the branch is deleted
    return work


def edit_on_main(work: Path, old: str, new: str, *, extra: dict[str, str] | None = None) -> None:
    manifest = work / TARGET / MANIFEST
    text = manifest.read_text(encoding="utf-8")
    assert old in text
    manifest.write_text(text.replace(old, new, 1), encoding="utf-8")
    for name, content in (extra or {}).items():
        (work / TARGET / name).write_text(content, encoding="utf-8")
    run("git", "-C", str(work), "add", "-A")
    commit(work, "ops: local tuning")
    run("git", "-C", str(work), "push", "--quiet", "origin", "main")


def test_local_edit_kept_template_change_applied_other_files_carried_over(git_server: GitServer,
                                                                           deployed: Path) -> None:
    edit_on_main(deployed, "secondsAfterSuccess: 3600", "secondsAfterSuccess: 600  # we keep less",
                 extra={"configmap.yaml": "kind: ConfigMap  # ours, not the template's\n"})
    code, result = upgrade(git_server, "--to", "1.1.0")
    assert code == 0, result
    assert result["branch"] == BRANCH and result["changed"] is True and result["pull_request"] is None
    assert result["upgrade"]["from"] == "1.0.0" and result["upgrade"]["to"] == "1.1.0"
    assert result["upgrade"]["status"] == "opened" and result["upgrade"]["conflicts"] == []
    manifest = remote(git_server, "show", f"{BRANCH}:{TARGET}/{MANIFEST}")
    assert "secondsAfterSuccess: 600  # we keep less" in manifest and "strategy: OnPodCompletion" in manifest
    assert remote(git_server, "show", f"{BRANCH}:{TARGET}/configmap.yaml") == (
        "kind: ConfigMap  # ours, not the template's")
    answers = remote(git_server, "show", f"{BRANCH}:{TARGET}/.pipeforge-answers.yaml")
    assert "version: 1.1.0" in answers and "namespace: saga" in answers
    assert remote(git_server, "rev-parse", f"{BRANCH}^") == remote(git_server, "rev-parse", "main")
    message = remote(git_server, "log", "-1", "--format=%B", BRANCH)
    assert message.startswith(f"pipeforge: upgrade {TEMPLATE} 1.0.0 to 1.1.0 in {TARGET}")
    assert f"Pipeforge-Target: {TARGET}" in message


def test_rerun_pushes_nothing_and_merged_upgrade_is_up_to_date(git_server: GitServer, deployed: Path) -> None:
    first = upgrade(git_server)[1]
    pushes = git_server.receive_packs()
    code, again = upgrade(git_server)
    assert code == 0 and again["changed"] is False and again["commit"] == first["commit"]
    assert again["upgrade"]["status"] == "opened" and git_server.receive_packs() == pushes
    run("git", "-C", str(deployed), "pull", "--quiet", "origin", BRANCH)
    run("git", "-C", str(deployed), "push", "--quiet", "origin", "main")
    code, done = upgrade(git_server)
    assert code == 0 and done["upgrade"]["status"] == "up-to-date" and done["changed"] is False
    assert done["upgrade"]["from"] == "1.1.0" and git_server.receive_packs() == pushes
    code, text = cli("pr", "--upgrade", "--repo", git_server.repo_url, "--path", TARGET, "--to", "1.0.0")
    assert code == 0 and "not below 1.0.0: nothing to upgrade" in text and "downgrade is never proposed" in text


def test_overlapping_edit_is_a_listed_conflict_with_markers_on_the_branch(git_server: GitServer,
                                                                           deployed: Path) -> None:
    edit_on_main(deployed, "strategy: OnPodSuccess", "strategy: OnWorkflowSuccess")
    code, result = upgrade(git_server)
    assert code == 1
    assert result["upgrade"]["status"] == "conflict" and result["upgrade"]["conflicts"] == [MANIFEST]
    manifest = remote(git_server, "show", f"{BRANCH}:{TARGET}/{MANIFEST}")
    assert "<<<<<<< local" in manifest and ">>>>>>> new template version" in manifest
    assert "OnWorkflowSuccess" in manifest and "OnPodCompletion" in manifest
    code, text = cli("pr", "--upgrade", "--repo", git_server.repo_url, "--path", TARGET)
    assert code == 1 and f"1 conflict(s) to resolve on {BRANCH}" in text and "nothing pushed" in text


@pytest.mark.usefixtures("catalog")
def test_a_folder_pipeforge_did_not_make_is_refused_clearly(git_server: GitServer,
                                                            capsys: pytest.CaptureFixture[str]) -> None:
    code, _ = upgrade(git_server)
    err = capsys.readouterr().err
    assert code == 2 and f"{TARGET} on main holds no pipeline made by pipeforge" in err and "Traceback" not in err
    assert BRANCH not in remote(git_server, "for-each-ref", "--format=%(refname:short)")


@pytest.mark.parametrize(("argv", "message"), [
    (["pr", "--upgrade", TEMPLATE], "drop TEMPLATE"),
    (["pr", "--upgrade", "--set", "a=b"], "drop TEMPLATE, --set"),
    ([], "needs TEMPLATE"),
    (["pr", TEMPLATE, "--to", "1.1.0"], "--to goes with --upgrade"),
])
def test_usage_errors_exit_2_without_a_traceback(argv: list[str], message: str,
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    args = (argv or ["pr"]) + ["--repo", "https://git.example.com/ops/deploy.git", "--path", TARGET]
    assert main(args, out=io.StringIO()) == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err


@pytest.fixture
def forge(git_server: GitServer, git_token: str) -> Iterator[FakeForge]:
    with serving_forge(FakeForge(DIALECTS["github"], git_token, git_server.bare)) as fake:
        yield fake
    assert fake.violations == []


def test_the_upgrade_updates_the_targets_one_pull_request_with_a_reviewable_body(
        git_server: GitServer, deployed: Path, forge: FakeForge) -> None:
    render = ["pr", f"{TEMPLATE}@1.0.0", "--from-catalog", "--repo", git_server.repo_url, "--path", TARGET,
              "--set", "namespace=other", "--provider", "github", "--api-url", forge.url, "--json"]
    code, text = cli(*render)  # an open render PR for the target: the upgrade takes over the same one
    assert code == 0 and json.loads(text)["pull_request"]["action"] == "created"
    edit_on_main(deployed, "strategy: OnPodSuccess", "strategy: OnWorkflowSuccess")
    code, result = upgrade(git_server, "--provider", "github", "--api-url", forge.url)
    assert code == 1 and result["pull_request"]["action"] == "updated" and result["pull_request"]["number"] == 1
    assert len(forge.records) == 1
    pull = forge.records[0]
    assert pull["title"] == f"pipeforge: upgrade {TEMPLATE} 1.0.0 to 1.1.0 in {TARGET} (conflicts to resolve)"
    body = pull["body"]
    assert f"**1.1.0**\n\n{CHANGELOG}" in body
    assert f"- [ ] `{TARGET}/{MANIFEST}`: local edits and the template change overlap" in body
    assert re.search(r"\| `pipeforge lint` \| 0 errors, \d+ warnings?, \d+ infos? \| not checked: conflict markers \|",
                     body), body
    assert re.search(r"\| `pipeforge simulate --matrix` \| PASSED: \d+ scenarios[^|]* \| not checked: conflict "
                     r"markers \|", body), body
    assert f"+++ b/{TARGET}/{MANIFEST}" in body and "+>>>>>>> new template version" in body
    metadata = read_metadata(body)
    assert metadata is not None and metadata["upgrade"] is True
    assert (metadata["from"], metadata["version"], metadata["conflicts"]) == ("1.0.0", "1.1.0", [MANIFEST])
    code, again = upgrade(git_server, "--provider", "github", "--api-url", forge.url)
    assert again["pull_request"]["action"] == "unchanged" and len(forge.records) == 1


@pytest.mark.usefixtures("deployed")
def test_without_conflicts_the_body_checks_the_merged_manifest_too(git_server: GitServer,
                                                                    forge: FakeForge) -> None:
    code, result = upgrade(git_server, "--provider", "github", "--api-url", forge.url)
    assert code == 0 and result["pull_request"]["action"] == "created"
    body = forge.records[0]["body"]
    assert forge.records[0]["title"] == f"pipeforge: upgrade {TEMPLATE} 1.0.0 to 1.1.0 in {TARGET}"
    assert "### Conflicts to resolve" not in body
    lint = re.search(r"\| `pipeforge lint` \| (0 errors[^|]*) \| (0 errors[^|]*) \|", body)
    matrix = re.search(r"\| `pipeforge simulate --matrix` \| (PASSED[^|]*) \| (PASSED[^|]*) \|", body)
    assert lint and matrix, body
    assert "-    strategy: OnPodSuccess" in body and "+    strategy: OnPodCompletion" in body


@pytest.mark.usefixtures("deployed")
def test_an_upgrade_a_person_declined_is_left_closed_until_the_next_version(git_server: GitServer,
                                                                            forge: FakeForge) -> None:
    assert upgrade(git_server, "--provider", "github", "--api-url", forge.url)[0] == 0
    forge.records[0]["open"] = False  # closed unmerged: "not this upgrade"
    pushes = git_server.receive_packs()
    code, result = upgrade(git_server, "--provider", "github", "--api-url", forge.url)
    assert code == 0 and result["upgrade"]["status"] == "declined" and result["changed"] is False
    assert result["pull_request"] == {"number": 1, "url": forge.records[0]["url"], "action": "declined"}
    assert git_server.receive_packs() == pushes and len(forge.records) == 1
