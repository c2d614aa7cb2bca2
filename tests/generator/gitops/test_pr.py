"""``pipeforge pr`` against a real git server on loopback (git http-backend behind a token): the branch,
its commit, idempotent re-runs, people's commits, rejected pushes, wrong tokens, races and concurrency."""

from __future__ import annotations

import io
import json
import secrets
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from functools import cache
from pathlib import Path
from typing import Any

import pytest

from generator.bundle import digest
from generator.cli import main
from generator.gitops import mirror as mirror_module
from generator.gitops.branch import BranchResult, publish_branch
from generator.gitops.git import Credentials
from generator.scaffold import Pipeline, build
from generator.template_spec import find_template
from tests.conftest import template_variant
from tests.gitserver import SEED, GitServer, commit, run

TEMPLATE = "provision-process-publish"
TARGET = "apps/orders/pipeline"
BRANCH = "pipeforge/apps-orders-pipeline"


@cache
def pipeline(namespace: str = "orders") -> Pipeline:
    return build(find_template(TEMPLATE), {"namespace": namespace})


def pr(git_server: GitServer, *extra: str, path: str = TARGET) -> tuple[int, dict[str, Any] | str]:
    out = io.StringIO()
    code = main(["pr", TEMPLATE, "--repo", git_server.repo_url, "--path", path, "--json", *extra], out=out)
    return code, json.loads(out.getvalue()) if code == 0 else out.getvalue()


def remote(git_server: GitServer, *args: str) -> str:
    return run("git", "--git-dir", str(git_server.bare), *args)


def remote_branches(git_server: GitServer) -> list[str]:
    return remote(git_server, "for-each-ref", "--format=%(refname:short)", "refs/heads/").split()


def test_first_run_pushes_one_commit_holding_the_pipeline_folder_over_the_base(git_server: GitServer) -> None:
    code, result = pr(git_server, "--set", "namespace=orders")
    assert code == 0
    assert isinstance(result, dict)
    assert result["branch"] == BRANCH and result["changed"] is True and result["pull_request"] is None
    assert remote(git_server, "rev-parse", BRANCH) == result["commit"]
    assert remote(git_server, "rev-parse", f"{BRANCH}^") == remote(git_server, "rev-parse", "main")
    expected = pipeline("orders").files
    listed = remote(git_server, "ls-tree", "-r", "--name-only", BRANCH, "--", f"{TARGET}/").split()
    assert listed == sorted(f"{TARGET}/{name}" for name in expected)
    for name, text in expected.items():
        assert remote(git_server, "show", f"{BRANCH}:{TARGET}/{name}") + "\n" == text
    for name, text in SEED.items():  # the rest of the repository is untouched
        assert remote(git_server, "show", f"{BRANCH}:{name}") + "\n" == text
    message = remote(git_server, "log", "-1", "--format=%an <%ae>%n%B", BRANCH)
    digest = pipeline("orders").digest
    assert message.startswith(f"pipeforge <pipeforge@users.noreply.github.com>\npipeforge: {TEMPLATE} 1.0.0 in "
                              f"{TARGET}\n")
    assert f"Pipeforge-Target: {TARGET}" in message and f"Pipeforge-Digest: {digest}" in message


def test_author_is_configurable(git_server: GitServer) -> None:
    assert pr(git_server, "--author", "Deploy Bot <deploy-bot@example.com>")[0] == 0
    assert remote(git_server, "log", "-1", "--format=%an <%ae>|%cn <%ce>", BRANCH) == (
        "Deploy Bot <deploy-bot@example.com>|Deploy Bot <deploy-bot@example.com>")


def test_unchanged_rerun_commits_and_pushes_nothing(git_server: GitServer) -> None:
    first = pr(git_server)[1]
    before = len(git_server.requests)
    code, again = pr(git_server)
    assert code == 0 and isinstance(again, dict) and isinstance(first, dict)
    assert again == {**first, "changed": False}
    rerun = git_server.requests[before:]
    assert rerun and not [r for r in rerun if "receive-pack" in r[1]]  # not even the ref advertisement


def test_changed_parameters_update_the_same_branch_with_one_commit_over_the_base(git_server: GitServer) -> None:
    first = pr(git_server, "--set", "namespace=orders")[1]
    code, second = pr(git_server, "--set", "namespace=payments")
    assert code == 0 and isinstance(second, dict) and isinstance(first, dict)
    assert second["branch"] == first["branch"] == BRANCH and second["changed"] is True
    assert second["commit"] != first["commit"] and remote(git_server, "rev-parse", BRANCH) == second["commit"]
    assert remote(git_server, "rev-list", "--count", f"main..{BRANCH}") == "1"
    answers = remote(git_server, "show", f"{BRANCH}:{TARGET}/.pipeforge-answers.yaml")
    assert "namespace: payments" in answers
    assert remote_branches(git_server) == ["main", BRANCH]


def test_a_persons_commit_on_the_branch_is_never_overwritten(git_server: GitServer, tmp_path: Path,
                                                             capsys: pytest.CaptureFixture[str]) -> None:
    pr(git_server, "--set", "namespace=orders")
    work = tmp_path / "person"
    run("git", "clone", "--quiet", "-b", BRANCH, str(git_server.bare), str(work))
    (work / TARGET / "extra.yaml").write_text("kind: ConfigMap\n")
    run("git", "-C", str(work), "add", "-A")
    theirs = commit(work, "add a config map")
    run("git", "-C", str(work), "push", "--quiet", "origin", BRANCH)
    pushes = git_server.receive_packs()
    capsys.readouterr()
    code, _ = pr(git_server, "--set", "namespace=payments")
    err = capsys.readouterr().err
    assert code == 3
    assert theirs[:12] in err and "Pat Person <pat@example.com>" in err and "never overwrites" in err
    assert remote(git_server, "rev-parse", BRANCH) == theirs
    assert git_server.receive_packs() == pushes


def test_a_rejected_push_leaves_nothing_behind_and_a_retry_converges(git_server: GitServer,
                                                                     capsys: pytest.CaptureFixture[str]) -> None:
    hook = git_server.bare / "hooks" / "pre-receive"
    hook.write_text("#!/bin/sh\necho 'policy: pushes are frozen until 10:00' >&2\nexit 1\n")
    hook.chmod(0o755)
    code, _ = pr(git_server)
    err = capsys.readouterr().err
    assert code == 4
    assert "refused" in err and "pushes are frozen" in err and "nothing changed on the remote" in err
    assert remote_branches(git_server) == ["main"]
    hook.unlink()
    code, result = pr(git_server)
    assert code == 0 and isinstance(result, dict) and result["changed"] is True
    assert remote(git_server, "rev-list", "--count", f"main..{BRANCH}") == "1"


def test_a_wrong_or_missing_token_is_a_clear_error_that_never_shows_the_token(
        git_server: GitServer, monkeypatch: pytest.MonkeyPatch, capfd: pytest.CaptureFixture[str]) -> None:
    wrong = "pf-wrong-" + secrets.token_hex(8)
    monkeypatch.setenv("PIPEFORGE_GIT_TOKEN", wrong)
    assert pr(git_server)[0] == 4
    err = capfd.readouterr().err
    assert "PIPEFORGE_GIT_TOKEN" in err and "refused the credentials" in err and wrong not in err
    monkeypatch.delenv("PIPEFORGE_GIT_TOKEN")
    assert pr(git_server)[0] == 4
    assert "PIPEFORGE_GIT_TOKEN" in capfd.readouterr().err
    assert remote_branches(git_server) == ["main"]
    assert all(status == 401 for _, _, status in git_server.requests)


def test_the_token_is_nowhere_on_disk_nor_in_any_output(git_server: GitServer, git_token: str, tmp_path: Path,
                                                        capfd: pytest.CaptureFixture[str],
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    """Even with the caller's environment asking git to trace its HTTP traffic or to use another repository."""
    for name in ("GIT_CURL_VERBOSE", "GIT_TRACE", "GIT_TRACE_CURL", "GIT_TRACE_PACKET"):
        monkeypatch.setenv(name, "1")
    monkeypatch.setenv("GIT_REDACT_COOKIES", "")
    monkeypatch.setenv("GIT_TRACE_REDACT", "0")
    monkeypatch.setenv("GIT_DIR", str(tmp_path / "elsewhere"))
    assert pr(git_server, "--set", "namespace=orders")[0] == 0
    pr(git_server, "--set", "namespace=orders")
    pr(git_server, "--set", "namespace=payments")
    captured = capfd.readouterr()
    secrets_ = [git_token.encode(), Credentials(git_server.repo_url, git_token).header_value.encode()]
    files = [p for p in tmp_path.rglob("*") if p.is_file()]
    assert any("mirrors" in p.parts for p in files)  # the cached mirror was really written
    leaks = [p for p in files if any(s in p.read_bytes() for s in secrets_)]
    assert leaks == []
    assert not any(s.decode() in captured.out + captured.err for s in secrets_)
    config = next((tmp_path / "cache" / "pipeforge" / "mirrors").glob("*.git")) / "config"
    assert git_server.repo_url in config.read_text()


@pytest.mark.race
def test_twenty_concurrent_identical_requests_give_one_branch_and_one_commit(git_server: GitServer,
                                                                           git_token: str) -> None:
    url = git_server.repo_url
    item = pipeline("orders")

    def request(_: int) -> BranchResult:
        return publish_branch(item, repo=url, path=TARGET, credentials=Credentials(url, git_token))

    with ThreadPoolExecutor(max_workers=20) as pool:
        results = list(pool.map(request, range(20)))  # the first error, if any, is raised here
    assert sum(r.changed for r in results) == 1
    assert {r.commit for r in results} == {remote(git_server, "rev-parse", BRANCH)}
    assert git_server.receive_packs() == 1
    assert remote(git_server, "rev-list", "--count", f"main..{BRANCH}") == "1"


@pytest.mark.race
def test_concurrent_writers_without_a_shared_lock_converge_through_the_lease(git_server: GitServer, git_token: str,
                                                                             tmp_path: Path) -> None:
    """Two machines (two caches, so two locks) racing: lost leases are re-fetched and decided again."""
    url = git_server.repo_url

    def request(cache_dir: Path) -> BranchResult:
        return publish_branch(pipeline("orders"), repo=url, path=TARGET, cache=cache_dir,
                              credentials=Credentials(url, git_token))

    with ThreadPoolExecutor(max_workers=12) as pool:
        results = list(pool.map(request, [tmp_path / f"machine-{i % 4}" for i in range(12)]))
    assert remote(git_server, "rev-list", "--count", f"main..{BRANCH}") == "1"
    assert {r.commit for r in results if not r.changed} <= {remote(git_server, "rev-parse", BRANCH)}


def test_a_branch_moved_between_fetch_and_push_is_fetched_again(git_server: GitServer, git_token: str, tmp_path: Path,
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    url = git_server.repo_url
    fetches: list[str] = []
    original = mirror_module.Mirror.fetch

    def fetch_then_someone_pushes(self: mirror_module.Mirror, base: str) -> None:
        original(self, base)
        fetches.append(base)
        if len(fetches) == 1:  # another pipeforge, elsewhere, pushes the same target with other values
            monkeypatch.setattr(mirror_module.Mirror, "fetch", original)
            publish_branch(pipeline("payments"), repo=url, path=TARGET, cache=tmp_path / "elsewhere",
                           credentials=Credentials(url, git_token))
            monkeypatch.setattr(mirror_module.Mirror, "fetch", fetch_then_someone_pushes)

    monkeypatch.setattr(mirror_module.Mirror, "fetch", fetch_then_someone_pushes)
    result = publish_branch(pipeline("orders"), repo=url, path=TARGET, credentials=Credentials(url, git_token))
    assert len(fetches) == 2 and result.changed and not result.created
    assert remote(git_server, "rev-parse", BRANCH) == result.commit
    assert "namespace: orders" in remote(git_server, "show", f"{BRANCH}:{TARGET}/.pipeforge-answers.yaml")


@pytest.mark.parametrize(("option", "value", "expected"), [
    ("--path", "../outside", "inside the repository"),
    ("--path", "/etc", "inside the repository"),
    ("--path", ".", "inside the repository"),
    ("--repo", "https://bob:hunter2@git.example.com/ops/deploy.git", "carries credentials"),
    ("--repo", "git.example.com:ops/deploy", "expected an https://"),
    ("--author", "nobody", "expected 'Name <email@example.com>'"),
    ("--base", "main:refs/heads/evil", "not a valid branch name"),
    ("--base", "-main", "not a valid branch name"),
])
def test_bad_input_is_reported_before_anything_is_fetched(git_server: GitServer, capsys: pytest.CaptureFixture[str],
                                                          option: str, value: str, expected: str) -> None:
    args = {"--repo": git_server.repo_url, "--path": TARGET} | {option: value}
    code = main(["pr", TEMPLATE, *(f"{k}={v}" for k, v in args.items())], out=io.StringIO())
    err = capsys.readouterr().err
    assert code == 2 and expected in err and "hunter2" not in err
    assert git_server.requests == []


def test_a_missing_base_branch_is_named(git_server: GitServer, capsys: pytest.CaptureFixture[str]) -> None:
    assert pr(git_server, "--base", "production")[0] == 4
    assert "--base" in capsys.readouterr().err
    assert remote_branches(git_server) == ["main"]


def test_human_output_says_what_happened(git_server: GitServer) -> None:
    outputs = []
    for values in (["--set", "namespace=orders"], ["--set", "namespace=orders"], ["--set", "namespace=payments"]):
        out = io.StringIO()
        assert main(["pr", TEMPLATE, "--repo", git_server.repo_url, "--path", TARGET, *values], out=out) == 0
        outputs.append(out.getvalue().splitlines()[0])
    assert outputs[0].startswith(f"Created {BRANCH} at ")
    assert outputs[1].startswith(f"{BRANCH} already holds this pipeline at ") and "nothing pushed" in outputs[1]
    assert outputs[2].startswith(f"Updated {BRANCH} at ")


@pytest.mark.parametrize(("cut", "changed_on_retry"), [("before", True), ("after", False)])
def test_a_connection_cut_during_the_push_is_an_error_and_a_retry_converges(
        git_server: GitServer, capsys: pytest.CaptureFixture[str], cut: str, changed_on_retry: bool) -> None:
    git_server.cuts = [cut, "before"]  # curl retries once on a fresh connection: cut that one too
    code, _ = pr(git_server)
    err = capsys.readouterr().err
    assert code == 4 and "cannot be told whether it arrived" in err and "Run again" in err
    code, result = pr(git_server)
    assert code == 0 and isinstance(result, dict) and result["changed"] is changed_on_retry
    assert remote(git_server, "rev-list", "--count", f"main..{BRANCH}") == "1"
    assert remote(git_server, "rev-parse", BRANCH) == result["commit"]


def test_two_paths_with_the_same_branch_name_do_not_overwrite_each_other(git_server: GitServer,
                                                                         capsys: pytest.CaptureFixture[str]) -> None:
    assert pr(git_server, path="apps/orders/pipeline")[0] == 0
    code, _ = pr(git_server, "--set", "namespace=payments", path="apps/orders-pipeline")
    err = capsys.readouterr().err
    assert code == 3 and "belongs to pipeforge's target 'apps/orders/pipeline'" in err and "another --path" in err
    assert remote(git_server, "ls-tree", "--name-only", f"{BRANCH}:apps") == "billing\norders"


@pytest.mark.race
def test_parallel_processes_give_one_branch_and_one_commit(git_server: GitServer) -> None:
    """Separate pipeforge processes (parallel CI jobs) share the lock in the cache."""
    command = [sys.executable, "-m", "generator", "pr", TEMPLATE, "--repo", git_server.repo_url, "--path", TARGET,
               "--json"]
    processes = [subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
                 for _ in range(4)]
    results = [json.loads(p.communicate(timeout=120)[0]) for p in processes]
    assert [p.returncode for p in processes] == [0] * 4
    assert sorted(r["changed"] for r in results) == [False, False, False, True]
    assert git_server.receive_packs() == 1 and len({r["commit"] for r in results}) == 1


def test_a_catalog_version_picked_by_range_is_rendered_and_named(git_server: GitServer, tmp_path: Path,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PIPEFORGE_DATABASE_URL", f"sqlite:///{tmp_path / 'catalog.db'}")
    folders = [template_variant(tmp_path, version=v) for v in ("1.0.0", "1.4.2", "2.0.0")]
    assert main(["catalog", "publish", *map(str, folders)], out=io.StringIO()) == 0
    out = io.StringIO()
    assert main(["pr", "demo-pipeline@^1.2", "--repo", git_server.repo_url, "--path", "jobs/demo", "--json",
                 "--set", "namespace=batch"], out=out) == 0
    result = json.loads(out.getvalue())
    message = remote(git_server, "log", "-1", "--format=%B", result["branch"])
    assert message.startswith("pipeforge: demo-pipeline 1.4.2 in jobs/demo\n")
    assert f"Pipeforge-Digest: {digest(folders[1])}" in message
    answers = remote(git_server, "show", f"{result['branch']}:jobs/demo/.pipeforge-answers.yaml")
    assert "version: 1.4.2" in answers and "namespace: batch" in answers


def test_a_base_that_moved_on_is_followed_from_a_shallow_mirror(git_server: GitServer, tmp_path: Path) -> None:
    first = pr(git_server, "--set", "namespace=orders")[1]
    work = tmp_path / "person"
    run("git", "clone", "--quiet", str(git_server.bare), str(work))
    for index in range(3):
        (work / f"change-{index}.txt").write_text(f"{index}\n")
        run("git", "-C", str(work), "add", "-A")
        commit(work, f"unrelated change {index}")
    run("git", "-C", str(work), "push", "--quiet", "origin", "main")
    code, same = pr(git_server, "--set", "namespace=orders")
    assert code == 0 and isinstance(same, dict) and isinstance(first, dict)
    assert same == {**first, "changed": False}  # PATH holds the same files: the moved base alone is no reason
    code, other = pr(git_server, "--set", "namespace=payments")
    assert code == 0 and isinstance(other, dict) and other["changed"] is True
    assert remote(git_server, "rev-parse", f"{BRANCH}^") == remote(git_server, "rev-parse", "main")
    assert remote(git_server, "show", f"{BRANCH}:change-2.txt") == "2"
    mirror = next((tmp_path / "cache" / "pipeforge" / "mirrors").glob("*.git"))
    assert run("git", "--git-dir", str(mirror), "rev-parse", "--is-shallow-repository") == "true"


def test_the_mirror_packs_its_loose_objects_instead_of_growing_without_bound(
        git_server: GitServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(mirror_module, "GC_LOOSE_OBJECTS", 5)
    for namespace in ("orders", "payments", "billing"):  # each render writes new blobs, trees and a commit
        assert pr(git_server, "--set", f"namespace={namespace}")[0] == 0
    mirror = next((tmp_path / "cache" / "pipeforge" / "mirrors").glob("*.git"))

    def objects() -> dict[str, int]:
        lines = run("git", "--git-dir", str(mirror), "count-objects", "-v").splitlines()
        return {key: int(value) for key, value in (line.split(": ") for line in lines) if value.isdigit()}

    def unreachable() -> int:
        return len(run("git", "--git-dir", str(mirror), "fsck", "--unreachable", "--no-reflogs").splitlines())

    assert pr(git_server, "--set", "namespace=billing")[1]["changed"] is False  # type: ignore[index]
    # What the branch still uses is packed; what the replaced renders left waits for git's prune expiry.
    assert objects()["in-pack"] > 0 and objects()["count"] == unreachable() > 0
    monkeypatch.setattr(mirror_module, "PRUNE_EXPIRE", "now")  # as if two weeks had passed
    assert pr(git_server, "--set", "namespace=billing")[1]["changed"] is False  # type: ignore[index]
    assert objects()["count"] == 0 and unreachable() == 0
    assert run("git", "--git-dir", str(mirror), "fsck", "--connectivity-only") == ""
