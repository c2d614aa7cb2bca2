"""Adversarial cases against a live registry on loopback (real uvicorn, real SQLite, a real git server):
template-controlled paths through every server entry point (``/api/v1/render``, a pull-request job, the
worker itself, an upgrade job reading a tampered answers file, the MCP render tool), the PR ``path`` into
``.git`` on case-insensitive file systems, and the allowlist bypass forms. After each case the registry
still answers ``/healthz`` and a normal render within RESPONSIVE_SECONDS, nothing was pushed, and nothing appeared
outside the folders the registry owns."""

from __future__ import annotations

import json
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from catalog import jobs
from generator.bundle import pack
from tests.conftest import RegistryServer, private_catalog, responsive, tokens_for
from tests.gitserver import GitServer, serving
from tests.hostile import ESCAPES, path_template
from tests.registry_api.test_registry_mcp import with_http_session

pytestmark = pytest.mark.adversarial

ANSWERS = ".pipeforge-answers.yaml"
PR_PATHS = (".GIT/hooks", "git~1/hooks", ".gitmodules", "apps/.GitModules/x", "apps/.git./config", "apps/.git /x",
            "apps/GI7EBA~1", "apps/../../etc", "/etc/cron.d", "C:/x", "apps\\..\\..\\x", "apps/\x1b/x")


class Live:
    """The registry, its git server, tokens and the hostile templates it holds."""

    def __init__(self, server: RegistryServer, git: GitServer, tokens: dict[str, str]) -> None:
        self.server, self.git, self.tokens = server, git, tokens

    def post(self, path: str, body: dict[str, Any], scope: str = "pr") -> Any:
        with self.server.client(self.tokens[scope]) as client:
            return client.post(path, json=body)

    def assert_healthy(self) -> None:
        """``/healthz`` and a normal render both answer, each within RESPONSIVE_SECONDS (a liveness bound)."""
        with self.server.client() as client:
            for call in (lambda: client.get("/healthz"),
                         lambda: client.post("/api/v1/render", json={"template": "provision-process-publish"})):
                started = time.monotonic()
                answer = call()
                assert answer.status_code == 200, answer.text
                assert responsive(time.monotonic() - started), "the registry answered, but slowly"


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Live]:
    root = tmp_path_factory.mktemp("adversarial")
    token = "pf-adversarial-token"
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("XDG_CACHE_HOME", str(root / "cache"))
        patch.setenv("PIPEFORGE_GIT_TOKEN", token)
        (root / "git").mkdir()
        with serving(root / "git", token) as git:
            git.create("acme/deploy", {"README.md": "# deploy\n"})
            git.create("other/victim", {"README.md": "# victim\n"})
            allow = [f"http://127.0.0.1:{git.port}/acme/"]
            with RegistryServer(f"sqlite:///{root / 'catalog.db'}", pr_allowed_repos=allow) as server:
                live = Live(server, git, tokens_for(server))
                for name, where in (("notes", "file"), ("notes-dir", "folder"), ("notes-project", "project")):
                    data = pack(path_template(root, name=name, where=where))
                    with server.client(live.tokens["publish"]) as client:
                        done = client.post(f"/api/v1/templates/{name}/versions", content=data,
                                           headers={"Content-Type": "application/x-tar"})
                    assert done.status_code == 201, done.text
                yield live


@pytest.fixture(autouse=True)
def _nothing_escapes(live: Live) -> Iterator[None]:
    """No case may leave a file beside the registry's folders, or push anything."""
    temp = Path(tempfile.gettempdir())
    before = {p.name for p in temp.iterdir()}
    pushes = live.git.receive_packs()
    yield
    planted = {p.name for p in temp.iterdir() if any(mark in p.name for mark in ("escaped", "pwn", "absolute"))}
    assert planted - before == set()
    assert live.git.receive_packs() == pushes
    live.assert_healthy()


CASES = [(name, payload) for payload in ESCAPES for name in ("notes", "notes-dir", "notes-project")][::2]


@pytest.mark.parametrize(("template", "payload"), CASES)
def test_render_refuses_a_path_that_escapes(live: Live, template: str, payload: str) -> None:
    answer = live.post("/api/v1/render", {"template": template, "parameters": {"notes_file": payload}})
    assert answer.status_code == 422, answer.text
    problem = answer.json()
    assert problem["type"].endswith("/invalid-template") and "would not stay inside" in problem["detail"]
    assert "pipeforge-registry-" not in answer.text and "pipeforge-bundle-" not in answer.text, "no server path"


@pytest.mark.parametrize("payload", ["../../../../tmp/pwned-by-pr", ".GIT/hooks/post-checkout", "/tmp/pwned-abs"])
def test_a_pull_request_with_an_escaping_path_is_refused_before_it_is_queued(live: Live, payload: str) -> None:
    answer = live.post("/api/v1/pull-requests", {"template": "notes", "parameters": {"notes_file": payload},
                                                 "repo": live.git.url("acme/deploy"), "path": "apps/notes"})
    assert answer.status_code == 422, answer.text
    assert "would not stay inside" in answer.json()["detail"]


def _run_job(live: Live, request: dict[str, Any], kind: str = jobs.RENDER) -> dict[str, Any]:
    """Queue a job straight into the database (as a registry with older checks would have) and wait for it."""
    with private_catalog(live.server.database_url) as catalog, catalog.session() as session:
        job_id = jobs.enqueue(session, requested_by="adversary", request=request, idempotency_key=None,
                              kind=kind).job.id
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        with live.server.client(live.tokens["pr"]) as client:
            job: dict[str, Any] = client.get(f"/api/v1/pull-requests/{job_id}").json()
        if job["status"] in ("succeeded", "failed"):
            return job
        time.sleep(0.1)
    raise AssertionError(f"job {job_id} did not finish")


@pytest.mark.parametrize("payload", ["../../../../../../tmp/pwned-worker", "/tmp/pwned-worker-abs", "git~1/config"])
def test_the_worker_itself_refuses_a_job_whose_paths_escape(live: Live, payload: str) -> None:
    job = _run_job(live, {"template": "notes", "version": "1.0.0", "resolved": "1.0.0",
                          "parameters": {"notes_file": payload}, "repo": live.git.url("acme/deploy"),
                          "path": "apps/worker", "base": "main", "provider": "none"})
    assert job["status"] == "failed" and "would not stay inside" in job["error"], job
    assert not Path("/tmp/pwned-worker").exists() and not Path("/tmp/pwned-worker-abs").exists()


def test_an_upgrade_job_refuses_a_tampered_answers_file(live: Live) -> None:
    answers = {"template": "notes", "version": "1.0.0", "parameters": {"notes_file": "../../../../tmp/pwned-up"}}
    live.git.create("acme/tampered", {f"apps/notes/{ANSWERS}": json.dumps(answers) + "\n"})
    job = _run_job(live, {"repo": live.git.url("acme/tampered"), "path": "apps/notes", "to": "latest",
                          "base": "main", "provider": "none"}, jobs.UPGRADE)
    assert job["status"] == "failed" and "would not stay inside" in job["error"], job


@pytest.mark.parametrize("path", PR_PATHS)
def test_a_pr_path_into_git_or_outside_the_repository_is_a_bad_request(live: Live, path: str) -> None:
    answer = live.post("/api/v1/pull-requests", {"template": "provision-process-publish",
                                                 "repo": live.git.url("acme/deploy"), "path": path})
    assert answer.status_code == 400, answer.text
    assert "--path" in answer.json()["detail"]


def _bypasses(live: Live) -> list[str]:
    base = f"http://127.0.0.1:{live.git.port}"
    return [f"{base}/acme/../other/victim.git", f"{base}/acme/%2e%2e/other/victim.git",
            f"{base}/acme/%2E%2E/other/victim.git", f"{base}/acme/.%2e/other/victim.git",
            f"{base}/acme/x/../../other/victim.git", f"{base}/acme//../other/victim.git",
            f"{base}/acme/x%2f..%2f..%2fother/victim.git", f"{base}/acme/..\\other\\victim.git",
            f"{base}/acme/victim.git?x=/../../other/victim.git", f"http://127.0.0.1:{live.git.port}@evil/acme/x.git",
            f"HTTP://127.0.0.1:{live.git.port + 1}/acme/x.git", f"{base}/acmex/victim.git", f"{base}/acme"]


def test_every_allowlist_bypass_form_is_refused_without_a_network_call(live: Live) -> None:
    before = len(live.git.requests)
    for url in _bypasses(live):
        for route, body in (("/api/v1/pull-requests", {"template": "provision-process-publish"}),
                            ("/api/v1/upgrades", {})):
            answer = live.post(route, {**body, "repo": url, "path": "apps/orders"})
            assert answer.status_code in (400, 403), (url, answer.text)
        live.assert_healthy()
    assert len(live.git.requests) == before, "no bypass reached the git server"


@pytest.mark.parametrize("payload", ["../../../../tmp/pwned-mcp", "C:\\pwned", ".gitmodules"])
def test_the_mcp_render_tool_refuses_a_path_that_escapes(live: Live, payload: str) -> None:
    results: list[Any] = []

    async def body(session: Any) -> None:
        results.append(await session.call_tool("render_pipeline", {
            "template": "notes-dir", "version": "1.0.0", "parameters": {"notes_file": payload}}))

    with_http_session(live.server, live.tokens["read"], body)
    (result,) = results
    assert result.is_error and "would not stay inside" in result.content[0].text
