"""Check requests and responses against the vendored slice of GitHub's OpenAPI description
(tests/openapi/github-pulls.json, from @octokit/openapi; see tests/openapi/slice_github.py).

OpenAPI 3.0 schemas become JSON Schema (draft 7) on the way: ``$ref`` resolved, ``nullable`` turned into a
``null`` type. Returns the problems as readable strings; an empty list means valid."""

from __future__ import annotations

import copy
import json
import re
from functools import cache
from pathlib import Path
from typing import Any

from jsonschema import Draft7Validator

SPEC_FILE = Path(__file__).parent / "openapi" / "github-pulls.json"
_ANNOTATIONS = {"nullable", "example", "examples", "discriminator", "readOnly", "writeOnly", "xml", "externalDocs",
                "deprecated", "description", "title"}
#: answers the slice does not document per operation but GitHub gives for any (auth, outages)
_GENERIC = {401, 500, 502, 503, 504}


@cache
def spec() -> dict[str, Any]:
    return json.loads(SPEC_FILE.read_text(encoding="utf-8"))


def _lookup(ref: str) -> Any:
    _, _, kind, name = ref.split("/")
    return spec()["components"][kind][name]


def _schema(node: Any) -> Any:
    """An OpenAPI 3.0 schema as JSON Schema: refs inlined, ``nullable`` as a null type."""
    if isinstance(node, list):
        return [_schema(item) for item in node]
    if not isinstance(node, dict):
        return node
    if "$ref" in node:
        return _schema(_lookup(node["$ref"]))
    out: dict[str, Any] = {}
    for key, value in node.items():
        if key == "properties":
            out[key] = {name: _schema(sub) for name, sub in value.items()}
        elif key not in _ANNOTATIONS:
            out[key] = _schema(value)
    if node.get("nullable"):
        if "type" in out:
            out["type"] = [out["type"], "null"]
        if "enum" in out:
            out["enum"] = [*out["enum"], None]
        if "type" not in out:
            out = {"anyOf": [out, {"type": "null"}]}
    return out


def _deref(node: Any) -> Any:
    return _deref(_lookup(node["$ref"])) if isinstance(node, dict) and "$ref" in node else node


def _operation(method: str, path: str) -> tuple[dict[str, Any], dict[str, str]] | None:
    for template, item in spec()["paths"].items():
        pattern = "^" + re.sub(r"\\{(\w+)\\}", r"(?P<\1>[^/]+)", re.escape(template)) + "$"
        match = re.match(pattern, path)
        if match and method.lower() in item:
            return item[method.lower()], match.groupdict()
    return None


def _errors(schema: Any, value: Any, where: str) -> list[str]:
    validator = Draft7Validator(_schema(copy.deepcopy(schema)))
    return [f"{where}: {'/'.join(map(str, e.absolute_path)) or '(top)'}: {e.message}"
            for e in validator.iter_errors(value)]


def _coerce(schema: dict[str, Any], text: str) -> Any:
    kind = _deref(schema).get("type")
    if kind == "integer" and text.lstrip("-").isdigit():
        return int(text)
    if kind == "boolean" and text in ("true", "false"):
        return text == "true"
    return text


def check_request(method: str, path: str, query: dict[str, list[str]], body: Any | None) -> list[str]:
    found = _operation(method, path)
    if found is None:
        return [f"{method} {path}: no such operation in GitHub's description"]
    operation, path_values = found
    problems: list[str] = []
    parameters = [_deref(p) for p in operation.get("parameters", [])]
    known = {p["name"] for p in parameters if p["in"] == "query"}
    problems += [f"{method} {path}: unknown query parameter {name!r}" for name in query if name not in known]
    for parameter in parameters:
        given = path_values.get(parameter["name"]) if parameter["in"] == "path" else (
            query.get(parameter["name"], [None])[0] if parameter["in"] == "query" else None)
        if given is None:
            if parameter.get("required") and parameter["in"] in ("path", "query"):
                problems.append(f"{method} {path}: missing required parameter {parameter['name']!r}")
            continue
        problems += _errors(parameter["schema"], _coerce(parameter["schema"], given),
                            f"{method} {path} parameter {parameter['name']}")
    request_body = _deref(operation.get("requestBody", {}))
    if request_body.get("required") and body is None:
        problems.append(f"{method} {path}: the request body is required")
    if body is not None and request_body:
        problems += _errors(request_body["content"]["application/json"]["schema"], body, f"{method} {path} body")
    return problems


def check_response(method: str, path: str, status: int, body: Any) -> list[str]:
    found = _operation(method, path)
    if found is None:
        return []
    response = found[0]["responses"].get(str(status))
    if response is None:
        return [] if status in _GENERIC else [f"{method} {path}: GitHub documents no {status} answer"]
    content = _deref(response).get("content", {}).get("application/json")
    return _errors(content["schema"], body, f"{method} {path} -> {status}") if content else []


def example(name: str) -> Any:
    """A copy of one of the description's examples (a complete, valid object to start a fake answer from)."""
    return copy.deepcopy(spec()["components"]["examples"][name]["value"])
