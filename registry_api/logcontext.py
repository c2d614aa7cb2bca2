"""What a log record is about: the request (id, route, start) or the pull-request job being worked on.

Context variables, so every record made while a request is handled (or a job is run, in a worker thread)
carries them without being passed around; ``ContextFields`` copies them onto the record in the caller's
thread, before the record is queued for the writer thread."""

from __future__ import annotations

import logging
import re
import time
import uuid
from collections.abc import MutableMapping
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

from catalog.worker import current_job

#: A client's own X-Request-ID is kept when it looks like an id (bounded, printable, no spaces).
_CLIENT_ID = re.compile(r"\A[A-Za-z0-9._:-]{1,64}\Z")


@dataclass
class RequestContext:
    request_id: str
    scope: MutableMapping[str, Any]
    started: float


current_request: ContextVar[RequestContext | None] = ContextVar("pipeforge_request", default=None)


def request_id_from(headers: list[tuple[bytes, bytes]]) -> str:
    for name, value in headers:
        if name.lower() == b"x-request-id":
            text = value.decode("latin-1")
            if _CLIENT_ID.match(text):
                return text
    return uuid.uuid4().hex


class ContextFields(logging.Filter):
    """Adds ``request_id``, ``route``, ``duration_seconds``, ``status`` (uvicorn's access records) and
    ``job_id`` to records made inside a request or a job."""

    def filter(self, record: logging.LogRecord) -> bool:
        request = current_request.get()
        if request is not None:
            record.request_id = request.request_id
            record.route = route_of(request.scope)
            record.duration_seconds = round(time.perf_counter() - request.started, 6)
            args = record.args
            if record.name == "uvicorn.access" and isinstance(args, tuple) and len(args) == 5:
                record.method, record.status = args[1], args[4]
        job = current_job.get()
        if job is not None:
            record.job_id = job
        return True


#: Paths served outside FastAPI's routes (no ``scope["route"]``), each under a label of its own.
MOUNTED = ("/mcp", "/static")


def route_of(scope: MutableMapping[str, Any]) -> str:
    """The route template a request matched (never the raw path), the label its logs and metrics carry."""
    route: Any = scope.get("route")
    path = getattr(route, "path", None)
    if path:
        return str(path)
    requested = str(scope.get("path", ""))
    return next((m for m in MOUNTED if requested == m or requested.startswith(m + "/")), "<unmatched>")
