"""The ``pipeforge`` command line: parse, call one library function, print, map errors to exit codes.

Heavy modules are imported inside each command, so ``pipeforge --help`` and ``pipeforge new`` start fast.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, NoReturn, TextIO

from generator import __version__
from generator.errors import PipeforgeError, UsageError
from generator.exit_codes import (
    EXIT_CONFLICT,
    EXIT_FINDINGS,
    EXIT_INTERRUPTED,
    EXIT_OK,
    EXIT_REMOTE,
    EXIT_USAGE,
    epilog,
)

__all__ = ["EXIT_CONFLICT", "EXIT_FINDINGS", "EXIT_OK", "EXIT_REMOTE", "EXIT_USAGE", "build_parser", "main"]
EXIT_CODES = epilog(None)


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        self.print_usage(sys.stderr)
        self.exit(EXIT_USAGE, f"pipeforge: error: {message}\n")


def set_pair(text: str) -> tuple[str, str]:
    key, sep, value = text.partition("=")
    if not sep or not key.strip():
        raise argparse.ArgumentTypeError(f"expected KEY=VALUE, got {text!r}")
    return key.strip(), value


def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a number of at least 1, got {value}")
    return value


def add_template_argument(parser: argparse.ArgumentParser) -> None:
    """TEMPLATE and --from-catalog, resolved by :func:`with_template`."""
    parser.add_argument("template", metavar="TEMPLATE",
                        help="template name (see 'pipeforge templates'), folder, or catalog NAME[@SPEC]")
    parser.add_argument("--from-catalog", action="store_true",
                        help="take TEMPLATE from the catalog even if a local template has that name")


def _command(commands: Any, name: str, summary: str, description: str, examples: str = "", **options: Any) -> Any:
    """A subcommand whose --help ends with its examples and the exit codes it can return."""
    return commands.add_parser(
        name, help=summary, description=description, epilog=examples + epilog(name),
        formatter_class=argparse.RawDescriptionHelpFormatter, **options,
    )


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="pipeforge",
        description="Safe-by-default Argo Workflows pipelines: scaffold them from templates whose cleanup, "
        "retries, deadlines and approval gates are right by construction, and see how each step fails.",
        epilog=EXIT_CODES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"pipeforge {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)

    templates = _command(
        commands, "templates", "list the available templates",
        "List the templates pipeforge can scaffold from (built-in, plus folders in "
        "PIPEFORGE_TEMPLATE_PATH), with their versions and summaries; with NAME, that template's parameters.",
        "examples:\n  pipeforge templates\n  pipeforge templates saga-compensation\n\n",
    )
    templates.add_argument("name", metavar="NAME", nargs="?",
                           help="show this template's parameters: name, type, default, what is allowed")
    templates.add_argument("--json", action="store_true", help="print JSON, parameter schemas included")
    templates.set_defaults(handler=_cmd_templates)

    new = _command(
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

    from catalog.cli import add_catalog_command

    add_catalog_command(commands)

    explain = _command(
        commands, "explain", "print the failure-mode table of a manifest",
        "For each step of each Argo workflow in FILE: retry limit and policy, backoff, deadline, "
        "side effects and their idempotency key, what cleans up after it, and what the workflow does "
        "when it fails.",
    )
    explain.add_argument("file", metavar="FILE", type=Path, help="an Argo manifest (YAML, one or more documents)")
    explain.add_argument("--format", choices=("text", "markdown", "json"), default="text",
                         help="text: aligned and wrapped to the terminal (default); markdown; json")
    explain.set_defaults(handler=_cmd_explain)

    from generator.lint_cli import add_lint_arguments

    lint = _command(
        commands, "lint", "check Argo manifests for failure-safety",
        "Check every Argo Workflow, WorkflowTemplate, ClusterWorkflowTemplate and CronWorkflow in the "
        "given files and folders (default: the working folder; recursively, *.yaml and *.yml; other "
        "documents are skipped; '-' reads standard input): cleanup outside the exit handler, unbounded or "
        "non-idempotent retries, missing deadlines, ungated deletes, parameters spliced into scripts, "
        "misspelt keys, invalid values, and the hygiene warnings. Every finding is reported with its rule, "
        "line, template and a fix.\n\n"
        "Settings come from the nearest [tool.pipeforge.lint] table of a pyproject.toml, or [lint] table "
        "of a .pipeforge.toml, upwards from each file (keys: select, extend-select, ignore, per-file-ignores, "
        "exclude, extend-exclude, force-exclude, severity, default-deadline-seconds, kubernetes-version); "
        "the options below are applied on top, as in ruff. RULE is a code (PF205), a name (no-retry), a "
        "code prefix (PF2) or ALL; lists are comma-separated and the options repeatable.\n\n"
        "Silence a rule for one template (its metadata.annotations) or a whole document (the workflow's "
        "metadata.annotations) with a reason, one rule per line:\n"
        "  pipeforge.io/lint-ignore: |\n"
        "    PF205: the notification is best effort and must not repeat",
        "examples:\n"
        "  pipeforge lint                                     # the working folder\n"
        "  pipeforge lint workflows/ --select PF1,PF2 --ignore no-retry\n"
        "  helm template chart/ | pipeforge lint - --stdin-filename chart/rendered.yaml\n"
        "  pipeforge lint --format github .                   # annotations in a GitHub Actions job\n"
        "  pipeforge lint --format sarif . > pipeforge.sarif  # GitHub code scanning\n"
        "  pipeforge lint --fail-on warning --exclude 'vendor/,*.generated.yaml' deploy/\n"
        "  pipeforge lint --exit-zero --format json . > report.json\n"
        "  pipeforge lint --show-settings deploy/nightly.yaml # which configuration applies, and how\n"
        "  pipeforge lint --list-rules\n"
        "  pipeforge lint --explain PF101                     # a rule's page: what, why, examples, limits\n\n"
        "configuration (pyproject.toml; in a .pipeforge.toml the tables are [lint] and [lint.NAME]):\n"
        "  [tool.pipeforge.lint]\n"
        "  extend-select = []\n"
        "  ignore = [\"PF507\", \"no-retry\"]\n"
        "  extend-exclude = [\"vendor/\", \"*.generated.yaml\"]\n"
        "  [tool.pipeforge.lint.per-file-ignores]\n"
        "  \"drafts/**\" = [\"PF1\"]        # globs relative to this file's folder\n"
        "  [tool.pipeforge.lint.severity]\n"
        "  PF205 = \"error\"\n\n",
    )
    add_lint_arguments(lint)
    lint.add_argument("--explain", metavar="RULE", help="print a rule's documentation page (code or name) and exit")
    lint.set_defaults(handler=_cmd_lint)

    from generator.harden_cli import DESCRIPTION, EXAMPLES, add_arguments

    harden = _command(commands, "harden", "apply the fixes a reviewer would merge to manifests", DESCRIPTION,
                      EXAMPLES)
    add_arguments(harden, _positive)
    harden.set_defaults(handler=_cmd_harden)

    upgrade = _command(
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

    from generator.cli_extras import add_mcp_command

    add_mcp_command(commands, _command)
    _add_simulate(commands)
    from generator.gitops.cli import add_pr_command

    add_pr_command(commands, _command)

    from generator.gitops.rollout_cli import add_rollout_command

    add_rollout_command(commands, _command)

    from registry_api.cli import add_registry_commands  # cheap: the server loads only when it runs

    add_registry_commands(commands, _command)
    return parser


def _typed(parse: Callable[[str], Any]) -> Callable[[str], Any]:
    """An argparse type from a parser that raises ValueError with a readable message."""

    def convert(text: str) -> Any:
        try:
            return parse(text)
        except ValueError as exc:
            raise argparse.ArgumentTypeError(str(exc)) from None

    return convert


def _parse_fail(text: str) -> Any:
    from generator.sim.faults import parse_fail

    return parse_fail(text)


def _parse_resume(text: str) -> Any:
    from generator.sim.faults import parse_resume

    return parse_resume(text)


def _add_simulate(commands: Any) -> None:
    simulate = _command(
        commands, "simulate", "fail a pipeline on purpose, offline, and check its cleanup",
        "Run FILE's workflow on a virtual clock, following Argo's failure semantics (retries and their "
        "policies, deadlines, exit handlers, DAG and steps phases, approval gates, stop and terminate), with "
        "the faults you inject. Each attempt performs its declared side effects (pipeforge.io/creates, "
        "produces, deletes annotations and resource templates); the verdict says whether anything was "
        "orphaned (a temporary resource left behind, or a lasting output kept by a failed run) or "
        "duplicated (one declaration creating its resource under several names). Nothing runs on a "
        "cluster. What the simulator does not model is listed as an assumption.",
        "examples:\n"
        "  pipeforge simulate workflowtemplate.yaml                          # the fault-free run\n"
        "  pipeforge simulate wf.yaml --fail process                         # every attempt of process fails\n"
        "  pipeforge simulate wf.yaml --fail process=error:1                 # its first attempt errors\n"
        "  pipeforge simulate wf.yaml --hang publish --json\n"
        "  pipeforge simulate wf.yaml --resume approval:approve=YES\n"
        "  pipeforge simulate wf.yaml --terminate-at process\n"
        "  pipeforge simulate wf.yaml --matrix                               # every single fault\n\n"
        "exit status: 0 when nothing is orphaned or duplicated and the run ends (whatever the workflow's "
        "phase), or when what is broken is a documented known gap; 1 when the safety invariants are broken or "
        "the run never ends (--matrix: in any scenario); 2 for an invalid workflow or bad flags.\n\n",
    )
    simulate.add_argument("file", metavar="FILE", type=Path, help="an Argo manifest (its first Workflow, "
                          "else its first WorkflowTemplate, is simulated; templateRefs resolve within the file)")
    simulate.add_argument("--fail", metavar="STEP[=failed|error|unschedulable][:N]", action="append",
                          type=_typed(_parse_fail), default=[],
                          help="STEP's first N attempts (default: all) end Failed (non-zero exit, the default), "
                          "Error (infrastructure) or cannot create their pod (unschedulable); a leaf entrypoint or "
                          "exit handler is named by its template name, the workflow's name or onExit; repeatable")
    simulate.add_argument("--hang", metavar="STEP", action="append", default=[],
                          help="STEP runs until a deadline kills it (a gate: nobody decides); repeatable")
    simulate.add_argument("--resume", metavar="GATE[:NAME=VALUE,...]", action="append", type=_typed(_parse_resume),
                          default=[], help="resume the approval gate GATE, supplying output values; a value "
                          "with a comma is a JSON string (msg=\"Hello, World!\"), or give GATE:{JSON object}; "
                          "repeatable")
    simulate.add_argument("--reject", metavar="GATE", action="append", default=[],
                          help="stop the approval gate GATE (it fails); repeatable")
    shutdown = simulate.add_mutually_exclusive_group()
    shutdown.add_argument("--stop-at", metavar="STEP", help="argo stop while STEP runs (exit handlers still run)")
    shutdown.add_argument("--terminate-at", metavar="STEP",
                          help="argo terminate while STEP runs (no exit handler runs)")
    simulate.add_argument("--json", action="store_true", help="print the result as JSON")
    simulate.add_argument("--matrix", action="store_true",
                          help="run the fault-free run and every single fault, and print the table")
    simulate.set_defaults(handler=_cmd_simulate)


def _cmd_templates(args: argparse.Namespace, out: TextIO) -> int:
    from generator.template_spec import list_templates

    if args.name:
        from generator.cli_extras import show_template

        return show_template(args.name, as_json=args.json, out=out)
    specs = list_templates()
    if args.json:
        json.dump([s.describe() for s in specs], out, indent=2)
        out.write("\n")
        return EXIT_OK
    width = max((len(s.name) for s in specs), default=0)
    for spec in specs:
        out.write(f"{spec.name:<{width}}  {spec.version:<8}  {spec.summary.split('. ')[0].rstrip('.')}\n")
    return EXIT_OK


def _prompt(spec: Any, current: Any, ask: Callable[[str], str], err: TextIO) -> Any:
    from generator.params import check_value, coerce

    hint = f" ({'/'.join(map(str, spec.enum))})" if spec.enum else ""
    while True:
        answer = ask(f"{spec.name}{hint} — {spec.description}\n  [{current}]: ").strip()
        value = coerce(spec, answer) if answer else current
        rule = check_value(spec, value)
        if rule is None:
            return value
        err.write(f"  {spec.name}={value!r}: {rule}\n")


def _render_new(template: Any, digest: str | None, args: argparse.Namespace, out: TextIO) -> int:
    from generator.cookiecutter_compat import user_default_context
    from generator.params import current_defaults
    from generator.scaffold import build, write

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
        return EXIT_OK
    out.write("\nFailure modes:\n\n" + _new_tables(pipeline, args.format))
    return EXIT_OK


def _new_tables(pipeline: Any, fmt: str) -> str:
    """The failure-mode table, then the fault matrix the verdict's "see the table" points at."""
    from generator.terminal import failure_modes, fault_matrix

    if fmt == "markdown":
        return str(pipeline.table) + f"\nSimulated failures (pipeforge simulate --matrix): {pipeline.verdict}\n"
    return (failure_modes(pipeline.modes) + "\nSimulated failures (pipeforge simulate --matrix):\n"
            + fault_matrix(pipeline.simulation))


def _cmd_new(args: argparse.Namespace, out: TextIO) -> int:
    return with_template(args, out, _render_new)


def with_template(args: argparse.Namespace, out: TextIO, render: Callable[..., int]) -> int:
    """Resolve TEMPLATE (local first unless --from-catalog, then the catalog) and call ``render`` with it."""
    from catalog.resolution import CATALOG, LOCAL_FIRST, resolved, split_reference

    name, spec = split_reference(args.template)
    with resolved(name, spec, sources=(CATALOG,) if args.from_catalog else LOCAL_FIRST) as found:
        if found.row is not None and found.row.yanked:  # only an exact pin gets a yanked version: say why
            sys.stderr.write(f"pipeforge: warning: {name} {found.row.version} is yanked: {found.row.yank_reason}\n")
        return render(found.template, found.digest, args, out)


def _cmd_explain(args: argparse.Namespace, out: TextIO) -> int:
    from generator.explain import failure_modes, to_markdown
    from generator.model import load_manifests

    if not args.file.is_file():
        raise UsageError(f"{args.file}: no such file")
    manifests = load_manifests(args.file)
    if not manifests:
        raise UsageError(f"{args.file}: no Argo Workflow, WorkflowTemplate, ClusterWorkflowTemplate or CronWorkflow")
    if args.format == "json":
        payload = [{"manifest": m.label, "steps": [r.as_dict() for r in failure_modes(m)]} for m in manifests]
        json.dump(payload, out, indent=2, ensure_ascii=False)
        out.write("\n")
        return EXIT_OK
    from generator.terminal import failure_modes as as_text

    for manifest in manifests:
        if args.format == "markdown":
            out.write(f"## {manifest.label}\n\n{to_markdown(failure_modes(manifest))}\n")
        else:
            out.write(f"{manifest.label}\n{as_text(failure_modes(manifest))}\n")
    return EXIT_OK


def _explain_rule(name: str, out: TextIO) -> int:
    from generator.rules import rule_unit
    from generator.rules.docs import rule_page

    try:
        unit = rule_unit(name)
    except KeyError:
        raise UsageError(f"--explain {name}: no such rule (see 'pipeforge lint --list-rules')") from None
    out.write(rule_page(unit) + f"Online: {unit.url}\n")
    return EXIT_OK


def _cmd_lint(args: argparse.Namespace, out: TextIO) -> int:
    from generator.yamlio import gc_paused

    if args.explain:
        return _explain_rule(args.explain, out)
    # In a lint run of either corpus the collector finds under a thousand objects to free (imports, documents
    # and findings live until the end) yet costs about a tenth of the CPU, mostly while rule modules import.
    with gc_paused():
        from generator.lint_cli import run_lint

        return EXIT_FINDINGS if run_lint(args, out, version=__version__) else EXIT_OK


def _cmd_harden(args: argparse.Namespace, out: TextIO) -> int:
    from generator.harden_cli import run

    return run(args, out)


def _cmd_upgrade(args: argparse.Namespace, out: TextIO) -> int:
    from contextlib import ExitStack

    from catalog.resolution import resolver
    from generator.upgrade import apply, plan

    if not args.path.is_dir():
        raise UsageError(f"{args.path}: no such folder")
    with ExitStack() as stack:
        result = plan(args.path, args.to, resolver(stack))
    for warning in result.warnings:
        sys.stderr.write(f"pipeforge: warning: {warning}\n")
    if result.noop:
        out.write(f"{args.path} is already at {result.template} {result.to_version}: nothing to do\n")
        return EXIT_OK
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
        return EXIT_FINDINGS
    return EXIT_OK


def _cmd_simulate(args: argparse.Namespace, out: TextIO) -> int:
    from generator.simulate import Faults, check_faults, load, simulate

    faults = Faults(
        fail=dict(args.fail), hang=frozenset(args.hang), resume=dict(args.resume), reject=frozenset(args.reject),
        stop_at=args.stop_at, terminate_at=args.terminate_at,
    )
    target = load(args.file)
    target.validate()
    if args.matrix:
        if faults.steps():
            raise UsageError("--matrix runs every single fault itself: drop --fail, --hang, --resume, --reject, "
                             "--stop-at and --terminate-at")
        return _matrix(target, args.json, out)
    check_faults(target, faults)
    result = simulate(target, faults)
    if args.json:
        json.dump(result.as_dict(), out, indent=2, ensure_ascii=False)
        out.write("\n")
    else:
        from generator.sim.report import render

        out.write(render(result))
    return EXIT_OK if result.ok else EXIT_FINDINGS


def _matrix(target: Any, as_json: bool, out: TextIO) -> int:
    from generator.sim.matrix import run_matrix, to_text

    matrix = run_matrix(target)
    if as_json:
        json.dump(matrix.as_dict(), out, indent=2, ensure_ascii=False)
        out.write("\n")
    else:
        out.write(f"Fault matrix of {matrix.manifest}\n\n{to_text(matrix)}")
    return EXIT_OK if matrix.ok else EXIT_FINDINGS


def main(argv: Sequence[str] | None = None, out: TextIO | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    stream = out or sys.stdout
    if not getattr(args, "handler", None):
        parser.print_help(stream)
        return EXIT_USAGE
    try:
        code: int = args.handler(args, stream)
    except PipeforgeError as exc:
        sys.stderr.write(f"pipeforge: error: {exc.message}\n")
        return exc.exit_code
    except (RecursionError, MemoryError) as exc:  # a last resort: the reading limits are meant to stop these first
        sys.stderr.write(f"pipeforge: error: the input is too large or too deeply nested ({type(exc).__name__})\n")
        return EXIT_USAGE
    except KeyboardInterrupt:
        sys.stderr.write("\npipeforge: interrupted\n")
        return EXIT_INTERRUPTED
    except EOFError:  # Ctrl-D at a prompt: the person is leaving, nothing was written
        sys.stderr.write("\npipeforge: cancelled (end of input at a prompt); nothing was written\n")
        return EXIT_INTERRUPTED
    except BrokenPipeError:  # the reader went away (`pipeforge catalog list --json | head`): not an error
        sys.stdout = Path(os.devnull).open("w")  # noqa: SIM115 - keeps the interpreter's final flush quiet
        return EXIT_OK
    return code


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
