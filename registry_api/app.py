"""The registry application: ``create_app(settings)``. ``pipeforge serve`` runs it with uvicorn."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, nullcontext
from pathlib import Path
from typing import Any

import anyio.to_thread
from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi
from fastapi.staticfiles import StaticFiles

from catalog.worker import Workers
from generator import __version__, sandbox_worker
from generator.gitops import forges
from registry_api import problems
from registry_api.guard import RequestGuard
from registry_api.mcp import McpMount
from registry_api.metrics import QueueCollector
from registry_api.middleware import Metrics, RequestMetrics
from registry_api.routes import health, pull_requests, render, rollouts, templates, web
from registry_api.schemas import Problem
from registry_api.services.pull_requests import job_runner
from registry_api.services.registry import Registry
from registry_api.services.startup import Opener
from registry_api.settings import Settings

WEB = Path(__file__).with_name("web")
log = logging.getLogger("pipeforge.registry")

DESCRIPTION = """\
The pipeforge template registry: browse the catalog, render any version with your parameters (a dry run
with lint findings, the failure-mode table and a picture of the pipeline), and publish or yank versions.

Reads are open unless `PIPEFORGE_REQUIRE_READ_TOKEN` is set. Publishing, yanking and unyanking need a
bearer token with scope `publish` (`pipeforge token create --name ci --scope publish`). Errors are
problem details (RFC 9457).
"""


def _document_read_security(app: FastAPI, *, required: bool) -> None:
    """Mark the read operations' bearer token in /openapi.json as optional, or required when
    PIPEFORGE_REQUIRE_READ_TOKEN is set (mutations always require it, through ``HTTPBearer``)."""
    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            document = get_openapi(title=app.title, version=app.version, description=app.description,
                                   routes=app.routes)
            components = document.setdefault("components", {})
            components.setdefault("schemas", {})["Problem"] = Problem.model_json_schema()
            schemes = components.setdefault("securitySchemes", {})
            schemes.setdefault("HTTPBearer", {"type": "http", "scheme": "bearer"})
            for path, operations in document["paths"].items():
                for method, operation in operations.items():
                    if "security" not in operation and path.startswith("/api/"):
                        operation["security"] = [{"HTTPBearer": []}] if required else [{}, {"HTTPBearer": []}]
                    del method
            app.openapi_schema = document
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]


def _catalog_of(app: FastAPI) -> Any:
    registry = getattr(app.state, "registry", None)
    return registry.catalog if registry is not None else None


def create_app(settings: Settings | None = None, *, registry: Registry | None = None) -> FastAPI:
    """The ASGI app. The catalog is opened (and migrated, and seeded with the built-in templates when
    empty and ``publish_builtins`` is on) when the app starts, unless an opened ``registry`` is given
    (``pipeforge serve`` opens it first, so that a bad database URL is a message, not a traceback)."""
    settings = settings or Settings()
    # The MCP tools read versions from this registry's own catalog (``app`` is bound below).
    mcp = McpMount(lambda: nullcontext(app.state.registry.catalog))

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        workers: list[Workers] = []

        def opened(opened_registry: Registry) -> None:
            app.state.registry = opened_registry
            log.info("registry serving the catalog at %s", opened_registry.catalog.location)
            started = Workers(job_runner(opened_registry), count=settings.pr_workers,
                              lease_seconds=settings.pr_lease_seconds, finished=app.state.metrics.count_job)
            started.start()
            workers.append(started)

        nonlocal registry
        given, registry = registry, None  # a second start (tests) opens the catalog afresh
        app.state.registry = None
        opener = Opener(settings, opened=opened)
        app.state.opener = opener
        if given is not None:
            opened(given)
        elif not await anyio.to_thread.run_sync(opener.open_now):
            opener.start()  # the database is not up yet: /readyz says 503 until it answers
        forges.CALL_OBSERVERS.append(app.state.metrics.count_forge_call)
        await anyio.to_thread.run_sync(sandbox_worker.warm_up)  # renders and MCP tools run in these processes
        try:
            async with mcp.running():
                yield
        finally:
            forges.CALL_OBSERVERS.remove(app.state.metrics.count_forge_call)
            await anyio.to_thread.run_sync(opener.stop)
            for started in workers:
                await anyio.to_thread.run_sync(started.stop, settings.shutdown_grace_seconds)
            await anyio.to_thread.run_sync(sandbox_worker.shutdown)
            if app.state.registry is not None:
                app.state.registry.close()
            app.state.registry = None

    # /docs is the server-rendered reference (routes/web.py); Swagger UI and ReDoc load from a CDN.
    app = FastAPI(title="pipeforge registry", version=__version__, description=DESCRIPTION, lifespan=lifespan,
                  docs_url=None, redoc_url=None)
    problems.install(app)
    for router in (templates.router, render.router, pull_requests.router, rollouts.router, health.router,
                   web.router):
        app.include_router(router)
    app.mount("/static", StaticFiles(directory=WEB / "static"), name="static")
    app.router.routes.append(mcp.route)  # /mcp: the MCP tools over streamable HTTP, token with scope read
    app.add_middleware(RequestGuard, max_request=settings.max_request_bytes, max_bundle=settings.max_bundle_bytes,
                       body_timeout=settings.body_timeout_seconds)
    _document_read_security(app, required=settings.require_read_token)
    app.state.metrics = RequestMetrics(version=__version__)
    app.state.metrics.registry.register(QueueCollector(lambda: _catalog_of(app)))
    app.add_middleware(Metrics, recorder=app.state.metrics)  # outermost: also counts 413s
    return app
