"""The registry's state for one process: the catalog, its settings and the caches the routes use."""

from __future__ import annotations

import hashlib
import logging
import threading
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import select

from catalog.checkout import TemplateCache
from catalog.db import Catalog, create_catalog_engine, database_url, reporting
from catalog.migrate import ensure_current
from catalog.models import TemplateVersion
from catalog.publication import Publication, prepare_folder
from catalog.safety import pack_folder
from catalog.service import publish
from generator.template_spec import builtin_templates_dir, load_template
from registry_api.services.index import IndexCache
from registry_api.settings import Settings

log = logging.getLogger("pipeforge.registry")


@dataclass
class Registry:
    settings: Settings
    catalog: Catalog
    index: IndexCache
    templates: TemplateCache

    def changed(self) -> None:
        """Call after a write: the index is rebuilt on its next use."""
        self.index.invalidate()

    def close(self) -> None:
        self.templates.clear()
        self.catalog.engine.dispose()


def _open_catalog(url: str | None) -> Catalog:
    """The catalog on an engine (connection pool) of the server's own, sized for its thread pool, and
    migrated to the current schema."""
    engine = create_catalog_engine(url or database_url(), pool_size=10, max_overflow=20)
    with reporting(engine.url):
        ensure_current(engine)
    return Catalog(engine)


def open_registry(settings: Settings) -> Registry:
    """Open (and migrate) the catalog; publish the built-in templates into an empty one if configured."""
    catalog = _open_catalog(settings.database_url)
    if settings.publish_builtins:
        publish_builtins(catalog)
    return Registry(
        settings=settings,
        catalog=catalog,
        index=IndexCache(catalog, ttl=settings.index_ttl_seconds),
        templates=TemplateCache(size=settings.render_cache_size),
    )


def publish_builtins(catalog: Catalog) -> int:
    """Publish every built-in template when the catalog holds no template yet; returns how many."""
    with reporting(catalog.engine.url), catalog.session() as session:
        if session.scalars(select(TemplateVersion.id).limit(1)).first() is not None:
            return 0
    count = 0
    for folder in sorted(p for p in builtin_templates_dir().iterdir() if (p / "template.yaml").is_file()):
        publication = _builtin_publication(load_template(folder).path)
        with reporting(catalog.engine.url), catalog.session() as session:
            count += publish(session, publication=publication, publisher="pipeforge (built-in)").created
    log.info("published %d built-in templates into the empty catalog", count)
    return count


_prepared: dict[tuple[Path, str], Publication] = {}
_prepared_lock = threading.Lock()


def _builtin_publication(folder: Path) -> Publication:
    """The built-in template in ``folder``, checked once per process for its content: the built-ins come
    with the installed package, and checking one (renders at every edge of its parameters, lint) costs
    about half a second, which a process that opens several catalogs (a test suite, a host serving more
    than one registry) would otherwise pay again for each."""
    key = (folder, hashlib.sha256(pack_folder(folder)).hexdigest())
    with _prepared_lock:
        publication = _prepared.get(key)
    if publication is None:
        publication = prepare_folder(folder)
        with _prepared_lock:
            _prepared[key] = publication
    return publication
