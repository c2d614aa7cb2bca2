"""How ``pipeforge serve`` runs the app (``run``, the command's one call): the settings checked, uvicorn's
configuration with the registry's HTTP limits, and the one logging setup of the server process.

Logging: the root logger gets a queue handler and every record is written by a listener thread, one line
per record (a traceback's newlines escaped), so that no request's error log, however long its traceback,
is formatted or written on the event loop. The MCP SDK calls ``logging.basicConfig`` with a rich-traceback
handler when its server is built; ``basicConfig`` leaves a root logger that has a handler alone, which is
why ``install_logging`` runs before the app is made. uvicorn's loggers propagate to the root (uvicorn is
given no logging config of its own), and the access log shows no query string. The formatter is chosen
in ``_formatter`` alone, so a JSON formatter can be added there.
"""

from __future__ import annotations

import atexit
import copy
import logging
import os
import queue
import re
import sys
from logging.handlers import QueueHandler, QueueListener
from typing import IO, Any

import h11
import uvicorn
from pydantic import ValidationError
from pythonjsonlogger.core import RESERVED_ATTRS
from pythonjsonlogger.json import JsonFormatter
from uvicorn.protocols.http.h11_impl import H11Protocol

from catalog.db import create_catalog_engine, database_url
from generator.errors import UsageError
from registry_api.app import create_app
from registry_api.logcontext import ContextFields
from registry_api.settings import Settings

LINE_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
_QUERY = re.compile(r"\?.*\Z", re.DOTALL)


class LineFormatter(logging.Formatter):
    """One line per record: newlines (a traceback's, a message's) are written as ``\\n``."""

    def format(self, record: logging.LogRecord) -> str:
        return super().format(record).replace("\r", "\\r").replace("\n", "\\n")


class RedactQuery(logging.Filter):
    """Take the query string out of uvicorn's access-log lines: a token or secret sent in a URL (refused,
    but sent) must not land in the log in clear. Only the path is kept."""

    def filter(self, record: logging.LogRecord) -> bool:
        args = record.args
        if isinstance(args, tuple) and len(args) == 5 and isinstance(args[2], str) and "?" in args[2]:
            record.args = (args[0], args[1], _QUERY.sub("?<redacted>", args[2]), args[3], args[4])
        return True


class _DeferredQueueHandler(QueueHandler):
    """``QueueHandler`` formats the record (traceback included) in the caller's thread; this one merges
    the message's arguments only and leaves the traceback for the listener thread to format."""

    def prepare(self, record: logging.LogRecord) -> logging.LogRecord:
        prepared = copy.copy(record)
        prepared.msg, prepared.args = record.getMessage(), None
        return prepared


#: ``--log-format`` / ``PIPEFORGE_LOG_FORMAT``: plain lines for people, one JSON object per line for collectors.
LOG_FORMATS = ("text", "json")


def _formatter(log_format: str = "text") -> logging.Formatter:
    if log_format == "json":
        # python-json-logger writes json.dumps of the record: one line, newlines in a traceback escaped.
        # uvicorn's ``color_message`` (an ANSI-coloured copy of the message) is left out: no colour codes.
        return JsonFormatter("%(asctime)s %(levelname)s %(name)s %(message)s",
                             rename_fields={"asctime": "time", "levelname": "level", "name": "logger"},
                             reserved_attrs=[*RESERVED_ATTRS, "color_message"], json_ensure_ascii=False)
    return LineFormatter(LINE_FORMAT)


def install_logging(level: str = "info", *, access_log: bool = True, stream: IO[str] | None = None,
                    log_format: str = "text") -> QueueListener:
    """Make the process's root logger the registry's (replacing any handler already there) and return the
    running listener (stopped at exit). Plain text carries no colour (nothing here writes ANSI codes, so
    ``NO_COLOR`` holds whatever the terminal)."""
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(_formatter(log_format))
    records: queue.SimpleQueue[logging.LogRecord] = queue.SimpleQueue()
    listener = QueueListener(records, handler)
    listener.start()
    atexit.register(listener.stop)
    root = logging.getLogger()
    for old in root.handlers[:]:
        root.removeHandler(old)
    queued = _DeferredQueueHandler(records)
    queued.addFilter(ContextFields())  # in the caller's thread, where the request's and job's context is
    root.addHandler(queued)
    root.setLevel(level.upper())
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access", "uvicorn.asgi"):
        named = logging.getLogger(name)
        named.handlers.clear()
        named.propagate = True
    access = logging.getLogger("uvicorn.access")
    access.disabled = not access_log
    if not any(isinstance(f, RedactQuery) for f in access.filters):
        access.addFilter(RedactQuery())
    return listener


def timed_protocol(header_timeout: float) -> type[Any]:
    """uvicorn's h11 protocol with a deadline for a request's line and headers: uvicorn bounds only the
    idle time between requests (``timeout_keep_alive``), so a client that connects and sends nothing, or
    sends its headers a byte at a time, would hold the connection for ever. The deadline starts when the
    connection opens or the first byte of the next request arrives; past it the connection is closed."""
    class TimedH11Protocol(H11Protocol):
        _header_deadline: Any = None

        def connection_made(self, transport: Any) -> None:
            super().connection_made(transport)
            self._arm()

        def data_received(self, data: bytes) -> None:
            super().data_received(data)
            if self.conn.their_state is h11.IDLE:
                self._arm()
            else:
                self._disarm()

        def connection_lost(self, exc: Exception | None) -> None:
            self._disarm()
            super().connection_lost(exc)

        def _arm(self) -> None:
            if self._header_deadline is None:
                self._header_deadline = self.loop.call_later(header_timeout, self._expired)

        def _disarm(self) -> None:
            if self._header_deadline is not None:
                self._header_deadline.cancel()
                self._header_deadline = None

        def _expired(self) -> None:
            self._header_deadline = None
            if self.conn.their_state is h11.IDLE and not self.transport.is_closing():
                self.logger.info("closing a connection whose request headers did not arrive in %gs", header_timeout)
                self.transport.close()

    return TimedH11Protocol


def server_config(app: Any, settings: Settings, *, host: str = "127.0.0.1", port: int = 8000, log_level: str = "info",
                  access_log: bool = True) -> uvicorn.Config:
    """The uvicorn configuration of the registry: header and keep-alive deadlines, no server header, no
    proxy headers trusted, and no logging config of uvicorn's own (``install_logging`` is the one)."""
    return uvicorn.Config(app, host=host, port=port, log_level=log_level, log_config=None, access_log=access_log,
                          proxy_headers=False, server_header=False, lifespan="on", timeout_keep_alive=5,
                          http=timed_protocol(settings.header_timeout_seconds),
                          timeout_graceful_shutdown=int(settings.shutdown_grace_seconds) or None)


def run(*, host: str = "127.0.0.1", port: int = 8000, log_level: str = "info", access_log: bool = True,
        log_format: str | None = None) -> None:
    """``pipeforge serve``: the settings from the environment checked (each bad one named, as a UsageError),
    the database URL parsed, logging installed before the app is made, then uvicorn until it stops."""
    settings = _settings()
    # A malformed or unsupported URL is a message and exit code 2 (no connection is made here); an
    # unreachable database is not: the registry starts, /readyz says 503 and the catalog is retried.
    create_catalog_engine(settings.database_url or database_url()).dispose()
    chosen = log_format or os.environ.get("PIPEFORGE_LOG_FORMAT", "text").strip().lower() or "text"
    if chosen not in LOG_FORMATS:
        raise UsageError(f"PIPEFORGE_LOG_FORMAT={chosen!r}: give text or json")
    install_logging(log_level, access_log=access_log, log_format=chosen)  # before the app: see the module's doc
    config = server_config(create_app(settings), settings, host=host, port=port, log_level=log_level,
                           access_log=access_log)
    uvicorn.Server(config).run()


def _settings() -> Settings:
    try:
        return Settings()
    except ValidationError as exc:  # a PIPEFORGE_ setting of the wrong shape: name each one
        problems = "; ".join(
            f"PIPEFORGE_{'_'.join(str(p) for p in e['loc']).upper()}={e.get('input')!r}: {e['msg']}"
            for e in exc.errors()
        )
        raise UsageError(f"invalid registry settings in the environment: {problems}") from None
