"""``POST /api/v1/render``: a dry run. Renders a catalog version in memory; no side effects."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from registry_api.deps import ReaderDep, RegistryDep
from registry_api.problems import PROBLEM_RESPONSES
from registry_api.schemas import RenderRequest, RenderResponse
from registry_api.services import render as render_service

router = APIRouter(prefix="/api/v1", tags=["render"])


@router.post("/render", response_model=RenderResponse, responses=PROBLEM_RESPONSES)
def render(body: RenderRequest, registry: RegistryDep, _reader: ReaderDep) -> dict[str, Any]:
    """Render a template version with parameters: the files, lint findings, the failure-mode table and the
    pipeline's graph. Invalid parameters give 422 naming every bad field. Nothing is stored."""
    rendered = render_service.render(registry.catalog, registry.templates, name=body.template,
                                     version=body.version, parameters=body.parameters)
    return rendered.public()
