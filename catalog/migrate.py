"""Schema migrations: run on first use (``open_catalog``), and by ``pipeforge catalog migrate``.

The check on every open is one query and needs no Alembic import: the schema revision is compared with
``HEAD`` (a test keeps it equal to the newest Alembic revision). Upgrading runs Alembic in a single
transaction under a lock (an advisory lock on PostgreSQL, ``BEGIN IMMEDIATE`` on SQLite), so several
processes or API replicas opening a fresh database at once migrate it exactly once.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import Connection, Engine, inspect, text

from catalog.db import WRITE_OPTION, Catalog, database_url, engine_for, reporting
from catalog.errors import CatalogUnavailableError

if TYPE_CHECKING:
    from alembic.config import Config  # lazy: Alembic (about a second) only when the schema is migrated

HEAD = "0005"
MIGRATIONS_DIR = Path(__file__).with_name("migrations")
_PG_LOCK_KEY = 0x70_69_70_65_66_6F_72  # "pipefor"


def current_revision(connection: Connection) -> str | None:
    if not inspect(connection).has_table("alembic_version"):
        return None
    value = connection.execute(text("SELECT version_num FROM alembic_version")).scalar()
    return None if value is None else str(value)


def ensure_current(engine: Engine) -> None:
    """Migrate the database unless it is already at ``HEAD`` (the common case: one cheap query)."""
    with engine.connect() as connection:
        revision = current_revision(connection)
    if revision != HEAD:
        upgrade(engine)


def alembic_config(connection: Connection | None = None) -> Config:
    from alembic.config import Config  # lazy: Alembic (about a second) only when the schema is migrated

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.attributes["connection"] = connection
    return config


def known_revisions() -> list[str]:
    from alembic.script import ScriptDirectory  # lazy: Alembic (about a second) only when the schema is migrated

    return [s.revision for s in ScriptDirectory.from_config(alembic_config()).walk_revisions()]


def upgrade(engine: Engine) -> tuple[str | None, str | None]:
    """Upgrade to the newest revision; returns the revision before and after."""
    from alembic import command  # lazy: Alembic (about a second) only when the schema is migrated

    with engine.connect().execution_options(**{WRITE_OPTION: True}) as connection, connection.begin():
        if connection.dialect.name == "postgresql":
            connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _PG_LOCK_KEY})
        before = current_revision(connection)
        if before is not None and before not in known_revisions():
            raise CatalogUnavailableError(
                f"the catalog database is at schema revision {before}, which this pipeforge does not know "
                f"(it knows up to {HEAD}): it was migrated by a newer pipeforge; upgrade pipeforge"
            )
        command.upgrade(alembic_config(connection), "head")
        after = current_revision(connection)
    return before, after


def open_catalog(url: str | None = None, *, migrate: bool = True) -> Catalog:
    """The catalog at ``url`` (default: ``PIPEFORGE_DATABASE_URL`` or the SQLite file), migrated to the
    current schema unless ``migrate`` is false."""
    text = url or database_url()
    engine = engine_for(text)
    if migrate:
        with reporting(engine.url):
            ensure_current(engine)
    return Catalog(engine)
