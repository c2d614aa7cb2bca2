"""Template-controlled paths through the command line: ``pipeforge new --from-catalog``, ``upgrade`` (an
answers file that was tampered with) and ``pr`` (rendered paths and ``--path``). Each is refused with exit
code 2 and a message naming the path, nothing is written outside the destination and nothing is pushed."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.catalog.test_catalog_cli import run
from tests.gitserver import GitServer
from tests.hostile import path_template, tree_snapshot


@pytest.fixture(scope="module")
def published(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    """A catalog holding ``notes`` 1.0.0 and 1.1.0 (file variant) and ``notes-dir`` / ``notes-project``."""
    tmp_path = tmp_path_factory.mktemp("published")
    url = f"sqlite:///{tmp_path / 'catalog.db'}"
    sources = tmp_path / "sources"
    sources.mkdir()
    folders = [path_template(sources, name="notes", version=v) for v in ("1.0.0", "1.1.0")]
    folders += [path_template(sources, name="notes-dir", where="folder"),
                path_template(sources, name="notes-project", where="project")]
    done = run("catalog", "publish", *map(str, folders), url=url)
    assert done.returncode == 0, done.stderr
    work = tmp_path / "work" / "deeper"
    work.mkdir(parents=True)
    return work, url


@pytest.mark.parametrize(("template", "payload"), [
    ("notes", "../escaped.txt"), ("notes", "/tmp/pipeforge-absolute-new"), ("notes", ".GIT/hooks/post-checkout"),
    ("notes-dir", "../../escaped"), ("notes-dir", "git~1"), ("notes-dir", ".gitmodules"),
    ("notes-project", "../../escaped-project"), ("notes-project", "/tmp/pipeforge-project"),
    ("notes-project", "a/b"), ("notes-project", ".git."),
])
def test_new_from_the_catalog_refuses_a_path_that_escapes_and_writes_nothing(
        published: tuple[Path, str], template: str, payload: str) -> None:
    work, url = published
    before = tree_snapshot(work.parent.parent)
    args = ["new", f"{template}@1.0.0", "--from-catalog", "--no-input", "--set", f"notes_file={payload}"]
    if template != "notes-project":
        args += ["-o", "out"]
    result = run(*args, url=url, cwd=work)
    assert result.returncode == 2, result.stdout + result.stderr
    assert "would not stay inside the new folder" in result.stderr and payload in result.stderr
    assert tree_snapshot(work.parent.parent) == before
    assert not Path(payload).is_absolute() or not Path(payload).exists()


def test_upgrade_refuses_an_answers_file_that_names_a_path_outside(published: tuple[Path, str]) -> None:
    work, url = published
    assert run("new", "notes@1.0.0", "--from-catalog", "--no-input", "-o", "upgraded", url=url,
               cwd=work).returncode == 0
    answers = work / "upgraded" / ".pipeforge-answers.yaml"
    answers.write_text(re.sub(r"notes_file: .*", "notes_file: ../../../upgraded-escape.txt", answers.read_text()))
    before = {p: p.read_bytes() for p in (work / "upgraded").iterdir()}
    result = run("upgrade", "upgraded", "--to", "1.1.0", url=url, cwd=work)
    assert result.returncode == 2, result.stdout + result.stderr
    assert "upgraded-escape.txt" in result.stderr and "would not stay inside" in result.stderr
    assert {p: p.read_bytes() for p in (work / "upgraded").iterdir()} == before
    assert not list(work.parents[2].rglob("upgraded-escape.txt"))


@pytest.mark.parametrize("payload", ["../../../../pr-escape", ".Git/hooks/pre-push", "x/./y"])
def test_pr_refuses_a_rendered_path_before_any_network_call(published: tuple[Path, str], git_server: GitServer,
                                                            payload: str) -> None:
    work, url = published
    result = run("pr", "notes@1.0.0", "--from-catalog", "--repo", git_server.repo_url, "--path", "apps/notes",
                 "--set", f"notes_file={payload}", url=url, cwd=work)
    assert result.returncode == 2, result.stdout + result.stderr
    assert "would not stay inside" in result.stderr
    assert git_server.requests == []


@pytest.mark.parametrize("path", [".GIT/hooks", "git~1/hooks", ".gitmodules", "apps/.GITMODULES/x", "apps/.git./x",
                                  "apps\\..\\..\\x"])
def test_pr_refuses_a_path_into_git_on_any_file_system(published: tuple[Path, str], git_server: GitServer,
                                                       path: str) -> None:
    work, url = published
    result = run("pr", "notes@1.0.0", "--from-catalog", "--repo", git_server.repo_url, "--path", path, url=url,
                 cwd=work)
    assert result.returncode == 2, result.stdout + result.stderr
    assert "--path" in result.stderr
    assert git_server.receive_packs() == 0


def test_pr_upgrade_refuses_a_tampered_answers_file_in_the_repository(published: tuple[Path, str],
                                                                      git_server: GitServer) -> None:
    work, url = published
    answers = '{"template": "notes", "version": "1.0.0", "parameters": {"notes_file": "../../../../tmp/pwned-cli"}}\n'
    git_server.create("acme/tampered", {"apps/notes/.pipeforge-answers.yaml": answers})
    result = run("pr", "--upgrade", "--to", "1.1.0", "--repo", git_server.url("acme/tampered"), "--path", "apps/notes",
                 url=url, cwd=work)
    assert result.returncode == 2, result.stdout + result.stderr
    assert "would not stay inside" in result.stderr
    assert git_server.receive_packs() == 0 and not Path("/tmp/pwned-cli").exists()
