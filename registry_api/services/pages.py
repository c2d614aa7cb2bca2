"""What the web pages show, assembled from the same services as the JSON API."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from catalog.errors import NotInCatalogError
from generator.errors import BudgetExceeded, InvalidParametersError, TemplateDefinitionError
from generator.semver import InvalidVersionError
from registry_api.services import catalog_ops, render, rollouts
from registry_api.services.registry import Registry

LONG_TEXT = 600
ROLLOUT_REFRESH_SECONDS = 2  # how often a roll-out's page reloads itself while targets are pending


@dataclass(frozen=True)
class Field:
    """One input of the parameter form, from the parameter's JSON Schema."""

    name: str
    label: str
    kind: str  # "number", "select", "textarea", "text"
    value: str
    description: str
    required: bool
    options: tuple[str, ...] = ()
    minimum: int | None = None
    maximum: int | None = None
    max_length: int | None = None
    error: str | None = None


#: Words a label keeps in capitals when a parameter has no schema ``title`` to show instead of its name.
INITIALISMS = frozenset({"api", "uri", "url", "id", "ttl", "dns", "gc", "pvc", "s3", "cpu", "ui", "sha"})


def label(name: str, schema: dict[str, Any]) -> str:
    """The schema's ``title`` (what the template's author chose), else the name as words with
    initialisms kept: ``input_uri`` reads "Input URI", not "Input Uri"."""
    title = schema.get("title")
    if isinstance(title, str) and title.strip():
        return title.strip()
    words = [w.upper() if w.lower() in INITIALISMS else w for w in name.replace("-", "_").split("_") if w]
    if not words:
        return name
    return " ".join([words[0][:1].upper() + words[0][1:], *words[1:]])


def _field(name: str, schema: dict[str, Any], required: bool, value: Any, error: str | None) -> Field:
    text = "" if value is None else str(value)
    common: dict[str, Any] = {"name": name, "label": label(name, schema), "value": text, "required": required,
                              "description": str(schema.get("description", "")), "error": error}
    if isinstance(schema.get("enum"), list):
        return Field(kind="select", options=tuple(str(v) for v in schema["enum"]), **common)
    if schema.get("type") == "integer":
        return Field(kind="number", minimum=schema.get("minimum"), maximum=schema.get("maximum"), **common)
    length = schema.get("maxLength")
    kind = "textarea" if isinstance(length, int) and length > LONG_TEXT else "text"
    return Field(kind=kind, max_length=length if isinstance(length, int) else None, **common)


def form_fields(schema: dict[str, Any], values: dict[str, Any], errors: dict[str, str]) -> list[Field]:
    properties = schema.get("properties") or {}
    required = set(schema.get("required") or ())
    return [
        _field(name, prop if isinstance(prop, dict) else {}, name in required,
               values.get(name, (prop or {}).get("default") if isinstance(prop, dict) else None), errors.get(name))
        for name, prop in properties.items()
    ]


def catalog_page(registry: Registry, *, q: str, tag: str | None) -> dict[str, Any]:
    return {"q": q, "tag": tag, "entries": registry.index.search(q=q, tag=tag), "tags": registry.index.tags(),
            "total": len(registry.index.entries())}


def template_page(registry: Registry, *, name: str, version: str | None, given: dict[str, str]) -> dict[str, Any]:
    """The template, the chosen version, the form, and the preview rendered with ``given`` (or the
    problems that stop it, by field)."""
    detail = catalog_ops.template_detail(registry.catalog, name=name)
    errors: dict[str, str] = {}
    problem: str | None = None
    preview: dict[str, Any] | None = None
    try:
        rendered = render.render(registry.catalog, registry.templates, name=name, version=version, parameters=given)
        preview = rendered.public()
        schema, values = rendered.row.parameters, rendered.values
    except InvalidParametersError as exc:
        errors = {p.field: p.rule for p in exc.problems}
        problem = exc.message
        schema, values = _schema_of(registry, name, version, detail), dict(given)
    except (NotInCatalogError, InvalidVersionError, TemplateDefinitionError, BudgetExceeded) as exc:
        problem = exc.message
        schema, values = detail["parameters"], dict(given)
    chosen = preview["version"] if preview else (version or detail["latest"])
    return {"detail": detail, "version": chosen, "preview": preview, "problem": problem,
            "fields": form_fields(schema, values, errors), "download_urls": download_urls(name, chosen, given),
            "pr_repos": list(registry.settings.pr_allowed_repos), "pr_path": f"pipelines/{name}"}


def download_urls(name: str, version: str | None, given: dict[str, str]) -> dict[str, str]:
    """The archive links for the values in the form (the page's script keeps them current as it changes)."""
    query = urlencode({"template": name, **({"version": version} if version else {}), **given})
    return {fmt: f"/api/v1/render/archive.{fmt}?{query}" for fmt in ("tar.gz", "zip")}


def _schema_of(registry: Registry, name: str, version: str | None, detail: dict[str, Any]) -> dict[str, Any]:
    if version is None:
        return dict(detail["parameters"])
    return dict(catalog_ops.version_detail(registry.catalog, name=name, version=version)["parameters"])


def rollouts_page(registry: Registry) -> dict[str, Any]:
    return {"items": rollouts.recent(registry, 50)}


def rollout_page(registry: Registry, *, rollout_id: int) -> dict[str, Any] | None:
    """The roll-out and how often its page refreshes (only while a target is pending); None if unknown."""
    found = rollouts.get(registry, rollout_id)
    return None if found is None else {"rollout": found, "refresh": ROLLOUT_REFRESH_SECONDS}
