"""Schema migrations: on first use, by `catalog migrate`, exactly once under concurrency, matching the
models, shipped inside the package; and a database that cannot be used says why without credentials."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import inspect, text

from catalog.db import engine_for, masked
from catalog.errors import CatalogUnavailableError
from catalog.migrate import HEAD, MIGRATIONS_DIR, alembic_config, current_revision, open_catalog, upgrade
from catalog.models import Base


def revision_of(url: str) -> str | None:
    with engine_for(url).connect() as connection:
        return current_revision(connection)


def test_the_first_use_creates_the_schema(fresh_database_url: str) -> None:
    assert revision_of(fresh_database_url) is None
    catalog = open_catalog(fresh_database_url)
    assert revision_of(fresh_database_url) == HEAD
    with catalog.engine.connect() as connection:
        assert {"bundles", "template_versions"} <= set(inspect(connection).get_table_names())


def test_head_is_the_newest_alembic_revision() -> None:
    assert ScriptDirectory.from_config(alembic_config()).get_current_head() == HEAD


def test_the_migrations_build_exactly_the_models(fresh_database_url: str) -> None:
    open_catalog(fresh_database_url)
    with engine_for(fresh_database_url).connect() as connection:
        assert compare_metadata(MigrationContext.configure(connection), Base.metadata) == []


def test_migrate_reports_before_and_after_and_is_idempotent(fresh_database_url: str) -> None:
    engine = engine_for(fresh_database_url)
    assert upgrade(engine) == (None, HEAD)
    assert upgrade(engine) == (HEAD, HEAD)


def test_downgrade_to_nothing_and_back(fresh_database_url: str) -> None:
    open_catalog(fresh_database_url)
    with engine_for(fresh_database_url).begin() as connection:
        command.downgrade(alembic_config(connection), "base")
    with engine_for(fresh_database_url).connect() as connection:
        assert set(inspect(connection).get_table_names()) <= {"alembic_version"}
    assert upgrade(engine_for(fresh_database_url)) == (None, HEAD)


@pytest.mark.race
def test_concurrent_first_uses_migrate_exactly_once(fresh_database_url: str) -> None:
    with ThreadPoolExecutor(max_workers=8) as pool:
        results = list(pool.map(lambda _: open_catalog(fresh_database_url), range(8)))
    assert len(results) == 8 and revision_of(fresh_database_url) == HEAD


def test_a_database_from_a_newer_pipeforge_is_refused(fresh_database_url: str) -> None:
    open_catalog(fresh_database_url)
    with engine_for(fresh_database_url).begin() as connection:
        connection.execute(text("UPDATE alembic_version SET version_num = '9999'"))
    with pytest.raises(CatalogUnavailableError, match=r"revision 9999.*newer pipeforge"):
        open_catalog(fresh_database_url)


def test_the_migrations_live_inside_the_catalog_package() -> None:
    import catalog

    assert MIGRATIONS_DIR.parent == __import__("pathlib").Path(catalog.__file__).parent
    assert (MIGRATIONS_DIR / "env.py").is_file() and (MIGRATIONS_DIR / "script.py.mako").is_file()
    assert list((MIGRATIONS_DIR / "versions").glob("rev_*.py"))


def test_an_unreachable_server_is_named_without_its_password() -> None:
    url = "postgresql://deployer:s3cret-pass@127.0.0.1:1/catalog"
    with pytest.raises(CatalogUnavailableError) as error:
        open_catalog(url)
    message = error.value.message
    assert "s3cret-pass" not in message and "deployer:***@127.0.0.1:1/catalog" in message
    assert "PIPEFORGE_DATABASE_URL" in message
    assert masked(url) == "postgresql://deployer:***@127.0.0.1:1/catalog"


@pytest.mark.parametrize("url", ["mysql://root@localhost/catalog", "not a url", "oracle+cx_oracle://x@y/z"])
def test_unsupported_databases_are_refused_with_what_is_supported(url: str) -> None:
    with pytest.raises(CatalogUnavailableError, match=r"SQLite|not a database URL"):
        open_catalog(url)


def test_the_default_is_a_sqlite_file_in_the_data_directory(monkeypatch: pytest.MonkeyPatch) -> None:
    from catalog.db import database_url

    monkeypatch.delenv("PIPEFORGE_DATABASE_URL", raising=False)
    monkeypatch.setenv("XDG_DATA_HOME", "/srv/data")
    assert database_url() == "sqlite:////srv/data/pipeforge/catalog.db"
    monkeypatch.setenv("PIPEFORGE_DATABASE_URL", "postgresql://pf@db/pf")
    assert database_url() == "postgresql://pf@db/pf"
