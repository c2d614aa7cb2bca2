"""Repository URLs: strict parsing (``generator.gitops.urls``), the registry's allowlist compared segment by
segment, and git never following a redirect away from the server it was given."""

from __future__ import annotations

import os
import posixpath
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from urllib.parse import unquote, urlsplit

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from generator.errors import UsageError
from generator.gitops.branch import publish_branch
from generator.gitops.git import Credentials, RemoteError, check_url
from generator.gitops.urls import allowed, parse_repo_url
from generator.scaffold import build
from generator.template_spec import find_template
from registry_api.settings import Settings
from tests.conftest import ROOT
from tests.gitserver import GitServer, in_thread
from tests.hypokit import examples

PREFIX = "https://git.example.com/team/"
EXACT = "https://git.example.com/platform/deploy.git"
FILE_PREFIX = "file:///srv/repos/team/"
ALLOWLIST = [PREFIX, EXACT, FILE_PREFIX]

#: Each form that once passed a prefix test on the text, or that a server may read as another repository.
BYPASSES = (
    PREFIX + "../other/repo.git",
    PREFIX + "./../other/repo.git",
    PREFIX + "x/../../other/repo.git",
    PREFIX + "%2e%2e/other/repo.git",
    PREFIX + "%2E%2e/other/repo.git",
    PREFIX + ".%2E/other/repo.git",
    PREFIX + "%252e%252e/other/repo.git",
    PREFIX + "x%2f..%2f..%2fother/repo.git",
    PREFIX + "x%5c..%5c..%5cother/repo.git",
    PREFIX + "..\\other\\repo.git",
    PREFIX + "/../other/repo.git",
    PREFIX + "repo.git?/../../other",
    PREFIX + "repo.git#/../../other",
    PREFIX + "repo.git/..",
    PREFIX + "repo.git%00",
    "https://git.example.com/team",
    "https://git.example.com/teamx/repo.git",
    "https://git.example.com@evil.example/team/repo.git",
    "https://user:pw@git.example.com/team/repo.git",
    "https://git.example.com.evil.example/team/repo.git",
    "https://git.example.com:8443/team/repo.git",
    "http://git.example.com/team/repo.git",
    "https://git.example.com/platform/deploy.git/../../team-other.git",
    "https://git.example.com/platform/deploy.gitx",
    "https://git.example.com/platform/deploy.git.git",
    FILE_PREFIX + "../../../etc/repo.git",
    FILE_PREFIX + "%2e%2e/%2e%2e/etc/repo.git",
    "file://evil.example/srv/repos/team/repo.git",
    "file:///srv/repos/team//repo.git/../../x",
    " " + PREFIX + "repo.git",
    PREFIX + "repo.git\n",
    "https://git.example.com/team/rép.git",
)


@pytest.mark.parametrize("url", BYPASSES)
def test_no_bypass_form_is_allowed(url: str) -> None:
    assert not allowed(url, ALLOWLIST)


@pytest.mark.parametrize("url", [PREFIX + "repo.git", "HTTPS://Git.Example.COM/team/repo.git",
                                 "https://git.example.com:443/team/sub/repo.git", EXACT,
                                 "https://git.example.com/platform/deploy", "https://git.example.com/platform/deploy/",
                                 FILE_PREFIX + "repo.git", "file://localhost/srv/repos/team/repo.git",
                                 PREFIX + "my%20repo.git"])
def test_an_allowed_repository_is_allowed_in_every_equivalent_spelling(url: str) -> None:
    assert allowed(url, ALLOWLIST)


@pytest.mark.parametrize(("url", "says"), [
    (PREFIX + "../x.git", "'..' segment"), (PREFIX + "%2e%2e/x.git", "percent-encodes a dot"),
    ("https://u@git.example.com/x.git", "carries credentials"), (PREFIX + "x.git?ref=1", "query or fragment"),
    ("ftp://git.example.com/x.git", "expected an https://"), ("https://git.example.com:99999/x.git", "port"),
    ("git@github.com:acme/deploy.git", "expected an https://"), ("https:///x.git", "not a host name"),
])
def test_check_url_refuses_an_ambiguous_url_naming_the_rule(url: str, says: str) -> None:
    with pytest.raises(UsageError, match="--repo") as caught:
        check_url(url)
    assert says in caught.value.message


def test_a_malformed_allowlist_entry_stops_the_registry_at_start() -> None:
    with pytest.raises(ValueError, match=r"PIPEFORGE_PR_ALLOWED_REPOS entry.*'\.\.' segment"):
        Settings(pr_allowed_repos=["https://git.example.com/team/../"])


# --- Property: whatever a URL holds, an allowed one resolves inside the prefix, however it is decoded. --------

_PIECES = st.sampled_from(["a", "repo.git", ".", "..", "%2e", "%2E", "%252e", "%2f", "%5c", "/", "\\", "?", "#",
                           "@", ":", "%", "%41", "~", " ", "\t", "é", ".git"])


def _resolved(path: str) -> str:
    """The path as the most credulous server reads it: decoded twice, backslashes as slashes, dots resolved."""
    decoded = unquote(unquote(path)).replace("\\", "/")
    return posixpath.normpath(decoded)


@given(st.lists(_PIECES, max_size=10))
@settings(max_examples=examples(500))
def test_any_allowed_url_lies_inside_the_prefix_however_it_is_read(pieces: list[str]) -> None:
    url = PREFIX + "".join(pieces)
    if not allowed(url, [PREFIX]):
        return
    parts = urlsplit(url)
    assert parts.hostname == "git.example.com" and parts.port is None and not parts.username
    assert not parts.query and not parts.fragment
    assert _resolved(parts.path).startswith("/team/") and _resolved(parts.path) != "/team"


@given(st.text(st.sampled_from(list("aZ./%2eE5cf:@?#\\-_~")), max_size=40))
@settings(max_examples=examples(500))
def test_any_text_that_parses_has_no_dot_segment_after_decoding(tail: str) -> None:
    url = "https://h.example/" + tail
    try:
        parsed = parse_repo_url(url)
    except UsageError:
        return
    assert all(s not in ("", ".", "..") and "/" not in s and "\\" not in s for s in parsed.segments)


# --- Redirects: git is told not to follow them. --------------------------------------------------------------

@contextmanager
def redirecting_to(git_server: GitServer) -> Iterator[str]:
    """A loopback server (another origin) that answers every request with a redirect to ``git_server``."""

    class Redirect(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: object) -> None:
            del format, args

        def do_GET(self) -> None:
            self.send_response(302)
            self.send_header("Location", f"http://127.0.0.1:{git_server.port}{self.path}")
            self.send_header("Content-Length", "0")
            self.end_headers()

        do_POST = do_GET

    with in_thread(Redirect) as port:
        yield git_server.repo_url.replace(f":{git_server.port}/", f":{port}/")


def test_git_does_not_follow_a_redirect_from_the_given_server_to_another(git_server: GitServer,
                                                                          git_token: str) -> None:
    pipeline = build(find_template("provision-process-publish"), {})
    with redirecting_to(git_server) as url, pytest.raises(RemoteError):
        publish_branch(pipeline, repo=url, path="apps/orders/pipeline", credentials=Credentials(url, git_token))
    assert git_server.requests == [], "the redirected-to server was never contacted"


def test_an_entry_naming_a_whole_server_allows_its_repositories_only() -> None:
    assert allowed("https://git.example.com/any/repo.git", ["https://git.example.com/"])
    assert not allowed("https://git.example.com/", ["https://git.example.com/"])
    assert not allowed("https://git.example.com.evil/x.git", ["https://git.example.com/"])
    with pytest.raises(UsageError, match="names no repository path"):
        check_url("https://git.example.com/")


@pytest.mark.serve
def test_serve_with_a_malformed_allowlist_entry_exits_2_naming_it(tmp_path: Path) -> None:
    env = {**os.environ, "PYTHONPATH": str(ROOT),
           "PIPEFORGE_DATABASE_URL": f"sqlite:///{tmp_path / 'c.db'}",
           "PIPEFORGE_PR_ALLOWED_REPOS": "https://git.example.com/ok/ https://git.example.com/team/%2e%2e/"}
    done = subprocess.run([sys.executable, "-m", "generator", "serve", "--port", "1"], env=env, capture_output=True,
                          text=True, timeout=120, check=False)
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert "PIPEFORGE_PR_ALLOWED_REPOS entry 'https://git.example.com/team/%2e%2e/'" in done.stderr
    assert "percent-encodes a dot" in done.stderr
