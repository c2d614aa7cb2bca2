"""``/api/v1/rollouts``: move every pipeline the registry delivered from a template to a new version, one
upgrade pull request per pipeline. Each target is an upgrade job in the durable job table (so one failing
repository never stops the others); the roll-out's state is its jobs' state. Scope ``pr``."""

from __future__ import annotations

from typing import Annotated, Any

import anyio.to_thread
from fastapi import APIRouter, Depends, Header, Path, Query, Response

from catalog.tokens import Principal
from registry_api.deps import RegistryDep, require
from registry_api.problems import PROBLEM_RESPONSES, ProblemError
from registry_api.schemas import RolloutCreate, RolloutList, RolloutOut
from registry_api.services import rollouts as service

router = APIRouter(prefix="/api/v1", tags=["roll-outs"])
PrDep = Annotated[Principal, Depends(require("pr"))]
IdempotencyKey = Annotated[str | None, Header(alias="Idempotency-Key", max_length=200,
                                              description="retrying with the same key returns the same roll-out")]


@router.post("/rollouts", status_code=202, response_model=RolloutOut, responses=PROBLEM_RESPONSES)
async def create_rollout(body: RolloutCreate, registry: RegistryDep, principal: PrDep, response: Response,
                         idempotency_key: IdempotencyKey = None) -> dict[str, Any]:
    """Open or update the upgrade pull request of every recorded delivery of TEMPLATE below the version TO
    resolves to (each with its own base branch and provider). Targets in repositories the registry may no
    longer push to fail at once, without a network call. Answers 202 with the roll-out (200 when it has no
    target, or when the Idempotency-Key names an earlier one); running it again is safe: same branches,
    same pull requests."""
    rollout, created = await anyio.to_thread.run_sync(service.create, registry, principal.name, body.template,
                                                      body.to, idempotency_key)
    response.status_code = 202 if created and rollout["total"] else 200
    response.headers["Location"] = f"/api/v1/rollouts/{rollout['id']}"
    return rollout


@router.get("/rollouts", response_model=RolloutList, responses=PROBLEM_RESPONSES)
async def list_rollouts(registry: RegistryDep, _principal: PrDep,
                        limit: Annotated[int, Query(ge=1, le=200)] = 20,
                        template: Annotated[str | None, Query(max_length=63)] = None) -> dict[str, Any]:
    """The most recent roll-outs, newest first, with their counts per status."""
    return {"items": await anyio.to_thread.run_sync(service.recent, registry, limit, template)}


def _get(registry: Any, rollout_id: int) -> dict[str, Any]:
    found = service.get(registry, rollout_id)
    if found is None:
        raise ProblemError(404, "not-found", "No such roll-out", f"there is no roll-out {rollout_id}")
    return found


@router.get("/rollouts/{rollout_id}", response_model=RolloutOut, responses=PROBLEM_RESPONSES)
async def get_rollout(rollout_id: Annotated[int, Path(ge=1, le=2**31 - 1)], registry: RegistryDep,
                      _principal: PrDep) -> dict[str, Any]:
    """A roll-out: per target its status (pending, opened, up-to-date, conflict, failed), the reason of a
    failure, its pull request and its conflicts; `done` once no target is pending."""
    return await anyio.to_thread.run_sync(_get, registry, rollout_id)

