"""Plain ASGI middleware: request metrics (cheap enough for every request). Size and time limits are in
``registry_api.guard``."""

from __future__ import annotations

import time

from prometheus_client import CollectorRegistry, Counter, Histogram
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from registry_api.logcontext import RequestContext, current_request, request_id_from, route_of
from registry_api.metrics import add_operational_metrics

#: The methods the metrics name; any other token a client sends is counted as ``OTHER``, so that the
#: label's values (and ``/metrics``) stay bounded whatever clients send.
METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})


class RequestMetrics:
    """Request counts and latencies by method (``METHODS`` or ``OTHER``), route template (never the raw
    path) and status."""

    def __init__(self, *, version: str = "unknown") -> None:
        self.registry = CollectorRegistry()
        self.jobs_finished, self.forge_calls = add_operational_metrics(self.registry, version)
        self.requests = Counter("pipeforge_http_requests", "HTTP requests", ["method", "route", "status"],
                                registry=self.registry)
        self.latency = Histogram("pipeforge_http_request_duration_seconds", "HTTP request latency",
                                 ["method", "route"], registry=self.registry,
                                 buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 10))

    def count_job(self, kind: str, outcome: str) -> None:
        self.jobs_finished.labels(kind, outcome).inc()

    def count_forge_call(self, forge: str, status: str) -> None:
        self.forge_calls.labels(forge, status).inc()


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
        context = RequestContext(request_id_from(scope.get("headers", [])), scope, start)
        token = current_request.set(context)

        async def recording(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message = {**message, "headers": [*message.get("headers", []),
                                                  (b"x-request-id", context.request_id.encode())]}
            await send(message)

        try:
            await self.app(scope, receive, recording)
        finally:
            route = route_of(scope)
            method = scope["method"] if scope["method"] in METHODS else "OTHER"
            self.recorder.requests.labels(method, route, str(status)).inc()
            self.recorder.latency.labels(method, route).observe(time.perf_counter() - start)
            current_request.reset(token)
