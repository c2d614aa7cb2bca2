"""The Kubernetes object inside a resource template, checked against Kubernetes' own schemas.

Schemas come from ``kubernetes-validate`` (it ships the strict JSON schemas of every Kubernetes release).
They are loaded lazily, once per (version, kind) in a process: a run that has no resource template of a
built-in kind never imports jsonschema. Kinds without a shipped schema (custom resources) are not checked.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from functools import lru_cache
from typing import Any

from generator.errors import ManifestError
from generator.model import Template
from generator.rules.base import ERROR, Hit, rule
from generator.rules.context import Context
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


@lru_cache(maxsize=256)
def _validator(version: str, kind: str, api_version: str) -> Any | None:
    """A jsonschema validator for one kind at one Kubernetes version, or None when no schema is shipped."""
    import jsonschema
    from kubernetes_validate import utils
    from referencing import Registry, Resource

    wanted = utils.major_minor(version.removeprefix("v"))
    known = [v for v in utils.all_versions() if utils.major_minor(v) <= wanted]
    if not known:
        return None
    folder = f"kubernetes-json-schema/v{known[-1]}-local-strict"
    group = _API_GROUP.sub(r"\1-", api_version)
    try:
        schema = utils.schema_contents(f"{folder}/{kind.lower()}-{group}.json", version)
    except (FileNotFoundError, utils.VersionNotSupportedError):
        return None
    registry: Registry[Any] = Resource.from_contents(_definitions(folder, version)) @ Registry()
    registry = Resource.from_contents(schema) @ registry
    return jsonschema.validators.Draft202012Validator(schema, registry=registry)


@lru_cache(maxsize=8)
def _definitions(folder: str, version: str) -> Any:
    from kubernetes_validate import utils

    return utils.schema_contents(f"{folder}/_definitions.json", version)


def _embedded(template: Template) -> tuple[Any, int, bool] | None:
    """The parsed manifest, the file line of the ``manifest`` key, and whether its text is a block."""
    raw = template.raw.get("resource")
    text = raw.get("manifest") if isinstance(raw, dict) else None
    if not isinstance(text, str):
        return None
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


def _templated(error: Any) -> bool:
    """An error about a value Argo fills in at run time (``'{{inputs.parameters.n}}'`` where a number goes)."""
    return isinstance(error.instance, str) and "{{" in error.instance


def _unexpected(error: Any) -> list[str]:
    if error.validator != "additionalProperties" or not isinstance(error.instance, dict):
        return []
    allowed = set(error.schema.get("properties", {}))
    return sorted(str(k) for k in error.instance if k not in allowed)


@rule(
    "PF010", "kubernetes-schema", ERROR,
    summary="the Kubernetes object of a resource template does not match Kubernetes' schema",
    why="Argo hands the manifest to the Kubernetes API only when the step runs: a misspelt field "
        "(`accesModes`) is refused by strict field validation or silently dropped, and a value of the wrong "
        "type fails the step, often long after the workflow was submitted.",
    source="docs/argo-semantics.md, Resource manifests are validated by Kubernetes at run time",
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
        if not isinstance(kind, str) or not isinstance(api_version, str) or "{{" in kind + api_version:
            continue
        validator = _validator(ctx.options.kubernetes_version, kind, api_version)
        if validator is not None:
            yield from _problems(ctx, template, validator, body, key_line, block)


def _problems(ctx: Context, template: Template, validator: Any, body: Any, key_line: int,
              block: bool) -> Iterator[Hit]:
    version = ctx.options.kubernetes_version
    for error in sorted(validator.iter_errors(body), key=lambda e: list(map(str, e.absolute_path))):
        if _templated(error):
            continue
        where = list(error.absolute_path)
        unknown = _unexpected(error)
        names: list[str | None] = [*unknown] or [None]
        for name in names:
            inner = [*where, name] if name else where
            line = key_line + _line_in(body, inner) if block else key_line
            dotted = ".".join(map(str, inner)) or "(top level)"
            message = (f"{body['kind']} field '{dotted}' is not in Kubernetes {version}'s schema" if name else
                       f"{body['kind']} field '{dotted}': {error.message[:160]}")
            fix = f"fix the spelling of '{name}' or remove it" if name else "give the field a value Kubernetes accepts"
            yield ctx.hit("PF010", line, template.name, message, fix,
                          path=ctx.template_path(template, "resource", "manifest"), field=dotted,
                          object={"kind": body["kind"], "name": _name(body)}, manifest_path=inner)


def _name(body: Any) -> str | None:
    metadata = body.get("metadata")
    name = metadata.get("name") if isinstance(metadata, dict) else None
    return name if isinstance(name, str) else None
