"""Registry API tokens: created with scopes, revoked, and checked on every authenticated request.

A token is ``pft_`` followed by 43 URL-safe characters (32 random bytes). The database keeps only the
sha256 of the whole token, so a copy of the database cannot be used to call the API; the token is shown
once, when it is created. Lookups go by that hash: comparing secrets in Python would leak timing, a
unique-index lookup of a hash of 256 random bits does not help an attacker.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from catalog.db import begin_write
from catalog.errors import CatalogError
from catalog.models import ApiToken, utcnow
from generator.errors import ConflictError, UsageError
from generator.exit_codes import ExitCode

SCOPES = ("read", "publish", "pr", "admin")
PREFIX = "pft_"
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._@-]{0,99}$")


class TokenConflictError(CatalogError, ConflictError):
    """A token with that name exists (exit code 3)."""

    exit_code = ExitCode.CONFLICT


@dataclass(frozen=True)
class Principal:
    """Who a request acts as: a token's name and scopes (``admin`` implies every scope)."""

    name: str
    scopes: frozenset[str]

    def allows(self, scope: str) -> bool:
        return scope in self.scopes or "admin" in self.scopes


def hash_secret(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def _check(name: str, scopes: list[str]) -> list[str]:
    problems = []
    if not _NAME.match(name):
        problems.append(f"name {name!r}: 1-100 letters, digits and . _ @ -, starting with a letter or digit")
    unknown = sorted(set(scopes) - set(SCOPES))
    if unknown:
        problems.append(f"unknown scope(s) {', '.join(unknown)}: choose from {', '.join(SCOPES)}")
    if not scopes:
        problems.append(f"give at least one scope ({', '.join(SCOPES)})")
    return problems


def create(session: Session, *, name: str, scopes: list[str]) -> tuple[ApiToken, str]:
    """A new token; returns its row and the secret (shown once, never stored)."""
    problems = _check(name, scopes)
    if problems:
        raise UsageError("cannot create the token: " + "; ".join(problems))
    secret = PREFIX + secrets.token_urlsafe(32)
    begin_write(session)
    row = ApiToken(name=name, secret_sha256=hash_secret(secret), scopes=sorted(set(scopes)), created_at=utcnow())
    session.add(row)
    try:
        session.commit()
    except IntegrityError:
        session.rollback()
        raise TokenConflictError(
            f"a token named {name!r} exists already (revoked ones keep their name); choose another name"
        ) from None
    return row, secret


def revoke(session: Session, *, name: str) -> bool:
    """Revoke the token; returns whether it was active until now."""
    begin_write(session)
    row = session.scalars(select(ApiToken).where(ApiToken.name == name)).one_or_none()
    if row is None:
        session.rollback()
        known = ", ".join(t.name for t in listed(session)) or "none"
        raise CatalogError(f"no token named {name!r}; tokens: {known}")
    if row.revoked_at is not None:
        session.rollback()
        return False
    row.revoked_at = utcnow()
    session.commit()
    return True


def listed(session: Session) -> list[ApiToken]:
    return list(session.scalars(select(ApiToken).order_by(ApiToken.name)))


def authenticate(session: Session, *, token: str) -> Principal | None:
    """The principal a presented token stands for, or None (unknown, malformed or revoked)."""
    if not token.startswith(PREFIX) or len(token) > 200:
        return None
    query = select(ApiToken.name, ApiToken.scopes).where(
        ApiToken.secret_sha256 == hash_secret(token), ApiToken.revoked_at.is_(None)
    )
    row = session.execute(query).one_or_none()
    return None if row is None else Principal(row.name, frozenset(row.scopes))
