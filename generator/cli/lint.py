"""``pipeforge lint``: its options, the rule pages (--explain, --list-rules), and the mapping from a lint
report to output and exit code. ``generator.lint`` is imported when the command runs, not when the parser
is built."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

from generator import __version__
from generator.cli.common import command
from generator.errors import UsageError
from generator.exit_codes import ExitCode
from generator.severity import SEVERITIES, Severity

if TYPE_CHECKING:
    from generator.lint import LintOptions, LintReport
    from generator.lintconfig import LintConfig

FORMATS = ("text", "json", "sarif", "github")
LEVELS = tuple(str(s) for s in SEVERITIES)


def add_command(commands: Any) -> None:
    lint = command(
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
    _add_lint_arguments(lint)
    lint.add_argument("--explain", metavar="RULE", help="print a rule's documentation page (code or name) and exit")
    lint.set_defaults(handler=_cmd_lint)


def _explain_rule(name: str, out: TextIO) -> int:
    from generator.rules import rule_unit  # lazy: the rule units load only for lint
    from generator.rules.docs import rule_page  # lazy: the rule pages load only for --explain

    try:
        unit = rule_unit(name)
    except KeyError:
        raise UsageError(f"--explain {name}: no such rule (see 'pipeforge lint --list-rules')") from None
    out.write(rule_page(unit) + f"Online: {unit.url}\n")
    return ExitCode.OK


def _cmd_lint(args: argparse.Namespace, out: TextIO) -> int:
    from generator.yamlio import gc_paused  # lazy: YAML reading loads only for lint

    if args.explain:
        return _explain_rule(args.explain, out)
    # In a lint run of either corpus the collector finds under a thousand objects to free (imports, documents
    # and findings live until the end) yet costs about a tenth of the CPU, mostly while rule modules import.
    with gc_paused():
        return ExitCode.FINDINGS if _run_lint(args, out, version=__version__) else ExitCode.OK


def _comma_list(text: str) -> list[str]:
    """ruff's list syntax: ``--select PF1,PF2`` (and the option repeated)."""
    items = [item.strip() for item in text.split(",")]
    if not all(items):
        raise argparse.ArgumentTypeError(f"expected a comma-separated list, got {text!r}")
    return items


def _add_lint_arguments(lint: argparse.ArgumentParser) -> None:
    lint.add_argument("paths", metavar="PATH", nargs="*", type=Path,
                      help="files or folders to check (default: .); '-' reads the manifest from standard input")
    lint.add_argument("--format", choices=FORMATS, default="text",
                      help="text (file:line: rule severity message), json, SARIF 2.1.0 for code scanning, or "
                      "github (GitHub Actions annotations)")
    _add_selection_arguments(lint)
    _add_setting_arguments(lint)
    lint.add_argument("--list-rules", action="store_true", help="print every rule with its severity and exit")


def _add_selection_arguments(lint: argparse.ArgumentParser) -> None:
    rules = lint.add_argument_group("rule selection (RULE: code, name, code prefix or ALL)")
    rules.add_argument("--select", metavar="RULE,...", type=_comma_list, action="extend",
                       help="run only these rules, replacing the configuration's select/extend-select/ignore")
    rules.add_argument("--extend-select", metavar="RULE,...", type=_comma_list, action="extend", default=[],
                       help="run these rules as well")
    rules.add_argument("--ignore", metavar="RULE,...", type=_comma_list, action="extend", default=[],
                       help="leave out these rules everywhere (beats --select of the same specificity)")
    rules.add_argument("--extend-ignore", dest="ignore", type=_comma_list, action="extend", help=argparse.SUPPRESS)
    files = lint.add_argument_group("files")
    files.add_argument("--exclude", metavar="GLOB,...", type=_comma_list, action="extend",
                       help="skip matching files and folders (gitignore-style, relative to the working folder), "
                       "replacing the configuration's exclude and the defaults (.git, node_modules, .venv...)")
    files.add_argument("--extend-exclude", metavar="GLOB,...", type=_comma_list, action="extend", default=[],
                       help="skip these as well")
    files.add_argument("--force-exclude", action=argparse.BooleanOptionalAction, default=None,
                       help="apply the excludes to paths named on the command line too (pre-commit names every file)")
    files.add_argument("--stdin-filename", metavar="NAME",
                       help="the name of the manifest read from standard input: used in the report, to find its "
                       "configuration and for per-file-ignores")


def _add_setting_arguments(lint: argparse.ArgumentParser) -> None:
    config = lint.add_argument_group("configuration")
    config.add_argument("--config", metavar="FILE", type=Path,
                        help="use this file for every path instead of the nearest one: a pyproject.toml "
                        "([tool.pipeforge.lint]) or any other TOML file with a [lint] table")
    config.add_argument("--isolated", action="store_true", help="read no configuration file")
    config.add_argument("--show-settings", action="store_true",
                        help="print the settings the first PATH is linted with, and exit")
    exits = lint.add_argument_group("exit code")
    exits.add_argument("--fail-on", choices=LEVELS, default=Severity.ERROR.value,
                       help="exit 1 when a finding is at least this severe (default: error)")
    exits.add_argument("--exit-zero", action="store_true",
                       help="exit 0 even with findings (2 still means a usage or configuration error)")


def _options(args: argparse.Namespace) -> LintOptions:
    if args.config is not None and args.isolated:
        raise UsageError("--config and --isolated contradict each other; give one")
    return {"select": args.select, "extend_select": args.extend_select, "ignore": args.ignore,
            "exclude": args.exclude, "extend_exclude": args.extend_exclude, "force_exclude": args.force_exclude,
            "config": args.config, "isolated": args.isolated}


def _reads_stdin(args: argparse.Namespace) -> bool:
    named = [str(p) for p in args.paths]
    if "-" in named and len(named) > 1:
        raise UsageError("'-' (standard input) cannot be combined with other paths")
    if args.stdin_filename is not None and named and named != ["-"]:
        raise UsageError("--stdin-filename names standard input: give '-' or no PATH, not files")
    return named == ["-"] or (args.stdin_filename is not None and not named)


def _run_lint(args: argparse.Namespace, out: TextIO, *, version: str) -> bool:
    """Print what was asked for; whether the run failed (exit 1)."""
    from generator.lint import format_rules, lint_paths, lint_stdin  # lazy: imported inside gc_paused (_cmd_lint)
    from generator.yamlio import YAML_SIZE  # lazy: YAML reading loads only for lint

    if args.list_rules:
        out.write(format_rules())
        return False
    options = _options(args)
    stdin = _reads_stdin(args)
    paths = [] if stdin else (args.paths or [Path()])
    if args.show_settings:
        out.write(_describe(_settings(args, options, stdin, paths)))
        return False
    if stdin:
        # one byte past the limit is enough to refuse it: an endless pipe is never read into memory
        data = sys.stdin.buffer.read(YAML_SIZE.bytes + 1)
        report = lint_stdin(data, filename=args.stdin_filename, **options)
    else:
        report = lint_paths(paths, **options)
        if report.files == 0:
            sys.stderr.write("pipeforge: warning: no *.yaml or *.yml files to check under " +
                             ", ".join(str(p) for p in paths) + "\n")
    out.write(_formatted(report, args.format, version))
    return not args.exit_zero and report.fails_at(args.fail_on)


def _formatted(report: LintReport, name: str, version: str) -> str:
    from generator.lint import format_github, format_json, format_sarif, format_text  # lazy: see _run_lint

    if name == "json":
        return format_json(report)
    if name == "sarif":
        return format_sarif(report, version)
    if name == "github":
        return format_github(report)
    return format_text(report)


def _settings(args: argparse.Namespace, options: LintOptions, stdin: bool, paths: list[Path]) -> LintConfig:
    from generator.lint import settings_for  # lazy: see _run_lint

    if stdin:
        return settings_for(Path(args.stdin_filename) if args.stdin_filename else Path.cwd() / "-", **options)
    if not paths[0].exists():
        raise UsageError(f"{paths[0]}: no such file or folder")
    return settings_for(paths[0], **options)


def _describe(config: LintConfig) -> str:
    from generator.lintconfig import PatternSet  # lazy: the configuration loads only for lint

    def patterns(value: PatternSet | None) -> str:
        return ", ".join(value.patterns) if value is not None and value.patterns else "(none)"

    severity = ", ".join(f"{code}={level}" for code, level in sorted(config.severity.items())) or "(defaults)"
    per_file = "".join(f"\n  {entry.pattern} = {', '.join(s.text for s in entry.rules)}"
                       for entry in config.per_file_ignores) or " (none)"
    exclude = patterns(config.command_line_exclude) if config.command_line_exclude else ", ".join(config.exclude)
    return (
        f"configuration file: {config.path or '(none: defaults)'}\n"
        f"globs relative to: {config.root}\n"
        f"rules: {', '.join(sorted(config.enabled_rules())) or '(none)'}\n"
        f"per-file-ignores:{per_file}\n"
        f"exclude: {exclude or '(none)'}\n"
        f"extend-exclude: {', '.join(config.extend_exclude) or '(none)'}; "
        f"from the command line: {patterns(config.command_line_extend_exclude)}\n"
        f"force-exclude: {str(config.force_exclude).lower()}\n"
        f"severity: {severity}\n"
        f"default-deadline-seconds: {config.default_deadline_seconds}\n"
        f"kubernetes-version: {config.kubernetes_version or '(default)'}\n"
    )
