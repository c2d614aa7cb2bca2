"""The pull-request job worker: threads that claim jobs from the durable queue (``catalog.jobs``), run
each through the same library call as ``pipeforge pr`` (or ``open_upgrade_pull_request`` for an upgrade),
and record the outcome.

A job is checked and queued by the registry's request; its template version was resolved then, so a later
publish does not change it. Every registry replica runs its own workers; the queue's leases make sure one
job is run by one of them at a time, and a job whose worker died is taken again once its lease expires.
The allowlist is checked again when the job runs (it may have shrunk since the job was queued). A job that
succeeds records its delivery in the same transaction that finishes it (``catalog.rollouts``), so that
roll-outs select the right targets.

What a job needs from the server that runs it (the catalog, its cache of unpacked versions, the allowlist,
the forge API per repository, git credentials) is given explicitly in a ``JobRunner``.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
import uuid
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager, ExitStack, nullcontext
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session

from catalog import jobs, resolution, rollouts
from catalog.allowlist import refusal
from catalog.checkout import TemplateCache
from catalog.db import Catalog, reporting
from catalog.models import PullRequestJob
from generator.errors import PipeforgeError
from generator.gitops.branch import target_path
from generator.gitops.git import Credentials
from generator.gitops.pull_request import open_pull_request
from generator.gitops.upgrade_pr import open_upgrade_pull_request
from generator.scaffold import build_bounded
from generator.semver import parse_version

#: The registry runs the workers; their records keep the logger name its operators filter on.
log = logging.getLogger("pipeforge.registry.pull_requests")

#: The job a worker thread is running, so that every log record made meanwhile can carry its id.
current_job: ContextVar[int | None] = ContextVar("pipeforge_job", default=None)


@dataclass(frozen=True)
class JobRunner:
    """Runs one pull-request job. ``api_url_for(repo)`` is the forge API configured for a repository (None:
    the provider's default); ``credentials(repo)`` the git credentials to push with (None: anonymous)."""

    catalog: Catalog
    templates: TemplateCache
    allowlist: Sequence[str]
    api_url_for: Callable[[str], str | None]
    credentials: Callable[[str], Credentials | None] = Credentials.from_env

    def run(self, request: dict[str, Any], kind: str = jobs.RENDER) -> dict[str, Any]:
        """Open or update the pull request a job asks for; the outcome in ``pipeforge pr --json`` form."""
        repo = request["repo"]
        reason = refusal(self.allowlist, repo)
        if reason is not None:
            raise PipeforgeError(reason)
        credentials, api_url = self.credentials(repo), self.api_url_for(repo)
        if kind == jobs.UPGRADE:
            with ExitStack() as held:
                upgraded = open_upgrade_pull_request(
                    repo=repo, path=request["path"], to=request["to"], resolve=self.resolver(held),
                    base=request["base"], provider=request["provider"], credentials=credentials,
                    api_url=api_url, history=self.history(), build_with=build_bounded)
            return upgraded.as_dict()
        with resolution.resolved(request["template"], request["resolved"], sources=(resolution.CATALOG,),
                                 catalog=self._catalog, checkout=self.templates.lease) as found:
            pipeline = build_bounded(found.template, request["parameters"], digest=found.digest)
        outcome = open_pull_request(pipeline, repo=repo, path=request["path"], base=request["base"],
                                    provider=request["provider"], credentials=credentials, api_url=api_url)
        return {**outcome.as_dict(), "digest": found.digest}

    def resolver(self, held: ExitStack) -> resolution.Resolver:
        """Template versions from the catalog, each leased from the cache until ``held`` closes (so an
        eviction cannot remove its files while in use)."""
        return resolution.resolver(held, sources=(resolution.CATALOG,), catalog=self._catalog,
                                   checkout=self.templates.lease)

    def history(self) -> resolution.History | None:
        """The changelogs of the catalog's versions, for an upgrade PR's body."""
        return resolution.history(catalog=self._catalog)

    def _catalog(self) -> AbstractContextManager[Catalog]:
        return nullcontext(self.catalog)


def record_delivery(session: Session, job: PullRequestJob) -> None:
    """After a job succeeded: what PATH of the repository now holds (or, for an open upgrade PR, still
    holds: the base's version), so that roll-outs select the right targets."""
    request, result = job.request, job.result or {}
    where = {"repo": request["repo"], "path": target_path(request["path"]), "base": request["base"],
             "provider": request["provider"]}
    if job.kind != jobs.UPGRADE:
        if (result.get("pull_request") or {}).get("action") == "declined":
            return  # a person closed this very pull request unmerged: nothing was delivered
        rollouts.record_delivery(session, template=request["template"], version=request["resolved"],
                                 digest=result.get("digest") or rollouts.digest_of(session, request["template"],
                                                                                   request["resolved"]), **where)
        return
    upgrade = result.get("upgrade") or {}
    template, source, target = upgrade.get("template"), upgrade.get("from"), upgrade.get("to")
    if not (isinstance(template, str) and isinstance(source, str) and isinstance(target, str)):
        return
    version = source
    if upgrade.get("status") == "up-to-date" and parse_version(target).key > parse_version(source).key:
        version = target
    rollouts.record_delivery(session, template=template, version=version,
                             digest=rollouts.digest_of(session, template, version), **where)


class Workers:
    """Threads that claim and run pull-request jobs until stopped. ``finished`` is called with (kind,
    "succeeded" | "failed") after each job (the registry counts them for /metrics)."""

    def __init__(self, runner: JobRunner, *, count: int, lease_seconds: float, idle_seconds: float = 1.0,
                 finished: Callable[[str, str], None] | None = None) -> None:
        self.runner = runner
        self.finished = finished
        self.count = count
        self.lease_seconds = lease_seconds
        self.idle_seconds = idle_seconds
        self._stop = threading.Event()
        self._work = threading.Event()  # set when this process queues a job (jobs.wake_on_queued), or on stop
        self._unsubscribe: Callable[[], None] | None = None
        self._threads: list[threading.Thread] = []
        self.name = f"{socket.gethostname()}-{os.getpid()}-{uuid.uuid4().hex[:6]}"

    def start(self) -> None:
        self._unsubscribe = jobs.wake_on_queued(self._work)
        for index in range(self.count):
            thread = threading.Thread(target=self._loop, args=(f"{self.name}-{index}",), daemon=True,
                                      name=f"pipeforge-pr-worker-{index}")
            thread.start()
            self._threads.append(thread)

    def stop(self, grace_seconds: float = 60) -> None:
        """Stop claiming; let running jobs finish within ``grace_seconds``, then hand back the leases of
        those still running so another replica takes them now rather than when the lease expires."""
        self._stop.set()
        self._work.set()
        if self._unsubscribe is not None:
            self._unsubscribe()
        deadline = time.monotonic() + grace_seconds
        for thread in self._threads:
            thread.join(timeout=max(0.0, deadline - time.monotonic()))
        busy = [f"{self.name}-{index}" for index, thread in enumerate(self._threads) if thread.is_alive()]
        if not busy:
            return
        catalog = self.runner.catalog
        try:
            with reporting(catalog.engine.url), catalog.session() as session:
                released = jobs.release(session, workers=busy)
        except PipeforgeError as exc:  # the database is gone too: the leases expire by themselves
            log.warning("pull-request jobs of %s not released: %s", ", ".join(busy), exc.message)
            return
        log.warning("released %d pull-request job(s) still running after %.0f s", released, grace_seconds)

    def run_once(self, worker: str) -> bool:
        """Claim and run one job; False when the queue is empty."""
        catalog = self.runner.catalog
        with reporting(catalog.engine.url), catalog.session() as session:
            job = jobs.claim(session, worker=worker, lease_seconds=self.lease_seconds)
            if job is None:
                return False
            job_id, request, kind = job.id, dict(job.request), job.kind
        result, error = self._run(job_id, request, kind)
        if error is not None and request.get("repo") and request["repo"] not in error:
            error = f"{request['repo']}: {error}"  # a roll-out lists many targets: name the repository
        with reporting(catalog.engine.url), catalog.session() as session:
            jobs.finish(session, job_id, worker=worker, result=result, error=error, record=self._record)
        if self.finished is not None:
            self.finished(kind, jobs.FAILED if error is not None else jobs.SUCCEEDED)
        return True

    def _run(self, job_id: int, request: dict[str, Any], kind: str) -> tuple[dict[str, Any] | None, str | None]:
        """The job's result, or the error to keep on it; every log record meanwhile carries its id."""
        result: dict[str, Any] | None = None
        error: str | None = None
        token = current_job.set(job_id)
        try:
            result = self.runner.run(request, kind)
        except PipeforgeError as exc:
            error = exc.message
        except Exception:  # a worker must outlive any one job; the error is kept on the job and logged
            log.exception("pull-request job %s failed unexpectedly", job_id)
            error = "the job failed unexpectedly; the registry's log has the details"
        finally:
            log.info("pull-request job %s (%s) %s", job_id, kind, "failed" if error is not None else "done")
            current_job.reset(token)
        return result, error

    @staticmethod
    def _record(session: Session, job: PullRequestJob) -> None:
        try:
            with session.begin_nested():
                record_delivery(session, job)
        except Exception:  # the pull request is done; a delivery that cannot be recorded must not undo that
            log.exception("pull-request job %s: its delivery could not be recorded", job.id)

    def _loop(self, worker: str) -> None:
        while not self._stop.is_set():
            try:
                busy = self.run_once(worker)
            except Exception:  # the database went away: wait and try again
                log.exception("pull-request worker %s could not reach the queue", worker)
                busy = False
            if not busy:  # until a job is queued here, or another replica's might be waiting
                self._work.wait(self.idle_seconds)
                self._work.clear()
