"""``POST /api/v1/render``: a dry run. Renders a catalog version in memory; no side effects. The same
render as a download: ``GET``/``POST /api/v1/render/archive.{tar.gz,zip}``."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import Response
from pydantic import ValidationError

from generator.delivery import FORMATS
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


ARCHIVE_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {"content": {media: {"schema": {"type": "string", "format": "binary"}} for media in FORMATS.values()},
          "description": "the rendered folder, every file under the pipeline's folder name"},
    **PROBLEM_RESPONSES,
}
_FORMAT = Path(pattern="^(tar\\.gz|zip)$", description="tar.gz or zip")


def _download(rendered: render_service.Rendered, fmt: str) -> Response:
    folder = rendered.body["folder"]
    return Response(rendered.archive(fmt), media_type=FORMATS[fmt],
                    headers={"Content-Disposition": f'attachment; filename="{folder}.{fmt}"'})


@router.post("/render/archive.{fmt}", response_class=Response, responses=ARCHIVE_RESPONSES)
def render_archive(body: RenderRequest, registry: RegistryDep, _reader: ReaderDep,
                   fmt: Annotated[str, _FORMAT]) -> Response:
    """The render of `POST /render` as a download: the pipeline folder as .tar.gz or .zip. Invalid
    parameters give 422 naming every bad field, as for the render."""
    rendered = render_service.render(registry.catalog, registry.templates, name=body.template,
                                     version=body.version, parameters=body.parameters)
    return _download(rendered, fmt)


@router.get("/render/archive.{fmt}", response_class=Response, responses=ARCHIVE_RESPONSES)
def render_archive_link(request: Request, registry: RegistryDep, _reader: ReaderDep,
                        fmt: Annotated[str, _FORMAT]) -> Response:
    """A download link: `?template=NAME&version=SPEC&PARAM=VALUE...` (every other query parameter is a
    template parameter, as in the template page's URL)."""
    query = dict(request.query_params)
    try:
        body = RenderRequest.model_validate({"template": query.pop("template", ""),
                                             "version": query.pop("version", None) or None, "parameters": query})
    except ValidationError as exc:  # the query is the body here: answered as the POST's 422 would be
        raise RequestValidationError(exc.errors(include_url=False)) from None
    rendered = render_service.render(registry.catalog, registry.templates, name=body.template,
                                     version=body.version, parameters=body.parameters)
    return _download(rendered, fmt)
