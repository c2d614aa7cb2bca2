"""``pipeforge serve --log-format json`` as a log collector reads it: every line one JSON object, requests
with their id, route, status and duration, jobs with their id; ``PIPEFORGE_LOG_FORMAT`` as the default; no
colour codes; and no secret in the log: not an API token sent as a bearer token or in a query string, not
the git token of a push that failed."""

from __future__ import annotations

import json
import signal
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests import httpkit
from tests.gitserver import GitServer
from tests.registry_api.test_registry_serve import free_port, serve

API_TOKEN_NAME = "log-test"


def _token(url: str) -> str:
    from catalog.tokens import create
    from tests.conftest import private_catalog

    with private_catalog(url) as catalog, catalog.session() as session:
        return create(session, name=API_TOKEN_NAME, scopes=["pr", "read"])[1]


def _run(env: dict[str, str], *args: str, work: Any) -> str:
    """Serve until ``work(base)`` is done, then SIGTERM; returns what was logged (stderr)."""
    port = free_port()
    process = serve(env, "--log-level", "info", "--port", str(port), *args)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpkit.get(f"{base}/readyz", timeout=5).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert process.poll() is None and time.monotonic() < deadline, process.communicate()[1]
            time.sleep(0.2)
        work(base)
    finally:
        process.send_signal(signal.SIGTERM)
        _, stderr = process.communicate(timeout=60)
    return stderr


@pytest.mark.serve
def test_json_lines_carry_request_and_job_context_and_no_secret(tmp_path: Path, git_server: GitServer,
                                                                git_token: str) -> None:
    url = f"sqlite:///{tmp_path / 'c.db'}"
    secret = _token(url)
    wrong_git_token = "pf-wrong-" + git_token[3:]
    env = {"PIPEFORGE_DATABASE_URL": url, "PIPEFORGE_PR_ALLOWED_REPOS": git_server.repo_url,
           "PIPEFORGE_GIT_TOKEN": wrong_git_token}
    seen: dict[str, Any] = {}

    def work(base: str) -> None:
        headers = {"Authorization": f"Bearer {secret}"}
        listing = httpkit.get(f"{base}/api/v1/templates", headers={**headers, "X-Request-ID": "trace-42"})
        seen["header"] = listing.headers["x-request-id"]
        httpkit.get(f"{base}/api/v1/templates?token={secret}")
        job = httpkit.post(f"{base}/api/v1/pull-requests", headers=headers, json={
            "template": "saga-compensation", "parameters": {"namespace": "orders"},
            "repo": git_server.repo_url, "path": "apps/orders"}).json()
        deadline = time.monotonic() + 60
        while httpkit.get(f"{base}/api/v1/pull-requests/{job['id']}", headers=headers).json()["status"] != "failed":
            assert time.monotonic() < deadline
            time.sleep(0.2)
        seen["job"] = job["id"]

    stderr = _run(env, "--log-format", "json", work=work)
    records = [json.loads(line) for line in stderr.splitlines()]  # every line is one JSON object
    assert records and all({"time", "level", "logger", "message"} <= r.keys() for r in records)
    assert seen["header"] == "trace-42"
    access = [r for r in records if r["logger"] == "uvicorn.access"]
    listing = next(r for r in access if r.get("request_id") == "trace-42" and r["route"] == "/api/v1/templates")
    assert listing["status"] == 200 and listing["duration_seconds"] >= 0 and listing["method"] == "GET"
    assert len({r["request_id"] for r in access}) == len(access)  # one id per request otherwise
    assert any(r.get("job_id") == seen["job"] for r in records)
    for leaked in (secret, wrong_git_token, git_token):
        assert leaked not in stderr
    assert "\x1b[" not in stderr
    # uvicorn adds an ANSI-coloured copy of some messages (``color_message``); json.dumps escapes the ESC
    # byte, so look in the decoded values: no colour code reaches a collector.
    assert not [r for r in records if "color_message" in r or any("\x1b[" in str(v) for v in r.values())]


@pytest.mark.serve
def test_text_is_the_default_and_the_environment_chooses_json(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'c.db'}"
    text = _run({"PIPEFORGE_DATABASE_URL": url, "NO_COLOR": "1"}, work=lambda base: httpkit.get(f"{base}/healthz"))
    assert text and not text.lstrip().startswith("{") and "\x1b[" not in text
    chosen = _run({"PIPEFORGE_DATABASE_URL": url, "PIPEFORGE_LOG_FORMAT": "json"},
                  work=lambda base: httpkit.get(f"{base}/healthz"))
    assert all(json.loads(line) for line in chosen.splitlines())


@pytest.mark.serve
def test_an_unknown_log_format_in_the_environment_is_refused(tmp_path: Path) -> None:
    process = serve({"PIPEFORGE_DATABASE_URL": f"sqlite:///{tmp_path / 'c.db'}", "PIPEFORGE_LOG_FORMAT": "xml"},
                    "--port", str(free_port()))
    _, stderr = process.communicate(timeout=60)
    assert process.returncode == 2 and "PIPEFORGE_LOG_FORMAT" in stderr and "Traceback" not in stderr
