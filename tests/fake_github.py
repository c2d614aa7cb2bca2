"""A fake of the GitHub REST API's pull-request endpoints, on loopback, for ``pipeforge pr --provider github``.

It checks what it receives (token, media type, API version, JSON fields and their types), checks against
the real git server that the head and base branches exist (so a PR is never opened before its push),
answers 422 to a second open PR for one head as GitHub does, and can be told to fail: 5xx answers, a
connection cut after the work is done, or a list that misses an existing PR (a lagging replica).
Validation against GitHub's published OpenAPI description is not done here yet."""

from __future__ import annotations

import json
import subprocess
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit


@dataclass
class FakeGitHub:
    token: str
    git_dir: Path  # the bare repository the head branches must exist in
    owner: str = "acme"
    name: str = "deploy"
    port: int = 0
    pulls: list[dict[str, Any]] = field(default_factory=list)
    requests: list[tuple[str, str, int]] = field(default_factory=list)
    fail_next: list[int] = field(default_factory=list)  # statuses to answer the next requests with
    cut_after_create: int = 0  # create the PR, then drop the connection without an answer (this many times)
    stale_lists: int = 0  # GET /pulls answers [] this many times, whatever exists
    violations: list[str] = field(default_factory=list)  # requests GitHub would have refused as malformed
    lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def open_pulls(self) -> list[dict[str, Any]]:
        return [p for p in self.pulls if p["state"] == "open"]

    def branch_exists(self, branch: str) -> bool:
        done = subprocess.run(["git", "--git-dir", str(self.git_dir), "rev-parse", "--verify", "--quiet",
                               f"refs/heads/{branch}"], capture_output=True, check=False)
        return done.returncode == 0


def _problem(message: str, **extra: Any) -> dict[str, Any]:
    return {"message": message, "documentation_url": "https://docs.github.com/rest", **extra}


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    fake: FakeGitHub

    def log_message(self, format: str, *args: object) -> None:
        del format, args

    def _send(self, status: int, payload: Any) -> None:
        data = json.dumps(payload).encode()
        self.fake.requests.append((self.command, self.path, status))
        self.send_response(status)
        self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _handle(self) -> None:
        try:
            self._dispatch()
        except (AssertionError, KeyError, ValueError) as exc:
            self.fake.violations.append(f"{self.command} {self.path}: {exc!r}")
            self._send(400, _problem(f"the fake refused a malformed request: {exc!r}"))

    def _dispatch(self) -> None:
        length = int(self.headers.get("Content-Length", "0") or 0)
        raw = self.rfile.read(length) if length else b""
        fake = self.fake
        if self.headers.get("Authorization") != f"Bearer {fake.token}":
            return self._send(401, _problem("Bad credentials"))
        assert self.headers.get("Accept") == "application/vnd.github+json", self.headers.get("Accept")
        assert self.headers.get("X-GitHub-Api-Version") == "2022-11-28"
        with fake.lock:
            if fake.fail_next:
                return self._send(fake.fail_next.pop(0), _problem("Server Error"))
            parts = urlsplit(self.path)
            prefix = f"/repos/{fake.owner}/{fake.name}/pulls"
            if parts.path == prefix and self.command == "GET":
                return self._list(parse_qs(parts.query))
            if parts.path == prefix and self.command == "POST":
                return self._create(json.loads(raw))
            if parts.path.startswith(prefix + "/") and self.command == "PATCH":
                return self._update(int(parts.path.rsplit("/", 1)[1]), json.loads(raw))
            return self._send(404, _problem("Not Found"))

    def _list(self, query: dict[str, list[str]]) -> None:
        fake = self.fake
        head = query["head"][0]
        owner, _, branch = head.partition(":")
        assert owner == fake.owner and branch, head
        if fake.stale_lists:
            fake.stale_lists -= 1
            return self._send(200, [])
        found = [p for p in fake.open_pulls() if p["head"]["ref"] == branch and
                 (not query.get("base") or p["base"]["ref"] == query["base"][0])]
        return self._send(200, found)

    def _create(self, data: dict[str, Any]) -> None:
        fake = self.fake
        for key in ("title", "head", "base", "body"):
            assert isinstance(data.get(key), str), (key, data)
        if not fake.branch_exists(data["head"]) or not fake.branch_exists(data["base"]):
            return self._send(422, _problem("Validation Failed", errors=[
                {"resource": "PullRequest", "field": "head", "code": "invalid"}]))
        if any(p["head"]["ref"] == data["head"] for p in fake.open_pulls()):
            return self._send(422, _problem("Validation Failed", errors=[
                {"resource": "PullRequest", "code": "custom",
                 "message": f"A pull request already exists for {fake.owner}:{data['head']}."}]))
        number = len(fake.pulls) + 1
        pull = {"number": number, "state": "open", "title": data["title"], "body": data["body"],
                "html_url": f"https://github.example/{fake.owner}/{fake.name}/pull/{number}",
                "head": {"ref": data["head"]}, "base": {"ref": data["base"]}}
        fake.pulls.append(pull)
        if fake.cut_after_create:
            fake.cut_after_create -= 1
            fake.requests.append((self.command, self.path, 0))
            self.close_connection = True
            self.connection.close()
            return None
        return self._send(201, pull)

    def _update(self, number: int, data: dict[str, Any]) -> None:
        assert set(data) <= {"title", "body", "state", "base"} and all(isinstance(v, str) for v in data.values())
        pull = next((p for p in self.fake.pulls if p["number"] == number), None)
        if pull is None:
            return self._send(404, _problem("Not Found"))
        pull.update(data)
        return self._send(200, pull)

    do_GET = do_POST = do_PATCH = _handle


@contextmanager
def serving(fake: FakeGitHub) -> Iterator[FakeGitHub]:
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), type("Handler", (_Handler,), {"fake": fake}))
    fake.port = httpd.server_address[1]
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield fake
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join()
