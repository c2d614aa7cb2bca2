"""``pipeforge new TEMPLATE``: ask for the parameters not given, render, write the folder, show the tables."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, TextIO

from generator.cli.common import add_template_argument, command, set_pair, with_template
from generator.exit_codes import ExitCode


def add_command(commands: Any) -> None:
    new = command(
        commands, "new", "scaffold a pipeline from a template",
        "Render TEMPLATE into a pipeline folder: the WorkflowTemplate, a kustomization.yaml, a "
        "README with the failure-mode table and .pipeforge-answers.yaml (template, version, digest, "
        "parameters). Every parameter is checked before anything is written; with a terminal attached, "
        "pipeforge asks for each parameter not given with --set. A TEMPLATE that is not a local template "
        "comes from the catalog (see 'pipeforge catalog --help'): NAME@SPEC picks a version by exact "
        "version or range, and the answers file records the version and digest used.",
        "examples:\n  pipeforge new provision-process-publish --no-input\n"
        "  pipeforge new saga-compensation -o pipelines/orders --set namespace=orders --set step_1=reserve\n"
        "  pipeforge new nightly-export@^1.2 --no-input   # from the catalog\n\n",
    )
    add_template_argument(new)
    new.add_argument("-o", "--output", metavar="DIR", type=Path,
                     help="pipeline folder to create (default: ./<pipeline_name>)")
    new.add_argument("--set", dest="values", metavar="KEY=VALUE", action="append", type=set_pair, default=[],
                     help="set a parameter (repeatable); see 'pipeforge templates --json' for the parameters")
    new.add_argument("--no-input", action="store_true", help="do not prompt; unset parameters take their defaults")
    new.add_argument("--force", action="store_true",
                     help="replace DIR if it exists (only once the new one is complete)")
    new.add_argument("--quiet", action="store_true", help="do not print the failure-mode and fault tables")
    new.add_argument("--format", choices=("text", "markdown"), default="text",
                     help="tables as aligned text wrapped to the terminal (default) or as Markdown")
    new.set_defaults(handler=_cmd_new)


def _cmd_new(args: argparse.Namespace, out: TextIO) -> int:
    return with_template(args, out, _render_new)


def _prompt(spec: Any, current: Any, ask: Callable[[str], str], err: TextIO) -> Any:
    from generator.params import check_value, coerce  # lazy: parameter checks load only when prompting

    hint = f" ({'/'.join(map(str, spec.enum))})" if spec.enum else ""
    while True:
        answer = ask(f"{spec.name}{hint} — {spec.description}\n  [{current}]: ").strip()
        value = coerce(spec, answer) if answer else current
        rule = check_value(spec, value)
        if rule is None:
            return value
        err.write(f"  {spec.name}={value!r}: {rule}\n")


def _render_new(template: Any, digest: str | None, args: argparse.Namespace, out: TextIO) -> int:
    from generator.cookiecutter_compat import user_default_context  # lazy: rendering loads only for new
    from generator.params import current_defaults  # lazy: rendering loads only for new
    from generator.scaffold import build, write  # lazy: rendering loads only for new

    preset = user_default_context(template.parameter_names)  # ~/.cookiecutterrc's default_context
    given: dict[str, Any] = dict(args.values)
    if not args.no_input and sys.stdin.isatty():
        for spec in template.parameters:
            if spec.name not in given:
                default = current_defaults(template, {**preset, **given}).get(spec.name)
                given[spec.name] = _prompt(spec, preset.get(spec.name, default), input, sys.stderr)
    pipeline = build(template, {**preset, **given}, digest=digest)
    destination = args.output or Path(pipeline.folder_name)
    write(pipeline, destination, force=args.force)
    out.write(f"Created {destination}/ from {template.name} {template.version} ({pipeline.digest})\n")
    for name in sorted(pipeline.files):
        out.write(f"  {destination / name}\n")
    if args.quiet:
        out.write(f"\nSimulated failures (pipeforge simulate --matrix): {pipeline.verdict}\n")
        return ExitCode.OK
    out.write("\nFailure modes:\n\n" + _new_tables(pipeline, args.format))
    return ExitCode.OK


def _new_tables(pipeline: Any, fmt: str) -> str:
    """The failure-mode table, then the fault matrix the verdict's "see the table" points at."""
    from generator.terminal import failure_modes, fault_matrix  # lazy: terminal tables load only when printed

    if fmt == "markdown":
        return str(pipeline.table) + f"\nSimulated failures (pipeforge simulate --matrix): {pipeline.verdict}\n"
    return (failure_modes(pipeline.modes) + "\nSimulated failures (pipeforge simulate --matrix):\n"
            + fault_matrix(pipeline.simulation))
