"""pipeforge's MCP tools (``generator.mcp_tools``) at ``/mcp`` over streamable HTTP, behind a token.

The same tools an assistant gets from ``pipeforge mcp`` on stdio, served by the registry for assistants
that cannot start a local process; versioned describe/render calls read the registry's own catalog.
Every request needs a bearer token with scope ``read`` (``admin`` also passes), whatever
``PIPEFORGE_REQUIRE_READ_TOKEN`` says: the tools render, lint and simulate on the server's CPU, so
anonymous callers do not get them. The transport is stateless and answers in JSON, so
any API replica can serve any request.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import anyio
from anyio.abc import TaskGroup, TaskStatus
from starlette.requests import Request
from starlette.routing import Route
from starlette.types import ASGIApp, Receive, Scope, Send

from catalog.resolution import CatalogTemplates, Checkout, Opener, unpacked_version
from generator.mcp_tools import build_server
from registry_api.deps import _presented, current_registry, require
from registry_api.problems import ProblemError, problem

PATH = "/mcp"


class _TokenGate:
    """An ASGI endpoint that checks the caller's token, then hands the request to the MCP transport."""

    def __init__(self, transport: ASGIApp) -> None:
        self.transport = transport

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        request = Request(scope, receive)
        try:
            await require("read")(current_registry(request), _presented(request))
        except ProblemError as exc:
            response = problem(exc.status, exc.slug, exc.title, exc.detail, instance=PATH, headers=exc.headers,
                               **exc.extra)
            await response(scope, receive, send)
            return
        await self.transport(scope, receive, send)


class McpMount:
    """The MCP server and its transport, built on the first request to ``/mcp``: the SDK takes most of a
    second to import, which every registry start would pay whether or not an assistant ever calls.
    ``route`` goes into the app, ``running`` into its lifespan (its task group runs the SDK's session
    manager once it is built)."""

    def __init__(self, catalog: Opener, checkout: Checkout = unpacked_version) -> None:
        self._templates = CatalogTemplates(catalog, checkout)
        self._transport: ASGIApp | None = None
        self._tasks: TaskGroup | None = None
        self._lock: anyio.Lock | None = None
        self.route = Route(PATH, endpoint=_TokenGate(self._serve), methods=["GET", "POST", "DELETE"],
                           include_in_schema=False)

    def build(self) -> tuple[Any, ASGIApp]:
        """The SDK's server over the catalog's templates, and its streamable-HTTP endpoint."""
        from mcp.server.transport_security import TransportSecuritySettings  # lazy: see the class

        server = build_server(self._templates)
        # DNS-rebinding protection guards unauthenticated local servers; this one needs a bearer token and
        # may be served under any host name, so the Host header is not pinned.
        starlette_app = server.streamable_http_app(
            streamable_http_path=PATH, stateless_http=True, json_response=True,
            transport_security=TransportSecuritySettings(enable_dns_rebinding_protection=False),
        )
        transport = next(r.endpoint for r in starlette_app.routes if isinstance(r, Route) and r.path == PATH)
        return server, transport

    async def _serve(self, scope: Scope, receive: Receive, send: Send) -> None:
        transport = self._transport or await self._start()
        await transport(scope, receive, send)

    async def _start(self) -> ASGIApp:
        if self._tasks is None or self._lock is None:
            raise RuntimeError("the MCP mount is not running: enter running() in the app's lifespan")
        async with self._lock:  # concurrent first requests build one server
            if self._transport is None:
                server, transport = await anyio.to_thread.run_sync(self.build)
                await self._tasks.start(self._manage, server)
                self._transport = transport
            return self._transport

    @staticmethod
    async def _manage(server: Any, *, task_status: TaskStatus[None]) -> None:
        async with server.session_manager.run():
            task_status.started()
            await anyio.sleep_forever()

    @asynccontextmanager
    async def running(self) -> AsyncIterator[None]:
        async with anyio.create_task_group() as tasks:
            self._tasks, self._lock = tasks, anyio.Lock()
            try:
                yield
            finally:
                tasks.cancel_scope.cancel()  # stops the session manager, if a request started one
                self._tasks, self._lock, self._transport = None, None, None
