"""Pull requests over the API: checked and queued in the request, opened by background workers.

A request is validated before it is queued: the repository must be in ``PIPEFORGE_PR_ALLOWED_REPOS``
(else 403, and no network call at all), PATH, base and provider must be valid, and the template must
render with the parameters (invalid ones give 422 naming each). The template version is resolved then,
so a later publish does not change a queued job. Workers (threads of the registry process; every replica
runs its own) claim jobs from the catalog database and run the same library call as ``pipeforge pr``.

Upgrade jobs (``POST /api/v1/upgrades``, and every target of a roll-out) run
``open_upgrade_pull_request`` with the registry's catalog as the source of template versions. A job that
succeeds records its delivery in the same transaction that finishes it (see ``catalog.rollouts``).
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
import uuid
from collections.abc import Callable
from contextlib import ExitStack
from typing import TYPE_CHECKING, Any

from sqlalchemy.orm import Session

from catalog import jobs
from catalog.db import reporting
from catalog.models import PullRequestJob
from generator.errors import PipeforgeError
from registry_api.problems import ProblemError
from registry_api.services.registry import Registry
from registry_api.services.render import render as render_version

if TYPE_CHECKING:
    from generator.gitops.upgrade_pr import History
    from generator.upgrade import Resolver

log = logging.getLogger("pipeforge.registry.pull_requests")

PROVIDERS = ("none", "github", "gitlab", "gitea")


def allowed(url: str, allowlist: list[str]) -> bool:
    """Exact URL (trailing slash and .git ignored), or under a prefix that ends with '/', compared after
    strict parsing, segment by segment (``generator.gitops.urls``)."""
    from generator.gitops.urls import allowed as url_allowed

    return url_allowed(url, allowlist)


def refusal(registry: Registry, repo: str) -> str | None:
    """Why this registry must not push to ``repo`` (not in PIPEFORGE_PR_ALLOWED_REPOS), or None."""
    if allowed(repo, registry.settings.pr_allowed_repos):
        return None
    return (f"this registry does not push to {repo}; its operators allow: "
            + (", ".join(registry.settings.pr_allowed_repos) or "no repository")
            + " (PIPEFORGE_PR_ALLOWED_REPOS)")


def _check_target(registry: Registry, request: dict[str, Any]) -> str:
    """Repository (allowed), PATH, base and provider of a request; the normalised PATH."""
    from generator.gitops.branch import target_path
    from generator.gitops.git import check_branch, check_url

    repo = check_url(request["repo"])  # first: a URL carrying credentials is refused, never echoed
    reason = refusal(registry, repo)
    if reason is not None:
        raise ProblemError(403, "repository-not-allowed", "Repository not allowed", reason, repository=repo)
    path = target_path(request["path"])
    check_branch(request["base"])
    if request["provider"] not in PROVIDERS:
        raise ProblemError(422, "invalid-provider", "Unknown provider",
                           f"provider must be one of {', '.join(PROVIDERS)}")
    return path


def check_upgrade(registry: Registry, request: dict[str, Any]) -> dict[str, Any]:
    """Validate an upgrade request (the target as for a render, and ``to`` a version or spec)."""
    from generator.semver import parse_spec

    _check_target(registry, request)
    parse_spec(request["to"])
    return dict(request)


def check(registry: Registry, request: dict[str, Any]) -> dict[str, Any]:
    """Validate a request and resolve its version; raises ProblemError (403) or PipeforgeError (422...)."""
    _check_target(registry, request)
    rendered = render_version(registry.catalog, registry.templates, name=request["template"],
                              version=request.get("version"), parameters=request["parameters"])
    return {**request, "resolved": rendered.row.version}


def catalog_resolver(registry: Registry, held: ExitStack) -> Resolver:
    """Template versions from the registry's catalog: (name, spec) -> (template, digest), each leased from
    the render cache until ``held`` closes (so an eviction cannot remove its files while in use)."""
    from catalog import service

    def resolve(name: str, spec: str) -> tuple[Any, str | None]:
        catalog = registry.catalog
        with reporting(catalog.engine.url), catalog.session() as session:
            row = service.resolve(session, name=name, spec=spec)
        return held.enter_context(registry.templates.lease(catalog, row)), row.digest

    return resolve


def catalog_history(registry: Registry) -> History:
    """The changelogs of the catalog's versions in (after, upto], oldest first, for an upgrade PR's body."""
    from catalog import service

    def history(name: str, after: str, upto: str) -> list[tuple[str, str | None]]:
        catalog = registry.catalog
        with reporting(catalog.engine.url), catalog.session() as session:
            return service.changelog(session, name=name, after=after, upto=upto)

    return history


def run_job(registry: Registry, request: dict[str, Any], kind: str = jobs.RENDER) -> dict[str, Any]:
    """Open or update the pull request a job asks for; the outcome in `pipeforge pr --json` form. The
    allowlist is checked again: it may have shrunk since the job was queued."""
    from generator.gitops.git import Credentials

    repo = request["repo"]
    reason = refusal(registry, repo)
    if reason is not None:
        raise PipeforgeError(reason)
    credentials = Credentials.from_env(repo)
    api_url = registry.settings.api_url_for(repo)
    if kind == jobs.UPGRADE:
        from generator.gitops.upgrade_pr import open_upgrade_pull_request
        from generator.scaffold import build_bounded

        with ExitStack() as held:
            upgraded = open_upgrade_pull_request(repo=repo, path=request["path"], to=request["to"],
                                                 resolve=catalog_resolver(registry, held), base=request["base"],
                                                 provider=request["provider"], credentials=credentials,
                                                 api_url=api_url, history=catalog_history(registry),
                                                 build_with=build_bounded)
        return upgraded.as_dict()
    from generator.gitops.pull_request import open_pull_request

    rendered = render_version(registry.catalog, registry.templates, name=request["template"],
                              version=request["resolved"], parameters=request["parameters"], keep_pipeline=True)
    assert rendered.pipeline is not None  # asked for
    outcome = open_pull_request(rendered.pipeline, repo=repo, path=request["path"], base=request["base"],
                                provider=request["provider"], credentials=credentials, api_url=api_url)
    return {**outcome.as_dict(), "digest": rendered.row.digest}


def record_delivery(session: Session, job: PullRequestJob) -> None:
    """After a job succeeded: what PATH of the repository now holds (or, for an open upgrade PR, still
    holds: the base's version), so that roll-outs select the right targets."""
    from catalog import rollouts
    from generator.gitops.branch import target_path
    from generator.semver import parse_version

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
    """Threads that claim and run pull-request jobs until stopped."""

    def __init__(self, registry: Registry, *, count: int, idle_seconds: float = 0.2,
                 finished: Callable[[str, str], None] | None = None) -> None:
        self.registry = registry
        self.finished = finished  # called with (kind, "succeeded" | "failed") after each job, for /metrics
        self.count = count
        self.idle_seconds = idle_seconds
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self.name = f"{socket.gethostname()}-{os.getpid()}-{uuid.uuid4().hex[:6]}"

    def start(self) -> None:
        for index in range(self.count):
            thread = threading.Thread(target=self._loop, args=(f"{self.name}-{index}",), daemon=True,
                                      name=f"pipeforge-pr-worker-{index}")
            thread.start()
            self._threads.append(thread)

    def stop(self, grace_seconds: float = 60) -> None:
        """Stop claiming; let running jobs finish within ``grace_seconds``, then hand back the leases of
        those still running so another replica takes them now rather than when the lease expires."""
        self._stop.set()
        deadline = time.monotonic() + grace_seconds
        for thread in self._threads:
            thread.join(timeout=max(0.0, deadline - time.monotonic()))
        busy = [f"{self.name}-{index}" for index, thread in enumerate(self._threads) if thread.is_alive()]
        if not busy:
            return
        catalog = self.registry.catalog
        try:
            with reporting(catalog.engine.url), catalog.session() as session:
                released = jobs.release(session, workers=busy)
        except PipeforgeError as exc:  # the database is gone too: the leases expire by themselves
            log.warning("pull-request jobs of %s not released: %s", ", ".join(busy), exc.message)
            return
        log.warning("released %d pull-request job(s) still running after %.0f s", released, grace_seconds)

    def run_once(self, worker: str) -> bool:
        """Claim and run one job; False when the queue is empty."""
        catalog = self.registry.catalog
        with reporting(catalog.engine.url), catalog.session() as session:
            job = jobs.claim(session, worker=worker, lease_seconds=self.registry.settings.pr_lease_seconds)
            if job is None:
                return False
            job_id, request, kind = job.id, dict(job.request), job.kind
        from registry_api.logcontext import current_job

        result: dict[str, Any] | None = None
        error: str | None = None
        token = current_job.set(job_id)  # every record of this job carries its id
        try:
            result = run_job(self.registry, request, kind)
        except PipeforgeError as exc:
            error = exc.message
        except Exception:  # a worker must outlive any one job; the error is kept on the job and logged
            log.exception("pull-request job %s failed unexpectedly", job_id)
            error = "the job failed unexpectedly; the registry's log has the details"
        finally:
            log.info("pull-request job %s (%s) %s", job_id, kind, "failed" if error is not None else "done")
            current_job.reset(token)
        if error is not None and request.get("repo") and request["repo"] not in error:
            error = f"{request['repo']}: {error}"  # a roll-out lists many targets: name the repository
        with reporting(catalog.engine.url), catalog.session() as session:
            jobs.finish(session, job_id, worker=worker, result=result, error=error, record=self._record)
        if self.finished is not None:
            self.finished(kind, jobs.FAILED if error is not None else jobs.SUCCEEDED)
        return True

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
            if not busy:
                self._stop.wait(self.idle_seconds)
