"""Template details, bundles, publishing and yanking: the catalog's service functions, each in its own
session (write functions need a fresh one), with database errors reported without credentials."""

from __future__ import annotations

from typing import Any

from sqlalchemy import text

from catalog import service
from catalog.db import Catalog, reporting
from catalog.models import TemplateVersion
from catalog.publication import prepare
from catalog.service import describe, iso
from generator.errors import UsageError
from generator.sandbox_worker import run_bounded
from generator.semver import parse_version
from registry_api.services.registry import Registry


def _brief(row: TemplateVersion) -> dict[str, Any]:
    return {"version": row.version, "digest": row.digest, "yanked": row.yanked, "yank_reason": row.yank_reason,
            "prerelease": bool(row.prerelease), "published_at": service.iso(row.published_at)}


def template_detail(catalog: Catalog, *, name: str) -> dict[str, Any]:
    """A template: every version (newest first, yanked ones marked), the latest and its parameters."""
    with reporting(catalog.engine.url), catalog.session() as session:
        every = service.versions(session, name=name)
        latest = next((r for r in reversed(every) if not r.yanked and not r.prerelease), None)
    shown = latest or every[-1]
    return {
        "name": name,
        "latest": latest.version if latest else None,
        "summary": shown.summary,
        "tags": list(shown.tags),
        "parameters": shown.parameters,
        "versions": [_brief(r) for r in reversed(every)],
    }


def version_detail(catalog: Catalog, *, name: str, version: str) -> dict[str, Any]:
    """One version, by exact version or spec (``latest``, ``^1.2``): metadata, digest, lint, yank."""
    with reporting(catalog.engine.url), catalog.session() as session:
        return describe(service.resolve(session, name=name, spec=version))


def bundle(catalog: Catalog, *, name: str, version: str) -> tuple[str, bytes]:
    """The exact version's stored bundle and digest (checked against it)."""
    with reporting(catalog.engine.url), catalog.session() as session:
        row = service.resolve(session, name=name, spec=_exact(version))
        return row.digest, service.bundle_bytes(session, digest=row.digest)


#: Wall clock of a publish's checks: unpacking, the render of the defaults, lint, the fault matrix and the
#: renders at the edges of the parameters (``generator.boundaries.CHECK_SECONDS`` of those).
PUBLISH_SECONDS = 30.0


def _exact(version: str) -> str:
    return str(parse_version(version))


def publish_bundle(registry: Registry, *, name: str, data: bytes, publisher: str) -> tuple[dict[str, Any], bool]:
    """Check (as untrusted input), render, lint and record an uploaded bundle; nothing of it runs. The checks
    run in a worker process, with the publish budget (PUBLISH_SECONDS)."""
    publication = run_bounded(prepare, data, source="the uploaded bundle", timeout=PUBLISH_SECONDS)
    if publication.name != name:
        raise UsageError(
            f"the bundle's template.yaml names the template '{publication.name}', but it was sent to "
            f"/templates/{name}/versions; publish it under its own name"
        )
    catalog = registry.catalog
    with reporting(catalog.engine.url), catalog.session() as session:
        result = service.publish(session, publication=publication, publisher=publisher)
        shown = describe(result.version)  # inside the session: a row re-read after a rollback is expired
    if result.created:
        registry.changed()
    return shown, result.created


def set_yanked(registry: Registry, *, name: str, version: str, yanked: bool,
               reason: str | None) -> tuple[dict[str, Any], bool]:
    catalog = registry.catalog
    with reporting(catalog.engine.url), catalog.session() as session:
        row, changed = service.set_yanked(session, reference=f"{name}@{version}", yanked=yanked, reason=reason)
        shown = describe(row)
    if changed:
        registry.changed()
    return shown, changed


def remove_version(registry: Registry, *, name: str, version: str, reason: str, removed_by: str) -> dict[str, Any]:
    catalog = registry.catalog
    with reporting(catalog.engine.url), catalog.session() as session:
        gone = service.remove_version(session, reference=f"{name}@{version}", reason=reason, removed_by=removed_by)
        shown = {"name": gone.name, "version": gone.version, "digest": gone.digest, "publisher": gone.publisher,
                 "published_at": iso(gone.published_at), "reason": gone.reason, "removed_by": gone.removed_by,
                 "removed_at": iso(gone.removed_at)}
    registry.changed()
    return shown


def ready(catalog: Catalog) -> None:
    """Raise CatalogUnavailableError unless the database answers."""
    with reporting(catalog.engine.url), catalog.engine.connect() as connection:
        connection.execute(text("SELECT 1"))
