"""``pipeforge harden``: files and folders in, edits written (or shown, or checked) out.

Every file is hardened in memory first; if any of them cannot be read or parsed, nothing is written.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any, TextIO

from generator.cli.common import command, positive
from generator.errors import ManifestError, UsageError
from generator.exit_codes import ExitCode
from generator.severity import Severity

DESCRIPTION = (
    "Apply the fixes a reviewer would merge, as minimal edits: every line harden does not change comes "
    "back byte for byte, comments included. A cleanup step that would not run on failure moves into the "
    "exit handler (for a WorkflowTemplate: an exit hook on the template's own call, so it runs however the "
    "template is used); unbounded retries get a limit; steps without retries get a bounded retryStrategy "
    "with backoff where their side effects are known to be idempotent or they have none; implicit retry "
    "policies are written out; pod templates get a deadline (never on daemons or compiler-generated files, "
    "never looser than the template's own or spec.templateDefaults, never longer than the workflow's "
    "deadline); podGC and a ttlStrategy that also removes Error workflows are added; keys misspelt only in "
    "case are renamed. Numbers Argo's schema types as strings are written quoted (\"3600\"). What was not "
    "safe to do, and what the linter still finds, is listed under 'needs a human' on stderr. Rules "
    "selected or ignored in the lint configuration ([tool.pipeforge.lint]) are honoured. Exit 1 when "
    "error-level findings remain (with --check: when a file would change)."
)
EXAMPLES = (
    "examples:\n"
    "  pipeforge harden draft.yaml -o hardened.yaml\n"
    "  pipeforge harden --in-place workflows/            # every YAML file under the folder\n"
    "  pipeforge harden --diff wf.yaml                    # show the edits, write nothing\n"
    "  pipeforge harden --check workflows/                # CI: exit 1 when something would change\n"
    "  pipeforge harden a.yaml b.yaml -o hardened/        # several files into a folder\n"
    "  pipeforge harden --deadline 900 --workflow-deadline 7200 wf.yaml\n\n"
)


def add_command(commands: Any) -> None:
    harden = command(commands, "harden", "apply the fixes a reviewer would merge to manifests", DESCRIPTION,
                     EXAMPLES)
    harden.add_argument("paths", metavar="PATH", nargs="+", type=Path,
                        help="Argo manifests or folders of them (YAML, one or more documents per file)")
    where = harden.add_mutually_exclusive_group()
    where.add_argument("-o", "--output", metavar="OUT", type=Path,
                       help="write the result to OUT (a folder when several files are hardened; default: stdout)")
    where.add_argument("--in-place", action="store_true", help="rewrite each file itself")
    where.add_argument("--diff", action="store_true", help="print a unified diff of the edits; write nothing")
    harden.add_argument("--check", action="store_true",
                        help="write nothing; exit 1 when a file would change (combine with --diff to see why)")
    harden.add_argument("--deadline", metavar="SECONDS", type=positive, default=None,
                        help="deadline for pod templates that have none (default: the lint configuration's "
                             "default-deadline-seconds, else 3600, named in the output as a default to review)")
    harden.add_argument("--workflow-deadline", metavar="SECONDS", type=positive, default=None,
                        help="also add spec.activeDeadlineSeconds where the workflow has none")
    harden.add_argument("--retry-limit", metavar="N", type=positive, default=3,
                        help="retry limit added where retries are unbounded or missing (default: 3)")
    harden.add_argument("--select", metavar="RULE", action="append", default=None,
                        help="fix only these rules (code or name; repeatable; default: the lint configuration)")
    harden.add_argument("--ignore", metavar="RULE", action="append", default=[],
                        help="leave a rule alone (code or name; repeatable)")
    harden.set_defaults(handler=_run)


def _resolver(args: argparse.Namespace) -> Any:
    """Each file's lint configuration (nearest ``[tool.pipeforge.lint]``) under --select/--ignore."""
    from generator.lintconfig import ConfigResolver, RuleSelection, selectors  # lazy: loads only for harden

    select = None if args.select is None else selectors(args.select, where="--select")
    return ConfigResolver(layer=RuleSelection(select, (), selectors(args.ignore, where="--ignore")))


def _options(args: argparse.Namespace, config: Any, path: Path) -> dict[str, Any]:
    """harden's options for one file: its rules, and the deadline (the option, else the configured one)."""
    from generator.lintconfig import DEFAULT_DEADLINE_SECONDS  # lazy: the configuration loads only for harden

    configured = config.path is not None and config.default_deadline_seconds != DEFAULT_DEADLINE_SECONDS
    return {"deadline": args.deadline or (config.default_deadline_seconds if configured else None),
            "retry_limit": args.retry_limit, "workflow_deadline": args.workflow_deadline,
            "select": sorted(config.rules_for(path))}


def _run(args: argparse.Namespace, out: TextIO) -> int:
    from generator.harden import harden_file  # lazy: ruamel.yaml and the fixes load only for harden
    from generator.lint import collect_files  # lazy: the linter loads only for harden

    resolver = _resolver(args)
    files = collect_files(args.paths, resolver)  # the configuration's exclude applies, as in lint
    if not files:  # as lint says it: a folder with nothing to harden is not an error, but worth a word
        sys.stderr.write("pipeforge: warning: no *.yaml or *.yml files to harden under " +
                         ", ".join(str(p) for p in args.paths) + "\n")
    writes = not (args.diff or args.check)
    if len(files) > 1 and writes and not args.in_place and args.output is None:
        raise UsageError(f"{len(files)} files to harden: pass --in-place, -o DIR, --diff or --check")
    results = []
    for path in files:
        try:
            results.append((path, harden_file(path, **_options(args, resolver.for_path(path), path))))
        except ManifestError as exc:
            raise UsageError(f"{exc.message}; nothing was written") from None
    targets = _targets(args, files) if writes else {}
    for path, result in results:
        _report(path, result, sys.stderr, check=args.check)
        if args.diff:
            out.write(result.diff(str(path)))
        elif writes:
            _write(path, result, targets.get(path), out)
    if args.check:
        return ExitCode.FINDINGS if any(r.changed for _, r in results) else ExitCode.OK
    remaining = any(f.severity == Severity.ERROR for _, r in results for f in r.needs_human)
    return ExitCode.FINDINGS if remaining else ExitCode.OK


def _targets(args: argparse.Namespace, files: list[Path]) -> dict[Path, Path | None]:
    if args.in_place:
        return {path: path for path in files}
    if args.output is None:
        return {path: None for path in files}
    if len(files) == 1 and not args.output.is_dir():
        return {files[0]: args.output}
    if args.output.exists() and not args.output.is_dir():
        raise UsageError(f"{args.output}: not a folder, and {len(files)} files are hardened into -o")
    roots = [p for p in args.paths if p.is_dir()]
    targets: dict[Path, Path | None] = {}
    sources: dict[Path, Path] = {}
    for path in files:
        root = next((r for r in roots if path.is_relative_to(r)), path.parent)
        target = targets[path] = args.output / path.relative_to(root)
        if target in sources:  # checked before anything is written: one result would overwrite the other
            raise UsageError(f"{sources[target]} and {path} would both be written to {target}; "
                             "harden them into separate folders")
        sources[target] = path
    return targets


def _write(path: Path, result: Any, target: Path | None, out: TextIO) -> None:
    from generator.scaffold import write_atomically  # lazy: loads only when harden writes

    if target is None:
        out.write(result.text)
    elif result.changed or target != path:
        target.parent.mkdir(parents=True, exist_ok=True)
        write_atomically(target, result.text)


def _report(path: Path, result: Any, err: TextIO, *, check: bool) -> None:
    for change in result.changes:
        where = f" [{change.template}]" if change.template else ""
        err.write(f"{path}:{change.line}:{where} {change.description} ({change.rule})\n")
    if not result.changed:
        err.write(f"{path}: nothing to harden\n")
    elif check:
        err.write(f"{path}: would be hardened\n")
    items = [*result.held, *result.needs_human]
    if not items:
        return
    err.write(f"\n{path}: needs a human ({len(items)}):\n")
    for held in result.held:
        where = f" [{held.template}]" if held.template else ""
        err.write(f"  {held.rule} held back{where} {held.reason}\n      suggested: {held.suggestion}\n")
    for finding in result.needs_human:
        where = f" [{finding.template}]" if finding.template else ""
        err.write(f"  {finding.rule} {finding.severity}{where} {finding.message}\n      fix: {finding.fix}\n")
