"""``/api/v1/pull-requests`` over real HTTP against a real git server on loopback: scope pr, the
allowlist (403 and no network call), validation before queueing, Idempotency-Key, the durable job table
(a job queued while no worker runs is done by the next registry; an expired lease is taken over; two
claimers never get the same job), and the token never in a job, an answer or the repository."""

from __future__ import annotations

import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from catalog import jobs
from tests.conftest import RegistryServer, private_catalog, tokens_for
from tests.gitserver import GitServer, run

TARGET = "apps/orders/pipeline"
BRANCH = "pipeforge/apps-orders-pipeline"


def request(git_server: GitServer, **extra: Any) -> dict[str, Any]:
    return {"template": "provision-process-publish", "parameters": {"namespace": "orders"},
            "repo": git_server.repo_url, "path": TARGET, **extra}


@pytest.fixture
def registry_url(request: pytest.FixtureRequest, tmp_path: Any) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'catalog.db'}"
    url: str = request.getfixturevalue("shared_postgres_url")
    from tests.conftest import _empty_registry_database

    _empty_registry_database(url)
    with private_catalog(url) as catalog, catalog.engine.begin() as connection:
        from sqlalchemy import delete

        from catalog.models import PullRequestJob

        connection.execute(delete(PullRequestJob))
    return url


def parametrize_databases(test: Any) -> Any:
    from tests.conftest import DATABASES

    return pytest.mark.parametrize("registry_url", DATABASES, indirect=True)(test)


@pytest.fixture
def served(registry_url: str, git_server: GitServer) -> Iterator[tuple[RegistryServer, dict[str, str]]]:
    with RegistryServer(registry_url, pr_allowed_repos=[git_server.repo_url], pr_lease_seconds=30) as server:
        yield server, tokens_for(server)


def wait(server: RegistryServer, token: str, job_id: int, timeout: float = 60) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    with server.client(token) as client:
        while True:
            job: dict[str, Any] = client.get(f"/api/v1/pull-requests/{job_id}").json()
            if job["status"] in ("succeeded", "failed") or time.monotonic() > deadline:
                return job
            time.sleep(0.1)


@parametrize_databases
def test_a_request_is_queued_done_and_reported(served: tuple[RegistryServer, dict[str, str]],
                                               git_server: GitServer, git_token: str) -> None:
    server, tokens = served
    with server.client(tokens["pr"]) as client:
        answer = client.post("/api/v1/pull-requests", json=request(git_server))
    assert answer.status_code == 202, answer.text
    job = answer.json()
    assert answer.headers["Location"] == f"/api/v1/pull-requests/{job['id']}"
    assert job["status"] in ("queued", "running", "succeeded") and job["request"]["resolved"] == "1.0.0"
    done = wait(server, tokens["pr"], job["id"])
    assert done["status"] == "succeeded", done
    assert done["result"]["branch"] == BRANCH and done["result"]["changed"] is True
    assert run("git", "--git-dir", str(git_server.bare), "rev-parse", BRANCH) == done["result"]["commit"]
    assert git_token not in str(done)
    again = client_post(server, tokens["pr"], request(git_server))
    assert wait(server, tokens["pr"], again["id"])["result"]["changed"] is False


def client_post(server: RegistryServer, token: str, body: dict[str, Any], **headers: str) -> dict[str, Any]:
    with server.client(token) as client:
        answer = client.post("/api/v1/pull-requests", json=body, headers=headers)
    assert answer.status_code in (200, 202), answer.text
    result: dict[str, Any] = answer.json()
    return result


@parametrize_databases
def test_scope_pr_is_required(served: tuple[RegistryServer, dict[str, str]], git_server: GitServer) -> None:
    server, tokens = served
    for token, status in ((None, 401), ("pft_unknown", 401), (tokens["read"], 403), (tokens["publish"], 403)):
        with server.client(token) as client:
            assert client.post("/api/v1/pull-requests", json=request(git_server)).status_code == status
            assert client.get("/api/v1/pull-requests/1").status_code == status
    assert git_server.requests == []


@parametrize_databases
def test_a_repository_outside_the_allowlist_is_refused_without_a_network_call(
        served: tuple[RegistryServer, dict[str, str]], git_server: GitServer) -> None:
    server, tokens = served
    other = git_server.url("someone/else")
    with server.client(tokens["pr"]) as client:
        answer = client.post("/api/v1/pull-requests", json=request(git_server, repo=other))
    assert answer.status_code == 403
    assert answer.json()["repository"] == other and git_server.repo_url in answer.json()["detail"]
    assert git_server.requests == []


@parametrize_databases
def test_bad_requests_are_refused_before_queueing(served: tuple[RegistryServer, dict[str, str]],
                                                  git_server: GitServer) -> None:
    server, tokens = served
    bad = [
        (request(git_server, parameters={"namespace": "Not A Namespace", "retry_limit": 99}), 422),
        (request(git_server, path="../escape"), 400),
        (request(git_server, base="main..evil"), 400),
        (request(git_server, provider="bitbucket"), 422),
        (request(git_server, template="no-such-template"), 404),
        (request(git_server, repo=git_server.repo_url.replace("http://", "http://user:secret@")), 400),
    ]
    with server.client(tokens["pr"]) as client:
        for body, status in bad:
            answer = client.post("/api/v1/pull-requests", json=body)
            assert answer.status_code == status, (body, answer.text)
            assert "secret" not in answer.text
        invalid = client.post("/api/v1/pull-requests", json=bad[0][0]).json()
        assert "namespace" in str(invalid) and "retry_limit" in str(invalid)
    with private_catalog(server.database_url) as catalog, catalog.session() as session:
        from sqlalchemy import func, select

        from catalog.models import PullRequestJob

        assert session.scalar(select(func.count()).select_from(PullRequestJob)) == 0


@parametrize_databases
def test_idempotency_key_names_one_job(served: tuple[RegistryServer, dict[str, str]],
                                       git_server: GitServer) -> None:
    server, tokens = served
    first = client_post(server, tokens["pr"], request(git_server), **{"Idempotency-Key": "abc-1"})
    with ThreadPoolExecutor(8) as pool:
        again = list(pool.map(lambda _: client_post(server, tokens["pr"], request(git_server),
                                                    **{"Idempotency-Key": "abc-1"}), range(8)))
    assert {job["id"] for job in again} == {first["id"]}
    with server.client(tokens["pr"]) as client:
        reused = client.post("/api/v1/pull-requests", json=request(git_server, base="develop"),
                             headers={"Idempotency-Key": "abc-1"})
    assert reused.status_code == 409 and reused.json() == {
        "type": "https://pipeforge.dev/problems/idempotency-key-reused", "title": "Idempotency-Key reused",
        "status": 409, "detail": f"this Idempotency-Key already names job {first['id']}, for another request; "
        "use a new key for a new request", "instance": "/api/v1/pull-requests", "job": first["id"]}
    assert wait(server, tokens["pr"], first["id"])["status"] == "succeeded"


@parametrize_databases
def test_a_failed_push_is_a_failed_job_with_a_clear_error(served: tuple[RegistryServer, dict[str, str]],
                                                          git_server: GitServer, git_token: str,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    server, tokens = served
    monkeypatch.setenv("PIPEFORGE_GIT_TOKEN", "pf-wrong-token")
    job = client_post(server, tokens["pr"], request(git_server))
    done = wait(server, tokens["pr"], job["id"])
    assert done["status"] == "failed" and done["error"]
    assert "pf-wrong-token" not in done["error"] and git_token not in done["error"]


def test_a_job_queued_while_no_worker_runs_is_done_by_the_next_registry(tmp_path: Any,
                                                                         git_server: GitServer) -> None:
    url = f"sqlite:///{tmp_path / 'catalog.db'}"
    with RegistryServer(url, pr_allowed_repos=[git_server.repo_url], pr_workers=0) as idle:
        tokens = tokens_for(idle)
        job = client_post(idle, tokens["pr"], request(git_server))
        time.sleep(0.5)
        with idle.client(tokens["pr"]) as client:
            assert client.get(f"/api/v1/pull-requests/{job['id']}").json()["status"] == "queued"
    with RegistryServer(url, pr_allowed_repos=[git_server.repo_url]) as restarted:
        assert wait(restarted, tokens["pr"], job["id"])["status"] == "succeeded"


@pytest.mark.parametrize("database", ["sqlite", "postgresql"])
def test_claims_skip_locked_jobs_and_take_over_expired_leases(database: str, tmp_path: Any,
                                                             request: pytest.FixtureRequest) -> None:
    if database == "sqlite":
        url = f"sqlite:///{tmp_path / 'catalog.db'}"
    else:
        url = request.getfixturevalue("shared_postgres_url")
    with private_catalog(url) as catalog:
        from sqlalchemy import delete

        from catalog.models import PullRequestJob

        with catalog.engine.begin() as connection:
            connection.execute(delete(PullRequestJob))
        for n in range(20):
            with catalog.session() as session:
                jobs.enqueue(session, requested_by="t", request={"n": n}, idempotency_key=None)

        def take(worker: int) -> list[int]:
            taken = []
            while True:
                with catalog.session() as session:
                    job = jobs.claim(session, worker=f"w{worker}", lease_seconds=60)
                if job is None:
                    return taken
                taken.append(job.id)

        with ThreadPoolExecutor(4) as pool:
            claimed = [i for ids in pool.map(take, range(4)) for i in ids]
        assert len(claimed) == 20 and len(set(claimed)) == 20  # every job once, none twice
        with catalog.session() as session:
            expired = jobs.enqueue(session, requested_by="t", request={"n": "late"}, idempotency_key=None).job.id
        with catalog.session() as session:
            assert jobs.claim(session, worker="dying", lease_seconds=0.01) is not None
        time.sleep(0.05)
        with catalog.session() as session:
            again = jobs.claim(session, worker="rescuer", lease_seconds=60)
        assert again is not None and again.id == expired and again.attempts == 2
        with catalog.session() as session:
            jobs.finish(session, expired, worker="dying", result={"late": True})  # the old worker lost it
        with catalog.session() as session:
            assert jobs.get(session, expired).status == "running"  # type: ignore[union-attr]


def test_a_keyed_enqueue_waits_for_a_writer_that_commits_meanwhile(tmp_path: Any,
                                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    """SQLite: the Idempotency-Key lookup must not leave a read transaction that then has to become a write
    one after a worker committed (that fails at once with "database is locked" instead of waiting)."""
    with private_catalog(f"sqlite:///{tmp_path / 'catalog.db'}") as catalog:
        looked_up = jobs._keyed

        def lookup_then_a_worker_commits(session: Any, requested_by: str, key: str) -> Any:
            found = looked_up(session, requested_by, key)
            with catalog.session() as other:
                jobs.enqueue(other, requested_by="worker", request={"n": "meanwhile"}, idempotency_key=None)
            return found

        monkeypatch.setattr(jobs, "_keyed", lookup_then_a_worker_commits)
        with catalog.session() as session:
            done = jobs.enqueue(session, requested_by="t", request={"n": 1}, idempotency_key="k-1")
        assert done.created and done.job.idempotency_key == "k-1"


def test_the_allowlist_comes_from_the_environment_as_a_list(monkeypatch: pytest.MonkeyPatch) -> None:
    from generator.gitops.urls import allowed
    from registry_api.settings import Settings

    monkeypatch.setenv("PIPEFORGE_PR_ALLOWED_REPOS", "https://git.example/ops/deploy.git, https://git.example/team/")
    repos = Settings().pr_allowed_repos
    assert repos == ["https://git.example/ops/deploy.git", "https://git.example/team/"]
    assert allowed("https://git.example/ops/deploy", repos) and allowed("https://git.example/team/x.git", repos)
    assert not allowed("https://git.example/ops/deploy-other.git", repos)
    assert not allowed("https://git.example/teamx/y.git", repos)


@pytest.mark.race
def test_twenty_concurrent_identical_requests_give_one_branch_and_one_commit(tmp_path: Any,
                                                                             git_server: GitServer) -> None:
    url = f"sqlite:///{tmp_path / 'catalog.db'}"
    with RegistryServer(url, pr_allowed_repos=[git_server.repo_url], pr_workers=3) as server:
        tokens = tokens_for(server)
        with ThreadPoolExecutor(20) as pool:
            queued = list(pool.map(lambda _: client_post(server, tokens["pr"], request(git_server)), range(20)))
        done = [wait(server, tokens["pr"], job["id"]) for job in queued]
    assert {job["status"] for job in done} == {"succeeded"}
    assert sum(job["result"]["changed"] for job in done) == 1
    assert len({job["result"]["commit"] for job in done}) == 1
    log = run("git", "--git-dir", str(git_server.bare), "rev-list", "--count", f"main..{BRANCH}")
    assert log == "1"
