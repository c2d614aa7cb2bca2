"""A hostile template cannot harm the catalog: bounded reading and stored-field caps at publish, listings
that never read schemas, and `catalog remove` for what got in anyway, on SQLite and PostgreSQL."""

from __future__ import annotations

import hashlib
import re
import subprocess
import time
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from catalog.errors import HostileBundleError, NotInCatalogError, VersionConflictError
from catalog.migrate import open_catalog
from catalog.models import Bundle, RemovedVersion, TemplateVersion, utcnow
from catalog.publication import MAX_SCHEMA_BYTES, prepare_folder
from catalog.service import index, publish, remove_version, resolve
from generator.bundle import pack
from generator.errors import TemplateDefinitionError, UsageError
from tests.clikit import run
from tests.conftest import RegistryServer, template_variant
from tests.registry_api.test_registry_api import assert_problem, unique_name


def cli(*args: str, url: str) -> subprocess.CompletedProcess[str]:
    result = run(*args, env={"PIPEFORGE_DATABASE_URL": url, "PIPEFORGE_PUBLISHER": "ops-admin"})
    assert "Traceback" not in result.stderr, result.stderr
    return result


def alias_bomb(key: str = "x-bomb") -> str:
    """Billion laughs inside the parameter schema: 21 aliases a level, six levels (85 million nodes)."""
    lines = [f"  {key}:", '    l0: &l0 ["ha", "ha", "ha"]']
    lines += [f"    l{i}: &l{i} [{', '.join([f'*l{i - 1}'] * 21)}]" for i in range(1, 7)]
    return "\n".join(lines) + "\n"


def _indent_into_parameters(folder: Path, block: str) -> Path:
    meta = folder / "template.yaml"
    text = meta.read_text(encoding="utf-8").replace("\nparameters:\n", "\nparameters:\n" + block, 1)
    meta.write_text(text, encoding="utf-8")
    return folder


# ---------------------------------------------------------------- publish refuses


def test_an_alias_bomb_in_template_yaml_is_refused_at_publish_naming_the_limit(tmp_path: Path) -> None:
    folder = _indent_into_parameters(template_variant(tmp_path, name="bomb-one"), alias_bomb())
    with pytest.raises(TemplateDefinitionError, match="MAX_ALIAS_NODES") as info:
        prepare_folder(folder)
    assert "template.yaml" in info.value.message


def test_a_deep_cookiecutter_json_is_refused_naming_the_limit(tmp_path: Path) -> None:
    folder = template_variant(tmp_path, name="deep-json")
    (folder / "cookiecutter.json").write_text('{"a": ' + "[" * 5000 + "]" * 5000 + "}", encoding="utf-8")
    with pytest.raises(HostileBundleError, match=r"cookiecutter\.json: nesting deeper than 100 levels"):
        prepare_folder(folder)


def test_a_schema_over_the_stored_size_cap_is_refused(tmp_path: Path) -> None:
    huge = "x" * (MAX_SCHEMA_BYTES + 1)
    folder = _indent_into_parameters(template_variant(tmp_path, name="fat-schema"), f"  description: '{huge}'\n")
    with pytest.raises(TemplateDefinitionError, match="MAX_SCHEMA_BYTES"):
        prepare_folder(folder)


def test_too_many_tags_are_refused(tmp_path: Path) -> None:
    folder = template_variant(tmp_path, name="many-tags")
    meta = folder / "template.yaml"
    tags = "tags: [" + ", ".join(f"t{i}" for i in range(100)) + "]"
    meta.write_text(re.sub(r"(?m)^tags: .*$", tags, meta.read_text(encoding="utf-8"), count=1), encoding="utf-8")
    with pytest.raises(TemplateDefinitionError, match="MAX_TAGS"):
        prepare_folder(folder)


def test_cli_publish_of_a_bomb_exits_2_naming_the_limit(tmp_path: Path) -> None:
    folder = _indent_into_parameters(template_variant(tmp_path, name="bomb-cli"), alias_bomb("x-laughs"))
    result = cli("catalog", "publish", str(folder), url=f"sqlite:///{tmp_path / 'c.db'}")
    assert result.returncode == 2 and "MAX_ALIAS_NODES" in result.stderr


# ---------------------------------------------------------------- listings survive rows of older code


def _plant_harmful_row(url: str, name: str) -> None:
    """A version as older code stored it from an alias bomb: a schema of megabytes, tags not a list."""
    data = b"not a real bundle " + name.encode()
    digest = "sha256:" + hashlib.sha256(data).hexdigest()
    catalog = open_catalog(url)
    with catalog.session() as session:
        session.add(Bundle(digest=digest, size=len(data), data=data))
        session.flush()
        session.add(TemplateVersion(
            name=name, version="6.6.6", major=6, minor=6, patch=6, prerelease="", digest=digest,
            summary="planted. " + "s" * 50_000, tags={"not": "a list"},
            parameters={"properties": {"p": {"enum": [["ha"] * 50] * 20_000}}}, lint_summary={},
            changelog=None, publisher="older-code", published_at=utcnow(), yanked=False,
        ))
        session.commit()


def test_a_listing_reads_no_schema_and_survives_a_harmful_row(database_url: str) -> None:
    _plant_harmful_row(database_url, "planted")
    with open_catalog(database_url).session() as session:
        entries = index(session)
    (_, latest, rows), = [e for e in entries if e[0] == "planted"]
    assert latest is not None and latest.version == "6.6.6"
    assert rows[0].tags == () and len(rows[0].summary) <= 1000
    assert not hasattr(rows[0], "parameters")


def test_cli_list_answers_with_a_harmful_row_stored(database_url: str) -> None:
    _plant_harmful_row(database_url, "planted-cli")
    result = cli("catalog", "list", "--json", url=database_url)
    assert result.returncode == 0 and "planted-cli" in result.stdout
    assert len(result.stdout) < 20_000


# ---------------------------------------------------------------- catalog remove


def _published(url: str, tmp_path: Path, name: str, version: str = "1.0.0", note: str = "") -> Any:
    catalog = open_catalog(url)
    with catalog.session() as session:
        return publish(session, publication=prepare_folder(template_variant(tmp_path, name=name, version=version,
                                                                           note=note)), publisher="alice").version


def test_remove_deletes_the_version_and_its_bundle_and_records_who_when_why(database_url: str,
                                                                           tmp_path: Path) -> None:
    _published(database_url, tmp_path, "rm-one", "1.0.0")
    row = _published(database_url, tmp_path, "rm-one", "1.1.0", note="second")
    catalog = open_catalog(database_url)
    with catalog.session() as session:
        gone = remove_version(session, reference="rm-one@1.1.0", reason="hostile schema", removed_by="ops")
    assert (gone.reason, gone.removed_by, gone.publisher, gone.digest) == ("hostile schema", "ops", "alice", row.digest)
    with catalog.session() as session:
        assert resolve(session, name="rm-one").version == "1.0.0"
        assert session.get(Bundle, row.digest) is None
        stored = session.scalars(select(RemovedVersion).where(RemovedVersion.name == "rm-one")).one()
        assert stored.version == "1.1.0" and stored.removed_at is not None
        with pytest.raises(NotInCatalogError, match="removed from the catalog by ops"):
            resolve(session, name="rm-one", spec="1.1.0")


def test_a_removed_version_number_is_never_published_again(database_url: str, tmp_path: Path) -> None:
    _published(database_url, tmp_path, "rm-two", "2.0.0")
    catalog = open_catalog(database_url)
    with catalog.session() as session:
        remove_version(session, reference="rm-two@2.0.0", reason="bomb", removed_by="ops")
    for note in ("", "other content"):  # the same bundle again, and a different one
        with catalog.session() as session, pytest.raises(VersionConflictError, match="never reused"):
            publish(session, publication=prepare_folder(template_variant(tmp_path, name="rm-two", version="2.0.0",
                                                                         note=note, folder=f"again-{note!r}")),
                    publisher="alice")
    with catalog.session() as session, pytest.raises(NotInCatalogError, match="nothing to remove"):
        remove_version(session, reference="rm-two@2.0.0", reason="again", removed_by="ops")


def test_remove_needs_a_reason_and_an_exact_version(database_url: str, tmp_path: Path) -> None:
    _published(database_url, tmp_path, "rm-three")
    with open_catalog(database_url).session() as session:
        with pytest.raises(UsageError, match="reason"):
            remove_version(session, reference="rm-three@1.0.0", reason="  ", removed_by="ops")
        with pytest.raises(UsageError, match="NAME@VERSION"):
            remove_version(session, reference="rm-three", reason="r", removed_by="ops")


def test_cli_remove_then_publish_again_is_refused(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    folder = template_variant(tmp_path, name="rm-cli", version="3.1.0")
    assert cli("catalog", "publish", str(folder), url=url).returncode == 0
    removed = cli("catalog", "remove", "rm-cli@3.1.0", "--reason", "alias bomb", url=url)
    assert removed.returncode == 0 and "Removed rm-cli 3.1.0" in removed.stdout and "stays taken" in removed.stdout
    again = cli("catalog", "publish", str(folder), url=url)
    assert again.returncode == 3 and "removed from the catalog by ops-admin" in again.stderr
    missing = cli("catalog", "remove", "rm-cli@3.1.0", "--reason", "again", url=url)
    assert missing.returncode == 2 and "nothing to remove" in missing.stderr


# ---------------------------------------------------------------- over HTTP


def test_http_publish_of_a_bomb_is_a_422_naming_the_limit(registry: RegistryServer, tokens: dict[str, str],
                                                          tmp_path: Path) -> None:
    name = unique_name()
    folder = _indent_into_parameters(template_variant(tmp_path, name=name), alias_bomb())
    with registry.client(tokens["publish"]) as client:
        response = client.post(f"/api/v1/templates/{name}/versions", content=pack(folder),
                               headers={"Content-Type": "application/x-tar"})
        body = assert_problem(response, 422, "invalid-template")
        assert "MAX_ALIAS_NODES" in body["detail"] and "/tmp" not in body["detail"]
        assert client.get("/api/v1/templates").status_code == 200


def test_http_remove_needs_the_admin_scope_and_hides_the_version(registry: RegistryServer, tokens: dict[str, str],
                                                                 tmp_path: Path) -> None:
    name = unique_name()
    with registry.client(tokens["publish"]) as client:
        bundle = pack(template_variant(tmp_path, name=name))
        published = client.post(f"/api/v1/templates/{name}/versions", content=bundle,
                                headers={"Content-Type": "application/x-tar"})
        assert published.status_code == 201
        refused = client.post(f"/api/v1/templates/{name}/versions/1.0.0/remove", json={"reason": "bomb"})
        assert_problem(refused, 403, "forbidden")
    with registry.client(tokens["admin"]) as client:
        done = client.post(f"/api/v1/templates/{name}/versions/1.0.0/remove", json={"reason": "bomb"})
        assert done.status_code == 200, done.text
        assert done.json()["removed_by"] == "test-admin" and done.json()["reason"] == "bomb"
        assert_problem(client.get(f"/api/v1/templates/{name}/versions/1.0.0"), 404, "not-found")
        assert name not in client.get("/api/v1/templates", params={"q": name}).text
        again = client.post(f"/api/v1/templates/{name}/versions", content=bundle,
                            headers={"Content-Type": "application/x-tar"})
        assert_problem(again, 409, "version-conflict")


def test_http_listings_and_the_web_index_survive_a_harmful_row(registry: RegistryServer) -> None:
    name = unique_name()
    _plant_harmful_row(registry.database_url, name)
    deadline = time.monotonic() + 30  # the index notices other writers within index_ttl_seconds
    with registry.client() as client:
        while True:
            listing = client.get("/api/v1/templates", params={"q": name})
            assert listing.status_code == 200, listing.text
            if name in listing.text or time.monotonic() > deadline:
                break
            time.sleep(0.2)
        assert name in listing.text and "properties" not in listing.text and len(listing.content) < 10_000
        page = client.get("/", params={"q": name})
        assert page.status_code == 200 and name in page.text


def test_a_recursion_error_that_escapes_anyway_is_a_422_not_a_500(tmp_path: Path) -> None:
    from fastapi.testclient import TestClient

    from registry_api.app import create_app
    from registry_api.settings import Settings

    app = create_app(Settings(database_url=f"sqlite:///{tmp_path / 'r.db'}", publish_builtins=False))

    @app.get("/too-deep")
    def too_deep() -> None:
        raise RecursionError("maximum recursion depth exceeded")

    with TestClient(app) as client:
        answer = client.get("/too-deep")
    assert answer.status_code == 422 and answer.json()["type"].endswith("/input-limit")
