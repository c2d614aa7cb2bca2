"""Template resolution as the CLI, the MCP server and the registry use it: local templates first (unless the
caller prefers the catalog), exact versions, ranges and latest from a real SQLite catalog, errors that name
what exists, and a default catalog that a lookup never creates."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import ExitStack, contextmanager, nullcontext
from pathlib import Path

import pytest

from catalog.db import Catalog, engine_for
from catalog.errors import NotInCatalogError, UnknownTemplateError
from catalog.migrate import open_catalog
from catalog.models import TemplateVersion
from catalog.publication import prepare_folder
from catalog.resolution import (
    CATALOG,
    CATALOG_FIRST,
    LOCAL,
    history,
    resolved,
    resolver,
    split_reference,
    versions,
)
from catalog.service import publish
from generator.errors import TemplateNotFoundError, UsageError
from generator.template_spec import TemplateSpec, find_template
from tests.conftest import template_variant


def _publish(url: str, folder: Path) -> str:
    catalog = open_catalog(url)
    try:
        with catalog.session() as session:
            return publish(session, publication=prepare_folder(folder), publisher="test").version.digest
    finally:
        catalog.engine.dispose()


@pytest.fixture
def no_catalog(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """No PIPEFORGE_DATABASE_URL and a data folder without a catalog file: the default catalog's path."""
    monkeypatch.delenv("PIPEFORGE_DATABASE_URL", raising=False)
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    return tmp_path / "data" / "pipeforge" / "catalog.db"


@pytest.fixture
def catalog_url(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """The default catalog is a SQLite file holding demo-pipeline 1.0.0, 1.1.0 and 2.0.0, and a
    saga-compensation 9.0.0 that shadows nothing (the built-in one of that name is local)."""
    url = f"sqlite:///{tmp_path / 'catalog.db'}"
    monkeypatch.setenv("PIPEFORGE_DATABASE_URL", url)
    for version, note in (("1.0.0", "first"), ("1.1.0", "adds a retry"), ("2.0.0", "renames a parameter")):
        _publish(url, template_variant(tmp_path, version=version, note=note))
    _publish(url, template_variant(tmp_path, name="saga-compensation", version="9.0.0", base="saga-compensation"))
    yield url
    engine_for(url).dispose()  # kept in engine_for's cache: clearing it would drop PostgreSQL's engine undisposed


def test_a_reference_splits_at_its_last_at_sign_unless_it_is_a_folder(tmp_path: Path) -> None:
    folder = tmp_path / "team@2" / "tpl"
    folder.mkdir(parents=True)
    assert split_reference("orders@^1.2") == ("orders", "^1.2")
    assert split_reference("orders") == ("orders", "")
    assert split_reference(str(folder)) == (str(folder), "")


@pytest.mark.usefixtures("catalog_url")
def test_a_local_template_wins_over_the_catalog_unless_the_catalog_is_asked_for() -> None:
    with resolved("saga-compensation") as local:
        assert local.template.path == find_template("saga-compensation").path
        assert local.digest is None and local.row is None
    with resolved("saga-compensation", sources=(CATALOG,)) as stored:
        assert stored.template.version == "9.0.0"
        assert stored.row is not None and stored.digest == stored.row.digest


@pytest.mark.usefixtures("catalog_url")
def test_exact_versions_ranges_and_latest_resolve_in_the_catalog() -> None:
    picked = {}
    for spec in ("1.0.0", "^1", "~1.0", "", "latest"):
        with resolved("demo-pipeline", spec) as found:
            picked[spec] = found.template.version
    assert picked == {"1.0.0": "1.0.0", "^1": "1.1.0", "~1.0": "1.0.0", "": "2.0.0", "latest": "2.0.0"}


@pytest.mark.usefixtures("catalog_url")
def test_a_catalog_template_s_files_live_until_the_block_ends() -> None:
    with resolved("demo-pipeline", "1.0.0") as found:
        folder = Path(found.template.path)
        assert (folder / "template.yaml").is_file()
    assert not folder.exists()


@pytest.mark.usefixtures("catalog_url")
def test_an_unknown_name_names_the_local_templates_and_the_catalog_s() -> None:
    with pytest.raises(TemplateNotFoundError) as local_first, resolved("nightly-export"):
        pass
    message = local_first.value.message
    assert message.startswith("no template named 'nightly-export'; available: ")
    assert "saga-compensation" in message
    assert message.endswith("; the catalog has none either (published there: demo-pipeline, saga-compensation)")
    with pytest.raises(UnknownTemplateError, match="published: demo-pipeline, saga-compensation"), \
            resolved("nightly-export", sources=(CATALOG,)):
        pass


@pytest.mark.usefixtures("catalog_url")
def test_a_spec_nothing_matches_names_the_versions_there_are() -> None:
    with pytest.raises(NotInCatalogError) as caught, resolved("demo-pipeline", "^5"):
        pass
    assert all(version in caught.value.message for version in ("1.0.0", "1.1.0", "2.0.0"))


@pytest.mark.usefixtures("no_catalog")
def test_a_local_template_of_another_version_is_refused_with_the_way_to_the_catalog() -> None:
    local = find_template("saga-compensation").version
    with pytest.raises(UsageError) as caught, resolved("saga-compensation", "^99"):
        pass
    assert caught.value.message == (f"the local template saga-compensation is version {local}, which does not "
                                    "match '^99'; to take saga-compensation@^99 from the catalog, add --from-catalog")
    with resolved("saga-compensation", f"^{local.split('.')[0]}", sources=(LOCAL,)) as found:
        assert found.template.version == local


@pytest.mark.usefixtures("catalog_url")
def test_an_upgrade_takes_catalog_versions_first_and_falls_back_to_the_local_template() -> None:
    with ExitStack() as stack:
        resolve = resolver(stack, sources=CATALOG_FIRST)
        demo, digest = resolve("demo-pipeline", "^1")
        assert (demo.version, digest is not None) == ("1.1.0", True)
        local, none = resolve("provision-process-publish", "latest")
        assert (local.path, none) == (find_template("provision-process-publish").path, None)
        with pytest.raises(UsageError, match=r"the local template is .* and the catalog has no such version"):
            resolve("provision-process-publish", "^99")
        assert Path(demo.path).is_dir()  # leased until the stack closes
    assert not Path(demo.path).exists()


@pytest.mark.usefixtures("catalog_url")
def test_versions_and_history_read_the_catalog() -> None:
    assert [row.version for row in versions("demo-pipeline")] == ["1.0.0", "1.1.0", "2.0.0"]
    read = history()
    assert read is not None
    assert read("demo-pipeline", "1.0.0", "2.0.0") == [("1.1.0", "adds a retry"), ("2.0.0", "renames a parameter")]


def test_no_lookup_creates_the_default_catalog(no_catalog: Path) -> None:
    with pytest.raises(TemplateNotFoundError) as caught, resolved("nightly-export"):
        pass
    assert caught.value.message.endswith("; the catalog is empty")
    with pytest.raises(UnknownTemplateError, match="published: none yet"), \
            resolved("nightly-export", "^1", sources=(CATALOG,)):
        pass
    with ExitStack() as stack:
        template, digest = resolver(stack)("saga-compensation", "latest")
        assert digest is None and template.name == "saga-compensation"
    assert versions("saga-compensation") == []
    assert history() is None
    assert not no_catalog.exists() and not no_catalog.parent.exists()


@pytest.mark.usefixtures("no_catalog")
def test_an_error_raised_inside_the_block_is_not_taken_for_a_lookup_s() -> None:
    raised = UnknownTemplateError("elsewhere", [])
    with pytest.raises(UnknownTemplateError) as caught, resolved("saga-compensation"):
        raise raised
    assert caught.value is raised


def test_a_server_passes_its_own_open_catalog_and_checkout(catalog_url: str, no_catalog: Path) -> None:
    """The registry resolves in the catalog it holds open and leases files from its render cache; the
    user's default catalog (absent here) is never asked."""
    served = open_catalog(catalog_url)
    leased: list[str] = []

    @contextmanager
    def lease(catalog: Catalog, row: TemplateVersion) -> Iterator[TemplateSpec]:
        assert catalog is served
        leased.append(row.version)
        yield find_template("provision-process-publish")

    try:
        with resolved("demo-pipeline", "~1.0", sources=(CATALOG,), catalog=lambda: nullcontext(served),
                      checkout=lease) as found:
            assert (found.digest is not None, leased) == (True, ["1.0.0"])
        assert history(catalog=lambda: nullcontext(served)) is not None
    finally:
        served.engine.dispose()
    assert not no_catalog.exists()
