"""``pipeforge rollout``: start, follow, show and list roll-outs through the registry's roll-out API
(``POST``/``GET /api/v1/rollouts``); the HTTP side is :mod:`generator.cli.registry_client`."""

from __future__ import annotations

import argparse
import json
import time
from typing import Any, TextIO

from generator.cli.common import command
from generator.cli.registry_client import REGISTRY_ENV, Client, settings
from generator.errors import UsageError
from generator.exit_codes import ExitCode

STATUSES = ("pending", "opened", "up-to-date", "conflict", "declined", "failed")


def add_command(commands: Any) -> None:
    rollout = command(
        commands, "rollout", "upgrade every pipeline the registry delivered from a template, one PR each",
        "Ask the registry (--registry or PIPEFORGE_REGISTRY_URL) to move every pipeline it delivered from "
        "TEMPLATE to the version SPEC resolves to: each recorded delivery below that version gets its upgrade "
        "pull request (a three-way merge that keeps local edits, on the same pipeforge/<path-slug> branch as its "
        "render pull request), opened or updated by the registry's workers. Then follow it: a progress bar on a "
        "terminal, one line per target that changes otherwise, and a table per target at the end (status, "
        "pull request, conflicts, or the reason of a failure). One failing repository never stops the others, "
        "and running the same roll-out again is safe: same branches, same pull requests, nothing pushed when "
        "nothing changed, so it is how failed targets are retried.\n\n"
        "The registry's token (scope pr) is read from PIPEFORGE_TOKEN, never from the command line. The "
        "registry pushes with its own git credentials, to the repositories its operators allow.",
        "examples:\n"
        "  export PIPEFORGE_REGISTRY_URL=https://registry.example.com PIPEFORGE_TOKEN=pft_...\n"
        "  pipeforge rollout provision-process-publish --to 1.1.0      # roll out and follow it\n"
        "  pipeforge rollout saga-compensation --to ^2 --no-wait       # start it and print its id\n"
        "  pipeforge rollout --show 12                                 # where roll-out 12 stands\n"
        "  pipeforge rollout --list [TEMPLATE]                         # the recent roll-outs (of TEMPLATE)\n"
        "  pipeforge rollout --show 12 --json | jq '.targets[] | select(.status == \"failed\")'\n\n"
        "a roll-out exits 0 when every target is opened, up to date or declined (a person closed that very "
        "upgrade's pull request: it stays closed), 1 when some have conflicts to resolve in their pull request, "
        "4 when some failed (run it again once the cause is fixed).\n\n",
    )
    rollout.add_argument("template", metavar="TEMPLATE", nargs="?", help="the template whose pipelines to upgrade")
    rollout.add_argument("--to", metavar="SPEC", default="latest",
                         help="version or spec to move to (1.1.0, ^1.2, ~1.2.3, latest; default: latest)")
    rollout.add_argument("--show", metavar="ID", type=int, help="show roll-out ID instead of starting one")
    rollout.add_argument("--list", action="store_true",
                         help="list the 20 most recent roll-outs (of TEMPLATE when given) instead of starting one")
    rollout.add_argument("--registry", metavar="URL", help=f"the registry (default: {REGISTRY_ENV})")
    rollout.add_argument("--no-wait", action="store_true", help="start the roll-out and print it; do not follow it")
    rollout.add_argument("--interval", metavar="SECONDS", type=float, default=1.0,
                         help="how often to ask the registry while following (default: 1)")
    rollout.add_argument("--json", action="store_true", help="print the roll-out as JSON (no progress)")
    rollout.set_defaults(handler=_cmd_rollout, no_input=True)


def _cmd_rollout(args: argparse.Namespace, out: TextIO) -> int:
    if args.list:
        if args.show is not None:
            raise UsageError("--list and --show ID do not go together")
        return _list(args, out)
    if (args.template is None) == (args.show is None):
        raise UsageError("name a TEMPLATE to roll out, or --show ID to show a roll-out, or --list (not both)")
    client = Client(*settings(args.registry))
    try:
        if args.show is not None:
            rollout = client.call("GET", f"/api/v1/rollouts/{args.show}")
        else:
            rollout = client.call("POST", "/api/v1/rollouts", json={"template": args.template, "to": args.to})
            if not args.json:
                out.write(f"Roll-out {rollout['id']}: {rollout['template']} to {rollout['to_version']}, "
                          f"{_targets(rollout['total'])}\n")
                out.flush()
            if not args.no_wait:
                rollout = _follow(client, rollout, out, interval=args.interval, quiet=args.json)
    finally:
        client.close()
    if args.json:
        json.dump(rollout, out, indent=2)
        out.write("\n")
    else:
        _table(rollout, out)
    return _exit_code(rollout)


def _list(args: argparse.Namespace, out: TextIO) -> int:
    client = Client(*settings(args.registry))
    try:
        params = {"template": args.template} if args.template else {}
        items = client.call("GET", "/api/v1/rollouts", params=params)["items"]
    finally:
        client.close()
    if args.json:
        json.dump(items, out, indent=2)
        out.write("\n")
        return ExitCode.OK
    if not items:
        out.write("No roll-out yet" + (f" of {args.template}" if args.template else "") + "\n")
        return ExitCode.OK
    rows = [("ID", "TEMPLATE", "TO", "STATE", "CREATED", "TARGETS")]
    for item in items:
        counts = ", ".join(f"{item['counts'][s]} {s}" for s in STATUSES if item["counts"].get(s)) or "none"
        rows.append((str(item["id"]), item["template"], item["to_version"], "done" if item["done"] else "in progress",
                     item["created_at"] or "", counts))
    widths = [max(len(row[i]) for row in rows) for i in range(5)]
    for row in rows:
        out.write(("  ".join(cell.ljust(widths[i]) for i, cell in enumerate(row[:5])) + "  " + row[5]).rstrip() + "\n")
    return ExitCode.OK


def _targets(count: int) -> str:
    return f"{count} target{'s' if count != 1 else ''}" if count else "no pipeline below that version: nothing to do"


def _exit_code(rollout: dict[str, Any]) -> ExitCode:
    """A roll-out's outcome for scripts: some failed (4), some have conflicts (1), else 0."""
    counts = rollout["counts"]
    if counts.get("failed"):
        return ExitCode.REMOTE
    if counts.get("conflict"):
        return ExitCode.FINDINGS
    return ExitCode.OK


def _follow(client: Client, rollout: dict[str, Any], out: TextIO, *, interval: float, quiet: bool) -> dict[str, Any]:
    """Poll until no target is pending: a bar redrawn in place on a terminal, else a line per change."""
    tty = out.isatty() and not quiet
    seen: dict[int, str] = {}
    while True:
        if not quiet:
            if tty:
                out.write("\r" + _bar(rollout))
            else:
                for target in rollout["targets"]:
                    if target["status"] != "pending" and seen.get(target["job"]) != target["status"]:
                        out.write(_line(target) + "\n")
                    seen[target["job"]] = target["status"]
            out.flush()
        if rollout["done"]:
            if tty:
                out.write("\n")
            return rollout
        time.sleep(max(interval, 0.05))
        rollout = client.call("GET", f"/api/v1/rollouts/{rollout['id']}")


def _bar(rollout: dict[str, Any], width: int = 30) -> str:
    total, counts = rollout["total"], rollout["counts"]
    done = total - counts["pending"]
    filled = width * done // total if total else width
    summary = ", ".join(f"{counts[s]} {s}" for s in STATUSES[1:] if counts.get(s))
    return f"[{'#' * filled}{'-' * (width - filled)}] {done}/{total} {summary}".ljust(width + 60)


def _line(target: dict[str, Any]) -> str:
    return f"{target['status']:<11} {target['repo']} {target['path']}  {_what(target)}".rstrip()


def _what(target: dict[str, Any]) -> str:
    if target["status"] == "failed":
        return str(target.get("reason") or "")
    pull = target.get("pull_request")
    text = f"#{pull['number']} {pull['url']}" if pull else (target.get("branch") or "")
    if target.get("conflicts"):
        text += f" (conflicts: {', '.join(target['conflicts'])})"
    return text


def _table(rollout: dict[str, Any], out: TextIO) -> None:
    targets = rollout["targets"]
    if targets:
        rows = [("STATUS", "REPOSITORY", "PATH", "FROM", "PULL REQUEST / REASON")]
        rows += [(t["status"], t["repo"], t["path"], t.get("from") or "?", _what(t)) for t in targets]
        widths = [max(len(row[i]) for row in rows) for i in range(4)]
        for row in rows:
            line = "  ".join(cell.ljust(widths[i]) for i, cell in enumerate(row[:4])) + "  " + row[4]
            out.write(line.rstrip() + "\n")
    counts = ", ".join(f"{rollout['counts'][s]} {s}" for s in STATUSES if rollout["counts"].get(s))
    state = "done" if rollout["done"] else "in progress"
    out.write(f"Roll-out {rollout['id']} of {rollout['template']} to {rollout['to_version']} ({state}): "
              f"{counts or _targets(0)}\n")
