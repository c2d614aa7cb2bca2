"""The catalog's promises, each checked on SQLite and on PostgreSQL: write-once versions with digests,
yanking that keeps exact pins working, semver resolution, and renders from the stored bundle."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from functools import partial
from pathlib import Path

import pytest
from sqlalchemy import select, update

from catalog import service
from catalog.checkout import checked_out
from catalog.errors import LintFailedError, NotInCatalogError, UnknownTemplateError, VersionConflictError
from catalog.migrate import open_catalog
from catalog.models import Bundle, TemplateVersion
from catalog.publication import prepare_folder
from catalog.service import Published, bundle_bytes, describe, index, publish, resolve, set_yanked, versions
from generator.bundle import digest
from generator.errors import PipeforgeError, TemplateDefinitionError, UsageError
from generator.scaffold import build
from generator.semver import InvalidVersionError
from generator.template_spec import find_template
from tests.conftest import template_variant

MANIFEST = "[[cookiecutter.pipeline_name]][#{{}}#]/workflowtemplate.yaml"


def publish_folder(url: str, folder: Path, publisher: str = "alice") -> Published:
    catalog = open_catalog(url)
    publication = prepare_folder(folder)
    with catalog.session() as session:
        return publish(session, publication=publication, publisher=publisher)


def publish_versions(url: str, tmp_path: Path, *numbers: str, name: str = "demo-pipeline") -> None:
    for number in numbers:
        publish_folder(url, template_variant(tmp_path, name=name, version=number))


def resolved(url: str, spec: str, name: str = "demo-pipeline") -> str:
    with open_catalog(url).session() as session:
        return resolve(session, name=name, spec=spec).version


def edit_manifest(folder: Path, old: str, new: str) -> Path:
    path = folder / MANIFEST
    text = path.read_text(encoding="utf-8")
    assert old in text
    path.write_text(text.replace(old, new), encoding="utf-8")
    return folder


def test_publish_keeps_digest_metadata_lint_summary_and_bundle(database_url: str, tmp_path: Path) -> None:
    folder = template_variant(tmp_path, version="1.4.0", note="Retries now back off.")
    before = datetime.now(UTC) - timedelta(seconds=5)
    result = publish_folder(database_url, folder, publisher="platform-team")
    assert result.created
    with open_catalog(database_url).session() as session:
        info = describe(resolve(session, name="demo-pipeline", spec="1.4.0"))
        stored = bundle_bytes(session, digest=info["digest"])
    assert info["digest"] == digest(folder), "the catalog digest is the folder's bundle digest"
    assert (info["name"], info["version"], info["yanked"], info["yank_reason"]) == (
        "demo-pipeline", "1.4.0", False, None)
    assert info["summary"] == find_template("provision-process-publish").summary
    assert info["tags"] == ["batch", "exit-handler", "cleanup", "idempotent"]
    assert info["parameters"] == find_template("provision-process-publish").schema
    assert info["changelog"] == "Retries now back off."
    assert info["publisher"] == "platform-team"
    assert info["lint"] == {"errors": 0, "warnings": 0, "infos": 0, "findings": []}
    assert before <= datetime.fromisoformat(info["published_at"]) <= datetime.now(UTC)
    assert stored == prepare_folder(folder).bundle


def test_publishing_the_same_content_again_is_a_no_op(database_url: str, tmp_path: Path) -> None:
    folder = template_variant(tmp_path)
    first = publish_folder(database_url, folder, publisher="alice")
    again = publish_folder(database_url, folder, publisher="bob")
    assert (first.created, again.created) == (True, False)
    assert again.version.publisher == "alice", "the first publish stands"
    with open_catalog(database_url).session() as session:
        assert len(versions(session, name="demo-pipeline")) == 1


def test_other_content_under_a_published_version_is_refused_naming_both_digests(
    database_url: str, tmp_path: Path
) -> None:
    original = template_variant(tmp_path)
    changed = template_variant(tmp_path, note="sneaky change")
    publish_folder(database_url, original)
    with pytest.raises(VersionConflictError) as error:
        publish_folder(database_url, changed)
    assert error.value.exit_code == 3
    assert digest(original) in error.value.message and digest(changed) in error.value.message
    with open_catalog(database_url).session() as session:
        assert resolve(session, name="demo-pipeline", spec="1.0.0").digest == digest(original)
        assert session.scalars(select(Bundle.digest)).all() == [digest(original)], "no stray bundle"


def test_a_version_is_never_reused_even_after_a_yank(database_url: str, tmp_path: Path) -> None:
    original = template_variant(tmp_path)
    publish_folder(database_url, original)
    with open_catalog(database_url).session() as session:
        set_yanked(session, reference="demo-pipeline@1.0.0", yanked=True, reason="broken cleanup")
    with pytest.raises(VersionConflictError):
        publish_folder(database_url, template_variant(tmp_path, note="the fix, under the same number"))
    again = publish_folder(database_url, original)
    assert not again.created and again.version.yanked, "republishing does not unyank"


@pytest.mark.parametrize("page", [64, 2], ids=["one-page", "pages-of-2"])
def test_ranges_resolve_to_the_highest_matching_release(
    database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, page: int
) -> None:
    monkeypatch.setattr(service, "_candidates", partial(service._candidates, page=page))
    publish_versions(database_url, tmp_path, "0.9.0", "1.0.0", "1.2.0", "1.2.7", "1.3.0", "2.0.0-rc.1", "2.0.0",
                     "2.1.0-beta.1")
    expected = {"latest": "2.0.0", "^1.2": "1.3.0", "~1.2.3": "1.2.7", ">=1.0,<2": "1.3.0", "1.2.0": "1.2.0",
                "^0.9": "0.9.0", "<1": "0.9.0", "^2.0.0-rc.1": "2.0.0", ">=2.0.0-rc.1,<2.0.0": "2.0.0-rc.1",
                "~2.1.0-beta.0": "2.1.0-beta.1", "2.1.0-beta.1": "2.1.0-beta.1"}
    assert {spec: resolved(database_url, spec) for spec in expected} == expected


def test_yank_hides_from_latest_and_ranges_and_exact_pins_still_work(database_url: str, tmp_path: Path) -> None:
    publish_versions(database_url, tmp_path, "1.0.0", "1.1.0")
    catalog = open_catalog(database_url)
    with catalog.session() as session:
        row, changed = set_yanked(session, reference="demo-pipeline@1.1.0", yanked=True, reason="deletes twice")
    assert changed and row.yanked and row.yank_reason == "deletes twice"
    assert resolved(database_url, "latest") == "1.0.0"
    assert resolved(database_url, "^1.0") == "1.0.0"
    with catalog.session() as session:
        pinned = resolve(session, name="demo-pipeline", spec="1.1.0")
        assert (pinned.version, pinned.yanked, pinned.yank_reason) == ("1.1.0", True, "deletes twice")
        latest = next(latest for name, latest, _ in index(session) if name == "demo-pipeline")
        assert latest is not None and latest.version == "1.0.0"
        _, changed = set_yanked(session, reference="demo-pipeline@1.1.0", yanked=False)
    assert changed and resolved(database_url, "^1.0") == "1.1.0"


def test_yanking_twice_with_the_same_reason_changes_nothing_and_a_reason_is_required(
    database_url: str, tmp_path: Path
) -> None:
    publish_versions(database_url, tmp_path, "1.0.0")
    with open_catalog(database_url).session() as session:
        set_yanked(session, reference="demo-pipeline@1.0.0", yanked=True, reason="bad")
        _, changed = set_yanked(session, reference="demo-pipeline@1.0.0", yanked=True, reason="bad")
        assert not changed
        with pytest.raises(UsageError, match="needs a reason"):
            set_yanked(session, reference="demo-pipeline@1.0.0", yanked=True, reason="  ")
        with pytest.raises(UsageError, match="exact version"):
            set_yanked(session, reference="demo-pipeline", yanked=True, reason="x")
        with pytest.raises(InvalidVersionError):
            set_yanked(session, reference="demo-pipeline@^1", yanked=True, reason="x")
        with pytest.raises(NotInCatalogError, match=r"no version matching '2.0.0'"):
            set_yanked(session, reference="demo-pipeline@2.0.0", yanked=False)


def test_no_match_explains_yanked_and_prerelease_candidates(database_url: str, tmp_path: Path) -> None:
    publish_versions(database_url, tmp_path, "1.0.0", "2.0.0-rc.1")
    with open_catalog(database_url).session() as session:
        set_yanked(session, reference="demo-pipeline@1.0.0", yanked=True, reason="leaks volumes")
        with pytest.raises(NotInCatalogError) as error:
            resolve(session, name="demo-pipeline", spec="latest")
        message = error.value.message
        assert "1.0.0 matches but is yanked (leaks volumes)" in message and "demo-pipeline@1.0.0" in message
        assert "prereleases are used only when asked for, e.g. demo-pipeline@2.0.0-rc.1" in message
        with pytest.raises(UnknownTemplateError, match=r"no template named 'nope' in the catalog; published: demo"):
            resolve(session, name="nope", spec="latest")


def test_lint_errors_refuse_the_publish_and_warnings_are_recorded(database_url: str, tmp_path: Path) -> None:
    unbounded = edit_manifest(template_variant(tmp_path, folder="unbounded"), 'limit: "[[ retry_limit ]]"', "")
    with pytest.raises(LintFailedError) as error:
        publish_folder(database_url, unbounded)
    assert error.value.exit_code == 1 and "PF201" in error.value.message and "workflowtemplate.yaml:" in (
        error.value.message)
    pod_gc = ("  podGC:\n    # Succeeded pods go at once; failed ones stay for debugging until the TTL removes the "
              "workflow.\n    strategy: OnPodSuccess\n")
    no_gc = edit_manifest(template_variant(tmp_path, folder="no-gc"), pod_gc, "")
    row = publish_folder(database_url, no_gc).version
    assert row.lint_summary["errors"] == 0 and row.lint_summary["warnings"] == 1
    assert [f["rule"] for f in row.lint_summary["findings"]] == ["PF502"]
    with open_catalog(database_url).session() as session:
        assert [r.version for r in versions(session, name="demo-pipeline")] == ["1.0.0"], "only the clean one"


def test_a_template_that_does_not_load_or_has_a_bad_version_is_refused(tmp_path: Path) -> None:
    folder = template_variant(tmp_path, version="v1.2")
    with pytest.raises(TemplateDefinitionError, match=r"template.yaml: version: 'v1.2' is not a semantic"):
        prepare_folder(folder)
    folder = template_variant(tmp_path, version="1.2.0+build.5")
    with pytest.raises(TemplateDefinitionError, match="build metadata"):
        prepare_folder(folder)
    folder = template_variant(tmp_path, name="Bad_Name")
    with pytest.raises(TemplateDefinitionError, match="lowercase letters"):
        prepare_folder(folder)
    folder = template_variant(tmp_path, folder="broken")
    (folder / "cookiecutter.json").write_text("{not json")
    with pytest.raises(TemplateDefinitionError) as error:
        prepare_folder(folder)
    assert str(folder) in error.value.message and "pipeforge-bundle-" not in error.value.message


def test_a_render_from_the_catalog_equals_the_render_of_the_folder(database_url: str, tmp_path: Path) -> None:
    folder = template_variant(tmp_path, version="1.1.0")
    publish_folder(database_url, folder)
    values = {"namespace": "analytics", "retry_limit": 5}
    local = build(find_template(str(folder)), values)
    with checked_out(open_catalog(database_url), name="demo-pipeline", spec="^1") as found:
        remote = build(found.template, values, digest=found.digest)
        assert found.version.version == "1.1.0"
    assert remote.files == local.files
    assert re.search(r"(?m)^version: 1\.1\.0$", remote.files[".pipeforge-answers.yaml"])
    assert f"digest: {digest(folder)}" in remote.files[".pipeforge-answers.yaml"]


def test_a_tampered_bundle_is_detected_before_it_is_rendered(database_url: str, tmp_path: Path) -> None:
    published = publish_folder(database_url, template_variant(tmp_path)).version
    catalog = open_catalog(database_url)
    with catalog.engine.begin() as connection:
        connection.execute(update(Bundle).where(Bundle.digest == published.digest).values(data=b"evil"))
    with pytest.raises(PipeforgeError, match="is corrupt"), checked_out(catalog, name="demo-pipeline", spec="1.0.0"):
        pass


def test_index_lists_each_template_with_its_latest_release(database_url: str, tmp_path: Path) -> None:
    publish_versions(database_url, tmp_path, "1.0.0", "1.1.0", "2.0.0-rc.1")
    publish_versions(database_url, tmp_path, "0.1.0", name="other-pipeline")
    with open_catalog(database_url).session() as session:
        listed = [(name, latest.version if latest else None, [r.version for r in rows])
                  for name, latest, rows in index(session)]
        assert session.scalar(select(TemplateVersion.id).limit(1)) is not None
    assert listed == [("demo-pipeline", "1.1.0", ["1.0.0", "1.1.0", "2.0.0-rc.1"]),
                      ("other-pipeline", "0.1.0", ["0.1.0"])]
