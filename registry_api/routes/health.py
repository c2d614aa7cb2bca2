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
async def healthz() -> dict[str, Any]:
    """The process is up."""
    return {"status": "ok"}


@router.get("/readyz", response_model=Health, responses={503: PROBLEM_RESPONSES[503]})
def readyz(registry: RegistryDep) -> dict[str, Any]:
    """The catalog database answers (503 with the reason, credentials masked, when it does not)."""
    catalog_ops.ready(registry.catalog)
    return {"status": "ready"}


@router.get("/metrics", response_class=Response,
            responses={200: {"content": {"text/plain": {"schema": {"type": "string"}}}}})
def metrics(request: Request) -> Response:
    """Request counts and latencies by route and status, in Prometheus' text format."""
    return Response(generate_latest(request.app.state.metrics.registry), media_type=CONTENT_TYPE_LATEST)
