"""Alembic environment of the catalog. ``catalog.migrate`` runs it with an open connection (in one
transaction, under a lock); run by the ``alembic`` command it uses ``PIPEFORGE_DATABASE_URL``."""

from __future__ import annotations

from alembic import context
from sqlalchemy import Connection

from catalog.db import database_url, engine_for
from catalog.models import Base

config = context.config


def _run(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=Base.metadata,
        render_as_batch=connection.dialect.name == "sqlite",
    )
    with context.begin_transaction():
        context.run_migrations()


if context.is_offline_mode():
    context.configure(url=database_url(), target_metadata=Base.metadata, literal_binds=True)
    with context.begin_transaction():
        context.run_migrations()
elif config.attributes.get("connection") is not None:
    _run(config.attributes["connection"])
else:
    with engine_for(database_url()).begin() as connection:
        _run(connection)
