"""pipeforge's MCP server (``generator.mcp_server``) at ``/mcp`` over streamable HTTP, behind a token.

The same tools an assistant gets from ``pipeforge mcp`` on stdio, served by the registry for assistants
that cannot start a local process. Every request needs a bearer token with scope ``read`` (``admin``
also passes), whatever ``PIPEFORGE_REQUIRE_READ_TOKEN`` says: the tools render, lint and simulate on the
server's CPU, so anonymous callers do not get them. The transport is stateless and answers in JSON, so
any API replica can serve any request.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import AbstractContextManager, asynccontextmanager
from typing import Any

from mcp.server.transport_security import TransportSecuritySettings
from starlette.requests import Request
from starlette.routing import Route
from starlette.types import ASGIApp, Receive, Scope, Send

from generator.mcp_server import build_server
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
    """Builds the MCP server and its transport; ``route`` goes into the app, ``running`` into its lifespan."""

    def __init__(self, catalog: Callable[[], AbstractContextManager[Any]]) -> None:
        self.server = build_server(catalog)
        # DNS-rebinding protection guards unauthenticated local servers; this one needs a bearer token and
        # may be served under any host name, so the Host header is not pinned.
        starlette_app = self.server.streamable_http_app(
            streamable_http_path=PATH, stateless_http=True, json_response=True,
            transport_security=TransportSecuritySettings(enable_dns_rebinding_protection=False),
        )
        transport = next(r.endpoint for r in starlette_app.routes if isinstance(r, Route) and r.path == PATH)
        self.route = Route(PATH, endpoint=_TokenGate(transport), methods=["GET", "POST", "DELETE"],
                           include_in_schema=False)

    @asynccontextmanager
    async def running(self) -> AsyncIterator[Any]:
        async with self.server.session_manager.run() as manager:
            yield manager
