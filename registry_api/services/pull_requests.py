"""Pull requests over the API: checked in the request, then queued; ``catalog.worker`` opens them.

A request is validated before it is queued: the repository must be in ``PIPEFORGE_PR_ALLOWED_REPOS``
(else 403, and no network call at all), PATH, base and provider must be valid, and the template must
render with the parameters (invalid ones give 422 naming each). The template version is resolved then,
so a later publish does not change a queued job. ``job_runner`` gives the workers what they need of
this registry.
"""

from __future__ import annotations

from typing import Any

from catalog.allowlist import refusal
from catalog.worker import JobRunner
from generator.gitops.branch import target_path
from generator.gitops.git import check_branch, check_url
from generator.gitops.pull_request import PROVIDERS
from generator.semver import parse_spec
from registry_api.problems import ProblemError
from registry_api.services.registry import Registry
from registry_api.services.render import render as render_version


def job_runner(registry: Registry) -> JobRunner:
    """The job runner over this registry's catalog, render cache and pull-request settings."""
    settings = registry.settings
    return JobRunner(catalog=registry.catalog, templates=registry.templates,
                     allowlist=tuple(settings.pr_allowed_repos), api_url_for=settings.api_url_for)


def _check_target(registry: Registry, request: dict[str, Any]) -> str:
    """Repository (allowed), PATH, base and provider of a request; the normalised PATH."""
    repo = check_url(request["repo"])  # first: a URL carrying credentials is refused, never echoed
    reason = refusal(registry.settings.pr_allowed_repos, repo)
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
    _check_target(registry, request)
    parse_spec(request["to"])
    return dict(request)


def check(registry: Registry, request: dict[str, Any]) -> dict[str, Any]:
    """Validate a request and resolve its version; raises ProblemError (403) or PipeforgeError (422...)."""
    _check_target(registry, request)
    rendered = render_version(registry.catalog, registry.templates, name=request["template"],
                              version=request.get("version"), parameters=request["parameters"])
    return {**request, "resolved": rendered.row.version}
