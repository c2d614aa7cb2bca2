"""A real git server on loopback for the tests: bare repositories served by Debian's ``git http-backend``
(smart HTTP, fetch and push) behind a threaded HTTP server that demands a token (HTTP Basic, any user
name) and answers 401 without it. It records every request, so a test can tell whether a push happened."""

from __future__ import annotations

import base64
import os
import subprocess
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import cache
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import urlsplit


@cache
def backend() -> Path:
    """Debian's git http-backend (package git), found through git itself."""
    exec_path = subprocess.run(["git", "--exec-path"], capture_output=True, text=True, check=True).stdout.strip()
    return Path(exec_path, "git-http-backend")


#: the GitOps repository the pr tests write to, and what it holds before they start
REPO = "acme/deploy"
SEED = {"README.md": "# deploy\n", "apps/billing/app.yaml": "kind: Deployment\n",
        "apps/orders/app.yaml": "kind: Deployment\n"}


@dataclass
class GitServer:
    root: Path
    token: str
    port: int = 0
    requests: list[tuple[str, str, int]] = field(default_factory=list)  # method, path?query, status
    #: drop the connection of the next pushes without an answer: "before" the backend runs, or "after" it
    #: has updated the branch (the answer is lost)
    cuts: list[str] = field(default_factory=list)

    def url(self, name: str) -> str:
        return f"http://127.0.0.1:{self.port}/{name}.git"

    @property
    def repo_url(self) -> str:
        return self.url(REPO)

    @property
    def bare(self) -> Path:
        return self.root / f"{REPO}.git"

    def receive_packs(self) -> int:
        return sum(1 for method, path, _ in self.requests if method == "POST" and path.endswith("git-receive-pack"))

    def create(self, name: str, files: dict[str, str], *, branch: str = "main") -> Path:
        """A bare repository ``name`` whose ``branch`` holds ``files`` in one commit."""
        bare = self.root / f"{name}.git"
        run("git", "init", "--quiet", "--bare", "-b", branch, str(bare))
        run("git", "-C", str(bare), "config", "http.receivepack", "true")
        work = self.root / f"{name}.seed"
        run("git", "init", "--quiet", "-b", branch, str(work))
        for path, text in files.items():
            (work / path).parent.mkdir(parents=True, exist_ok=True)
            (work / path).write_text(text)
        run("git", "-C", str(work), "add", "-A")
        commit(work, "seed")
        run("git", "-C", str(work), "push", "--quiet", str(bare), f"{branch}:{branch}")
        return bare


def run(*args: str, cwd: Path | None = None) -> str:
    env = {k: v for k, v in os.environ.items() if not k.startswith("GIT_")}
    return subprocess.run(args, cwd=cwd, env=env, capture_output=True, text=True, check=True).stdout.strip()


def commit(work: Path, message: str, *, who: str = "Pat Person <pat@example.com>") -> str:
    name, email = who.split(" <")
    run("git", "-C", str(work), "-c", f"user.name={name}", "-c", f"user.email={email.rstrip('>')}",
        "commit", "--quiet", "--allow-empty", "-m", message)
    return run("git", "-C", str(work), "rev-parse", "HEAD")


def _read_body(handler: BaseHTTPRequestHandler) -> bytes:
    """The request body, chunked (as git sends large packs) or with a Content-Length."""
    if handler.headers.get("Transfer-Encoding", "").lower() != "chunked":
        return handler.rfile.read(int(handler.headers.get("Content-Length", "0") or 0))
    chunks = []
    while size := int(handler.rfile.readline().split(b";")[0].strip(), 16):
        chunks.append(handler.rfile.read(size))
        handler.rfile.readline()
    handler.rfile.readline()
    return b"".join(chunks)


def _cgi(server: GitServer, handler: BaseHTTPRequestHandler, body: bytes) -> tuple[int, list[tuple[str, str]], bytes]:
    """Run git http-backend for one request: its status, headers and body."""
    parts = urlsplit(handler.path)
    env = {"PATH": os.environ["PATH"], "GIT_PROJECT_ROOT": str(server.root), "GIT_HTTP_EXPORT_ALL": "1",
           "REQUEST_METHOD": handler.command, "PATH_INFO": parts.path, "QUERY_STRING": parts.query,
           "CONTENT_TYPE": handler.headers.get("Content-Type", ""), "CONTENT_LENGTH": str(len(body)),
           "HTTP_CONTENT_ENCODING": handler.headers.get("Content-Encoding", ""),
           "GIT_PROTOCOL": handler.headers.get("Git-Protocol", ""), "REMOTE_USER": "tester",
           "REMOTE_ADDR": "127.0.0.1"}
    done = subprocess.run([str(backend())], input=body, env=env, capture_output=True, check=False)
    head, _, payload = done.stdout.partition(b"\r\n\r\n")
    status, headers = 200, []
    for line in head.decode().split("\r\n"):
        key, _, value = line.partition(":")
        if key.lower() == "status":
            status = int(value.strip().split()[0])
        elif key:
            headers.append((key, value.strip()))
    return status, headers, payload


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_state: GitServer

    def log_message(self, format: str, *args: object) -> None:
        del format, args

    def _authorised(self) -> bool:
        kind, _, value = self.headers.get("Authorization", "").partition(" ")
        if kind.lower() != "basic" or not value:
            return False
        user, _, password = base64.b64decode(value).decode(errors="replace").partition(":")
        return bool(user) and password == self.server_state.token

    def _serve(self) -> None:
        body = _read_body(self) if self.command == "POST" else b""
        state = self.server_state
        if self._authorised() and self.command == "POST" and self.path.endswith("git-receive-pack") and state.cuts:
            if state.cuts.pop(0) == "after":
                _cgi(state, self, body)
            state.requests.append((self.command, self.path, 0))
            self.close_connection = True
            self.connection.close()
            return
        if self._authorised():
            status, headers, payload = _cgi(self.server_state, self, body)
        else:
            status, headers, payload = 401, [("WWW-Authenticate", 'Basic realm="pipeforge-test"')], b""
        self.server_state.requests.append((self.command, self.path, status))
        self.send_response(status)
        for key, value in headers:
            self.send_header(key, value)
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    do_GET = do_POST = _serve


@contextmanager
def in_thread(handler: type[BaseHTTPRequestHandler], port: int = 0) -> Iterator[int]:
    """Serve ``handler`` on a loopback port (yielded; a free one by default) in a thread, until the block ends."""
    httpd = ThreadingHTTPServer(("127.0.0.1", port), handler)
    # Polled every 50 ms rather than serve_forever's 0.5 s, so that shutting it down takes no test half a second.
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield int(httpd.server_address[1])
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join()


@contextmanager
def serving(root: Path, token: str, port: int = 0) -> Iterator[GitServer]:
    """A git server for the bare repositories under ``root``; ``port`` brings a stopped one back where it was."""
    server = GitServer(root, token)
    with in_thread(type("Handler", (_Handler,), {"server_state": server}), port) as bound:
        server.port = bound
        yield server
