"""Reading a forge's "slow down" answer: whether it is a rate limit, and until when.

GitHub says so with 403 or 429 and either ``Retry-After`` (seconds) or ``x-ratelimit-remaining: 0`` with
``x-ratelimit-reset`` (Unix time); GitLab and Gitea answer 429 with ``Retry-After`` or ``RateLimit-Reset``.
Hand-written: no maintained library reads these forge-specific headers (httpx and tenacity leave it to us).
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime

import httpx

from generator.errors import UsageError

MAX_WAIT_ENV = "PIPEFORGE_FORGE_MAX_WAIT"
DEFAULT_MAX_WAIT = 60.0
#: what GitHub's documentation says to wait on a rate limit that names no time
_UNNAMED_WAIT = 60.0
_RESET_HEADERS = ("x-ratelimit-reset", "ratelimit-reset")
_EPOCH_FLOOR = 1_000_000_000  # a reset value below this is a number of seconds, not a Unix time


@dataclass(frozen=True)
class RateLimit:
    """The forge's limit, and the moment it lifts."""

    wait: float  # seconds from now
    until: datetime

    def describe(self, label: str) -> str:
        return f"rate-limited by {label.lower()} until {self.until:%H:%M:%S} UTC (in {math.ceil(self.wait):,} s)"


def max_wait(environ: dict[str, str] | None = None) -> float:
    """The longest total wait on rate limits, from ``PIPEFORGE_FORGE_MAX_WAIT`` (seconds, default 60)."""
    text = (os.environ if environ is None else environ).get(MAX_WAIT_ENV, "").strip()
    if not text:
        return DEFAULT_MAX_WAIT
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not 0 <= value < float("inf"):
        raise UsageError(f"{MAX_WAIT_ENV}={text!r}: expected a number of seconds, 0 or more (such as 60)")
    return value


def rate_limit(response: httpx.Response, *, now: datetime | None = None, forbidden_counts: bool = False) -> \
        RateLimit | None:
    """The rate limit ``response`` announces, or None when it is no rate limit. ``forbidden_counts``: a 403
    may be one (GitHub), but only when its headers say so; a 429 always is."""
    status, headers = response.status_code, response.headers
    if status != 429 and not (status == 403 and forbidden_counts):
        return None
    moment = now or datetime.now(UTC)
    seconds = _retry_after(headers.get("retry-after", ""), moment)
    if seconds is None and (status == 429 or headers.get("x-ratelimit-remaining", "").strip() == "0"):
        seconds = next((s for s in (_reset(headers.get(h, ""), moment) for h in _RESET_HEADERS) if s is not None),
                       None)
        if seconds is None and status == 403:
            seconds = _UNNAMED_WAIT
    if seconds is None:
        if status == 403:
            return None  # a plain 403: the token's rights, not a limit
        seconds = _UNNAMED_WAIT
    wait = max(0.0, seconds)
    return RateLimit(wait, datetime.fromtimestamp(moment.timestamp() + wait, UTC))


def _retry_after(text: str, now: datetime) -> float | None:
    """``Retry-After`` as seconds: a number of seconds, or an HTTP date."""
    text = text.strip()
    if not text:
        return None
    try:
        return float(text)
    except ValueError:
        pass
    try:
        return (parsedate_to_datetime(text) - now).total_seconds()
    except (TypeError, ValueError):
        return None


def _reset(text: str, now: datetime) -> float | None:
    try:
        value = float(text.strip())
    except ValueError:
        return None
    return value - now.timestamp() if value >= _EPOCH_FLOOR else value
