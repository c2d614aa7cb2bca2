"""The registry application: ``create_app(settings)``. ``pipeforge serve`` runs it with uvicorn."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

from generator import __version__
from registry_api import problems
from registry_api.middleware import Metrics, RequestMetrics, SizeLimit
from registry_api.routes import health, render, templates, web
from registry_api.services.registry import open_registry
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


def create_app(settings: Settings | None = None) -> FastAPI:
    """The ASGI app. The catalog is opened (and migrated, and seeded with the built-in templates when
    empty and ``publish_builtins`` is on) when the app starts."""
    settings = settings or Settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        registry = open_registry(settings)
        app.state.registry = registry
        log.info("registry serving the catalog at %s", registry.catalog.location)
        try:
            yield
        finally:
            registry.close()

    app = FastAPI(title="pipeforge registry", version=__version__, description=DESCRIPTION, lifespan=lifespan)
    problems.install(app)
    for router in (templates.router, render.router, health.router, web.router):
        app.include_router(router)
    app.mount("/static", StaticFiles(directory=WEB / "static"), name="static")
    app.add_middleware(SizeLimit, max_request=settings.max_request_bytes, max_bundle=settings.max_bundle_bytes)
    app.state.metrics = RequestMetrics()
    app.add_middleware(Metrics, recorder=app.state.metrics)  # outermost: also counts 413s
    return app
