"""Where the catalog lives: the database URL, engines and sessions (``catalog.migrate`` opens it, migrated).

``PIPEFORGE_DATABASE_URL`` names the database: a SQLite file by default
(``$XDG_DATA_HOME/pipeforge/catalog.db``, i.e. ``~/.local/share/pipeforge/catalog.db``), or PostgreSQL for
a shared deployment (``postgresql://user@host/db``; the psycopg 3 driver is used). Only SQLite and
PostgreSQL are supported. URLs are shown with their password masked, never in clear.

SQLite runs in WAL mode with a busy timeout, and write transactions start with ``BEGIN IMMEDIATE`` so
two writers queue instead of failing with "database is locked" half-way through.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from sqlalchemy import URL, Engine, create_engine, event, make_url
from sqlalchemy.exc import ArgumentError, DBAPIError, SQLAlchemyError
from sqlalchemy.orm import Session

from catalog.errors import CatalogUnavailableError

DATABASE_URL_ENV = "PIPEFORGE_DATABASE_URL"
WRITE_OPTION = "pipeforge_write"
SQLITE_BUSY_TIMEOUT_SECONDS = 30


def default_database_url() -> str:
    data_home = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return f"sqlite:///{Path(data_home) / 'pipeforge' / 'catalog.db'}"


def database_url() -> str:
    return os.environ.get(DATABASE_URL_ENV) or default_database_url()


def masked(url: str | URL) -> str:
    """The URL as it may be shown to a person or written to a log: the password hidden."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except ArgumentError:
        return "<unparseable database URL>"


def normalise_url(text: str) -> URL:
    """Parse the URL, pick psycopg 3 for PostgreSQL, and refuse what the catalog does not support."""
    try:
        url = make_url(text)
    except ArgumentError:
        raise CatalogUnavailableError(
            f"{DATABASE_URL_ENV} is not a database URL; expected e.g. sqlite:////var/lib/pipeforge/catalog.db "
            "or postgresql://user@host:5432/pipeforge"
        ) from None
    backend = url.get_backend_name()
    if backend in ("postgresql", "postgres"):
        return url.set(drivername="postgresql+psycopg")
    if backend == "sqlite" and url.get_driver_name() in ("pysqlite", ""):
        return url
    raise CatalogUnavailableError(
        f"{masked(url)}: the catalog supports SQLite (sqlite:///path) and PostgreSQL (postgresql://...) only"
    )


def _sqlite_setup(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None  # SQLAlchemy, not the driver, decides when to BEGIN
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Any) -> None:
        write = connection.get_execution_options().get(WRITE_OPTION)
        connection.exec_driver_sql("BEGIN IMMEDIATE" if write else "BEGIN")


def create_catalog_engine(url_text: str, **options: Any) -> Engine:
    """A new engine for the URL, set up for the catalog; ``options`` go to ``create_engine``."""
    url = normalise_url(url_text)
    if url.get_backend_name() == "sqlite":
        if url.database and url.database != ":memory:":
            Path(url.database).expanduser().parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"timeout": SQLITE_BUSY_TIMEOUT_SECONDS}, **options)
        _sqlite_setup(engine)
        return engine
    return create_engine(url, pool_pre_ping=True, connect_args={"connect_timeout": 10}, **options)


@cache
def engine_for(url_text: str) -> Engine:
    """One engine (and connection pool) per URL per process."""
    return create_catalog_engine(url_text)


def begin_write(session: Session) -> None:
    """Start the session's transaction as a write transaction (BEGIN IMMEDIATE on SQLite), so that
    concurrent writers queue on the busy timeout instead of failing half-way.

    Service functions that write call it first. In a session that already has a transaction open it
    does nothing: a SQLite read transaction cannot become an immediate one, so pass fresh sessions to
    write functions where writers compete (the CLI and the API do).
    """
    if not session.in_transaction():
        session.connection(execution_options={WRITE_OPTION: True})


@dataclass(frozen=True)
class Catalog:
    """An opened, migrated catalog database."""

    engine: Engine

    @property
    def location(self) -> str:
        return masked(self.engine.url)

    def session(self) -> Session:
        return Session(self.engine, expire_on_commit=False)


@contextmanager
def reporting(url: str | URL) -> Iterator[None]:
    """Turn driver errors (unreachable server, bad credentials, locked file) into a message with the
    masked URL; the full error stays out of the output because drivers may echo connection strings."""
    try:
        yield
    except DBAPIError as exc:
        detail = str(exc.orig).strip().splitlines()[0] if exc.orig else type(exc).__name__
        raise CatalogUnavailableError(
            f"catalog database {masked(url)}: {detail}; check {DATABASE_URL_ENV} and that the server is up"
        ) from None
    except SQLAlchemyError as exc:
        raise CatalogUnavailableError(f"catalog database {masked(url)}: {type(exc).__name__}: {exc}") from None
