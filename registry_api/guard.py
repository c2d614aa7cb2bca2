"""The request guard: plain ASGI middleware that reads every request body before the app sees it.

Reading the body here, once, is what lets three limits hold for every route (the JSON API, the web
form posts and ``/mcp`` alike) whatever the framework below does with the body:

- size: over the limit is a 413, whether the client declared the length or streamed the body in chunks;
- time: the whole body must arrive within the read deadline, or the answer is a 408 and the connection
  closes (a client trickling a byte a second cannot hold a connection for ever);
- content: a JSON body must hold only what JSON carries faithfully — no ``NaN``/``Infinity``, no number
  that overflows a 64-bit float, no integer outside the 64-bit range, no lone surrogate, at most
  ``MAX_JSON_DEPTH`` levels of nesting and ``MAX_JSON_MEMBERS`` members in an object or array — or it is a
  422 naming the place. Such values used to travel on into the error documents and crash them (a 500 per
  70-byte request).
"""

from __future__ import annotations

import json
import math
import re
from typing import Any

import anyio
import anyio.to_thread
import pydantic_core
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from registry_api.problems import problem

#: Integers outside this range are refused: Kubernetes and Argo read numbers as 64-bit at most.
MAX_JSON_INTEGER = 2**63 - 1
#: Nesting deeper than this is refused (pydantic-core's JSON parser refuses past 200 on its own).
MAX_JSON_DEPTH = 64
#: An object or array with more members than this is refused: no request of the API needs as many, and
#: the framework would parse and validate every one of them again.
MAX_JSON_MEMBERS = 1000
#: JSON bodies larger than this are checked in a worker thread, so the event loop keeps serving.
OFF_LOOP_BYTES = 32 * 1024
#: How much of an oversize body is read (and dropped) before the 413 is sent: see ``_BodyReader``.
DRAIN_BYTES = 1024 * 1024


_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_-]*\Z")
_ESCAPE_HINT = " (a \\u escape is 4 hex digits naming a character; a lone surrogate such as \\ud800 is not one)"


class _Disconnected(Exception):
    """Private control flow (the client went away mid-body): caught in this module, never shown to anyone."""


class RequestGuard:
    """Buffer the body within ``max_request`` bytes (``max_bundle`` for bundle uploads, ``POST .../versions``)
    and ``body_timeout`` seconds, check JSON bodies, then hand the app a ``receive`` replaying the body."""

    def __init__(self, app: ASGIApp, *, max_request: int, max_bundle: int, body_timeout: float) -> None:
        self.app, self.max_request, self.max_bundle, self.body_timeout = app, max_request, max_bundle, body_timeout

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        outcome = await self._body(scope, receive)
        if isinstance(outcome, bytes):
            await self.app(scope, _replaying(outcome, receive), send)
        elif outcome is not None:
            await outcome(scope, receive, send)

    async def _body(self, scope: Scope, receive: Receive) -> bytes | Response | None:
        """The whole body, or the refusal to answer instead (None: the client has gone)."""
        bundle = scope["method"] == "POST" and scope["path"].endswith("/versions")
        limit = self.max_bundle if bundle else self.max_request
        headers = dict(scope["headers"])
        declared = headers.get(b"content-length")
        if declared is not None and (not declared.isdigit() or int(declared) > limit + DRAIN_BYTES):
            return _too_large(scope, limit)  # not read at all: the client said how much is coming
        reader = _BodyReader(receive, limit)
        try:
            with anyio.fail_after(self.body_timeout):
                body = await reader.read()
        except TimeoutError:
            if reader.over:
                return _too_large(scope, limit)
            return problem(408, "request-timeout", "Request timeout",
                           f"the request body did not arrive within {self.body_timeout:g} seconds",
                           instance=scope["path"], headers={"Connection": "close"})
        except _Disconnected:
            return None
        if reader.over:
            return _too_large(scope, limit)
        reason = None
        if body and _is_json(headers.get(b"content-type", b"")):  # a large one is parsed off the event loop
            large = len(body) > OFF_LOOP_BYTES
            reason = await anyio.to_thread.run_sync(json_body_problem, body) if large else json_body_problem(body)
        if reason is not None:
            return problem(422, "invalid-request", "Invalid request", f"the JSON body is refused: {reason}",
                           instance=scope["path"], errors=[{"field": "body", "rule": reason}])
        return body


class _BodyReader:
    """Reads the body within ``limit`` bytes. Past the limit it reads on without keeping anything, up to
    ``DRAIN_BYTES`` more: closing a connection with unread data makes the kernel reset it, and the client
    would lose the 413 it is sent (servers such as nginx read on for the same reason)."""

    def __init__(self, receive: Receive, limit: int) -> None:
        self.receive, self.limit, self.over = receive, limit, False

    async def read(self) -> bytes:
        chunks: list[bytes] = []
        seen = 0
        while True:
            message = await self.receive()
            if message["type"] == "http.disconnect":
                raise _Disconnected
            chunk = message.get("body", b"")
            seen += len(chunk)
            self.over = self.over or seen > self.limit
            if not self.over:
                chunks.append(chunk)
            if not message.get("more_body", False) or seen > self.limit + DRAIN_BYTES:
                return b"" if self.over else b"".join(chunks)


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


def _too_large(scope: Scope, limit: int) -> Response:
    return problem(413, "too-large", "Request too large", f"the request body is over the limit of {limit} bytes",
                   instance=scope["path"], headers={"Connection": "close"})


def _is_json(content_type: bytes) -> bool:
    media = content_type.split(b";", 1)[0].strip().lower()
    return media == b"application/json" or (media.startswith(b"application/") and media.endswith(b"+json"))


def json_body_problem(body: bytes) -> str | None:
    """What makes ``body`` unacceptable JSON, naming the place, or None when it is fine. pydantic-core's
    parser refuses ``NaN``, ``Infinity``, lone surrogates, invalid UTF-8 and runaway nesting; the walk
    below adds what it lets through (overflowing floats become ``inf``; integers are unbounded; objects
    may be huge), and runs only when the text could hold such a number, nesting or size (most cannot)."""
    try:
        value = pydantic_core.from_json(body, allow_inf_nan=False)
    except ValueError as exc:
        if "recursion limit" in str(exc):
            return f"the JSON body is nested deeper than {MAX_JSON_DEPTH} levels (MAX_JSON_DEPTH)"
        hint = _ESCAPE_HINT if "escape" in str(exc) else ""
        return f"not valid JSON: {exc}{hint}"
    deep = body.count(b"[") + body.count(b"{") > MAX_JSON_DEPTH
    wide = body.count(b",") >= MAX_JSON_MEMBERS
    if not deep and not wide and _SUSPECT_NUMBER.search(body) is None:
        return None
    path = _first_offence(value, ())
    if path is None:
        return None
    where, node = _place(path), _at(value, path)
    if isinstance(node, float):
        return f"the number at {where} is too large for a 64-bit float"
    if isinstance(node, int) and not isinstance(node, bool):
        return f"the integer at {where} is outside the 64-bit range (at most {MAX_JSON_INTEGER} in size)"
    if isinstance(node, dict | list) and len(node) > MAX_JSON_MEMBERS:
        return f"{where} has {len(node)} members; at most {MAX_JSON_MEMBERS} are accepted"
    return f"{where} is nested deeper than {MAX_JSON_DEPTH} levels (MAX_JSON_DEPTH)"


#: A number that may overflow a float (a 3-digit exponent) or a 64-bit integer (19 digits or more).
_SUSPECT_NUMBER = re.compile(rb"[0-9]{19}|[eE]\+?[0-9]{3}")


def _offends(node: Any) -> bool:
    if type(node) is float:
        return not math.isfinite(node)
    if type(node) in (dict, list):
        return len(node) > MAX_JSON_MEMBERS
    return type(node) is int and abs(node) > MAX_JSON_INTEGER


def _first_offence(node: Any, path: tuple[str | int, ...]) -> tuple[str | int, ...] | None:
    """The path to the first value out of range or nested too deep (the recursion is bounded: it stops
    at ``MAX_JSON_DEPTH``, and pydantic-core refuses more than 200 levels anyway)."""
    if _offends(node):
        return path
    items: Any = node.items() if type(node) is dict else enumerate(node) if type(node) is list else ()
    for key, item in items:
        if len(path) >= MAX_JSON_DEPTH and type(item) in (dict, list):
            return (*path, key)
        found = _first_offence(item, (*path, key))
        if found is not None:
            return found
    return None


def _at(value: Any, path: tuple[str | int, ...]) -> Any:
    for key in path:
        value = value[key]
    return value


def _place(path: tuple[str | int, ...]) -> str:
    """``parameters.retry_limit``, ``steps[2]``; a key that is not a plain name is quoted: ``[""]``."""
    if not path:
        return "the top level"
    shown = ""
    for part in path:
        if isinstance(part, int):
            shown += f"[{part}]"
        elif _NAME.match(part):
            shown += ("." if shown else "") + part
        else:
            shown += f"[{json.dumps(part)}]"
    return shown if len(shown) <= 200 else shown[:200] + "..."
