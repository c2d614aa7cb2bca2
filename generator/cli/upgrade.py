"""``pipeforge upgrade PATH``: move a generated pipeline to another template version, merging three ways."""

from __future__ import annotations

import argparse
import sys
from contextlib import ExitStack
from pathlib import Path
from typing import Any, TextIO

from generator.cli.common import command
from generator.errors import UsageError
from generator.exit_codes import ExitCode


def add_command(commands: Any) -> None:
    upgrade = command(
        commands, "upgrade", "move a generated pipeline to a new template version, keeping local edits",
        "Read PATH/.pipeforge-answers.yaml, render the recorded version with the recorded answers and the "
        "target version with the answers carried over (parameters renamed by the template's migrations, "
        "removed ones dropped and reported, new ones given their defaults), and merge each file three ways "
        "(previous render, the folder as it is, new render). Conflicts are written with markers and listed "
        "(exit 1). Versions come from the catalog when it has the template, else from the local templates; "
        "a yanked target needs an exact pin, a downgrade is refused, and a pipeline already at the target "
        "is left alone. The folder is replaced in one rename once everything is ready.",
        "examples:\n  pipeforge upgrade pipelines/orders --dry-run\n  pipeforge upgrade pipelines/orders --to ^1.2\n\n",
    )
    upgrade.add_argument("path", metavar="PATH", type=Path, help="a folder made by `pipeforge new`")
    upgrade.add_argument("--to", metavar="SPEC", default="latest",
                         help="target version: exact, ^1.2, ~1.2.3, >=1,<2 or latest (default)")
    upgrade.add_argument("--dry-run", action="store_true", help="print the diff and write nothing")
    upgrade.set_defaults(handler=_cmd_upgrade)


def _cmd_upgrade(args: argparse.Namespace, out: TextIO) -> int:
    from catalog.resolution import resolver  # lazy: the catalog loads only for upgrade
    from generator.upgrade import apply, plan  # lazy: rendering and merging load only for upgrade

    if not args.path.is_dir():
        raise UsageError(f"{args.path}: no such folder")
    with ExitStack() as stack:
        result = plan(args.path, args.to, resolver(stack))
    for warning in result.warnings:
        sys.stderr.write(f"pipeforge: warning: {warning}\n")
    if result.noop:
        out.write(f"{args.path} is already at {result.template} {result.to_version}: nothing to do\n")
        return ExitCode.OK
    if args.dry_run:
        out.write(result.diff())
    else:
        apply(result)
    verb = "Would upgrade" if args.dry_run else "Upgraded"
    out.write(f"{verb} {args.path} from {result.template} {result.from_version} to {result.to_version} "
              f"({result.to_digest})\n")
    for change in result.changes:
        if change.status != "unchanged":
            out.write(f"  {change.status:<9} {change.path}" + (f"  ({change.detail})" if change.detail else "") + "\n")
    for old, new in result.renamed.items():
        out.write(f"  parameter {old} is now {new}\n")
    for name in result.dropped:
        out.write(f"  parameter {name} is gone from the template: dropped\n")
    for name, value in result.added.items():
        out.write(f"  new parameter {name} = {value!r}\n")
    if result.conflicts:
        out.write(f"{len(result.conflicts)} conflict(s) to resolve (look for <<<<<<< markers): "
                  + ", ".join(c.path for c in result.conflicts) + "\n")
        return ExitCode.FINDINGS
    return ExitCode.OK
