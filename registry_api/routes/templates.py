"""``/api/v1/templates``: browse the catalog, fetch bundles, publish, yank, unyank and remove."""

from __future__ import annotations

from typing import Annotated, Any

import anyio.to_thread
from fastapi import APIRouter, Path, Request, Response

from generator.semver import parse_version
from registry_api.deps import AdminDep, PublisherDep, ReaderDep, RegistryDep, current_registry, read_access
from registry_api.problems import PROBLEM_RESPONSES
from registry_api.schemas import (
    NAME,
    ChangeResult,
    RemovedPublic,
    RemoveRequest,
    TemplateDetail,
    TemplatePage,
    VersionPublic,
    YankRequest,
)
from registry_api.services import catalog_ops
from registry_api.services.index import MAX_PAGE, listing_query

router = APIRouter(prefix="/api/v1/templates", tags=["templates"])

Name = Annotated[str, Path(pattern=NAME, max_length=63, description="template name")]
VersionText = Annotated[str, Path(max_length=200, description="exact version, or a spec such as latest or ^1.2")]
BUNDLE_MEDIA_TYPE = "application/x-tar"


_LIST_PARAMETERS = [
    {"name": "q", "in": "query", "required": False, "description": "words in the name, summary or tags",
     "schema": {"type": "string", "maxLength": 200, "default": ""}},
    {"name": "tag", "in": "query", "required": False, "description": "only templates with this tag",
     "schema": {"type": "string", "maxLength": 100}},
    {"name": "limit", "in": "query", "required": False,
     "schema": {"type": "integer", "minimum": 1, "maximum": MAX_PAGE, "default": 50}},
    {"name": "offset", "in": "query", "required": False,
     "schema": {"type": "integer", "minimum": 0, "maximum": 1_000_000, "default": 0}},
]


@router.get("", response_model=None, responses={200: {"model": TemplatePage}, **PROBLEM_RESPONSES},
            openapi_extra={"parameters": _LIST_PARAMETERS})
async def list_templates(request: Request) -> Response:
    """Templates, sorted by name, with their latest version; search with `q`, filter by `tag`.
    \f
    The hottest route: its query is checked by ``listing_query`` rather than by FastAPI's dependency
    machinery (same rules, same problem document), and the page comes from the in-memory index."""
    registry = current_registry(request)
    await read_access(registry, request)
    query = listing_query(request.query_params)
    if not registry.index.fresh():
        await anyio.to_thread.run_sync(registry.index.refresh)
    return Response(registry.index.page_json(**query), media_type="application/json")


@router.get("/{name}", response_model=TemplateDetail, responses=PROBLEM_RESPONSES)
def get_template(name: Name, registry: RegistryDep, _reader: ReaderDep) -> dict[str, Any]:
    """A template: its versions (yanked ones marked), its latest version and parameter schema."""
    return catalog_ops.template_detail(registry.catalog, name=name)


@router.get("/{name}/versions/{version}", response_model=VersionPublic, responses=PROBLEM_RESPONSES)
def get_version(name: Name, version: VersionText, registry: RegistryDep, _reader: ReaderDep) -> dict[str, Any]:
    """A version (exact, or the one a spec resolves to): metadata, digest, lint summary, yank status."""
    return catalog_ops.version_detail(registry.catalog, name=name, version=version)


@router.get(
    "/{name}/versions/{version}/bundle", response_class=Response,
    responses={200: {"content": {BUNDLE_MEDIA_TYPE: {"schema": {"type": "string", "format": "binary"}}},
                     "description": "the bundle (a deterministic tar); ETag is its digest"}, **PROBLEM_RESPONSES},
)
def get_bundle(name: Name, version: VersionText, request: Request, registry: RegistryDep,
               _reader: ReaderDep) -> Response:
    """The exact version's bundle. It never changes, so it is cacheable forever."""
    digest, data = catalog_ops.bundle(registry.catalog, name=name, version=version)
    headers = {"ETag": f'"{digest}"', "Cache-Control": "public, max-age=31536000, immutable",
               "Content-Disposition": f'attachment; filename="{name}-{parse_version(version)}.tar"'}
    if request.headers.get("if-none-match", "").strip() in (f'"{digest}"', "*"):
        return Response(status_code=304, headers=headers)
    return Response(data, media_type=BUNDLE_MEDIA_TYPE, headers=headers)


@router.post(
    "/{name}/versions", response_model=VersionPublic, status_code=201,
    responses={200: {"model": VersionPublic, "description": "the same content was published already"},
               **PROBLEM_RESPONSES},
    openapi_extra={"requestBody": {"required": True, "content": {
        BUNDLE_MEDIA_TYPE: {"schema": {"type": "string", "format": "binary"}}}}},
)
async def publish_version(name: Name, request: Request, response: Response, registry: RegistryDep,
                          principal: PublisherDep) -> dict[str, Any]:
    """Publish a bundle (an uncompressed tar of the template folder's contents): checked as
    untrusted input, rendered with its defaults and linted; nothing in it runs. Scope `publish`."""
    data = await request.body()
    published, created = await anyio.to_thread.run_sync(
        lambda: catalog_ops.publish_bundle(registry, name=name, data=data, publisher=principal.name))
    response.status_code = 201 if created else 200
    return published


@router.post("/{name}/versions/{version}/yank", response_model=ChangeResult, responses=PROBLEM_RESPONSES)
def yank(name: Name, version: VersionText, body: YankRequest, registry: RegistryDep,
         _principal: PublisherDep) -> dict[str, Any]:
    """Hide a version from latest and ranges (an exact pin still gets it). Scope `publish`."""
    row, changed = catalog_ops.set_yanked(registry, name=name, version=version, yanked=True, reason=body.reason)
    return {"changed": changed, "version": row}


@router.post("/{name}/versions/{version}/unyank", response_model=ChangeResult, responses=PROBLEM_RESPONSES)
def unyank(name: Name, version: VersionText, registry: RegistryDep, _principal: PublisherDep) -> dict[str, Any]:
    """Make a yanked version resolvable by ranges again. Scope `publish`."""
    row, changed = catalog_ops.set_yanked(registry, name=name, version=version, yanked=False, reason=None)
    return {"changed": changed, "version": row}


@router.post("/{name}/versions/{version}/remove", response_model=RemovedPublic, responses=PROBLEM_RESPONSES)
def remove(name: Name, version: VersionText, body: RemoveRequest, registry: RegistryDep,
           principal: AdminDep) -> dict[str, Any]:
    """Delete a version whose content harms the catalog (its bundle too, unless shared); who, when and
    why are recorded and the number is never published again. Scope `admin`."""
    return catalog_ops.remove_version(registry, name=name, version=version, reason=body.reason,
                                      removed_by=principal.name)
