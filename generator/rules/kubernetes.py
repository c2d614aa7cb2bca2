"""The Kubernetes object inside a resource template, checked against Kubernetes' own schemas.

Schemas come from ``kubernetes-validate`` (it ships the strict JSON schemas of every Kubernetes release).
They are loaded lazily, once per (version, kind) in a process, and only when a resource template holds a
built-in kind. Kinds without a shipped schema (custom resources) are not checked.
"""

from __future__ import annotations

import contextlib
import importlib.util
import json
import os
import re
from collections.abc import Iterator
from functools import lru_cache
from pathlib import Path
from typing import Any

from generator.errors import ManifestError
from generator.findings import Hit
from generator.model import Template
from generator.rules.base import rule
from generator.rules.context import Context
from generator.severity import Severity
from generator.yamlio import LineDict, LineList, load_documents

_HEAD = "apiVersion: argoproj.io/v1alpha1\nkind: Workflow\nmetadata: {generateName: demo-}\nspec:\n"
_PVC = """\
  - name: make-volume
    activeDeadlineSeconds: 60
    resource:
      action: apply
      manifest: |
        apiVersion: v1
        kind: PersistentVolumeClaim
        metadata:
          name: scratch
        spec:
          MODES: [ReadWriteOnce]
          resources: {requests: {storage: 1Gi}}
"""
_API_GROUP = re.compile(r"^([^./]*)(?:\.[^/]*)?/")
_ARGO_EXPR = re.compile(r"{{.*?}}")
PLACEHOLDER = "ARGO-EXPRESSION"


@lru_cache(maxsize=1)
def _schema_root() -> Path | None:
    """kubernetes-validate's schema folder, found without importing the package (it imports jsonschema)."""
    spec = importlib.util.find_spec("kubernetes_validate")
    locations = list(spec.submodule_search_locations or []) if spec is not None else []
    return Path(locations[0]) / "kubernetes-json-schema" if locations else None


def _release(version: str, root: Path) -> str | None:
    """The newest shipped Kubernetes release not newer than ``version`` (as kubernetes-validate picks it)."""
    wanted = tuple(int(p) for p in re.findall(r"\d+", version)[:2])
    shipped = []
    for folder in root.iterdir():
        match = re.fullmatch(r"v(\d+)\.(\d+)\.(\d+)-local-strict", folder.name)
        if match:
            shipped.append(tuple(int(g) for g in match.groups()))
    usable = sorted(v for v in shipped if v[:2] <= wanted)
    return ".".join(map(str, usable[-1])) if usable else None


@lru_cache(maxsize=256)
def _schema(version: str, kind: str, api_version: str) -> tuple[dict[str, Any], dict[str, Any]] | None:
    """The strict schema of one kind at one Kubernetes version with the definitions it uses, or None.

    Kubernetes' definitions are one 1.3 MB file; the part one kind needs, without descriptions, is cached
    as JSON in the user's cache directory (as ``generator.fields`` caches Argo's field table).
    """
    root = _schema_root()
    release = _release(version, root) if root is not None and root.is_dir() else None
    if root is None or release is None:
        return None
    folder = root / f"v{release}-local-strict"
    group = _API_GROUP.sub(r"\1-", api_version)
    name = f"{kind.lower()}-{group}"
    stamp = folder.stat().st_mtime_ns
    cache = _cache_dir() / f"k8s-{release}-{stamp}-{name}.json"
    with contextlib.suppress(OSError, ValueError):
        schema, defs = json.loads(cache.read_text(encoding="utf-8"))
        return schema, defs
    try:
        schema = json.loads((folder / f"{name}.json").read_text(encoding="utf-8"))
        definitions = json.loads((folder / "_definitions.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    pruned = _prune(schema, definitions.get("$defs", {}))
    import tempfile  # lazy: keeps lint start-up fast: only a kind's first check writes its cache

    with contextlib.suppress(OSError):
        cache.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile("w", dir=cache.parent, delete=False, suffix=".tmp") as handle:
            json.dump(pruned, handle)
        Path(handle.name).replace(cache)
    return pruned


def _cache_dir() -> Path:
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "pipeforge"


def _prune(schema: Any, defs: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """The schema and the definitions reachable from it, descriptions dropped."""
    def strip(node: Any) -> Any:
        if isinstance(node, dict):
            return {k: strip(v) for k, v in node.items() if k != "description"}
        if isinstance(node, list):
            return [strip(v) for v in node]
        return node

    used: dict[str, Any] = {}
    pending = [schema]
    while pending:
        node = pending.pop()
        if isinstance(node, dict):
            ref = node.get("$ref")
            if isinstance(ref, str):
                name = ref.rsplit("/", 1)[-1]
                if name not in used and name in defs:
                    used[name] = defs[name]
                    pending.append(defs[name])
            pending.extend(node.values())
        elif isinstance(node, list):
            pending.extend(node)
    return strip(schema), {name: strip(node) for name, node in used.items()}


# Hand-written rather than jsonschema: building a jsonschema validator over Kubernetes' definitions takes
# about half a second per process, more than linting Argo's 217 examples, and these schemas use only
# $ref, type, properties, additionalProperties, items, required, enum and oneOf/anyOf of types.
_TYPES: dict[str, Any] = {"string": str, "object": dict, "array": list, "boolean": bool}


def _resolve(schema: Any, defs: dict[str, Any]) -> dict[str, Any]:
    for _ in range(64):
        if not isinstance(schema, dict) or "$ref" not in schema:
            break
        schema = defs.get(str(schema["$ref"]).rsplit("/", 1)[-1], {})
    return schema if isinstance(schema, dict) else {}


def _type_ok(value: Any, types: Any) -> bool:
    names = {types} if isinstance(types, str) else set(types)
    if value is None or (isinstance(value, str) and PLACEHOLDER in value):
        return True  # null is allowed by these schemas; Argo fills in expressions at run time
    for name in names:
        if name == "integer" and isinstance(value, int) and not isinstance(value, bool):
            return True
        if name == "number" and isinstance(value, int | float) and not isinstance(value, bool):
            return True
        if name in _TYPES and isinstance(value, _TYPES[name]):
            return True
    return False


def _alternatives(schema: dict[str, Any], defs: dict[str, Any]) -> list[dict[str, Any]]:
    return [_resolve(s, defs) for s in schema.get("oneOf", schema.get("anyOf", []))]


Problem = tuple[list[str | int], str]  # (path inside the object, what is wrong: "" for an unknown field)


def problems(value: Any, schema: Any, defs: dict[str, Any], path: list[str | int]) -> Iterator[Problem]:
    """Unknown fields, wrong types and missing required fields of ``value`` against a Kubernetes schema."""
    schema = _resolve(schema, defs)
    choices = _alternatives(schema, defs)
    if choices:
        fitting = [c for c in choices if "type" not in c or _type_ok(value, c["type"])]
        if not fitting:
            yield path, "is not " + " or ".join(str(c.get("type")) for c in choices)
            return
        schema = {**schema, **fitting[0]}
    if "type" in schema and not _type_ok(value, schema["type"]):
        yield path, f"is {type(value).__name__}, Kubernetes expects {schema['type']}"
        return
    if isinstance(value, dict):
        yield from _object_problems(value, schema, defs, path)
    elif isinstance(value, list) and "items" in schema:
        for index, item in enumerate(value):
            yield from problems(item, schema["items"], defs, [*path, index])
    elif "enum" in schema and value is not None and value not in schema["enum"]:
        yield path, f"is '{value}', not one of {', '.join(map(str, schema['enum']))}"


def _object_problems(value: dict[str, Any], schema: dict[str, Any], defs: dict[str, Any],
                     path: list[str | int]) -> Iterator[Problem]:
    properties = schema.get("properties", {})
    extra = schema.get("additionalProperties", True)
    for key, item in value.items():
        if key in properties:
            yield from problems(item, properties[key], defs, [*path, key])
        elif extra is False and "patternProperties" not in schema:
            yield [*path, key], ""
        elif isinstance(extra, dict):
            yield from problems(item, extra, defs, [*path, key])
    for name in schema.get("required", ()):
        if name not in value:
            yield path, f"lacks required field '{name}'"


def _embedded(template: Template) -> tuple[Any, int, bool] | None:
    """The parsed manifest, the file line of the ``manifest`` key, and whether its text is a block."""
    raw = template.raw.get("resource")
    text = raw.get("manifest") if isinstance(raw, dict) else None
    if not isinstance(text, str):
        return None
    # Argo substitutes its expressions as text before Kubernetes reads the manifest: read each one as a
    # placeholder word (an unquoted `{{x}}` would otherwise be a YAML flow mapping).
    text = _ARGO_EXPR.sub(PLACEHOLDER, text)
    try:
        documents = load_documents(text, file="<resource manifest>")
    except ManifestError:
        return None
    if len(documents) != 1 or not isinstance(documents[0], dict):
        return None
    line = raw.line_of("manifest") if isinstance(raw, LineDict) else template.line
    return documents[0], line, text.count("\n") > 1


def _line_in(node: Any, path: list[str | int]) -> int:
    """The line (inside the manifest text) of the deepest node of ``path`` that exists."""
    line = int(getattr(node, "line", 1))
    for part in path:
        inside_map = isinstance(node, LineDict) and isinstance(part, str) and part in node
        inside_list = isinstance(node, LineList) and isinstance(part, int) and 0 <= part < len(node)
        if not (inside_map or inside_list):
            break
        line, node = node.line_of(part), node[part]
    return line


@rule(
    "PF010", "kubernetes-schema", Severity.ERROR,
    summary="the Kubernetes object of a resource template does not match Kubernetes' schema",
    why="Argo hands the manifest to the Kubernetes API only when the step runs: a misspelt field "
        "(`accesModes`) is refused by strict field validation or silently dropped, and a value of the wrong "
        "type fails the step, often long after the workflow was submitted.",
    source="docs/argo-semantics.md, Resource manifests are validated by Kubernetes when the step runs",
    bad=_HEAD + "  entrypoint: make-volume\n  templates:\n" + _PVC.replace("MODES", "accesModes"),
    good=_HEAD + "  entrypoint: make-volume\n  templates:\n" + _PVC.replace("MODES", "accessModes"),
    confident="That the object has a field the Kubernetes version's schema does not define, or a value of "
              "another type, for built-in kinds (the version is the lint option kubernetes_version).",
    leaves="Custom resources (no schema is shipped for them), values built with `{{...}}`, and manifests that "
           "only parse after Argo substitutes its expressions.",
)
def kubernetes_schema(ctx: Context) -> Iterator[Hit]:
    for template in ctx.templates.values():
        if template.kind != "resource":
            continue
        embedded = _embedded(template)
        if embedded is None:
            continue
        body, key_line, block = embedded
        kind, api_version = body.get("kind"), body.get("apiVersion")
        if not isinstance(kind, str) or not isinstance(api_version, str) or PLACEHOLDER in kind + api_version:
            continue
        schema = _schema(ctx.options.kubernetes_version, kind, api_version)
        if schema is not None:
            yield from _hits(ctx, template, schema, body, key_line, block)


def _hits(ctx: Context, template: Template, schema: tuple[dict[str, Any], dict[str, Any]], body: Any,
          key_line: int, block: bool) -> Iterator[Hit]:
    version = ctx.options.kubernetes_version
    for inner, what in problems(body, schema[0], schema[1], []):
        line = key_line + _line_in(body, inner) if block else key_line
        dotted = ".".join(map(str, inner)) or "(top level)"
        if what:
            message, fix = f"{body['kind']} field '{dotted}' {what}", "give the field a value Kubernetes accepts"
        else:
            message = f"{body['kind']} field '{dotted}' is not in Kubernetes {version}'s schema"
            fix = f"fix the spelling of '{inner[-1]}' or remove it"
        yield ctx.hit("PF010", line, template.name, message, fix,
                      path=ctx.template_path(template, "resource", "manifest"), field=dotted,
                      object={"kind": body["kind"], "name": _name(template, body)}, manifest_path=inner)


def _name(template: Template, body: Any) -> str | None:
    """The object's name as written (expressions kept), from the model when it could read it."""
    if template.resource is not None and template.resource.name:
        return template.resource.name
    metadata = body.get("metadata")
    name = metadata.get("name") if isinstance(metadata, dict) else None
    return name if isinstance(name, str) and PLACEHOLDER not in name else None
