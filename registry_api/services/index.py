"""The template index the listing pages and ``GET /api/v1/templates`` serve from memory.

Building it reads every version row once; it is rebuilt when the catalog changes. This process's own
writes invalidate it at once; changes by other processes (another replica, ``pipeforge catalog``) are
noticed by a one-row fingerprint query at most every ``index_ttl_seconds``. Serialised pages are kept per
query, so a repeated listing costs a dictionary lookup.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import func, select

from catalog.db import Catalog, reporting
from catalog.models import TemplateVersion
from catalog.service import index, iso
from registry_api.problems import ProblemError

MAX_PAGE = 200


@dataclass(frozen=True)
class Entry:
    """One template in the index: what a listing shows."""

    name: str
    latest: str | None
    summary: str
    tags: tuple[str, ...]
    versions: int
    yanked: int
    updated_at: str

    def public(self) -> dict[str, Any]:
        return {
            "name": self.name, "latest": self.latest, "summary": self.summary, "tags": list(self.tags),
            "versions": self.versions, "yanked_versions": self.yanked, "updated_at": self.updated_at,
        }

    def matches(self, q: str, tag: str | None) -> bool:
        if tag and tag not in self.tags:
            return False
        return not q or q in self.name or q in self.summary.lower() or any(q in t for t in self.tags)


@dataclass
class _State:
    fingerprint: tuple[Any, ...] | None = None
    entries: tuple[Entry, ...] = ()
    tags: tuple[tuple[str, int], ...] = ()
    pages: dict[tuple[str, str | None, int, int], bytes] = field(default_factory=dict)
    checked: float = 0.0


def _entries(catalog: Catalog) -> tuple[Entry, ...]:
    with reporting(catalog.engine.url), catalog.session() as session:
        rows = index(session)
    out = []
    for name, latest, every in rows:
        shown = latest or every[-1]  # all yanked or prereleases only: describe the newest
        out.append(Entry(
            name=name, latest=latest.version if latest else None, summary=shown.summary, tags=tuple(shown.tags),
            versions=len(every), yanked=sum(1 for r in every if r.yanked),
            updated_at=iso(max(r.published_at for r in every)),
        ))
    return tuple(out)


def _fingerprint(catalog: Catalog) -> tuple[Any, ...]:
    query = select(
        func.count(TemplateVersion.id), func.max(TemplateVersion.id),
        func.count(TemplateVersion.yanked_at), func.max(TemplateVersion.yanked_at),
    )
    with reporting(catalog.engine.url), catalog.session() as session:
        return tuple(session.execute(query).one())


class IndexCache:
    def __init__(self, catalog: Catalog, *, ttl: float) -> None:
        self.catalog, self.ttl = catalog, ttl
        self._state = _State()
        self._lock = threading.Lock()

    def invalidate(self) -> None:
        self._state = _State()

    def fresh(self) -> bool:
        """True when the cached index may be served without asking the database."""
        state = self._state
        return state.fingerprint is not None and time.monotonic() - state.checked < self.ttl

    def refresh(self) -> None:
        """Check the fingerprint and rebuild when the catalog changed (blocking: call from a thread)."""
        with self._lock:
            if self.fresh():
                return
            fingerprint = _fingerprint(self.catalog)
            state = self._state
            if fingerprint != state.fingerprint:
                entries = _entries(self.catalog)
                counts: dict[str, int] = {}
                for entry in entries:
                    for tag in entry.tags:
                        counts[tag] = counts.get(tag, 0) + 1
                state = _State(fingerprint, entries, tuple(sorted(counts.items())))
            state.checked = time.monotonic()
            self._state = state

    def entries(self) -> tuple[Entry, ...]:
        return self._state.entries

    def tags(self) -> tuple[tuple[str, int], ...]:
        return self._state.tags

    def search(self, *, q: str = "", tag: str | None = None) -> list[Entry]:
        needle = q.strip().lower()
        return [e for e in self._state.entries if e.matches(needle, tag)]

    def page_json(self, *, q: str, tag: str | None, limit: int, offset: int) -> bytes:
        """The serialised ``GET /api/v1/templates`` body for one query (cached until the index changes)."""
        state = self._state
        key = (q, tag, limit, offset)
        cached = state.pages.get(key)
        if cached is None:
            found = self.search(q=q, tag=tag)
            body = {"total": len(found), "limit": limit, "offset": offset,
                    "items": [e.public() for e in found[offset:offset + limit]]}
            cached = json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
            if len(state.pages) < 1024:  # bounded: queries are user input
                state.pages[key] = cached
        return cached


def _integer(text: str | None, name: str, default: int, low: int, high: int, errors: list[dict[str, str]]) -> int:
    if text is None:
        return default
    try:
        value = int(text)
    except ValueError:
        errors.append({"field": f"query.{name}", "rule": "Input should be a valid integer"})
        return default
    if not low <= value <= high:
        errors.append({"field": f"query.{name}", "rule": f"Input should be between {low} and {high}"})
    return value


def listing_query(params: Mapping[str, str]) -> dict[str, Any]:
    """``q``, ``tag``, ``limit`` and ``offset`` of a listing, checked; every bad one is reported."""
    errors: list[dict[str, str]] = []
    q, tag = params.get("q", ""), params.get("tag") or None
    if len(q) > 200:
        errors.append({"field": "query.q", "rule": "String should have at most 200 characters"})
    if tag is not None and len(tag) > 100:
        errors.append({"field": "query.tag", "rule": "String should have at most 100 characters"})
    limit = _integer(params.get("limit"), "limit", 50, 1, MAX_PAGE, errors)
    offset = _integer(params.get("offset"), "offset", 0, 0, 1_000_000, errors)
    if errors:
        fields = ", ".join(e["field"] for e in errors)
        raise ProblemError(422, "invalid-request", "Invalid request", f"{len(errors)} invalid field(s): {fields}",
                           errors=errors)
    return {"q": q.strip().lower(), "tag": tag, "limit": limit, "offset": offset}
