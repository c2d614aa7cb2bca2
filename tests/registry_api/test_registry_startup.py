"""The registry as a pod starts it: up before its database (``/healthz`` 200, ``/readyz`` 503 naming the
database with its password masked, retried until it answers), ``HEAD`` on the probes, SIGTERM letting
jobs finish or handing their leases back, and two registry processes sharing one PostgreSQL job table."""

from __future__ import annotations

import signal
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import httpx
import pytest

from catalog import jobs
from tests import httpkit
from tests.conftest import PostgresDatabases, RegistryServer, private_catalog
from tests.gitserver import GitServer
from tests.registry_api.test_registry_serve import free_port, serve

SECRET = "hunter2-not-for-logs"


@contextmanager
def serving(env: dict[str, str], *args: str) -> Iterator[tuple[str, subprocess.Popen[str]]]:
    """``pipeforge serve`` on a free port until /healthz answers; SIGTERM afterwards."""
    port = free_port()
    process = serve(env, "--port", str(port), *args)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                httpkit.get(f"{base}/healthz", timeout=5)
                break
            except httpx.TransportError:
                assert process.poll() is None and time.monotonic() < deadline, process.communicate()[1]
                time.sleep(0.2)
        yield base, process
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
        process.communicate(timeout=60)


def wait_ready(base: str, timeout: float = 60) -> httpx.Response:
    deadline = time.monotonic() + timeout
    while True:
        response = httpkit.get(f"{base}/readyz", timeout=10)
        if response.status_code == 200 or time.monotonic() > deadline:
            return response
        time.sleep(0.3)


@pytest.mark.serve
def test_serve_starts_without_its_database_and_says_why_it_is_not_ready() -> None:
    url = f"postgresql://pipeforge:{SECRET}@127.0.0.1:{free_port()}/pipeforge"  # nothing listens there
    with serving({"PIPEFORGE_DATABASE_URL": url}) as (base, process):
        assert httpkit.get(f"{base}/healthz").status_code == 200
        assert httpx.head(f"{base}/healthz").status_code == 200
        ready = httpkit.get(f"{base}/readyz")
        assert ready.status_code == 503 and ready.headers["content-type"] == "application/problem+json"
        problem = ready.json()
        assert problem["type"].endswith("/catalog-unavailable")
        assert "pipeforge:***@127.0.0.1" in problem["detail"] and "retrying" in problem["detail"]
        assert httpx.head(f"{base}/readyz").status_code == 503
        assert httpkit.get(f"{base}/api/v1/templates").status_code == 503  # routes that need the catalog too
        assert process.poll() is None  # still running, still retrying
        process.send_signal(signal.SIGTERM)
        _, stderr = process.communicate(timeout=60)
    assert process.returncode in (0, -signal.SIGTERM)
    assert SECRET not in stderr and "Traceback" not in stderr and "retrying in" in stderr


@pytest.mark.serve
def test_serve_becomes_ready_once_its_database_exists(postgres_databases: PostgresDatabases) -> None:
    from sqlalchemy import text

    name = f"{postgres_databases.prefix}_late"
    url = postgres_databases.admin_url.set(database=name, password=SECRET).render_as_string(hide_password=False)
    with serving({"PIPEFORGE_DATABASE_URL": url}) as (base, _process):
        assert httpkit.get(f"{base}/readyz").status_code == 503
        with postgres_databases.engine.connect() as connection:
            connection.execute(text(f'CREATE DATABASE "{name}"'))
        postgres_databases.created.append(name)  # dropped with the others
        assert wait_ready(base).status_code == 200
        listing = httpkit.get(f"{base}/api/v1/templates").json()  # migrated and seeded once it answered
        assert "saga-compensation" in {item["name"] for item in listing["items"]}


@pytest.mark.serve
def test_serve_still_refuses_a_malformed_database_url() -> None:
    process = serve({"PIPEFORGE_DATABASE_URL": f"mysql://root:{SECRET}@localhost/pipeforge"},
                    "--port", str(free_port()))
    stdout, stderr = process.communicate(timeout=60)
    assert process.returncode == 2 and "PostgreSQL" in stderr
    assert SECRET not in stdout + stderr and "Traceback" not in stderr


def test_head_answers_on_both_probes(tmp_path: Any) -> None:
    with RegistryServer(f"sqlite:///{tmp_path / 'c.db'}", publish_builtins=False) as server, \
            server.client() as client:
        for path in ("/healthz", "/readyz"):
            response = client.head(path)
            assert response.status_code == 200 and response.content == b""


@pytest.mark.parametrize("database", ["sqlite", "postgresql"])
def test_released_jobs_go_back_to_the_queue_at_once(database: str, tmp_path: Any,
                                                    request: pytest.FixtureRequest) -> None:
    url = (f"sqlite:///{tmp_path / 'c.db'}" if database == "sqlite"
           else request.getfixturevalue("postgres_databases").create())
    with private_catalog(url) as catalog:
        for n in range(2):
            with catalog.session() as session:
                jobs.enqueue(session, requested_by="t", request={"n": n}, idempotency_key=None)
        with catalog.session() as session:
            held = jobs.claim(session, worker="leaving-0", lease_seconds=3600)
        with catalog.session() as session:
            other = jobs.claim(session, worker="staying-0", lease_seconds=3600)
        assert held is not None and other is not None
        with catalog.session() as session:
            assert jobs.release(session, workers=["leaving-0"]) == 1
        with catalog.session() as session:
            again = jobs.claim(session, worker="rescuer-0", lease_seconds=60)  # no wait for the hour's lease
        assert again is not None and again.id == held.id and again.attempts == 2
        with catalog.session() as session:
            jobs.finish(session, held.id, worker="leaving-0", result={"late": True})  # it lost the job
            assert jobs.get(session, held.id).claimed_by == "rescuer-0"  # type: ignore[union-attr]
            assert jobs.get(session, other.id).status == "running"  # type: ignore[union-attr]


def pr_request(git_server: GitServer, path: str) -> dict[str, Any]:
    return {"template": "provision-process-publish", "parameters": {"namespace": "orders"},
            "repo": git_server.repo_url, "path": path}


@pytest.mark.serve
def test_two_registry_processes_share_one_job_table(postgres_databases: PostgresDatabases,
                                                    git_server: GitServer) -> None:
    url = postgres_databases.create()
    env = {"PIPEFORGE_DATABASE_URL": url, "PIPEFORGE_PR_ALLOWED_REPOS": git_server.repo_url,
           "PIPEFORGE_PR_WORKERS": "2"}
    with serving(env) as (first, _p1), serving(env) as (second, _p2):
        assert wait_ready(first).status_code == 200 and wait_ready(second).status_code == 200
        headers = {"Authorization": f"Bearer {_token(url)}"}
        ids = []
        for n in range(6):
            base = (first, second)[n % 2]
            answer = httpkit.post(f"{base}/api/v1/pull-requests", headers=headers, timeout=30,
                                json=pr_request(git_server, f"apps/team-{n}/pipeline"))
            assert answer.status_code == 202, answer.text
            ids.append(answer.json()["id"])
        done = [_wait_job(second if n % 2 == 0 else first, headers, job) for n, job in enumerate(ids)]
    assert [job["status"] for job in done] == ["succeeded"] * 6, done
    assert all(job["attempts"] == 1 for job in done)  # each job claimed once, by one replica
    with private_catalog(url) as catalog, catalog.session() as session:
        from sqlalchemy import select

        from catalog.models import PullRequestJob

        claimers = {c.rsplit("-", 1)[0] for c in session.scalars(select(PullRequestJob.claimed_by))}
    assert 1 <= len(claimers) <= 2  # worker names are <host>-<pid>-<id>-<n>: at most the two processes


def _token(url: str) -> str:
    from catalog.tokens import create

    with private_catalog(url) as catalog, catalog.session() as session:
        _, secret = create(session, name="replicas", scopes=["pr"])
    return secret


def _wait_job(base: str, headers: dict[str, str], job_id: int) -> dict[str, Any]:
    deadline = time.monotonic() + 120
    while True:
        job: dict[str, Any] = httpkit.get(f"{base}/api/v1/pull-requests/{job_id}", headers=headers).json()
        if job["status"] in ("succeeded", "failed") or time.monotonic() > deadline:
            return job
        time.sleep(0.2)


def test_shutdown_hands_back_the_lease_of_a_job_that_outlives_the_grace(tmp_path: Any) -> None:
    import socket

    url = f"sqlite:///{tmp_path / 'c.db'}"
    with socket.socket() as silent:  # a git server that takes the connection and never answers
        silent.bind(("127.0.0.1", 0))
        silent.listen(8)
        repo = f"http://127.0.0.1:{silent.getsockname()[1]}/gitops.git"
        with RegistryServer(url, pr_allowed_repos=[repo], shutdown_grace_seconds=1) as server:
            headers = {"Authorization": f"Bearer {_token(url)}"}
            with server.client() as client:
                answer = client.post("/api/v1/pull-requests", headers=headers, json={
                    "template": "provision-process-publish", "parameters": {"namespace": "orders"},
                    "repo": repo, "path": "apps/orders"})
                assert answer.status_code == 202, answer.text
                job_id = answer.json()["id"]
                deadline = time.monotonic() + 60
                while client.get(f"/api/v1/pull-requests/{job_id}", headers=headers).json()["status"] != "running":
                    assert time.monotonic() < deadline
                    time.sleep(0.1)
        with private_catalog(url) as catalog, catalog.session() as session:  # the server has stopped
            job = jobs.get(session, job_id)
            assert job is not None and job.status == "queued" and job.claimed_by is None and job.attempts == 1
