"""The pull-request workers of ``catalog.worker`` driven directly, on a real SQLite catalog and a real git
server on loopback: a job is claimed, run and finished with its delivery recorded; the allowlist is checked
again when the job runs; an unexpected failure is kept on the job (naming the repository) and the worker
goes on; a shutdown hands back the lease of a job still running; each log record of a job carries its id;
a job queued in the process wakes its idle workers."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from catalog import jobs, service
from catalog.checkout import TemplateCache
from catalog.db import Catalog
from catalog.models import Delivery, PullRequestJob
from catalog.publication import prepare_folder
from catalog.worker import JobRunner, Workers, current_job
from generator.gitops.git import Credentials
from generator.template_spec import builtin_templates_dir
from tests.conftest import private_catalog
from tests.gitserver import GitServer, run

TEMPLATE = "provision-process-publish"
TARGET = "apps/orders/pipeline"


@pytest.fixture
def catalog(tmp_path: Path) -> Iterator[Catalog]:
    with private_catalog(f"sqlite:///{tmp_path / 'catalog.db'}") as opened:
        publication = prepare_folder(builtin_templates_dir() / TEMPLATE)
        with opened.session() as session:
            service.publish(session, publication=publication, publisher="test")
        yield opened


@pytest.fixture
def templates() -> Iterator[TemplateCache]:
    cache = TemplateCache(size=2)
    yield cache
    cache.clear()


def runner(catalog: Catalog, templates: TemplateCache, allowlist: tuple[str, ...],
           credentials: Callable[[str], Credentials | None] = Credentials.from_env) -> JobRunner:
    return JobRunner(catalog=catalog, templates=templates, allowlist=allowlist, api_url_for=lambda _repo: None,
                     credentials=credentials)


def enqueue(catalog: Catalog, repo: str) -> int:
    request = {"template": TEMPLATE, "version": None, "resolved": "1.0.0", "parameters": {"namespace": "orders"},
               "repo": repo, "path": TARGET, "base": "main", "provider": "none"}
    with catalog.session() as session:
        return jobs.enqueue(session, requested_by="test", request=request, idempotency_key=None).job.id


def job_of(catalog: Catalog, job_id: int) -> PullRequestJob:
    with catalog.session() as session:
        job = session.get(PullRequestJob, job_id)
        assert job is not None
        session.expunge(job)
        return job


def test_a_render_job_is_pushed_finished_and_its_delivery_recorded(catalog: Catalog, templates: TemplateCache,
                                                                   git_server: GitServer) -> None:
    job_id = enqueue(catalog, git_server.repo_url)
    counted: list[tuple[str, str]] = []
    workers = Workers(runner(catalog, templates, (git_server.repo_url,)), count=1, lease_seconds=60,
                      finished=lambda kind, outcome: counted.append((kind, outcome)))
    assert workers.run_once("w-0") is True
    job = job_of(catalog, job_id)
    assert job.status == jobs.SUCCEEDED, job.error
    assert job.result is not None and job.result["changed"] is True
    branch = job.result["branch"]
    assert run("git", "--git-dir", str(git_server.bare), "rev-parse", branch) == job.result["commit"]
    assert counted == [(jobs.RENDER, jobs.SUCCEEDED)]
    with catalog.session() as session:
        [delivery] = session.query(Delivery).all()
        digest = service.resolve(session, name=TEMPLATE, spec="1.0.0").digest
    assert (delivery.template, delivery.version, delivery.path) == (TEMPLATE, "1.0.0", TARGET)
    assert delivery.digest == digest == job.result["digest"]
    assert workers.run_once("w-0") is False  # the queue is empty now


def test_a_job_whose_repository_is_no_longer_allowed_fails_without_a_network_call(
        catalog: Catalog, templates: TemplateCache) -> None:
    repo = "https://git.invalid/acme/deploy.git"  # unresolvable: any network call would fail differently
    job_id = enqueue(catalog, repo)
    asked: list[str] = []

    def credentials(repo: str) -> Credentials | None:
        asked.append(repo)
        return None

    workers = Workers(runner(catalog, templates, (), credentials=credentials), count=1, lease_seconds=60)
    assert workers.run_once("w-0") is True
    job = job_of(catalog, job_id)
    assert job.status == jobs.FAILED and asked == []
    assert job.error == (f"this registry does not push to {repo}; its operators allow: no repository "
                         "(PIPEFORGE_PR_ALLOWED_REPOS)")


def test_an_unexpected_failure_is_kept_on_the_job_naming_the_repository(
        catalog: Catalog, templates: TemplateCache, caplog: pytest.LogCaptureFixture) -> None:
    repo = "https://git.invalid/acme/deploy.git"
    job_id = enqueue(catalog, repo)

    def broken(_repo: str) -> Credentials | None:
        raise RuntimeError("a bug, with a secret-looking detail")

    seen: list[int | None] = []

    class JobIds(logging.Filter):
        def filter(self, record: logging.LogRecord) -> bool:
            if record.name == "pipeforge.registry.pull_requests":
                seen.append(current_job.get())
            return True

    logger = logging.getLogger("pipeforge.registry.pull_requests")
    logger.addFilter(ids := JobIds())
    try:
        workers = Workers(runner(catalog, templates, (repo,), credentials=broken), count=1, lease_seconds=60)
        with caplog.at_level(logging.INFO, logger="pipeforge.registry.pull_requests"):
            assert workers.run_once("w-0") is True
    finally:
        logger.removeFilter(ids)
    job = job_of(catalog, job_id)
    assert job.status == jobs.FAILED
    assert job.error == f"{repo}: the job failed unexpectedly; the registry's log has the details"
    assert "secret-looking" in caplog.text  # the log has the details, the job does not
    assert seen and set(seen) == {job_id}
    assert current_job.get() is None


def test_stopping_hands_back_the_lease_of_a_job_still_running(catalog: Catalog, templates: TemplateCache) -> None:
    repo = "https://git.invalid/acme/deploy.git"
    job_id = enqueue(catalog, repo)
    started, release = threading.Event(), threading.Event()

    def stuck(_repo: str) -> Credentials | None:
        started.set()
        release.wait(60)
        raise RuntimeError("released")

    workers = Workers(runner(catalog, templates, (repo,), credentials=stuck), count=1, lease_seconds=600)
    workers.start()
    try:
        assert started.wait(60), "the worker did not claim the job"
        workers.stop(grace_seconds=0)
        job = job_of(catalog, job_id)
        assert (job.status, job.claimed_by, job.lease_until) == (jobs.QUEUED, None, None)
    finally:
        release.set()
    deadline = time.monotonic() + 60  # the stuck run ends; its finish is ignored (the job is no longer its)
    while any(t.is_alive() for t in workers._threads) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert job_of(catalog, job_id).status == jobs.QUEUED


def test_a_job_queued_in_this_process_wakes_the_idle_workers_and_a_rolled_back_one_does_not(
        catalog: Catalog, templates: TemplateCache) -> None:
    repo = "https://git.invalid/acme/deploy.git"  # not allowed: the job fails at once, without a network call
    signal = threading.Event()
    stop = jobs.wake_on_queued(signal)
    try:
        with catalog.session() as session:
            jobs.queued(session)
            session.rollback()
        assert not signal.is_set()  # nothing was queued: the workers sleep on
        # An hour between polls: only the wake-up can start the job.
        workers = Workers(runner(catalog, templates, ()), count=2, lease_seconds=60, idle_seconds=3600)
        workers.start()
        try:
            time.sleep(0.2)  # both workers found the queue empty and are idle
            job_id = enqueue(catalog, repo)
            assert signal.is_set()
            deadline = time.monotonic() + 60
            while job_of(catalog, job_id).status in (jobs.QUEUED, jobs.RUNNING) and time.monotonic() < deadline:
                time.sleep(0.05)  # claimed (running), then failed: both come after the wake-up
            assert job_of(catalog, job_id).status == jobs.FAILED
        finally:
            workers.stop(grace_seconds=5)
    finally:
        stop()
    signal.clear()
    enqueue(catalog, repo)
    assert not signal.is_set()  # stopped: no longer woken
