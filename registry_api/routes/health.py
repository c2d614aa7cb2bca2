"""Liveness, readiness (the database answers) and Prometheus metrics."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from registry_api.deps import RegistryDep
from registry_api.problems import PROBLEM_RESPONSES
from registry_api.schemas import Health
from registry_api.services import catalog_ops

router = APIRouter(tags=["operations"])


@router.get("/healthz", response_model=Health)
@router.head("/healthz", response_model=Health, include_in_schema=False)  # probes and load balancers use HEAD
async def healthz() -> dict[str, Any]:
    """The process is up (also while the catalog database is still being reached: see /readyz)."""
    return {"status": "ok"}


@router.get("/readyz", response_model=Health, responses={503: PROBLEM_RESPONSES[503]})
@router.head("/readyz", response_model=Health, include_in_schema=False)
def readyz(registry: RegistryDep) -> dict[str, Any]:
    """The catalog is open and its database answers (503 with the reason, credentials masked, when not)."""
    catalog_ops.ready(registry.catalog)
    return {"status": "ready"}


@router.get("/metrics", response_class=Response,
            responses={200: {"content": {"text/plain": {"schema": {"type": "string"}}}}})
def metrics(request: Request) -> Response:
    """Request counts and latencies by route and status, in Prometheus' text format."""
    return Response(generate_latest(request.app.state.metrics.registry), media_type=CONTENT_TYPE_LATEST)
