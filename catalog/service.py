"""Catalog operations. Each takes a ``session`` first and keyword-only arguments, and commits its own
work; the CLI and the registry API call these and nothing below them.

Versions are write-once. Publishing the same name and version again is a no-op when the digest is the
same and a VersionConflictError naming both digests when it is not, also when several publishers race:
the unique constraint decides, and the loser re-reads the winner's row. Yanking hides a version from
``latest`` and from ranges; an exact pin still resolves it. Only an admin's ``remove`` deletes a version
(its content harmed the catalog); a ``removed_versions`` record keeps its number taken, so a version
number is never reused.
"""

from __future__ import annotations

import hashlib
import json
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from itertools import count, groupby
from typing import Any, NamedTuple

from sqlalchemy import Text, cast, delete, func, select, tuple_
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from catalog.db import begin_write
from catalog.errors import CatalogError, NotInCatalogError, UnknownTemplateError, VersionConflictError
from catalog.models import Bundle, RemovedVersion, TemplateVersion, utcnow
from catalog.publication import Publication
from generator.errors import UsageError
from generator.semver import InvalidVersionError, Spec, Version, best, parse_spec, parse_version

_CANDIDATE_COLUMNS = (
    TemplateVersion.id, TemplateVersion.major, TemplateVersion.minor, TemplateVersion.patch,
    TemplateVersion.prerelease,
)


@dataclass(frozen=True)
class Published:
    version: TemplateVersion
    created: bool  # False: the same digest was already published under this name and version


class _Candidate(NamedTuple):
    id: int
    major: int
    minor: int
    patch: int
    prerelease: str


def version_of(row: TemplateVersion | _Candidate | Listed) -> Version:
    return Version(row.major, row.minor, row.patch, row.prerelease)


def _find(session: Session, name: str, version: str) -> TemplateVersion | None:
    query = select(TemplateVersion).where(TemplateVersion.name == name, TemplateVersion.version == version)
    return session.scalars(query).one_or_none()


def _insert_bundle(session: Session, publication: Publication) -> None:
    values = {"digest": publication.digest, "size": len(publication.bundle), "data": publication.bundle}
    dialect = session.get_bind().dialect.name
    if dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as pg_insert  # lazy: only a PostgreSQL catalog loads it

        session.execute(pg_insert(Bundle).values(values).on_conflict_do_nothing(index_elements=["digest"]))
    else:
        from sqlalchemy.dialects.sqlite import insert as sqlite_insert  # lazy: only a SQLite catalog loads it

        session.execute(sqlite_insert(Bundle).values(values).on_conflict_do_nothing(index_elements=["digest"]))


def _new_row(publication: Publication, publisher: str) -> TemplateVersion:
    version = publication.version
    return TemplateVersion(
        name=publication.name, version=str(version), major=version.major, minor=version.minor,
        patch=version.patch, prerelease=version.prerelease, digest=publication.digest,
        summary=publication.summary, tags=list(publication.tags), parameters=publication.parameters,
        lint_summary=publication.lint, changelog=publication.changelog, publisher=publisher,
        published_at=utcnow(), yanked=False,
    )


def publish(session: Session, *, publication: Publication, publisher: str) -> Published:
    """Record a prepared version (``catalog.publication.prepare``), write-once."""
    begin_write(session)
    existing = _find(session, publication.name, str(publication.version))
    if existing is None:
        _refuse_removed(session, publication.name, str(publication.version))
        try:
            row = _new_row(publication, publisher)
            _insert_bundle(session, publication)
            session.add(row)
            session.commit()
            return Published(row, created=True)
        except IntegrityError:
            session.rollback()  # a concurrent publish of this name and version committed first
            existing = _find(session, publication.name, str(publication.version))
            if existing is None:
                raise
    session.rollback()
    if existing.digest != publication.digest:
        raise VersionConflictError(
            f"{publication.name} {publication.version} is already published with digest {existing.digest}; "
            f"this bundle has digest {publication.digest}. A published version never changes, even after "
            "a yank: give the template a new version in template.yaml and publish that"
        )
    return Published(existing, created=False)


def _removed(session: Session, name: str, version: str) -> RemovedVersion | None:
    query = select(RemovedVersion).where(RemovedVersion.name == name, RemovedVersion.version == version)
    return session.scalars(query).one_or_none()


def _removal_note(gone: RemovedVersion) -> str:
    return (f"{gone.name} {gone.version} was removed from the catalog by {gone.removed_by} on "
            f"{iso(gone.removed_at)[:10]} ({gone.reason})")


def _refuse_removed(session: Session, name: str, version: str) -> None:
    gone = _removed(session, name, version)
    if gone is not None:
        session.rollback()
        raise VersionConflictError(f"{_removal_note(gone)}; a removed version number is never reused: give the "
                                   "template a new version in template.yaml and publish that")


def remove_version(session: Session, *, reference: str, reason: str, removed_by: str) -> RemovedVersion:
    """Delete NAME@VERSION (its row, and its bundle unless another version shares it) and record who
    removed it, when and why; the number stays taken. For content that harms the catalog: a yank hides
    a version, but its stored schema and bundle are still read."""
    if not reason.strip():
        raise UsageError("a removal needs a reason (--reason TEXT): it is recorded with the version number")
    begin_write(session)
    name, _, text = reference.partition("@")
    if text:
        gone = _removed(session, name, str(parse_version(text)))
        if gone is not None:
            session.rollback()
            raise NotInCatalogError(f"{_removal_note(gone)}; nothing to remove")
    row = _exact(session, reference)
    record = RemovedVersion(name=row.name, version=row.version, digest=row.digest, publisher=row.publisher,
                            published_at=row.published_at, reason=reason.strip(), removed_by=removed_by,
                            removed_at=utcnow())
    session.add(record)
    session.delete(row)
    session.flush()
    shared = session.scalars(select(TemplateVersion.id).where(TemplateVersion.digest == record.digest)).first()
    if shared is None:
        session.execute(delete(Bundle).where(Bundle.digest == record.digest))
    session.commit()
    return record


def _all_versions(session: Session, name: str) -> list[TemplateVersion]:
    rows = session.scalars(select(TemplateVersion).where(TemplateVersion.name == name)).all()
    return sorted(rows, key=lambda r: version_of(r).key)


def versions(session: Session, *, name: str) -> list[TemplateVersion]:
    """Every version of a template, oldest first by semver precedence (yanked ones included)."""
    found = _all_versions(session, name)
    if not found:
        raise _unknown_name(session, name)
    return found


def changelog(session: Session, *, name: str, after: str, upto: str) -> list[tuple[str, str | None]]:
    """(version, changelog) of every version of ``name`` above ``after`` up to ``upto``, oldest first, for an
    upgrade's pull request: yanked versions are left out (no one upgrades through them) unless ``upto`` is
    one; empty for a name the catalog does not have or a version that does not parse."""
    try:
        low, high = parse_version(after).key, parse_version(upto).key
    except InvalidVersionError:
        return []
    return [(row.version, row.changelog) for row in _all_versions(session, name)
            if low < version_of(row).key <= high and (not row.yanked or row.version == upto)]


def _unknown_name(session: Session, name: str) -> UnknownTemplateError:
    names = session.scalars(select(TemplateVersion.name).distinct().order_by(TemplateVersion.name)).all()
    return UnknownTemplateError(name, list(names))


def _no_match(session: Session, name: str, spec: Spec) -> CatalogError:
    every = _all_versions(session, name)
    if not every:
        return _unknown_name(session, name)
    shown = ", ".join(f"{r.version}{' (yanked)' if r.yanked else ''}" for r in every[-10:])
    hints = []
    yanked = best(spec, [r for r in every if r.yanked], version_of)
    if yanked is not None:
        hints.append(f"{yanked.version} matches but is yanked ({yanked.yank_reason}); pin it exactly to use it "
                     f"anyway: {name}@{yanked.version}")
    pre = [r for r in every if r.prerelease and not r.yanked and all(c.admits(version_of(r)) for c in spec.comparators)]
    if pre:
        hints.append(f"prereleases are used only when asked for, e.g. {name}@{pre[-1].version}")
    what = "has no release that is not yanked" if spec.is_latest else f"has no version matching '{spec}'"
    return NotInCatalogError(f"{name} {what}; versions: {shown}" + "".join(f"; {h}" for h in hints))


def _candidates(session: Session, name: str, spec: Spec, *, page: int = 64) -> Iterator[_Candidate]:
    """Unyanked versions within the spec's bounds, highest release triple first, a page at a time (a
    resolve usually stops within the first page)."""
    query = select(*_CANDIDATE_COLUMNS).where(TemplateVersion.name == name, TemplateVersion.yanked.is_(False))
    low, high = spec.bounds()
    release = tuple_(TemplateVersion.major, TemplateVersion.minor, TemplateVersion.patch)
    if low is not None:
        query = query.where(release >= low)
    if high is not None:
        query = query.where(release <= high)
    if spec.is_latest:
        query = query.where(TemplateVersion.prerelease == "")
    query = query.order_by(TemplateVersion.major.desc(), TemplateVersion.minor.desc(), TemplateVersion.patch.desc(),
                           TemplateVersion.id)
    for offset in count(0, page):
        rows = session.execute(query.limit(page).offset(offset)).all()
        yield from (_Candidate(*row) for row in rows)
        if len(rows) < page:
            return


def resolve(session: Session, *, name: str, spec: str | Spec = "latest") -> TemplateVersion:
    """The version a spec picks: the highest admitted, not yanked (an exact pin also picks a yanked one)."""
    spec = parse_spec(spec) if isinstance(spec, str) else spec
    if spec.exact is not None:
        row = _find(session, name, str(spec.exact))
        if row is not None:
            return row
        gone = _removed(session, name, str(spec.exact))
        if gone is not None:
            raise NotInCatalogError(f"{_removal_note(gone)}; pick another version")
        raise _no_match(session, name, spec)
    # Highest release triple first; within the first triple that has an admitted version, the best one
    # wins (a release above its prereleases). Usually only the first few rows are looked at.
    for _, group in groupby(_candidates(session, name, spec), key=lambda r: (r.major, r.minor, r.patch)):
        chosen = best(spec, group, version_of)
        if chosen is not None:
            row = session.get(TemplateVersion, chosen.id)
            assert row is not None
            return row
    raise _no_match(session, name, spec)


#: What a listing shows of a summary, and reads of the tags, whatever an older version stored.
_LISTED_SUMMARY = 1000
_LISTED_TAGS = 4096


@dataclass(frozen=True)
class Listed:
    """A version as a listing shows it: never its parameter schema, lint summary or changelog."""

    version: str
    major: int
    minor: int
    patch: int
    prerelease: str
    digest: str
    summary: str
    tags: tuple[str, ...]
    yanked: bool
    yank_reason: str | None
    published_at: datetime


def _listed_tags(text: str | None) -> tuple[str, ...]:
    """Tags as stored, or none when they are not a short JSON list of strings (rows of older code)."""
    try:
        tags = json.loads(text or "[]")
    except ValueError:  # cut at _LISTED_TAGS, or not JSON at all
        return ()
    return tuple(t for t in tags if isinstance(t, str)) if isinstance(tags, list) else ()


def _listing_query() -> Any:
    """The listing's columns only, each read bounded in size by the database itself."""
    return select(
        TemplateVersion.name, TemplateVersion.version, TemplateVersion.major, TemplateVersion.minor,
        TemplateVersion.patch, TemplateVersion.prerelease, TemplateVersion.digest,
        func.substr(TemplateVersion.summary, 1, _LISTED_SUMMARY),
        func.substr(cast(TemplateVersion.tags, Text), 1, _LISTED_TAGS),
        TemplateVersion.yanked, func.substr(TemplateVersion.yank_reason, 1, _LISTED_SUMMARY),
        TemplateVersion.published_at,
    ).order_by(TemplateVersion.name)


def index(session: Session) -> list[tuple[str, Listed | None, list[Listed]]]:
    """Every template: its name, its latest version (None when every version is yanked or a
    prerelease) and all its versions, oldest first. Reads no schema, so one version with a huge or
    broken one cannot break the listing."""
    by_name: dict[str, list[Listed]] = defaultdict(list)
    for name, version, major, minor, patch, pre, digest, summary, tags, yanked, reason, at in \
            session.execute(_listing_query()):
        by_name[name].append(Listed(version, major, minor, patch, pre or "", digest, summary or "",
                                    _listed_tags(tags), bool(yanked), reason, at))
    out = []
    for name, rows in by_name.items():
        rows.sort(key=lambda r: version_of(r).key)
        out.append((name, best(parse_spec("latest"), [r for r in rows if not r.yanked], version_of), rows))
    return out


def _exact(session: Session, reference: str) -> TemplateVersion:
    name, _, text = reference.partition("@")
    if not text:
        raise UsageError(f"'{reference}': give NAME@VERSION with an exact version, e.g. {name}@1.2.0")
    version = parse_version(text)
    row = _find(session, name, str(version))
    if row is None:
        raise _no_match(session, name, parse_spec(str(version)))
    return row


def set_yanked(
    session: Session, *, reference: str, yanked: bool, reason: str | None = None
) -> tuple[TemplateVersion, bool]:
    """Yank (with a reason) or unyank NAME@VERSION; returns the row and whether anything changed."""
    if yanked and not (reason or "").strip():
        raise UsageError("a yank needs a reason (--reason TEXT): users of the version see it")
    begin_write(session)
    row = _exact(session, reference)
    new_reason = reason.strip() if yanked and reason else None
    if row.yanked == yanked and row.yank_reason == new_reason:
        session.rollback()
        return row, False
    row.yanked, row.yank_reason, row.yanked_at = yanked, new_reason, utcnow() if yanked else None
    session.commit()
    return row, True


def bundle_bytes(session: Session, *, digest: str) -> bytes:
    """A stored bundle, checked against its digest (the bytes are the source of truth for renders)."""
    data = session.scalars(select(Bundle.data).where(Bundle.digest == digest)).one_or_none()
    if data is None:
        raise NotInCatalogError(f"no bundle with digest {digest} in the catalog")
    actual = "sha256:" + hashlib.sha256(data).hexdigest()
    if actual != digest:
        raise CatalogError(f"the stored bundle {digest} is corrupt (its bytes hash to {actual}); republish it")
    return bytes(data)


def iso(moment: datetime) -> str:
    """ISO 8601 in UTC (SQLite hands back naive datetimes; they were stored as UTC)."""
    return (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).isoformat()


def describe(row: TemplateVersion) -> dict[str, Any]:
    """A version as JSON (``catalog show --json``; the registry API uses the same shape)."""
    return {
        "name": row.name,
        "version": row.version,
        "digest": row.digest,
        "yanked": row.yanked,
        "yank_reason": row.yank_reason,
        "prerelease": bool(row.prerelease),
        "summary": row.summary,
        "tags": list(row.tags),
        "parameters": row.parameters,
        "changelog": row.changelog,
        "lint": row.lint_summary,
        "publisher": row.publisher,
        "published_at": iso(row.published_at),
    }

