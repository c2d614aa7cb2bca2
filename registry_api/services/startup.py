"""Opening the catalog when the database is not up yet: the registry starts anyway, answers ``/healthz``,
keeps ``/readyz`` (and every route that needs the catalog) at 503 with the masked URL, and retries with
backoff until the database answers, so a pod started before its database becomes ready by itself."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING

import tenacity

from catalog.db import database_url, masked
from catalog.errors import CatalogUnavailableError
from registry_api.services.registry import Registry, open_registry
from registry_api.settings import Settings

if TYPE_CHECKING:
    import tenacity

log = logging.getLogger("pipeforge.registry")

#: Backoff between attempts: 0.5 s doubling up to this many seconds.
MAX_WAIT_SECONDS = 10.0


class Opener:
    """Opens (migrates, seeds) the registry in a thread of its own, retrying while the database is away.

    Retries go through tenacity rather than a hand-written loop; only CatalogUnavailableError is retried
    (an unreachable or refusing server), anything else is logged once and leaves the registry unready."""

    def __init__(self, settings: Settings, *, opened: Callable[[Registry], None]) -> None:
        self.settings = settings
        self.location = masked(settings.database_url or database_url())
        self.last_error: str | None = None
        self._opened = opened
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def open_now(self) -> bool:
        """One attempt before the server listens (the usual case: the database is up, so the first request
        finds the catalog open); False when the database is away, and ``start`` then keeps trying."""
        try:
            registry = open_registry(self.settings)
        except CatalogUnavailableError as exc:
            self.last_error = str(exc)
            log.warning("%s; serving anyway (/readyz answers 503) and retrying", self.last_error)
            return False
        self._opened(registry)
        return True

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, daemon=True, name="pipeforge-catalog-opener")
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=30)

    def waiting(self) -> str:
        """Why the registry is not ready, for a 503 (the URL masked, as every catalog message is)."""
        reason = self.last_error or f"catalog database {self.location}: not opened yet"
        return f"{reason} (the registry keeps retrying)"

    def _run(self) -> None:
        retrying = tenacity.Retrying(
            retry=tenacity.retry_if_exception_type(CatalogUnavailableError),
            wait=tenacity.wait_exponential(multiplier=0.5, max=MAX_WAIT_SECONDS),
            stop=tenacity.stop_when_event_set(self._stop),
            sleep=self._sleep,
            before_sleep=self._note,
            reraise=True,
        )
        try:
            registry = retrying(open_registry, self.settings)
        except CatalogUnavailableError:
            return  # stopped while waiting
        except Exception:  # a bug or a corrupt catalog: the process stays up, unready, and says why
            log.exception("the catalog at %s could not be opened; /readyz stays 503", self.location)
            self.last_error = f"catalog database {self.location}: could not be opened; see the registry's log"
            return
        if self._stop.is_set():
            registry.close()
            return
        self.last_error = None
        self._opened(registry)

    def _sleep(self, seconds: float) -> None:
        self._stop.wait(seconds)  # a shutdown ends the wait at once

    def _note(self, state: tenacity.RetryCallState) -> None:
        error = state.outcome.exception() if state.outcome is not None else None
        self.last_error = str(error) if error is not None else None
        wait = state.next_action.sleep if state.next_action is not None else 0.0
        log.warning("%s; retrying in %.1f s (attempt %d)", self.last_error, wait, state.attempt_number)
