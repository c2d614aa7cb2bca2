"""``pipeforge serve`` (the registry) and ``pipeforge token ...`` (its API tokens). Importing this module is
cheap: uvicorn, FastAPI and SQLAlchemy load inside the handlers."""

from __future__ import annotations

import argparse
import json
import os
from typing import Any, TextIO

from catalog.resolution import default_session
from generator.cli.common import command, usage
from generator.errors import UsageError
from generator.exit_codes import ExitCode

SERVE_HELP = """\
Serve the registry: the JSON API under /api/v1 (OpenAPI at /openapi.json, docs at /docs), the web
catalog at /, /healthz, /readyz and /metrics. The catalog is PIPEFORGE_DATABASE_URL (default: the SQLite
file of `pipeforge catalog`); an empty catalog gets the built-in templates published on start.

settings (environment):
  PIPEFORGE_DATABASE_URL        the catalog database (sqlite:///path or postgresql://user@host/db)
  PIPEFORGE_REQUIRE_READ_TOKEN  1: reads need a token with scope read too (default: reads are open)
  PIPEFORGE_PUBLISH_BUILTINS    0: do not publish the built-in templates into an empty catalog
  PIPEFORGE_MAX_BUNDLE_BYTES    largest bundle upload (default: the catalog's bundle limit)
  PIPEFORGE_MAX_REQUEST_BYTES   largest body of any other request (default: 262144)
  PIPEFORGE_HEADER_TIMEOUT_SECONDS  time to send a request's line and headers (default: 10)
  PIPEFORGE_BODY_TIMEOUT_SECONDS    time to send a request's whole body (default: 30)
  PIPEFORGE_INDEX_TTL_SECONDS   how soon listings notice other processes' writes (default: 1)
  PIPEFORGE_SHUTDOWN_GRACE_SECONDS  on SIGTERM, how long requests and jobs may take to finish (default: 25)
  PIPEFORGE_LOG_FORMAT          text (default) or json, as --log-format

An unreachable database does not stop the registry: it starts, /readyz answers 503 naming the database
(password masked), and the catalog is retried with backoff until it answers.
"""
TOKEN_HELP = """\
Bearer tokens for the registry API, stored in the catalog database as sha256 hashes: the secret is
printed once, at creation, and cannot be shown again. Scopes: read (reads, when
PIPEFORGE_REQUIRE_READ_TOKEN is set), publish (publish, yank, unyank), pr, admin (everything).
"""


def add_command(commands: Any) -> None:
    """Add ``serve`` and ``token`` to the top-level subparsers."""
    serve = command(commands, "serve", "serve the registry API and web catalog", SERVE_HELP,
                    "examples:\n  pipeforge serve\n  PIPEFORGE_DATABASE_URL=postgresql://pipeforge@db/pipeforge "
                    "pipeforge serve --host 0.0.0.0 --port 8080\n\n")
    serve.add_argument("--host", default="127.0.0.1", help="address to listen on (default: 127.0.0.1)")
    serve.add_argument("--port", type=int, default=8000, help="port (default: 8000)")
    serve.add_argument("--log-level", default="info", choices=("critical", "error", "warning", "info", "debug"))
    serve.add_argument("--no-access-log", action="store_true", help="do not log each request")
    serve.add_argument("--log-format", choices=("text", "json"), default=None,
                       help="text: one plain line per record; json: one JSON object per line with request_id, "
                            "route, status, duration_seconds, job_id (default: $PIPEFORGE_LOG_FORMAT, else text)")
    serve.set_defaults(handler=_cmd_serve)

    token = command(commands, "token", "create, list and revoke registry API tokens", TOKEN_HELP)
    token.set_defaults(handler=lambda _args, out: usage(token, out))
    subs = token.add_subparsers(dest="token_command", metavar="SUBCOMMAND", parser_class=type(token))
    create = subs.add_parser("create", help="create a token and print its secret once", description=TOKEN_HELP,
                             formatter_class=argparse.RawDescriptionHelpFormatter,
                             epilog="example:\n  pipeforge token create --name ci-publisher --scope publish\n")
    create.add_argument("--name", required=True, help="a name for the token (who or what uses it)")
    create.add_argument("--scope", dest="scopes", nargs="+", required=True, metavar="SCOPE",
                        help="one or more of read, publish, pr, admin")
    create.add_argument("--json", action="store_true", help="print JSON (the secret included, once)")
    create.set_defaults(handler=_cmd_token_create)
    revoke = subs.add_parser("revoke", help="revoke a token (it never works again)", description=TOKEN_HELP,
                             formatter_class=argparse.RawDescriptionHelpFormatter)
    revoke.add_argument("name", metavar="NAME")
    revoke.set_defaults(handler=_cmd_token_revoke)
    listing = subs.add_parser("list", help="list tokens (names, scopes, state; never secrets)")
    listing.add_argument("--json", action="store_true", help="print JSON")
    listing.set_defaults(handler=_cmd_token_list)



def _cmd_serve(args: argparse.Namespace, _out: TextIO) -> int:
    import uvicorn  # lazy: uvicorn and FastAPI load only for serve

    from registry_api.app import create_app  # lazy: uvicorn and FastAPI load only for serve
    from registry_api.server import install_logging, server_config  # lazy: uvicorn and FastAPI load only for serve
    from registry_api.settings import Settings  # lazy: uvicorn and FastAPI load only for serve

    if not 0 < args.port < 65536:
        raise UsageError(f"--port {args.port}: give a port between 1 and 65535")
    from pydantic import ValidationError  # lazy: uvicorn and FastAPI load only for serve

    try:
        settings = Settings()
    except ValidationError as exc:  # a PIPEFORGE_ setting of the wrong shape: name each one
        problems = "; ".join(
            f"PIPEFORGE_{'_'.join(str(p) for p in e['loc']).upper()}={e.get('input')!r}: {e['msg']}"
            for e in exc.errors()
        )
        raise UsageError(f"invalid registry settings in the environment: {problems}") from None
    from catalog.db import create_catalog_engine, database_url  # lazy: SQLAlchemy loads only for serve

    # A malformed or unsupported URL is a message and exit code 2 (no connection is made here); an
    # unreachable database is not: the registry starts, /readyz says 503 and the catalog is retried.
    create_catalog_engine(settings.database_url or database_url()).dispose()
    log_format = args.log_format or os.environ.get("PIPEFORGE_LOG_FORMAT", "text").strip().lower() or "text"
    if log_format not in ("text", "json"):
        raise UsageError(f"PIPEFORGE_LOG_FORMAT={log_format!r}: give text or json")
    # before the app: see registry_api.server
    install_logging(args.log_level, access_log=not args.no_access_log, log_format=log_format)
    config = server_config(create_app(settings), settings, host=args.host, port=args.port,
                           log_level=args.log_level, access_log=not args.no_access_log)
    uvicorn.Server(config).run()
    return ExitCode.OK


def _cmd_token_create(args: argparse.Namespace, out: TextIO) -> int:
    from catalog.tokens import create  # lazy: SQLAlchemy loads only for token commands

    with default_session() as (catalog, session):
        row, secret = create(session, name=args.name, scopes=list(args.scopes))
    if args.json:
        out.write(json.dumps({"name": row.name, "scopes": row.scopes, "token": secret}) + "\n")
    else:
        out.write(f"Created token '{row.name}' with scopes {', '.join(row.scopes)} in {catalog.location}.\n"
                  "Its secret is shown only now; store it (e.g. in your CI's secret store):\n"
                  f"{secret}\n")
    return ExitCode.OK


def _cmd_token_revoke(args: argparse.Namespace, out: TextIO) -> int:
    from catalog.tokens import revoke  # lazy: SQLAlchemy loads only for token commands

    with default_session() as (_catalog, session):
        changed = revoke(session, name=args.name)
    out.write(f"Revoked token '{args.name}'\n" if changed else f"Token '{args.name}' was revoked already\n")
    return ExitCode.OK


def _cmd_token_list(args: argparse.Namespace, out: TextIO) -> int:
    from catalog.service import iso  # lazy: SQLAlchemy loads only for token commands
    from catalog.tokens import listed  # lazy: SQLAlchemy loads only for token commands

    with default_session() as (_catalog, session):
        rows: list[dict[str, Any]] = [
            {"name": r.name, "scopes": r.scopes, "created_at": iso(r.created_at),
             "revoked_at": iso(r.revoked_at) if r.revoked_at else None}
            for r in listed(session)
        ]
    if args.json:
        out.write(json.dumps(rows, indent=2) + "\n")
    else:
        for r in rows:
            state = f"revoked {r['revoked_at']}" if r["revoked_at"] else "active"
            out.write(f"{r['name']}\t{','.join(r['scopes'])}\t{state}\n")
        if not rows:
            out.write(f"No tokens yet; create one with: pipeforge token create --name NAME --scope publish{os.linesep}")
    return ExitCode.OK
