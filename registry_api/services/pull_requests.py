"""Pull requests over the API: checked and queued in the request, opened by background workers.

A request is validated before it is queued: the repository must be in ``PIPEFORGE_PR_ALLOWED_REPOS``
(else 403, and no network call at all), PATH, base and provider must be valid, and the template must
render with the parameters (invalid ones give 422 naming each). The template version is resolved then,
so a later publish does not change a queued job. Workers (threads of the registry process; every replica
runs its own) claim jobs from the catalog database and run the same library call as ``pipeforge pr``.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import uuid
from typing import Any

from catalog import jobs
from catalog.db import reporting
from generator.errors import PipeforgeError
from registry_api.problems import ProblemError
from registry_api.services.registry import Registry
from registry_api.services.render import render as render_version

log = logging.getLogger("pipeforge.registry.pull_requests")

PROVIDERS = ("none", "github", "gitlab", "gitea")


def allowed(url: str, allowlist: list[str]) -> bool:
    """Exact URL (trailing slash and .git ignored), or under a prefix that ends with '/'."""
    def norm(text: str) -> str:
        return text.strip().rstrip("/").removesuffix(".git")

    return any(url.startswith(entry) if entry.endswith("/") else norm(url) == norm(entry) for entry in allowlist)


def check(registry: Registry, request: dict[str, Any]) -> dict[str, Any]:
    """Validate a request and resolve its version; raises ProblemError (403) or PipeforgeError (422...)."""
    from generator.gitops.branch import target_path
    from generator.gitops.git import check_branch, check_url

    repo = check_url(request["repo"])  # first: a URL carrying credentials is refused, never echoed
    if not allowed(repo, registry.settings.pr_allowed_repos):
        raise ProblemError(403, "repository-not-allowed", "Repository not allowed",
                           f"this registry does not push to {repo}; its operators allow: "
                           + (", ".join(registry.settings.pr_allowed_repos) or "no repository"),
                           repository=repo)
    target_path(request["path"])
    check_branch(request["base"])
    if request["provider"] not in PROVIDERS:
        raise ProblemError(422, "invalid-provider", "Unknown provider",
                           f"provider must be one of {', '.join(PROVIDERS)}")
    rendered = render_version(registry.catalog, registry.templates, name=request["template"],
                              version=request.get("version"), parameters=request["parameters"])
    return {**request, "resolved": rendered.row.version}


def run_job(registry: Registry, request: dict[str, Any]) -> dict[str, Any]:
    """Open or update the pull request a job asks for; the outcome in `pipeforge pr --json` form."""
    from generator.gitops.git import Credentials
    from generator.gitops.pull_request import open_pull_request

    rendered = render_version(registry.catalog, registry.templates, name=request["template"],
                              version=request["resolved"], parameters=request["parameters"])
    outcome = open_pull_request(rendered.pipeline, repo=request["repo"], path=request["path"],
                                base=request["base"], provider=request["provider"],
                                credentials=Credentials.from_env(request["repo"]))
    return outcome.as_dict()


class Workers:
    """Threads that claim and run pull-request jobs until stopped."""

    def __init__(self, registry: Registry, *, count: int, idle_seconds: float = 0.2) -> None:
        self.registry = registry
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

    def stop(self) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout=60)

    def run_once(self, worker: str) -> bool:
        """Claim and run one job; False when the queue is empty."""
        catalog = self.registry.catalog
        with reporting(catalog.engine.url), catalog.session() as session:
            job = jobs.claim(session, worker=worker, lease_seconds=self.registry.settings.pr_lease_seconds)
            if job is None:
                return False
            job_id, request = job.id, dict(job.request)
        result: dict[str, Any] | None = None
        error: str | None = None
        try:
            result = run_job(self.registry, request)
        except PipeforgeError as exc:
            error = exc.message
        except Exception:  # a worker must outlive any one job; the error is kept on the job and logged
            log.exception("pull-request job %s failed unexpectedly", job_id)
            error = "the job failed unexpectedly; the registry's log has the details"
        with reporting(catalog.engine.url), catalog.session() as session:
            jobs.finish(session, job_id, worker=worker, result=result, error=error)
        return True

    def _loop(self, worker: str) -> None:
        while not self._stop.is_set():
            try:
                busy = self.run_once(worker)
            except Exception:  # the database went away: wait and try again
                log.exception("pull-request worker %s could not reach the queue", worker)
                busy = False
            if not busy:
                self._stop.wait(self.idle_seconds)
