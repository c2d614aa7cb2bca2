"""Plain ASGI middleware: request size limits and request metrics (cheap enough for every request)."""

from __future__ import annotations

import json
import time
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Histogram
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from registry_api.problems import PROBLEM_TYPE, TYPE_BASE


class _TooLarge(Exception):
    pass


class SizeLimit:
    """Refuse bodies over the limit with 413, from Content-Length or while the body streams in. Bundle
    uploads (``POST .../versions``) get the bundle limit, everything else the request limit."""

    def __init__(self, app: ASGIApp, *, max_request: int, max_bundle: int) -> None:
        self.app, self.max_request, self.max_bundle = app, max_request, max_bundle

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        bundle = scope["method"] == "POST" and scope["path"].endswith("/versions")
        limit = self.max_bundle if bundle else self.max_request
        declared = dict(scope["headers"]).get(b"content-length")
        if declared is not None and (not declared.isdigit() or int(declared) > limit):
            await _refuse(send, scope["path"], limit)
            return
        seen = 0
        started = False

        async def counted() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > limit:
                    raise _TooLarge
            return message

        async def watched(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, counted, watched)
        except _TooLarge:
            if started:
                raise
            await _refuse(send, scope["path"], limit)


async def _refuse(send: Send, path: str, limit: int) -> None:
    body = json.dumps({"type": TYPE_BASE + "too-large", "title": "Request too large", "status": 413,
                       "detail": f"the request body is over the limit of {limit} bytes", "instance": path}).encode()
    await send({"type": "http.response.start", "status": 413,
                "headers": [(b"content-type", PROBLEM_TYPE.encode()), (b"content-length", str(len(body)).encode())]})
    await send({"type": "http.response.body", "body": body})


class RequestMetrics:
    """Request counts and latencies by method, route template (never the raw path) and status."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter("pipeforge_http_requests", "HTTP requests", ["method", "route", "status"],
                                registry=self.registry)
        self.latency = Histogram("pipeforge_http_request_duration_seconds", "HTTP request latency",
                                 ["method", "route"], registry=self.registry,
                                 buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 10))


class Metrics:
    """Records every HTTP request into ``recorder``."""

    def __init__(self, app: ASGIApp, *, recorder: RequestMetrics) -> None:
        self.app, self.recorder = app, recorder

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start = time.perf_counter()
        status = 500

        async def recording(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, recording)
        finally:
            route = _route(scope)
            self.recorder.requests.labels(scope["method"], route, str(status)).inc()
            self.recorder.latency.labels(scope["method"], route).observe(time.perf_counter() - start)


def _route(scope: Scope) -> str:
    route: Any = scope.get("route")
    path = getattr(route, "path", None)
    return str(path) if path else "<unmatched>"
