"""Errors as problem details (RFC 9457): ``application/problem+json`` with type, title, status, detail
and, where there is more than one thing wrong, every one of them (``errors``). The only place where
pipeforge's errors become HTTP status codes: services and routes raise the library's and the catalog's
errors (``generator.errors``, ``catalog.errors``) and ``_MAPPING`` gives each its status and title; a
route raises ``ProblemError`` only for a problem of HTTP itself (a token, a missing job)."""

from __future__ import annotations

import logging
import math
import re
import tempfile
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Match

from catalog.errors import (
    CatalogUnavailableError,
    HostileBundleError,
    IdempotencyConflict,
    LintFailedError,
    NotInCatalogError,
    RolloutKeyConflict,
    VersionConflictError,
)
from generator.errors import (
    BudgetExceeded,
    InvalidParametersError,
    PipeforgeError,
    TemplateDefinitionError,
    YamlLimitError,
)
from generator.semver import InvalidVersionError

PROBLEM_TYPE = "application/problem+json"
TYPE_BASE = "https://pipeforge.dev/problems/"
log = logging.getLogger("pipeforge.registry")

# (error class, status, type slug, title); the first match wins, so subclasses come first. Any other
# PipeforgeError is a 400 (bad request); an exception outside the tree is a 500 (a bug, logged).
_MAPPING: tuple[tuple[type[PipeforgeError], int, str, str], ...] = (
    (CatalogUnavailableError, 503, "catalog-unavailable", "Catalog unavailable"),
    (InvalidParametersError, 422, "invalid-parameters", "Invalid parameters"),
    (BudgetExceeded, 422, "budget-exceeded", "The work exceeded its budget"),
    (YamlLimitError, 422, "input-limit", "The input is beyond a reading limit"),
    (HostileBundleError, 422, "refused-bundle", "Bundle refused"),
    (LintFailedError, 422, "lint-failed", "The template renders with lint errors"),
    (TemplateDefinitionError, 422, "invalid-template", "The template is invalid"),
    (InvalidVersionError, 422, "invalid-version", "Invalid version or spec"),
    (VersionConflictError, 409, "version-conflict", "Version already published with other content"),
    (IdempotencyConflict, 409, "idempotency-key-reused", "Idempotency-Key reused"),
    (RolloutKeyConflict, 409, "idempotency-key-reused", "Idempotency-Key reused"),
    (NotInCatalogError, 404, "not-found", "Not in the catalog"),
)
#: Bounds of every problem document: a request with 20,000 bad fields gets a short answer, not 10 MB.
MAX_ERRORS, MAX_DETAIL, MAX_TEXT = 50, 4000, 200


#: The problem responses the API documents for its operations (``responses=`` of a route).
PROBLEM_RESPONSES: dict[int | str, dict[str, Any]] = {
    code: {"description": text, "content": {PROBLEM_TYPE: {"schema": {"$ref": "#/components/schemas/Problem"}}}}
    for code, text in ((400, "bad request"), (401, "no or unknown token"), (403, "the token lacks the scope"),
                       (404, "not in the catalog"), (409, "version published with other content"),
                       (413, "request too large"), (422, "invalid input"), (503, "catalog database unavailable"))
}


class ProblemError(Exception):
    """Raised by routes and dependencies for a problem of the HTTP layer itself (auth, size, a missing job).

    Not in the ``PipeforgeError`` tree: it is already an HTTP answer (status, type, title), which the
    library and the catalog know nothing of; their errors are mapped in ``_MAPPING`` instead. Not a
    finding either: a finding is what lint says about a manifest (``generator.findings``)."""

    def __init__(self, status: int, slug: str, title: str, detail: str, *, headers: dict[str, str] | None = None,
                 **extra: Any) -> None:
        super().__init__(detail)
        self.status, self.slug, self.title, self.detail = status, slug, title, detail
        self.headers = headers or {}
        self.extra = extra


def problem(status: int, slug: str, title: str, detail: str, *, instance: str | None = None,
            headers: dict[str, str] | None = None, **extra: Any) -> JSONResponse:
    """A problem document, bounded in size whatever it reports (``MAX_ERRORS`` entries, ``MAX_DETAIL``
    characters of detail), with temporary paths of this server taken out."""
    body: dict[str, Any] = {"type": TYPE_BASE + slug, "title": title, "status": status,
                            "detail": _clip(_printable(_scrubbed(detail)), MAX_DETAIL)}
    if instance:
        body["instance"] = _clip(instance, MAX_TEXT)
    body.update(extra)
    errors = body.get("errors")
    if isinstance(errors, list) and len(errors) > MAX_ERRORS:
        body["errors"], body["errors_omitted"] = errors[:MAX_ERRORS], len(errors) - MAX_ERRORS
    return JSONResponse(body, status_code=status, media_type=PROBLEM_TYPE, headers=headers)


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[:limit] + f"... ({len(text) - limit} more characters)"


#: The private folders this server unpacks bundles into: never shown to a client.
_TEMPORARY = re.compile(re.escape(tempfile.gettempdir()) + r"/pipeforge-[^\s'\":]*")


def _scrubbed(text: str) -> str:
    return _TEMPORARY.sub("<temporary folder>", text)


def _printable(text: str) -> str:
    """``text`` encodable as UTF-8 (a lone surrogate is shown as its escape instead of failing the answer)."""
    return text.encode("utf-8", "backslashreplace").decode("utf-8")


def _extras(exc: PipeforgeError) -> dict[str, Any]:
    if isinstance(exc, InvalidParametersError):
        return {"errors": [{"field": p.field, "value": _jsonable(p.value), "rule": p.rule} for p in exc.problems]}
    if isinstance(exc, HostileBundleError):
        return {"errors": [{"rule": p} for p in exc.problems]}
    if isinstance(exc, BudgetExceeded):
        return {"budget": exc.budget}
    if isinstance(exc, IdempotencyConflict):
        return {"job": exc.job_id}
    if isinstance(exc, RolloutKeyConflict):
        return {"rollout": exc.rollout_id}
    return {}


def _jsonable(value: Any) -> Any:
    """A parameter value as the error document echoes it: short, and always encodable as JSON."""
    if isinstance(value, bool | int) or value is None:
        return value if abs(value or 0) <= 2**63 - 1 else _clip(repr(value), MAX_TEXT)
    if isinstance(value, float) and math.isfinite(value):
        return value
    text = value if isinstance(value, str) else repr(value)
    return _clip(_printable(text), MAX_TEXT)


def status_of(exc: PipeforgeError) -> tuple[int, str, str]:
    """The HTTP status, problem type slug and title of a library or catalog error (``_MAPPING``)."""
    for cls, status, slug, title in _MAPPING:
        if isinstance(exc, cls):
            return status, slug, title
    return 400, "bad-request", "Bad request"


def from_pipeforge_error(exc: PipeforgeError, path: str) -> JSONResponse:
    status, slug, title = status_of(exc)
    if isinstance(exc, CatalogUnavailableError):  # its message names the database: for the log only
        log.warning("catalog unavailable on %s: %s", path, exc.message)
        return problem(status, slug, title, "the catalog database is unavailable; the error is logged",
                       instance=path)
    return problem(status, slug, title, exc.message, instance=path, **_extras(exc))


def _validation(exc: RequestValidationError, path: str) -> JSONResponse:
    errors = [
        {"field": ".".join(str(p) for p in e.get("loc", ()) if p != "body") or "body", "rule": e.get("msg", "")}
        for e in exc.errors()
    ]
    fields = ", ".join(e["field"] for e in errors)
    return problem(422, "invalid-request", "Invalid request", f"{len(errors)} invalid field(s): {fields}",
                   instance=path, errors=errors)


def _allowed_methods(request: Request) -> str:
    """Every method some route serves at this path (Starlette's own 405 names only the first route's)."""
    return ", ".join(
        method for method in ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE")
        if any(route.matches({**request.scope, "method": method})[0] == Match.FULL
               for route in request.app.router.routes)
    )


def install(app: FastAPI) -> None:
    """Register the handlers that turn every error into a problem document."""

    async def on_pipeforge(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, PipeforgeError)
        return from_pipeforge_error(exc, request.url.path)

    async def on_problem(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, ProblemError)
        return problem(exc.status, exc.slug, exc.title, exc.detail, instance=request.url.path, headers=exc.headers,
                       **exc.extra)

    async def on_validation(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, RequestValidationError)
        return _validation(exc, request.url.path)

    async def on_http(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, StarletteHTTPException)
        title = {404: "Not found", 405: "Method not allowed"}.get(exc.status_code, "HTTP error")
        headers = dict(exc.headers or {})
        if exc.status_code == 405:
            headers["Allow"] = _allowed_methods(request) or headers.get("Allow", "")
        return problem(exc.status_code, "http-error", title, str(exc.detail), instance=request.url.path,
                       headers=headers)

    async def on_exhausted(request: Request, exc: Exception) -> JSONResponse:
        # A last resort: the reading limits (generator.yamlio) are meant to refuse such input first.
        log.warning("%s on %s %s", type(exc).__name__, request.method, request.url.path)
        return problem(422, "input-limit", "The input is beyond a reading limit",
                       f"the input is too deeply nested or too large to process ({type(exc).__name__})",
                       instance=request.url.path)

    async def on_unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.error("unexpected error on %s %s", request.method, request.url.path, exc_info=exc)
        return problem(500, "internal", "Internal error", "the registry failed unexpectedly; the error is logged",
                       instance=request.url.path)

    app.add_exception_handler(PipeforgeError, on_pipeforge)
    app.add_exception_handler(ProblemError, on_problem)
    app.add_exception_handler(RequestValidationError, on_validation)
    app.add_exception_handler(StarletteHTTPException, on_http)
    app.add_exception_handler(RecursionError, on_exhausted)
    app.add_exception_handler(MemoryError, on_exhausted)
    app.add_exception_handler(Exception, on_unexpected)
