"""git through GitPython: the credential contract (token only in each call's environment, never in argv, logs or
messages), the caller's GIT_* variables dropped, and GitPython's errors mapped to pipeforge's exit codes."""

from __future__ import annotations

import io
import json
import logging
from pathlib import Path

import pytest

from generator.cli import main
from generator.errors import PipeforgeError
from generator.gitops.git import Credentials, Git, RemoteError
from tests.conftest import ROOT
from tests.generator.gitops.test_pr import BRANCH, TARGET, TEMPLATE, remote
from tests.gitserver import GitServer, run


def pr(git_server: GitServer, *extra: str) -> int:
    return main(["pr", TEMPLATE, "--repo", git_server.repo_url, "--path", TARGET, "--json", *extra], out=io.StringIO())


def test_every_git_call_goes_through_gitpython_and_its_log_never_holds_the_token(
        git_server: GitServer, git_token: str, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.DEBUG, logger="git.cmd"):
        assert pr(git_server) == 0
    logged = "\n".join(record.getMessage() for record in caplog.records)
    for command in ("'fetch'", "'hash-object'", "'mktree'", "'commit-tree'", "'push'", "--force-with-lease="):
        assert command in logged, command  # GitPython's Git object ran it (it logs each command line)
    header = Credentials(git_server.repo_url, git_token).header_value
    assert git_token not in logged and header not in logged


def test_the_callers_git_variables_are_dropped(git_server: GitServer, tmp_path: Path,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    """A caller inside another repository's hook (GIT_DIR, GIT_WORK_TREE, GIT_OBJECT_DIRECTORY... set) or with
    its own identity in the environment: pipeforge's mirror and commit are unaffected, the other repository
    untouched."""
    decoy = tmp_path / "decoy"
    run("git", "init", "--quiet", str(decoy))
    before = sorted(p.name for p in (decoy / ".git" / "objects").rglob("*"))
    variables = {"GIT_DIR": decoy / ".git", "GIT_WORK_TREE": decoy, "GIT_INDEX_FILE": decoy / ".git" / "index",
                 "GIT_OBJECT_DIRECTORY": decoy / ".git" / "objects", "GIT_COMMON_DIR": decoy / ".git",
                 "GIT_ALTERNATE_OBJECT_DIRECTORIES": decoy / ".git" / "objects", "GIT_NAMESPACE": "decoy",
                 "GIT_AUTHOR_NAME": "Caller", "GIT_AUTHOR_EMAIL": "caller@example.com",
                 "GIT_COMMITTER_NAME": "Caller", "GIT_COMMITTER_DATE": "2001-01-01T00:00:00"}
    with monkeypatch.context() as env:
        for name, value in variables.items():
            env.setenv(name, str(value))
        assert pr(git_server) == 0
    assert remote(git_server, "log", "-1", "--format=%an <%ae>|%cn <%ce>", BRANCH) == \
        "pipeforge <pipeforge@users.noreply.github.com>|pipeforge <pipeforge@users.noreply.github.com>"
    assert remote(git_server, "log", "-1", "--format=%cd", "--date=format:%Y", BRANCH) != "2001"
    assert remote(git_server, "for-each-ref", "--format=%(refname)", "refs/namespaces") == ""
    assert sorted(p.name for p in (decoy / ".git" / "objects").rglob("*")) == before


def test_a_git_failure_through_gitpython_is_scrubbed_and_exits_4(git_server: GitServer, git_token: str,
                                                                  tmp_path: Path) -> None:
    git = Git(tmp_path / "mirror.git", Credentials(git_server.repo_url, git_token))
    git.init_bare({("gc", "auto"): "0"})
    header = Credentials(git_server.repo_url, git_token).header_value
    for secret in (git_token, header):
        with pytest.raises(RemoteError) as raised:
            git.run("cat-file", "blob", secret)  # git names the object it cannot find: the secret, in its stderr
        assert secret not in raised.value.message and "***" in raised.value.message
        assert raised.value.message.startswith("git cat-file failed") and raised.value.exit_code == 4
        with pytest.raises(RemoteError) as blob:
            git.blob(secret)
        assert secret not in blob.value.message


def test_a_mirror_that_cannot_be_created_is_a_clear_error(tmp_path: Path, git_server: GitServer,
                                                          capfd: pytest.CaptureFixture[str],
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    cache = tmp_path / "cache-is-a-file"
    cache.write_text("not a folder", encoding="utf-8")
    monkeypatch.setenv("XDG_CACHE_HOME", str(cache))
    assert pr(git_server) != 0
    err = capfd.readouterr().err
    assert "pipeforge: error:" in err and "Traceback" not in err


def test_git_missing_from_path_is_named_without_a_traceback(git_server: GitServer, tmp_path: Path,
                                                            capfd: pytest.CaptureFixture[str],
                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "empty-bin").mkdir()
    with monkeypatch.context() as env:
        env.setenv("PATH", str(tmp_path / "empty-bin"))
        assert pr(git_server) == PipeforgeError.exit_code
    err = capfd.readouterr().err
    assert "git is not installed (or not on PATH)" in err and "Traceback" not in err
    out = io.StringIO()
    assert main(["pr", TEMPLATE, "--repo", git_server.repo_url, "--path", TARGET, "--json"], out=out) == 0
    assert json.loads(out.getvalue())["changed"] is True


@pytest.mark.parametrize(("stderr", "says"), [
    ("fatal: unable to access 'http://127.0.0.1:40389/a.git/': Failed to connect to 127.0.0.1 port 40389 after "
     "0 ms: Couldn't connect to server", "cannot be reached"),
    ("fatal: unable to access 'http://127.0.0.1:8080/a.git/': The requested URL returned error: 403",
     "refused the credentials"),
    ("remote: HTTP Basic: Access denied\nfatal: Authentication failed for 'https://git.example/a.git/'",
     "refused the credentials"),
])
def test_git_messages_are_explained_by_what_happened_not_by_digits_of_a_port(stderr: str, says: str) -> None:
    from generator.gitops.git import explain

    assert says in explain(stderr)


def test_a_fresh_process_without_git_says_so(git_server: GitServer, tmp_path: Path) -> None:
    """GitPython refuses to import when it finds no git: that is the same clear error, exit 2."""
    import subprocess
    import sys

    (tmp_path / "no-git").mkdir()
    done = subprocess.run([sys.executable, "-m", "generator", "pr", TEMPLATE, "--repo", git_server.repo_url,
                           "--path", TARGET], env={"PATH": str(tmp_path / "no-git"), "HOME": str(tmp_path),
                                                   "PYTHONPATH": str(ROOT)},
                          capture_output=True, text=True, check=False)
    assert done.returncode == 2, done.stderr
    assert "git is not installed (or not on PATH)" in done.stderr and "Traceback" not in done.stderr
