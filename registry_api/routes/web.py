"""The web pages: the catalog with search and tags, and a page per template with its versions, a
parameter form, a live preview, the failure-mode table and the pipeline's graph; the roll-outs and a page per
roll-out (which refreshes itself while targets are pending). Server-rendered;
``/static/preview.js`` only refreshes the preview as the form changes (the form works without it)."""

from __future__ import annotations

from pathlib import Path as FsPath
from typing import Annotated

import anyio.to_thread
from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates

from catalog.errors import NotInCatalogError
from registry_api.deps import ReaderDep, RegistryDep
from registry_api.problems import status_of
from registry_api.schemas import NAME
from registry_api.services import apidoc, pages

router = APIRouter(tags=["web"], include_in_schema=False)
jinja = Jinja2Templates(directory=FsPath(__file__).resolve().parent.parent / "web" / "templates")


@router.get("/", response_class=HTMLResponse)
async def catalog(request: Request, registry: RegistryDep, _reader: ReaderDep,
                  q: Annotated[str, Query(max_length=200)] = "",
                  tag: Annotated[str | None, Query(max_length=100)] = None) -> HTMLResponse:
    if not registry.index.fresh():
        await anyio.to_thread.run_sync(registry.index.refresh)
    context = pages.catalog_page(registry, q=q, tag=tag or None)
    return jinja.TemplateResponse(request, "catalog.html", context)


@router.get("/templates/{name}", response_class=HTMLResponse)
def template(request: Request, name: Annotated[str, Path(pattern=NAME, max_length=63)], registry: RegistryDep,
             _reader: ReaderDep) -> HTMLResponse:
    query = dict(request.query_params)
    version = query.pop("version", "") or None
    try:
        context = pages.template_page(registry, name=name, version=version, given=query)
    except NotInCatalogError as exc:
        status, _, title = status_of(exc)
        return jinja.TemplateResponse(request, "error.html", {"title": title, "detail": exc.message},
                                      status_code=status)
    status = 200 if context["problem"] is None else 422
    return jinja.TemplateResponse(request, "template.html", context, status_code=status)


@router.get("/rollouts", response_class=HTMLResponse)
async def rollouts(request: Request, registry: RegistryDep, _reader: ReaderDep) -> HTMLResponse:
    context = await anyio.to_thread.run_sync(pages.rollouts_page, registry)
    return jinja.TemplateResponse(request, "rollouts.html", context)


@router.get("/rollouts/{rollout_id}", response_class=HTMLResponse)
async def rollout(request: Request, rollout_id: Annotated[int, Path(ge=1, le=2**31 - 1)], registry: RegistryDep,
                  _reader: ReaderDep) -> HTMLResponse:
    """One roll-out, its targets and their state; the page refreshes itself while targets are pending."""
    context = await anyio.to_thread.run_sync(lambda: pages.rollout_page(registry, rollout_id=rollout_id))
    if context is None:
        return jinja.TemplateResponse(request, "error.html", {"title": "No such roll-out",
                                                              "detail": f"there is no roll-out {rollout_id}"},
                                      status_code=404)
    return jinja.TemplateResponse(request, "rollout.html", context)


@router.get("/docs", response_class=HTMLResponse)
async def docs(request: Request) -> HTMLResponse:
    """The API reference, drawn from /openapi.json on the server (works without internet access)."""
    document = request.app.openapi()
    context = {"operations": apidoc.operations(document), "openapi_version": document.get("openapi", ""),
               "description": [apidoc.segments(" ".join(p.split()))
                               for p in document.get("info", {}).get("description", "").split("\n\n") if p.strip()]}
    return jinja.TemplateResponse(request, "docs.html", context)
