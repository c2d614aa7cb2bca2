"""``/metrics`` as Prometheus reads it: parsed by prometheus_client's own parser, every family named by
Prometheus' conventions, and the series an operator alerts on: build info, the process, jobs by kind and
state with the oldest queued job's age, job outcomes, roll-out targets, forge calls and ``/mcp`` traffic."""

from __future__ import annotations

import re
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from threading import Thread
from typing import Any

import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.conftest import RegistryServer, private_catalog
from tests.registry_api.test_registry_serve import free_port

NAME = re.compile(r"^[a-z_][a-z0-9_]*$")


def families(server: RegistryServer) -> dict[str, Any]:
    with server.client() as client:
        text = client.get("/metrics").text
    return {family.name: family for family in text_string_to_metric_families(text)}


def value(family: Any, name: str, **labels: str) -> float:
    return next(s.value for s in family.samples if s.name == name and labels.items() <= s.labels.items())


def token(url: str) -> str:
    from catalog.tokens import create

    with private_catalog(url) as catalog, catalog.session() as session:
        return create(session, name=f"m-{time.monotonic_ns()}", scopes=["pr"])[1]


def test_every_family_parses_and_follows_the_naming_conventions(tmp_path: Any) -> None:
    with RegistryServer(f"sqlite:///{tmp_path / 'c.db'}", publish_builtins=False) as server:
        with server.client() as client:
            client.get("/healthz")
            client.post("/mcp", json={})  # refused without a token, but counted under its own route
        found = families(server)
    assert {"pipeforge_build_info", "process_cpu_seconds", "process_resident_memory_bytes", "pipeforge_jobs",
            "pipeforge_jobs_oldest_queued_age_seconds", "pipeforge_rollout_targets", "pipeforge_http_requests",
            "pipeforge_http_request_duration_seconds", "pipeforge_jobs_finished", "pipeforge_forge_calls"} <= set(found)
    for name, family in found.items():
        assert NAME.match(name), name
        assert name.startswith(("pipeforge_", "process_")), name
        if family.type == "counter":
            assert all(s.name.endswith(("_total", "_created")) for s in family.samples), name
        if family.type == "histogram":
            assert name.endswith(("_seconds", "_bytes")), name
        if family.type == "gauge":
            assert not name.endswith("_total"), name
        for sample in family.samples:
            assert NAME.match(sample.name) and sample.name.startswith(name), sample.name
    build = found["pipeforge_build_info"]
    assert build.samples[0].value == 1 and build.samples[0].labels["version"] and build.samples[0].labels["python"]
    routes = {s.labels["route"] for s in found["pipeforge_http_requests"].samples}
    assert "/mcp" in routes and "/healthz" in routes and "<unmatched>" not in routes


def test_queued_jobs_and_their_age_are_shown(tmp_path: Any) -> None:
    url = f"sqlite:///{tmp_path / 'c.db'}"
    repo = "https://git.example/team/gitops.git"
    with RegistryServer(url, pr_allowed_repos=[repo], pr_workers=0) as server:  # nothing takes the job
        with server.client() as client:
            answer = client.post("/api/v1/pull-requests", headers={"Authorization": f"Bearer {token(url)}"},
                                 json={"template": "saga-compensation", "parameters": {"namespace": "orders"},
                                       "repo": repo, "path": "apps/orders"})
        assert answer.status_code == 202, answer.text
        time.sleep(1.1)
        found = families(server)
    assert value(found["pipeforge_jobs"], "pipeforge_jobs", kind="render", state="queued") == 1
    assert value(found["pipeforge_jobs"], "pipeforge_jobs", kind="upgrade", state="queued") == 0
    assert value(found["pipeforge_jobs_oldest_queued_age_seconds"], "pipeforge_jobs_oldest_queued_age_seconds",
                 kind="render") >= 1
    assert value(found["pipeforge_rollout_targets"], "pipeforge_rollout_targets", status="queued") == 0


def test_job_outcomes_are_counted(tmp_path: Any) -> None:
    url = f"sqlite:///{tmp_path / 'c.db'}"
    repo = f"http://127.0.0.1:{free_port()}/gitops.git"  # refused at once: the job fails
    with RegistryServer(url, pr_allowed_repos=[repo]) as server:
        headers = {"Authorization": f"Bearer {token(url)}"}
        with server.client() as client:
            job = client.post("/api/v1/pull-requests", headers=headers, json={
                "template": "saga-compensation", "parameters": {"namespace": "orders"}, "repo": repo,
                "path": "apps/orders"}).json()
            deadline = time.monotonic() + 60
            while client.get(f"/api/v1/pull-requests/{job['id']}", headers=headers).json()["status"] != "failed":
                assert time.monotonic() < deadline
                time.sleep(0.1)
        found = families(server)
    assert value(found["pipeforge_jobs_finished"], "pipeforge_jobs_finished_total", kind="render",
                 outcome="failed") == 1


class _Pulls(BaseHTTPRequestHandler):
    def do_GET(self) -> None:  # GitHub's list of pull requests: none open
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        self.wfile.write(b"[]")

    def log_message(self, format: str, *args: object) -> None:
        del format, args


@pytest.fixture
def pulls_api() -> Any:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Pulls)
    Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_forge_calls_are_counted_by_forge_and_status(tmp_path: Any, pulls_api: str) -> None:
    from generator.gitops.forges import GitHub

    with RegistryServer(f"sqlite:///{tmp_path / 'c.db'}", publish_builtins=False) as server:
        forge = GitHub(repo="https://git.example/team/gitops.git", token="t", api_url=pulls_api)
        assert forge.find("pipeforge/apps", "main") is None
        dead = GitHub(repo="https://git.example/team/gitops.git", token="t",
                      api_url=f"http://127.0.0.1:{free_port()}", pause=0)
        with pytest.raises(Exception, match="failed 3 times"):
            dead.find("pipeforge/apps", "main")
        found = families(server)
    calls = found["pipeforge_forge_calls"]
    assert value(calls, "pipeforge_forge_calls_total", forge="GitHub", status="200") == 1
    assert value(calls, "pipeforge_forge_calls_total", forge="GitHub", status="error") == 3
