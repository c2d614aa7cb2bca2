"""The durable queue of pull-request jobs, shared by every registry replica through the catalog database.

A job is enqueued in the request's transaction, claimed by one worker with ``SELECT ... FOR UPDATE SKIP
LOCKED`` on PostgreSQL (so replicas never take the same job and never wait on each other) or inside a
``BEGIN IMMEDIATE`` transaction on SQLite, and held under a lease: a job whose worker died (crash,
restart) is taken again once its lease has expired, so nothing is lost. ``requested_by`` +
``Idempotency-Key`` name one job: the same request again returns it.

Workers poll the queue (another replica's jobs are seen within their idle interval), and a job queued
in this process wakes this process's idle workers as soon as its transaction commits (``wake_on_queued``).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import event, func, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from catalog.db import begin_write
from catalog.errors import IdempotencyConflict
from catalog.models import PullRequestJob

QUEUED, RUNNING, SUCCEEDED, FAILED = "queued", "running", "succeeded", "failed"
RENDER, UPGRADE = "render", "upgrade"


@dataclass(frozen=True)
class Enqueued:
    job: PullRequestJob
    created: bool  # False: an earlier job with the same Idempotency-Key


_QUEUED = "pipeforge.jobs_queued"  # session.info: this transaction queues jobs
_wakers: set[threading.Event] = set()
_wakers_lock = threading.Lock()


def queued(session: Session) -> None:
    """Say that ``session``'s transaction queues jobs: once it commits, idle workers here look at once."""
    session.info[_QUEUED] = True


def wake_on_queued(signal: threading.Event) -> Callable[[], None]:
    """Set ``signal`` whenever a transaction of this process that queued jobs commits; returns the
    function that stops it."""
    with _wakers_lock:
        _wakers.add(signal)

    def stop() -> None:
        with _wakers_lock:
            _wakers.discard(signal)

    return stop


@event.listens_for(Session, "after_commit")
def _after_commit(session: Session) -> None:
    if session.info.pop(_QUEUED, False):
        with _wakers_lock:
            signals = list(_wakers)
        for signal in signals:
            signal.set()


@event.listens_for(Session, "after_rollback")
def _after_rollback(session: Session) -> None:
    session.info.pop(_QUEUED, None)


def _now() -> datetime:
    return datetime.now(UTC)


def _aware(moment: datetime | None) -> datetime | None:
    """SQLite hands back naive datetimes; they are stored in UTC."""
    return moment.replace(tzinfo=UTC) if moment is not None and moment.tzinfo is None else moment


def enqueue(session: Session, *, requested_by: str, request: dict[str, Any], idempotency_key: str | None,
            kind: str = RENDER) -> Enqueued:
    """Queue a job, or return the one this key already names (IdempotencyConflict if its request differs)."""
    if idempotency_key is not None:
        existing = _keyed(session, requested_by, idempotency_key)
        if existing is not None:
            return _same(existing, request, kind)
        # End the read: on SQLite a read transaction cannot become a write one once another writer has
        # committed ("database is locked" at once, no busy wait); the write starts afresh (BEGIN IMMEDIATE).
        session.rollback()
    begin_write(session)
    job = PullRequestJob(requested_by=requested_by, idempotency_key=idempotency_key, request=request,
                         status=QUEUED, attempts=0, kind=kind)
    session.add(job)
    queued(session)
    try:
        session.commit()
    except IntegrityError:  # a concurrent request with the same key won the insert
        session.rollback()
        existing = _keyed(session, requested_by, idempotency_key or "")
        if existing is None:
            raise
        return _same(existing, request, kind)
    return Enqueued(job, True)


def _keyed(session: Session, requested_by: str, key: str) -> PullRequestJob | None:
    return session.scalars(select(PullRequestJob).where(
        PullRequestJob.requested_by == requested_by, PullRequestJob.idempotency_key == key)).first()


def _same(job: PullRequestJob, request: dict[str, Any], kind: str) -> Enqueued:
    asked = {k: v for k, v in request.items() if k != "resolved"}
    if job.kind != kind or {k: v for k, v in job.request.items() if k != "resolved"} != asked:
        raise IdempotencyConflict(job.id)
    return Enqueued(job, False)


def get(session: Session, job_id: int) -> PullRequestJob | None:
    return session.get(PullRequestJob, job_id)


def claim(session: Session, *, worker: str, lease_seconds: float) -> PullRequestJob | None:
    """Take the oldest queued job, or a running one whose lease expired; None when there is nothing."""
    now = _now()
    begin_write(session)
    query = (
        select(PullRequestJob)
        .where(or_(PullRequestJob.status == QUEUED,
                   (PullRequestJob.status == RUNNING) & (PullRequestJob.lease_until < now)))
        .order_by(PullRequestJob.id)
        .limit(1)
        .with_for_update(skip_locked=True)
    )
    job = session.scalars(query).first()
    if job is None:
        session.rollback()
        return None
    job.status, job.claimed_by = RUNNING, worker
    job.lease_until = now + timedelta(seconds=lease_seconds)
    job.attempts += 1
    job.started_at = job.started_at or now
    session.commit()
    return job


def finish(session: Session, job_id: int, *, worker: str, result: dict[str, Any] | None = None,
           error: str | None = None, record: Callable[[Session, PullRequestJob], None] | None = None) -> None:
    """Record a job's outcome, unless another worker took it over meanwhile (its lease expired). ``record``
    runs in the same transaction when the job succeeded (the registry records its delivery there)."""
    begin_write(session)
    job = session.get(PullRequestJob, job_id, with_for_update=True)
    if job is None or job.claimed_by != worker or job.status != RUNNING:
        session.rollback()
        return
    job.status = FAILED if error is not None else SUCCEEDED
    job.result, job.error, job.finished_at, job.lease_until = result, error, _now(), None
    if record is not None and error is None:
        record(session, job)
    session.commit()


def release(session: Session, *, workers: list[str]) -> int:
    """Put the running jobs these workers hold back in the queue at once (a shutdown that cannot wait for
    them), instead of leaving them to wait out their lease; returns how many."""
    begin_write(session)
    held = session.scalars(select(PullRequestJob).where(
        PullRequestJob.status == RUNNING, PullRequestJob.claimed_by.in_(workers)).with_for_update()).all()
    for job in held:
        job.status, job.claimed_by, job.lease_until = QUEUED, None, None
    session.commit()
    return len(held)


@dataclass(frozen=True)
class QueueFigures:
    by_state: dict[tuple[str, str], int]  # (kind, state) -> jobs, queued and running only
    oldest_queued_age: dict[str, float]  # kind -> seconds
    rollout_targets: dict[str, int]  # status -> upgrade jobs of roll-outs


def queue_figures(session: Session) -> QueueFigures:
    """What the metrics show of the queue: two grouped queries, whatever the table's size."""
    rows = session.execute(
        select(PullRequestJob.kind, PullRequestJob.status, func.count(), func.min(PullRequestJob.created_at))
        .where(PullRequestJob.status.in_((QUEUED, RUNNING)))
        .group_by(PullRequestJob.kind, PullRequestJob.status)).all()
    now = _now()
    by_state = {(kind, state): 0 for kind in (RENDER, UPGRADE) for state in (QUEUED, RUNNING)}
    oldest = dict.fromkeys((RENDER, UPGRADE), 0.0)
    for kind, state, count, first in rows:
        by_state[(kind, state)] = count
        created = _aware(first)
        if state == QUEUED and created is not None:
            oldest[kind] = max(0.0, (now - created).total_seconds())
    targets = dict.fromkeys((QUEUED, RUNNING, SUCCEEDED, FAILED), 0)
    for status, count in session.execute(
            select(PullRequestJob.status, func.count()).where(PullRequestJob.rollout_id.is_not(None))
            .group_by(PullRequestJob.status)).all():
        targets[status] = count
    return QueueFigures(by_state, oldest, targets)


def describe(job: PullRequestJob) -> dict[str, Any]:
    """The job as the API shows it."""
    def iso(moment: datetime | None) -> str | None:
        aware = _aware(moment)
        return aware.isoformat() if aware is not None else None

    return {
        "id": job.id, "kind": job.kind, "rollout": job.rollout_id, "status": job.status, "request": job.request,
        "result": job.result, "error": job.error,
        "attempts": job.attempts, "created_at": iso(job.created_at), "started_at": iso(job.started_at),
        "finished_at": iso(job.finished_at),
    }
