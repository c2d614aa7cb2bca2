"""The API reference page, drawn on the server from the app's own OpenAPI document (no CDN: FastAPI's
default ``/docs`` loads Swagger UI from the internet, which a registry on a closed network cannot reach)."""

from __future__ import annotations

import re
from typing import Any

METHODS = ("get", "post", "put", "patch", "delete")


def _schema_text(schema: dict[str, Any]) -> str:
    if "$ref" in schema:
        return str(schema["$ref"]).rsplit("/", 1)[-1]
    if "anyOf" in schema:
        return " | ".join(_schema_text(s) for s in schema["anyOf"])
    kind = str(schema.get("type", "any"))
    if kind == "array":
        return f"list of {_schema_text(schema.get('items') or {})}"
    limits = [f"{k} {schema[k]}" for k in ("minimum", "maximum", "maxLength", "pattern", "default") if k in schema]
    return kind + (f" ({', '.join(limits)})" if limits else "")


def _content(content: dict[str, Any]) -> list[tuple[str, str]]:
    return [(media, _schema_text(spec.get("schema") or {})) for media, spec in content.items()]


def _security(operation: dict[str, Any]) -> str:
    requirements = operation.get("security")
    if not requirements:
        return "none"
    if {} in requirements:
        return "optional: reads are open (send a token with scope read when PIPEFORGE_REQUIRE_READ_TOKEN is set)"
    return "required: a bearer token with the scope the description names"


def segments(text: str) -> list[tuple[str, bool]]:
    """``text`` as (piece, is_code) pairs: Markdown's inline code (`x` or ``x``) becomes code, so the page
    shows <code> instead of literal backticks, and the template still escapes every piece."""
    parts = re.split(r"``(.+?)``|`([^`]+)`", text)
    out: list[tuple[str, bool]] = []
    for index in range(0, len(parts), 3):
        if parts[index]:
            out.append((parts[index], False))
        if index + 1 < len(parts):
            code = parts[index + 1] or parts[index + 2]
            if code:
                out.append((code, True))
    return out


def operations(document: dict[str, Any]) -> list[dict[str, Any]]:
    """Each operation of the document, in the order of its paths, as the page shows it."""
    out = []
    for path, item in document.get("paths", {}).items():
        for method in METHODS:
            operation = item.get(method)
            if operation is None:
                continue
            summary, _, rest = (operation.get("description") or operation.get("summary") or "").partition("\n")
            out.append({
                "method": method.upper(), "path": path, "summary": operation.get("summary", summary),
                "description": segments((summary + " " + rest).strip()),
                "anchor": re.sub(r"[^a-z0-9]+", "-", f"{method}{path}".lower()).strip("-"),
                "security": _security(operation),
                "parameters": [
                    {"name": p["name"], "location": p["in"], "required": p.get("required", False),
                     "schema": _schema_text(p.get("schema") or {}), "description": segments(p.get("description", ""))}
                    for p in operation.get("parameters", [])
                ],
                "body": _content((operation.get("requestBody") or {}).get("content") or {}),
                "responses": [
                    {"status": status, "description": response.get("description", ""),
                     "content": _content(response.get("content") or {})}
                    for status, response in sorted(operation.get("responses", {}).items())
                ],
            })
    return out
