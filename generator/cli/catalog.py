"""``pipeforge catalog ...``: publish, pack, list, show, yank, unyank, remove and migrate.

Importing this module is cheap: SQLAlchemy and the rest of the catalog load inside the handlers, so
``pipeforge --help`` and ``pipeforge new`` of a local template never pay for them.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

from generator.cli.common import default_catalog, default_session, exit_code_for, usage
from generator.errors import PipeforgeError, UsageError
from generator.exit_codes import ExitCode

if TYPE_CHECKING:
    from catalog.db import Catalog
    from catalog.models import TemplateVersion
    from catalog.service import Listed

PUBLISHER_ENV = "PIPEFORGE_PUBLISHER"

CATALOG_HELP = """\
The template catalog: write-once template versions with content digests, yanking and semver ranges.
The database is PIPEFORGE_DATABASE_URL: a SQLite file by default ($XDG_DATA_HOME/pipeforge/catalog.db),
or postgresql://user@host/db for a shared catalog. The schema is migrated on first use.

Specs: latest (the default), an exact version (1.2.3, also when yanked), ^1.2 (>=1.2.0,<2.0.0),
~1.2.3 (>=1.2.3,<1.3.0), comparators (>=1.0,<2). Prereleases only when the spec names one.
"""
CATALOG_EXIT_CODES = """\
exit codes:
  0  success (publishing the same content again is a success)
  1  the template renders with lint errors (publish)
  2  bad input: unknown template or version, bad spec, refused bundle, unreachable database
  3  conflict: that version is already published with other content (versions are write-once)
"""


def add_command(commands: Any) -> None:
    """Add ``catalog`` and its subcommands to the top-level subparsers."""
    group = commands.add_parser(
        "catalog", help="publish, list, show, yank and remove template versions",
        description=CATALOG_HELP, epilog=CATALOG_EXIT_CODES, formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    group.set_defaults(handler=lambda _args, out: usage(group, out))
    subs = group.add_subparsers(dest="catalog_command", metavar="SUBCOMMAND", parser_class=type(group))

    def sub(name: str, summary: str, description: str, examples: str) -> argparse.ArgumentParser:
        parser: argparse.ArgumentParser = subs.add_parser(
            name, help=summary, description=description, epilog=f"examples:\n{examples}\n{CATALOG_EXIT_CODES}",
            formatter_class=argparse.RawDescriptionHelpFormatter,
        )
        return parser

    publish = sub(
        "publish", "publish template folders as new versions",
        "Publish each template DIR under the name and version in its template.yaml. The folder is packed "
        "deterministically (its sha256 digest is the version's identity), checked as untrusted input (plain "
        "files and folders only, at most 500 files and 5 MB, no hooks or Jinja extensions), rendered with its "
        "defaults and linted: lint errors refuse it, warnings are recorded. Publishing the same content "
        "again does nothing; other content under a published version is refused. Each DIR is published on "
        "its own; the exit code is that of the first one that failed.",
        "  pipeforge catalog publish templates/saga-compensation\n  pipeforge catalog publish templates/*\n",
    )
    publish.add_argument("folders", metavar="DIR", nargs="+", type=Path, help="a template folder")
    pack = sub(
        "pack", "build the bundle a registry accepts from a template folder",
        "Check DIR exactly as publishing would (the bundle rules, a render with its defaults, lint) and write "
        "its deterministic bundle (an uncompressed tar of the folder's contents) to OUT, for "
        "POST /api/v1/templates/NAME/versions on a registry. Nothing is written when a check fails.",
        "  pipeforge catalog pack templates/saga-compensation -o saga.tar\n"
        "  curl -H \"Authorization: Bearer $TOKEN\" -H 'Content-Type: application/x-tar' \\\n"
        "       --data-binary @saga.tar https://registry.example/api/v1/templates/saga-compensation/versions\n",
    )
    pack.add_argument("folder", metavar="DIR", type=Path, help="a template folder")
    pack.add_argument("-o", "--output", metavar="OUT", type=Path, required=True, help="the bundle file to write")
    pack.set_defaults(handler=_cmd_pack)
    publish.add_argument("--publisher", metavar="NAME",
                         help=f"who publishes (default: ${PUBLISHER_ENV}, else your user name)")
    publish.add_argument("--json", action="store_true", help="print the published versions as JSON")
    publish.set_defaults(handler=_cmd_publish)

    listing = sub("list", "list the templates in the catalog",
                  "One line per template: its latest version (releases only, yanked ones left out), how many "
                  "versions it has, and its summary.", "  pipeforge catalog list --json\n")
    listing.add_argument("--json", action="store_true", help="print JSON, every version of every template included")
    listing.set_defaults(handler=_cmd_list)

    show = sub("show", "show the version a spec resolves to",
               "Show the version NAME@SPEC resolves to (SPEC defaults to latest): digest, yank status, "
               "parameters, lint summary, changelog, and the template's other versions.",
               "  pipeforge catalog show saga-compensation\n  pipeforge catalog show saga-compensation@^1.2 --json\n")
    show.add_argument("reference", metavar="NAME[@SPEC]")
    show.add_argument("--json", action="store_true", help="print JSON")
    show.set_defaults(handler=_cmd_show)

    yank = sub("yank", "hide a version from latest and ranges",
               "Yank NAME@VERSION: ranges and latest skip it, an exact pin still gets it, and it is shown as "
               "yanked with the reason. The version number stays taken.",
               "  pipeforge catalog yank saga-compensation@1.2.0 --reason 'compensations run twice'\n")
    yank.add_argument("reference", metavar="NAME@VERSION")
    yank.add_argument("--reason", required=True, metavar="TEXT", help="why; users of the version see it")
    yank.set_defaults(handler=_cmd_yank)

    unyank = sub("unyank", "undo a yank", "Make a yanked NAME@VERSION resolvable by ranges again.",
                 "  pipeforge catalog unyank saga-compensation@1.2.0\n")
    unyank.add_argument("reference", metavar="NAME@VERSION")
    unyank.set_defaults(handler=_cmd_unyank)

    remove = sub("remove", "delete a version whose content harms the catalog (admin)",
                 "Remove NAME@VERSION: its row and its bundle (unless another version shares it) are deleted, "
                 "who removed it, when and why is recorded, and the version number is never published again. "
                 "For content that breaks readers of the catalog (a huge or hostile schema); to hide a version "
                 "from ranges, yank it instead.",
                 "  pipeforge catalog remove orders-etl@2.0.0 --reason 'alias bomb in template.yaml'\n")
    remove.add_argument("reference", metavar="NAME@VERSION")
    remove.add_argument("--reason", required=True, metavar="TEXT", help="why; recorded with the version number")
    remove.add_argument("--by", metavar="WHO", help=f"who removes it (default: ${PUBLISHER_ENV}, else your user name)")
    remove.set_defaults(handler=_cmd_remove)

    migrate = sub("migrate", "create or upgrade the catalog database schema",
                  "Bring the catalog database to the current schema. Other commands do this on first use too; "
                  "run it explicitly when deploying a shared (PostgreSQL) catalog.",
                  "  PIPEFORGE_DATABASE_URL=postgresql://pipeforge@db/pipeforge pipeforge catalog migrate\n")
    migrate.set_defaults(handler=_cmd_migrate)



def _dump(payload: Any, out: TextIO) -> None:
    json.dump(payload, out, indent=2, ensure_ascii=False)
    out.write("\n")


def _publish_one(catalog: Catalog, folder: Path, publisher: str) -> tuple[TemplateVersion, bool]:
    from catalog.db import reporting  # lazy: SQLAlchemy loads only for catalog commands
    from catalog.publication import prepare_folder  # lazy: SQLAlchemy loads only for catalog commands
    from catalog.service import publish  # lazy: SQLAlchemy loads only for catalog commands

    publication = prepare_folder(folder)
    with reporting(catalog.engine.url), catalog.session() as session:
        result = publish(session, publication=publication, publisher=publisher)
    return result.version, result.created


def _try_publish(catalog: Catalog, folder: Path, publisher: str) -> tuple[TemplateVersion, bool] | PipeforgeError:
    try:
        return _publish_one(catalog, folder, publisher)
    except PipeforgeError as exc:
        return exc


def _cmd_pack(args: argparse.Namespace, out: TextIO) -> int:
    """The bundle publishing would store, checked the same way, written in one rename."""
    import tempfile  # lazy: only a bundle written to a file needs it (it brings random and shutil)

    from catalog.publication import prepare_folder  # lazy: SQLAlchemy loads only for catalog commands

    if not args.folder.is_dir():
        raise UsageError(f"{args.folder}: no such folder")
    if args.output.is_dir():
        raise UsageError(f"{args.output}: is a folder; give the bundle file to write, such as -o bundle.tar")
    publication = prepare_folder(args.folder)  # raises as publishing would: hostile bundle, lint errors
    target, staged = args.output, None
    try:
        with tempfile.NamedTemporaryFile(dir=target.parent, prefix=f".{target.name}.", delete=False) as f:
            staged = Path(f.name)
            f.write(publication.bundle)
        umask = os.umask(0)
        os.umask(umask)
        staged.chmod(0o666 & ~umask)  # an ordinary file, as `tar -cf` writes it (the staging file is 0600)
        staged.replace(target)
    except OSError as exc:
        if staged is not None:
            staged.unlink(missing_ok=True)
        raise UsageError(f"{target}: cannot write: {exc.strerror or exc}") from None
    out.write(f"Packed {publication.name} {publication.version} ({publication.digest}) into {target}\n")
    return ExitCode.OK


def _user() -> str:
    """Who publishes or removes: PIPEFORGE_PUBLISHER, else the login name."""
    import getpass  # lazy: only publish and remove need the login name (getpass brings termios)

    return os.environ.get(PUBLISHER_ENV) or getpass.getuser()


def _cmd_publish(args: argparse.Namespace, out: TextIO) -> int:
    from catalog.service import describe  # lazy: SQLAlchemy loads only for catalog commands

    publisher = args.publisher or _user()
    first_failure: int = ExitCode.OK
    published = []
    with default_catalog() as catalog:
        results = [_try_publish(catalog, folder, publisher) for folder in args.folders]
    for outcome in results:
        if isinstance(outcome, PipeforgeError):
            sys.stderr.write(f"pipeforge: error: {outcome.message}\n")
            first_failure = first_failure or exit_code_for(outcome)
            continue
        row, created = outcome
        published.append({**describe(row), "created": created})
        if not args.json:
            lint = row.lint_summary
            out.write(f"Published {row.name} {row.version} ({row.digest}); lint: {lint['warnings']} warnings\n"
                      if created else
                      f"{row.name} {row.version} is already published with this content ({row.digest}); "
                      "nothing to do\n")
    if args.json:
        _dump(published, out)
    return first_failure


def _cmd_list(args: argparse.Namespace, out: TextIO) -> int:
    from catalog.service import index  # lazy: SQLAlchemy loads only for catalog commands

    with default_session() as (catalog, session):
        entries = index(session)
    if args.json:
        _dump([_entry_json(name, latest, rows) for name, latest, rows in entries], out)
        return ExitCode.OK
    if not entries:
        out.write(f"The catalog ({catalog.location}) is empty; add a template with: pipeforge catalog publish DIR\n")
        return ExitCode.OK
    width = max(len(name) for name, _, _ in entries)
    for name, latest, rows in entries:
        shown = latest or rows[-1]
        label = latest.version if latest else "-"
        out.write(f"{name:<{width}}  {label:<10}  {len(rows):>3} version{'s' if len(rows) != 1 else ' '}  "
                  f"{shown.summary.split('. ')[0].rstrip('.')}\n")
    return ExitCode.OK


def _brief(row: TemplateVersion | Listed) -> dict[str, Any]:
    from catalog.service import iso  # lazy: SQLAlchemy loads only for catalog commands

    return {"version": row.version, "digest": row.digest, "yanked": row.yanked, "yank_reason": row.yank_reason,
            "prerelease": bool(row.prerelease), "published_at": iso(row.published_at)}


def _entry_json(name: str, latest: Listed | None, rows: list[Listed]) -> dict[str, Any]:
    return {"name": name, "latest": latest.version if latest else None,
            "summary": (latest or rows[-1]).summary, "versions": [_brief(r) for r in rows]}


def _cmd_show(args: argparse.Namespace, out: TextIO) -> int:
    from catalog.service import describe, resolve, versions  # lazy: SQLAlchemy loads only for catalog commands

    name, _, spec = args.reference.partition("@")
    with default_session() as (_catalog, session):
        row = resolve(session, name=name, spec=spec or "latest")
        every = versions(session, name=name)
    if args.json:
        _dump({**describe(row), "versions": [_brief(r) for r in every]}, out)
        return ExitCode.OK
    out.write(_show_text(describe(row), every))
    return ExitCode.OK


def _show_text(info: dict[str, Any], every: list[TemplateVersion]) -> str:
    lines = [f"{info['name']} {info['version']}  {info['digest']}"]
    if info["yanked"]:
        lines.append(f"YANKED: {info['yank_reason']}")
    lint = info["lint"]
    lines += [
        "", info["summary"], "",
        f"tags:       {', '.join(info['tags']) or '-'}",
        f"published:  {info['published_at']} by {info['publisher']}",
        f"lint:       {lint['errors']} errors, {lint['warnings']} warnings, {lint.get('infos', 0)} infos",
    ]
    if info["changelog"]:
        lines += ["changelog:  " + info["changelog"].strip().replace("\n", "\n            ")]
    lines += ["", "parameters:"]
    for key, schema in info["parameters"].get("properties", {}).items():
        lines.append(f"  {key} ({schema.get('type', 'string')}, default {schema.get('default')!r}): "
                     f"{schema.get('description', '')}")
    marks = [f"{r.version}{' (yanked)' if r.yanked else ''}{' <-' if r.version == info['version'] else ''}"
             for r in every]
    return "\n".join([*lines, "", "versions:   " + ", ".join(marks)]) + "\n"


def _set_yanked(args: argparse.Namespace, out: TextIO, *, yanked: bool) -> int:
    from catalog.service import set_yanked  # lazy: SQLAlchemy loads only for catalog commands

    with default_session() as (_catalog, session):
        row, changed = set_yanked(session, reference=args.reference, yanked=yanked,
                                  reason=getattr(args, "reason", None))
    if yanked:
        out.write(f"Yanked {row.name} {row.version}: {row.yank_reason}\n" if changed else
                  f"{row.name} {row.version} is already yanked for that reason; nothing changed\n")
    else:
        out.write(f"Unyanked {row.name} {row.version}\n" if changed else
                  f"{row.name} {row.version} is not yanked; nothing changed\n")
    return ExitCode.OK


def _cmd_yank(args: argparse.Namespace, out: TextIO) -> int:
    return _set_yanked(args, out, yanked=True)


def _cmd_unyank(args: argparse.Namespace, out: TextIO) -> int:
    return _set_yanked(args, out, yanked=False)


def _cmd_remove(args: argparse.Namespace, out: TextIO) -> int:
    from catalog.service import remove_version  # lazy: SQLAlchemy loads only for catalog commands

    who = args.by or _user()
    with default_session() as (_catalog, session):
        gone = remove_version(session, reference=args.reference, reason=args.reason, removed_by=who)
        out.write(f"Removed {gone.name} {gone.version} ({gone.digest}): {gone.reason}\n"
                  f"The version number {gone.version} stays taken; publish a new version instead.\n")
    return ExitCode.OK


def _cmd_migrate(_args: argparse.Namespace, out: TextIO) -> int:
    from catalog.db import reporting  # lazy: SQLAlchemy loads only for catalog commands
    from catalog.migrate import upgrade  # lazy: SQLAlchemy loads only for catalog commands

    with default_catalog(migrate=False) as catalog, reporting(catalog.engine.url):
        before, after = upgrade(catalog.engine)
    if before == after:
        out.write(f"Catalog database {catalog.location} is at the current schema (revision {after})\n")
    else:
        out.write(f"Migrated catalog database {catalog.location} from revision {before or 'none'} to {after}\n")
    return ExitCode.OK
