"""The request guard: plain ASGI middleware that reads every request body before the app sees it.

Reading the body here, once, is what lets three limits hold for every route (the JSON API, the web
form posts and ``/mcp`` alike) whatever the framework below does with the body:

- size: over the limit is a 413, whether the client declared the length or streamed the body in chunks;
- time: the whole body must arrive within the read deadline, or the answer is a 408 and the connection
  closes (a client trickling a byte a second cannot hold a connection for ever);
- content: a JSON body must hold only what JSON carries faithfully — no ``NaN``/``Infinity``, no number
  that overflows a 64-bit float, no integer outside the 64-bit range, no lone surrogate, at most
  ``MAX_JSON_DEPTH`` levels of nesting — or it is a 422 naming the place. Such values used to travel on
  into the error documents and crash them (a 500 per 70-byte request).
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from typing import Any

import anyio
import pydantic_core
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from registry_api.problems import problem

#: Integers outside this range are refused: Kubernetes and Argo read numbers as 64-bit at most.
MAX_JSON_INTEGER = 2**63 - 1
#: Nesting deeper than this is refused (pydantic-core's JSON parser refuses past 200 on its own).
MAX_JSON_DEPTH = 64


_ESCAPE_HINT = " (a \\u escape is 4 hex digits naming a character; a lone surrogate such as \\ud800 is not one)"


class _TooLarge(Exception):
    pass


class _Disconnected(Exception):
    pass


class RequestGuard:
    """Buffer the body within ``max_request`` bytes (``max_bundle`` for bundle uploads, ``POST .../versions``)
    and ``body_timeout`` seconds, check JSON bodies, then hand the app a ``receive`` replaying the body."""

    def __init__(self, app: ASGIApp, *, max_request: int, max_bundle: int, body_timeout: float) -> None:
        self.app, self.max_request, self.max_bundle, self.body_timeout = app, max_request, max_bundle, body_timeout

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        bundle = scope["method"] == "POST" and scope["path"].endswith("/versions")
        limit = self.max_bundle if bundle else self.max_request
        headers = dict(scope["headers"])
        declared = headers.get(b"content-length")
        if declared is not None and (not declared.isdigit() or int(declared) > limit):
            await _too_large(scope, receive, send, limit)
            return
        try:
            with anyio.fail_after(self.body_timeout):
                body = await _read_body(receive, limit)
        except _TooLarge:
            await _too_large(scope, receive, send, limit)
            return
        except TimeoutError:
            response = problem(408, "request-timeout", "Request timeout",
                               f"the request body did not arrive within {self.body_timeout:g} seconds",
                               instance=scope["path"], headers={"Connection": "close"})
            await response(scope, receive, send)
            return
        except _Disconnected:
            return
        if body and _is_json(headers.get(b"content-type", b"")):
            reason = json_body_problem(body)
            if reason is not None:
                response = problem(422, "invalid-request", "Invalid request", f"the JSON body is refused: {reason}",
                                   instance=scope["path"], errors=[{"field": "body", "rule": reason}])
                await response(scope, receive, send)
                return
        await self.app(scope, _replaying(body, receive), send)


async def _read_body(receive: Receive, limit: int) -> bytes:
    chunks: list[bytes] = []
    seen = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            raise _Disconnected
        chunk = message.get("body", b"")
        seen += len(chunk)
        if seen > limit:
            raise _TooLarge
        chunks.append(chunk)
        if not message.get("more_body", False):
            return b"".join(chunks)


def _replaying(body: bytes, receive: Receive) -> Receive:
    """The body as one message, then the server's own ``receive`` (which reports the disconnect)."""
    sent = False

    async def replay() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return replay


async def _too_large(scope: Scope, receive: Receive, send: Send, limit: int) -> None:
    response = problem(413, "too-large", "Request too large", f"the request body is over the limit of {limit} bytes",
                       instance=scope["path"], headers={"Connection": "close"})
    await response(scope, receive, send)


def _is_json(content_type: bytes) -> bool:
    media = content_type.split(b";", 1)[0].strip().lower()
    return media == b"application/json" or (media.startswith(b"application/") and media.endswith(b"+json"))


def json_body_problem(body: bytes) -> str | None:
    """What makes ``body`` unacceptable JSON, naming the place, or None when it is fine. pydantic-core's
    parser refuses ``NaN``, ``Infinity``, lone surrogates, invalid UTF-8 and runaway nesting; the walk
    below adds what it lets through (overflowing floats become ``inf``; integers are unbounded)."""
    try:
        value = pydantic_core.from_json(body, allow_inf_nan=False)
    except ValueError as exc:
        hint = _ESCAPE_HINT if "escape" in str(exc) else ""
        return f"not valid JSON: {exc}{hint}"
    for path, node, depth in _walk(value):
        where = _place(path)
        if depth > MAX_JSON_DEPTH:
            return f"{where} is nested deeper than {MAX_JSON_DEPTH} levels"
        if isinstance(node, float) and not math.isfinite(node):
            return f"the number at {where} is too large for a 64-bit float"
        if isinstance(node, int) and not isinstance(node, bool) and abs(node) > MAX_JSON_INTEGER:
            return f"the integer at {where} is outside the 64-bit range (at most {MAX_JSON_INTEGER} in size)"
    return None


def _walk(value: Any) -> Iterator[tuple[tuple[str | int, ...], Any, int]]:
    stack: list[tuple[tuple[str | int, ...], Any]] = [((), value)]
    while stack:
        path, node = stack.pop()
        yield path, node, len(path)
        if isinstance(node, dict):
            stack.extend(((*path, key), item) for key, item in node.items())
        elif isinstance(node, list):
            stack.extend(((*path, index), item) for index, item in enumerate(node))


def _place(path: tuple[str | int, ...]) -> str:
    if not path:
        return "the top level"
    shown = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in path).lstrip(".")
    return shown if len(shown) <= 200 else shown[:200] + "..."
