"""``/api/v1/pull-requests``: open or update the pull request of a pipeline in a GitOps repository.

The work is queued in the catalog database and done in the background; the answer is the job, whose
status ``GET /api/v1/pull-requests/{id}`` reports. An ``Idempotency-Key`` header makes a retried request
the same job. Scope ``pr``.
"""

from __future__ import annotations

from typing import Annotated, Any

import anyio.to_thread
from fastapi import APIRouter, Depends, Header, Path, Response

from catalog import jobs
from catalog.db import reporting
from catalog.tokens import Principal
from registry_api.deps import RegistryDep, require
from registry_api.problems import PROBLEM_RESPONSES, ProblemError
from registry_api.schemas import PullRequestCreate, PullRequestJobOut, UpgradeCreate
from registry_api.services import pull_requests as service
from registry_api.services.registry import Registry

router = APIRouter(prefix="/api/v1", tags=["pull requests"])
PrDep = Annotated[Principal, Depends(require("pr"))]
IdempotencyKey = Annotated[str | None, Header(alias="Idempotency-Key", max_length=200,
                                              description="retrying with the same key returns the same job")]


def _enqueue(registry: Registry, principal: Principal, body: dict[str, Any],
             key: str | None, kind: str = jobs.RENDER) -> tuple[dict[str, Any], bool]:
    checked = service.check_upgrade(registry, body) if kind == jobs.UPGRADE else service.check(registry, body)
    catalog = registry.catalog
    with reporting(catalog.engine.url), catalog.session() as session:
        done = jobs.enqueue(session, requested_by=principal.name, request=checked, idempotency_key=key, kind=kind)
        return jobs.describe(done.job), done.created


@router.post("/pull-requests", status_code=202, response_model=PullRequestJobOut, responses=PROBLEM_RESPONSES)
async def create_pull_request(body: PullRequestCreate, registry: RegistryDep, principal: PrDep,
                              response: Response, idempotency_key: IdempotencyKey = None) -> dict[str, Any]:
    """Queue the pull request of TEMPLATE@VERSION with PARAMETERS at PATH of REPO (which must be allowed).
    Answers 202 with the job (200 with the earlier job when the Idempotency-Key was seen before)."""
    job, created = await anyio.to_thread.run_sync(_enqueue, registry, principal, body.model_dump(), idempotency_key)
    response.status_code = 202 if created else 200
    response.headers["Location"] = f"/api/v1/pull-requests/{job['id']}"
    return job


@router.post("/upgrades", status_code=202, response_model=PullRequestJobOut, responses=PROBLEM_RESPONSES)
async def create_upgrade(body: UpgradeCreate, registry: RegistryDep, principal: PrDep, response: Response,
                         idempotency_key: IdempotencyKey = None) -> dict[str, Any]:
    """Queue the upgrade pull request of the pipeline at PATH of REPO (which must be allowed): its
    `.pipeforge-answers.yaml` on the base branch says which template and version it is; the folder is
    merged three ways to the version TO resolves to, keeping local edits, on the same branch as its
    render pull request. Answers 202 with the job (`GET /api/v1/pull-requests/{id}` follows it)."""
    job, created = await anyio.to_thread.run_sync(_enqueue, registry, principal, body.model_dump(), idempotency_key,
                                                  jobs.UPGRADE)
    response.status_code = 202 if created else 200
    response.headers["Location"] = f"/api/v1/pull-requests/{job['id']}"
    return job


def _get(registry: Registry, job_id: int) -> dict[str, Any]:
    catalog = registry.catalog
    with reporting(catalog.engine.url), catalog.session() as session:
        job = jobs.get(session, job_id)
        if job is None:
            raise ProblemError(404, "not-found", "No such job", f"there is no pull-request job {job_id}")
        return jobs.describe(job)


@router.get("/pull-requests/{job_id}", response_model=PullRequestJobOut, responses=PROBLEM_RESPONSES)
async def get_pull_request(job_id: Annotated[int, Path(ge=1, le=2**31 - 1)], registry: RegistryDep,
                           _principal: PrDep) -> dict[str, Any]:
    """A pull-request job: queued, running, succeeded (with branch, commit and pull request) or failed."""
    return await anyio.to_thread.run_sync(_get, registry, job_id)
