"""The catalog's tables.

``bundles`` holds each distinct bundle once, by digest: the bytes are the source of truth for renders.
``template_versions`` holds one row per published name and version: write-once (no code path updates
its content; only the yank fields change, and ``catalog remove`` deletes a harmful version, leaving a
``removed_versions`` record so the number is never reused), unique per name and version. A version row and
its bundle are written in one transaction, so a publish that dies half-way leaves neither.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def utcnow() -> datetime:
    return datetime.now(UTC)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


class Bundle(Base):
    __tablename__ = "bundles"

    digest: Mapped[str] = mapped_column(String(71), primary_key=True)  # "sha256:" + 64 hex digits
    size: Mapped[int] = mapped_column(Integer)
    data: Mapped[bytes] = mapped_column(LargeBinary, deferred=True)


class TemplateVersion(Base):
    __tablename__ = "template_versions"
    __table_args__ = (
        UniqueConstraint("name", "version", name="uq_template_versions_name_version"),
        Index("ix_template_versions_precedence", "name", "major", "minor", "patch"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(63))
    version: Mapped[str] = mapped_column(String(128))
    major: Mapped[int] = mapped_column(Integer)
    minor: Mapped[int] = mapped_column(Integer)
    patch: Mapped[int] = mapped_column(Integer)
    prerelease: Mapped[str] = mapped_column(String(128), default="")
    digest: Mapped[str] = mapped_column(ForeignKey("bundles.digest"))
    summary: Mapped[str] = mapped_column(Text)
    tags: Mapped[list[str]] = mapped_column(JSON)
    parameters: Mapped[dict[str, Any]] = mapped_column(JSON)
    lint_summary: Mapped[dict[str, Any]] = mapped_column(JSON)
    changelog: Mapped[str | None] = mapped_column(Text)
    publisher: Mapped[str] = mapped_column(String(255))
    published_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    yanked: Mapped[bool] = mapped_column(Boolean, default=False)
    yank_reason: Mapped[str | None] = mapped_column(Text)
    yanked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class RemovedVersion(Base):
    """A version an admin removed because its content harmed the catalog: its row and (unless another
    version shares it) its bundle are deleted, this record stays, and the number is never published again."""

    __tablename__ = "removed_versions"
    __table_args__ = (UniqueConstraint("name", "version", name="uq_removed_versions_name_version"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(63))
    version: Mapped[str] = mapped_column(String(128))
    digest: Mapped[str] = mapped_column(String(71))
    publisher: Mapped[str] = mapped_column(String(255))
    published_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    reason: Mapped[str] = mapped_column(Text)
    removed_by: Mapped[str] = mapped_column(String(255))
    removed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class ApiToken(Base):
    """A registry API token. Only the sha256 of the secret is stored; the secret is shown once, when the
    token is created. A revoked token stays (its name and scopes explain old audit lines) but never
    authenticates again."""

    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    secret_sha256: Mapped[str] = mapped_column(String(64), unique=True)
    scopes: Mapped[list[str]] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class PullRequestJob(Base):
    """A pull request the registry was asked to open: queued, claimed by one worker at a time (a lease
    that another worker may take over once it expires, so a crash or restart loses nothing), then
    finished with its outcome or its error. ``requested_by`` + ``idempotency_key`` make a retried request
    the same job."""

    __tablename__ = "pull_request_jobs"
    __table_args__ = (UniqueConstraint("requested_by", "idempotency_key"),
                      Index("ix_pull_request_jobs_status_id", "status", "id"))

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    requested_by: Mapped[str] = mapped_column(String(100))
    idempotency_key: Mapped[str | None] = mapped_column(String(200))
    request: Mapped[dict[str, Any]] = mapped_column(JSON)
    status: Mapped[str] = mapped_column(String(16), default="queued")  # queued, running, succeeded, failed
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    result: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    error: Mapped[str | None] = mapped_column(Text)
    claimed_by: Mapped[str | None] = mapped_column(String(100))
    lease_until: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    #: 'render' (open_pull_request of a rendered template) or 'upgrade' (open_upgrade_pull_request)
    kind: Mapped[str] = mapped_column(String(16), default="render", server_default="render")
    #: the roll-out this upgrade job is one target of (None: a job of its own)
    rollout_id: Mapped[int | None] = mapped_column(ForeignKey("rollouts.id"), index=True)
    started_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class Delivery(Base):
    """A pipeline the registry delivered: the template version last put at PATH of a repository (by a
    render pull request, or what an upgrade pull request found on the base branch). Roll-outs select
    their targets here. ``repo_key`` is the repository URL normalised (case of scheme and host, trailing
    '/' and '.git' ignored), so two spellings of one repository are one delivery; ``repo`` is the URL as
    last given, which is the one pushed to."""

    __tablename__ = "deliveries"
    __table_args__ = (UniqueConstraint("repo_key", "path", name="uq_deliveries_repo_key_path"),
                      Index("ix_deliveries_template", "template"))

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    repo: Mapped[str] = mapped_column(String(2000))
    repo_key: Mapped[str] = mapped_column(String(2000))
    path: Mapped[str] = mapped_column(String(500))
    template: Mapped[str] = mapped_column(String(63))
    version: Mapped[str] = mapped_column(String(128))
    digest: Mapped[str | None] = mapped_column(String(71))
    base: Mapped[str] = mapped_column(String(200))
    provider: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class Rollout(Base):
    """A fleet roll-out: every delivery of ``template`` below ``to_version`` (what ``to_spec`` resolved to
    when the roll-out was made) got one upgrade job (``pull_request_jobs.rollout_id``)."""

    __tablename__ = "rollouts"
    __table_args__ = (UniqueConstraint("requested_by", "idempotency_key"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    template: Mapped[str] = mapped_column(String(63))
    to_spec: Mapped[str] = mapped_column(String(200))
    to_version: Mapped[str] = mapped_column(String(128))
    requested_by: Mapped[str] = mapped_column(String(100))
    idempotency_key: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
