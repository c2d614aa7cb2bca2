"""Fakes of the pull-request endpoints of GitHub, GitLab and Gitea, on loopback, for ``pipeforge pr``.

Each speaks its forge's dialect (paths, authentication header, field names, the duplicate status: GitHub 422,
GitLab and Gitea 409; Gitea's edit answers 201). It checks what it receives (token, headers, JSON fields and
their types), checks against the real git server that the head and base branches exist (so a request is never
opened before its push), and can be told to fail: rate limits (with their headers), 5xx answers, a connection
cut after the work is done, or a list that misses an existing request (a lagging replica). Requests it would
refuse as malformed are recorded in ``violations``. The GitHub and Gitea dialects also check every request they
receive and every answer they give against the vendored slice of their forge's published API description
(tests/openapi_check.py); GitHub's answers start from that description's examples, Gitea's (whose description
has none) are complete objects of its PullRequest shape. GitLab is checked by hand-written rules only: no
package index this project can use ships GitLab's description."""

from __future__ import annotations

import json
import subprocess
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

from tests.gitserver import in_thread
from tests.openapi_check import DESCRIPTIONS


@dataclass(frozen=True)
class Dialect:
    name: str
    auth: tuple[str, str]  # header, value format with {token}
    prefix: str  # the collection's path for acme/deploy
    list_query: tuple[str, ...]  # query keys that must be present on a listing
    create_fields: dict[str, str]  # the forge's field name -> the fake's record field
    duplicate: int
    edit_method: str
    edit_status: int
    number: str
    url: str

    def render(self, record: dict[str, Any], *, simple: bool = False) -> dict[str, Any]:
        if self.name == "github":
            return _github_pull(record, simple=simple)
        if self.name == "gitea":
            return _gitea_pull(record)
        inverse = {v: k for k, v in self.create_fields.items()}
        body = {inverse[k]: record[k] for k in ("title", "body")}
        shape = {"source_branch": record["head"], "target_branch": record["base"],
                 "state": "opened" if record["open"] else "merged" if record.get("merged") else "closed"}
        return {self.number: record["number"], self.url: record["url"], **body, **shape}


def _github_pull(record: dict[str, Any], *, simple: bool) -> dict[str, Any]:
    """A complete pull-request object, as GitHub's description's example with this record's values."""
    github = DESCRIPTIONS["github"]
    pull = github.example("pull-request-simple-items")[0] if simple else github.example("pull-request")
    pull |= {"number": record["number"], "html_url": record["url"], "title": record["title"], "body": record["body"],
             "state": "open" if record["open"] else "closed", "requested_teams": [],
             "merged_at": "2024-01-02T00:00:00Z" if record.get("merged") else None}
    pull["head"]["ref"], pull["base"]["ref"] = record["head"], record["base"]
    return pull


_GITEA_USER = {"id": 1, "login": "acme", "login_name": "", "full_name": "Acme", "email": "acme@forge.example",
               "avatar_url": "https://forge.example/avatars/1", "language": "", "is_admin": False,
               "last_login": "2024-01-01T00:00:00Z", "created": "2024-01-01T00:00:00Z", "restricted": False,
               "active": True, "prohibit_login": False, "location": "", "website": "", "description": "",
               "visibility": "public", "followers_count": 0, "following_count": 0, "starred_repos_count": 0}
_GITEA_REPO = {"id": 1, "owner": _GITEA_USER, "name": "deploy", "full_name": "acme/deploy", "description": "",
               "empty": False, "private": False, "fork": False, "template": False, "mirror": False, "size": 10,
               "html_url": "https://forge.example/acme/deploy", "clone_url": "https://forge.example/acme/deploy.git",
               "ssh_url": "git@forge.example:acme/deploy.git", "default_branch": "main", "archived": False,
               "has_pull_requests": True, "open_pr_counter": 1, "created_at": "2024-01-01T00:00:00Z",
               "updated_at": "2024-01-01T00:00:00Z", "default_merge_style": "merge"}


def _gitea_pull(record: dict[str, Any]) -> dict[str, Any]:
    """A complete pull request as Gitea answers one. Gitea's description marks no field nullable, although a
    real server answers null for an unset milestone, assignee, merged_at, closed_at, due_date, merged_by and
    merge_commit_sha; the fake leaves those out rather than contradict the description."""
    number, url = record["number"], record["url"]

    def branch(name: str) -> dict[str, Any]:
        return {"label": name, "ref": name, "sha": f"{number:040x}", "repo_id": 1, "repo": _GITEA_REPO}

    return {"id": 1000 + number, "url": url, "number": number, "user": _GITEA_USER, "title": record["title"],
            "body": record["body"], "labels": [], "assignees": [], "state": "open" if record["open"] else "closed",
            "is_locked": False, "comments": 0, "html_url": url, "diff_url": f"{url}.diff",
            "patch_url": f"{url}.patch", "mergeable": True, "merged": bool(record.get("merged")),
            "base": branch(record["base"]),
            "head": branch(record["head"]), "merge_base": f"{0:040x}", "allow_maintainer_edit": False,
            "created_at": "2024-01-01T00:00:00Z", "updated_at": "2024-01-01T00:00:00Z"}


DIALECTS = {
    "github": Dialect("github", ("Authorization", "Bearer {token}"), "/repos/acme/deploy/pulls",
                      ("head", "state"), {"title": "title", "head": "head", "base": "base", "body": "body"},
                      422, "PATCH", 200, "number", "html_url"),
    "gitlab": Dialect("gitlab", ("PRIVATE-TOKEN", "{token}"), "/projects/acme%2Fdeploy/merge_requests",
                      ("source_branch", "state"), {"title": "title", "source_branch": "head",
                                                   "target_branch": "base", "description": "body"},
                      409, "PUT", 200, "iid", "web_url"),
    "gitea": Dialect("gitea", ("Authorization", "token {token}"), "/repos/acme/deploy/pulls",
                     ("state",), {"title": "title", "head": "head", "base": "base", "body": "body"},
                     409, "PATCH", 201, "number", "html_url"),
}


@dataclass
class FakeForge:
    dialect: Dialect
    token: str
    git_dir: Path  # the bare repository the branches must exist in
    port: int = 0
    records: list[dict[str, Any]] = field(default_factory=list)  # number, url, title, body, head, base, open
    requests: list[tuple[str, str, int]] = field(default_factory=list)
    fail_next: list[int] = field(default_factory=list)  # statuses to answer the next requests with
    #: rate-limit answers for the next requests: (status, headers), e.g. GitHub's (403, {"x-ratelimit-remaining":
    #: "0", "x-ratelimit-reset": "<unix time>"}); the request is not acted on, as a forge would not
    limit_next: list[tuple[int, dict[str, str]]] = field(default_factory=list)
    cut_after_create: int = 0  # create, then drop the connection without an answer (this many times)
    stale_lists: int = 0  # listings answer [] this many times, whatever exists
    violations: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def open_records(self) -> list[dict[str, Any]]:
        return [r for r in self.records if r["open"]]

    def branch_exists(self, branch: str) -> bool:
        done = subprocess.run(["git", "--git-dir", str(self.git_dir), "rev-parse", "--verify", "--quiet",
                               f"refs/heads/{branch}"], capture_output=True, check=False)
        return done.returncode == 0


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    fake: FakeForge

    def log_message(self, format: str, *args: object) -> None:
        del format, args

    def _send(self, status: int, payload: Any, headers: dict[str, str] | None = None) -> None:
        name = self.fake.dialect.name
        if name == "github" and isinstance(payload, dict) and "message" in payload:
            payload = {"documentation_url": "https://docs.github.com/rest", **payload}
        if name == "gitea" and isinstance(payload, dict) and "message" in payload:
            payload = {**payload, "url": "https://forge.example/api/swagger"}
        if name in DESCRIPTIONS:
            self.fake.violations += DESCRIPTIONS[name].check_response(self.command, urlsplit(self.path).path,
                                                                      status, payload)
        data = json.dumps(payload).encode()
        self.fake.requests.append((self.command, self.path, status))
        self.send_response(status)
        self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Content-Length", str(len(data)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(data)

    def _handle(self) -> None:
        try:
            self._dispatch()
        except (AssertionError, KeyError, ValueError) as exc:
            self.fake.violations.append(f"{self.command} {self.path}: {exc!r}")
            self._send(400, {"message": f"the fake refused a malformed request: {exc!r}"})

    def _dispatch(self) -> None:
        length = int(self.headers.get("Content-Length", "0") or 0)
        raw = self.rfile.read(length) if length else b""
        fake, dialect = self.fake, self.fake.dialect
        header, value = dialect.auth
        if self.headers.get(header) != value.format(token=fake.token):
            return self._send(401, {"message": "Bad credentials"})
        if dialect.name == "github":
            assert self.headers.get("Accept") == "application/vnd.github+json", self.headers.get("Accept")
            assert self.headers.get("X-GitHub-Api-Version") == "2022-11-28"
        if dialect.name in DESCRIPTIONS:
            parts = urlsplit(self.path)
            fake.violations += DESCRIPTIONS[dialect.name].check_request(
                self.command, parts.path, parse_qs(parts.query), json.loads(raw) if raw else None)
        with fake.lock:
            if fake.limit_next:
                status, headers = fake.limit_next.pop(0)
                return self._send(status, {"message": "API rate limit exceeded"}, headers)
            if fake.fail_next:
                return self._send(fake.fail_next.pop(0), {"message": "Server Error"})
            parts = urlsplit(self.path)
            if parts.path == dialect.prefix and self.command == "GET":
                return self._list(parse_qs(parts.query))
            if parts.path == dialect.prefix and self.command == "POST":
                return self._create(json.loads(raw))
            if parts.path.startswith(dialect.prefix + "/") and self.command == dialect.edit_method:
                return self._update(int(parts.path.rsplit("/", 1)[1]), json.loads(raw))
            return self._send(404, {"message": "Not Found"})

    def _list(self, query: dict[str, list[str]]) -> None:
        fake, dialect = self.fake, self.fake.dialect
        assert all(key in query for key in dialect.list_query), query
        if fake.stale_lists:
            fake.stale_lists -= 1
            return self._send(200, [])
        found = [r for r in fake.records if _state(dialect.name, r) == query["state"][0]]
        if dialect.name == "github":
            owner, _, branch = query["head"][0].partition(":")
            assert owner == "acme" and branch, query
            found = [r for r in found if r["head"] == branch]
        elif dialect.name == "gitlab":
            found = [r for r in found if r["head"] == query["source_branch"][0]]
        else:  # Gitea lists every open pull, a page at a time
            limit, page = int(query.get("limit", ["30"])[0]), int(query.get("page", ["1"])[0])
            found = found[(page - 1) * limit: page * limit]
        return self._send(200, [dialect.render(r, simple=True) for r in found])

    def _create(self, data: dict[str, Any]) -> None:
        fake, dialect = self.fake, self.fake.dialect
        record = {mine: data[theirs] for theirs, mine in dialect.create_fields.items()}
        assert all(isinstance(v, str) for v in record.values()), data
        if not fake.branch_exists(record["head"]) or not fake.branch_exists(record["base"]):
            return self._send(422, {"message": "Validation Failed: head or base does not exist"})
        if any(r["head"] == record["head"] for r in fake.open_records()):
            if dialect.name == "github":
                return self._send(422, {"message": "Validation Failed", "errors": [
                    {"resource": "PullRequest", "code": "custom",
                     "message": f"A pull request already exists for acme:{record['head']}."}]})
            return self._send(dialect.duplicate, {"message": "Another open merge request already exists for "
                                                             "this source branch"})
        number = len(fake.records) + 1
        record |= {"number": number, "open": True, "url": f"https://forge.example/acme/deploy/pulls/{number}"}
        fake.records.append(record)
        if fake.cut_after_create:
            fake.cut_after_create -= 1
            fake.requests.append((self.command, self.path, 0))
            self.close_connection = True
            self.connection.close()
            return None
        return self._send(201, dialect.render(record))

    def _update(self, number: int, data: dict[str, Any]) -> None:
        dialect = self.fake.dialect
        assert set(data) <= {"title", "description" if dialect.name == "gitlab" else "body"}, data
        record = next((r for r in self.fake.records if r["number"] == number), None)
        if record is None:
            return self._send(404, {"message": "Not Found"})
        record.update({dialect.create_fields[k]: v for k, v in data.items()})
        return self._send(dialect.edit_status, dialect.render(record))

    do_GET = do_POST = do_PATCH = do_PUT = _handle


def _state(dialect: str, record: dict[str, Any]) -> str:
    """The record's state as the dialect's list filter names it (GitLab alone tells merged from closed)."""
    if record["open"]:
        return "opened" if dialect == "gitlab" else "open"
    return "merged" if dialect == "gitlab" and record.get("merged") else "closed"


@contextmanager
def serving(fake: FakeForge) -> Iterator[FakeForge]:
    with in_thread(type("Handler", (_Handler,), {"fake": fake})) as port:
        fake.port = port
        yield fake
