"""Deliveries and fleet roll-outs, in the catalog database.

A *delivery* is a pipeline the registry put at PATH of a repository: recorded when a render pull-request job
succeeds, and moved to the version the base branch really holds when an upgrade job succeeds (an upgrade PR
that is not merged yet leaves the pipeline where it was, so the next roll-out selects it again). A *roll-out*
gives every delivery of a template below the target version one upgrade job in the durable job table, so
the targets are claimed, leased and retried by the registry's workers like any other job, one failing
repository never stops the others, and the roll-out's state is simply the state of its jobs.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from catalog.db import begin_write
from catalog.errors import RolloutKeyConflict
from catalog.jobs import FAILED, QUEUED, RUNNING, UPGRADE, queued
from catalog.models import Delivery, PullRequestJob, Rollout, TemplateVersion
from generator.semver import InvalidVersionError, Version, parse_version

#: a target's status, as the API, the page and the CLI show it
#: (declined: a person closed this very upgrade's pull request unmerged; it is left closed, nothing pushed)
PENDING, OPENED, UP_TO_DATE, CONFLICT, DECLINED, TARGET_FAILED = (
    "pending", "opened", "up-to-date", "conflict", "declined", "failed")
STATUSES = (PENDING, OPENED, UP_TO_DATE, CONFLICT, DECLINED, TARGET_FAILED)


def _now() -> datetime:
    return datetime.now(UTC)


def _iso(moment: datetime | None) -> str | None:
    if moment is None:
        return None
    return (moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment).isoformat()


def repo_key(url: str) -> str:
    """One spelling per repository: scheme and host lower-cased, no trailing '/' or '.git', no query."""
    parts = urlsplit(url.strip())
    path = parts.path.rstrip("/").removesuffix(".git").rstrip("/")
    return urlunsplit((parts.scheme.lower(), parts.netloc.lower(), path, "", ""))


def _version(text: str) -> Version | None:
    try:
        return parse_version(text)
    except InvalidVersionError:
        return None


def digest_of(session: Session, template: str, version: str) -> str | None:
    return session.scalars(select(TemplateVersion.digest).where(
        TemplateVersion.name == template, TemplateVersion.version == version)).first()


def record_delivery(session: Session, *, repo: str, path: str, template: str, version: str, digest: str | None,
                    base: str, provider: str) -> Delivery:
    """Insert or update the delivery of (repo, path), inside the caller's write transaction. Concurrent
    recorders of one target cannot both insert: the insert ignores a conflict and the row is then
    updated under its lock."""
    key, now = repo_key(repo), _now()
    from sqlalchemy.dialects import (  # lazy: the PostgreSQL dialect loads only for a PostgreSQL catalog
        postgresql,
        sqlite,
    )

    values = {"repo": repo, "repo_key": key, "path": path, "template": template, "version": version,
              "digest": digest, "base": base, "provider": provider, "created_at": now, "updated_at": now}
    unique = ["repo_key", "path"]
    if session.get_bind().dialect.name == "postgresql":
        session.execute(postgresql.insert(Delivery).values(**values).on_conflict_do_nothing(index_elements=unique))
    else:
        session.execute(sqlite.insert(Delivery).values(**values).on_conflict_do_nothing(index_elements=unique))
    row = session.scalars(select(Delivery).where(Delivery.repo_key == key, Delivery.path == path)
                          .with_for_update()).one()
    row.repo, row.template, row.version, row.digest = repo, template, version, digest
    row.base, row.provider, row.updated_at = base, provider, now
    return row


def deliveries(session: Session, *, template: str | None = None) -> list[Delivery]:
    query = select(Delivery).order_by(Delivery.repo_key, Delivery.path)
    if template is not None:
        query = query.where(Delivery.template == template)
    return list(session.scalars(query))


def below(rows: list[Delivery], target: Version) -> list[Delivery]:
    """The deliveries whose version is below ``target`` (a version that does not parse is skipped)."""
    found = []
    for row in rows:
        version = _version(row.version)
        if version is not None and version.key < target.key:
            found.append(row)
    return found


def create(session: Session, *, template: str, to_spec: str, to_version: str, requested_by: str,
           idempotency_key: str | None, refuse: Callable[[Delivery], str | None]) -> tuple[Rollout, bool]:
    """Make a roll-out and its upgrade jobs in one transaction; returns it and whether it is new (False:
    an earlier roll-out with the same Idempotency-Key). ``refuse(delivery)`` is the registry's allowlist:
    a message for a target it must not touch, whose job is then failed at once (no network call)."""
    if idempotency_key is not None:
        existing = _keyed(session, requested_by, idempotency_key)
        if existing is not None:
            return _same(existing, template, to_spec), False
        session.rollback()  # end the read, so that the write below starts as a write (BEGIN IMMEDIATE)
    begin_write(session)
    if idempotency_key is not None:  # under the write lock now (SQLite); PostgreSQL has the unique key
        existing = _keyed(session, requested_by, idempotency_key)
        if existing is not None:
            session.rollback()
            return _same(existing, template, to_spec), False
    try:
        rollout = _insert(session, template=template, to_spec=to_spec, to_version=to_version,
                          requested_by=requested_by, idempotency_key=idempotency_key, refuse=refuse)
    except IntegrityError:  # a concurrent request with the same key won (PostgreSQL)
        session.rollback()
        existing = _keyed(session, requested_by, idempotency_key or "")
        if existing is None:
            raise
        return _same(existing, template, to_spec), False
    return rollout, True


def _insert(session: Session, *, template: str, to_spec: str, to_version: str, requested_by: str,
            idempotency_key: str | None, refuse: Callable[[Delivery], str | None]) -> Rollout:
    now = _now()
    rollout = Rollout(template=template, to_spec=to_spec, to_version=to_version, requested_by=requested_by,
                      idempotency_key=idempotency_key, created_at=now)
    session.add(rollout)
    session.flush()
    for row in below(deliveries(session, template=template), parse_version(to_version)):
        request = {"template": template, "repo": row.repo, "path": row.path, "to": to_version, "base": row.base,
                   "provider": row.provider, "from": row.version}
        reason = refuse(row)
        session.add(PullRequestJob(requested_by=requested_by, idempotency_key=None, request=request, kind=UPGRADE,
                                   rollout_id=rollout.id, attempts=0, created_at=now,
                                   status=FAILED if reason else QUEUED, error=reason,
                                   finished_at=now if reason else None))
    queued(session)
    session.commit()
    return rollout


def _keyed(session: Session, requested_by: str, key: str) -> Rollout | None:
    return session.scalars(select(Rollout).where(Rollout.requested_by == requested_by,
                                                 Rollout.idempotency_key == key)).first()


def _same(rollout: Rollout, template: str, to_spec: str) -> Rollout:
    if (rollout.template, rollout.to_spec) != (template, to_spec):
        raise RolloutKeyConflict(rollout.id)
    return rollout


def get(session: Session, rollout_id: int) -> Rollout | None:
    return session.get(Rollout, rollout_id)


def recent(session: Session, *, limit: int = 20, template: str | None = None) -> list[Rollout]:
    query = select(Rollout).order_by(Rollout.id.desc()).limit(limit)
    if template is not None:
        query = query.where(Rollout.template == template)
    return list(session.scalars(query))


def target_status(job: PullRequestJob) -> str:
    if job.status in (QUEUED, RUNNING):
        return PENDING
    if job.status == FAILED:
        return TARGET_FAILED
    status = ((job.result or {}).get("upgrade") or {}).get("status")
    return status if status in (OPENED, UP_TO_DATE, CONFLICT, DECLINED) else OPENED


def target(job: PullRequestJob) -> dict[str, Any]:
    """One target of a roll-out, as the API shows it."""
    result = job.result or {}
    upgrade = result.get("upgrade") or {}
    return {
        "repo": job.request.get("repo"), "path": job.request.get("path"),
        "from": upgrade.get("from") or job.request.get("from"), "status": target_status(job),
        "reason": job.error, "pull_request": result.get("pull_request"), "branch": result.get("branch"),
        "conflicts": list(upgrade.get("conflicts") or []), "job": job.id, "attempts": job.attempts,
    }


def _jobs(session: Session, rollout_ids: list[int]) -> dict[int, list[PullRequestJob]]:
    by_rollout: dict[int, list[PullRequestJob]] = {i: [] for i in rollout_ids}
    if rollout_ids:
        query = select(PullRequestJob).where(PullRequestJob.rollout_id.in_(rollout_ids)).order_by(PullRequestJob.id)
        for job in session.scalars(query):
            assert job.rollout_id is not None
            by_rollout[job.rollout_id].append(job)
    return by_rollout


def _summary(rollout: Rollout, jobs: list[PullRequestJob]) -> dict[str, Any]:
    counts = Counter(target_status(job) for job in jobs)
    return {"id": rollout.id, "template": rollout.template, "to": rollout.to_spec, "to_version": rollout.to_version,
            "requested_by": rollout.requested_by, "created_at": _iso(rollout.created_at),
            "counts": {status: counts.get(status, 0) for status in STATUSES}, "total": len(jobs),
            "done": counts.get(PENDING, 0) == 0}


def describe_rollout(session: Session, rollout: Rollout) -> dict[str, Any]:
    jobs = _jobs(session, [rollout.id])[rollout.id]
    return {**_summary(rollout, jobs), "targets": [target(job) for job in jobs]}


def summaries(session: Session, rollouts: list[Rollout]) -> list[dict[str, Any]]:
    jobs = _jobs(session, [r.id for r in rollouts])
    return [_summary(r, jobs[r.id]) for r in rollouts]

