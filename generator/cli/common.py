"""What the command modules share: the parser class, the subcommand factory, argument types, the
TEMPLATE argument and its resolution, and the one mapping from an error to an exit code."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from typing import Any, NoReturn, TextIO

from generator.errors import PipeforgeError
from generator.exit_codes import ExitCode, epilog


class Parser(argparse.ArgumentParser):
    """argparse with pipeforge's usage errors: the usage line, ``pipeforge: error: ...`` and exit 2."""

    def error(self, message: str) -> NoReturn:
        self.print_usage(sys.stderr)
        self.exit(ExitCode.USAGE, f"pipeforge: error: {message}\n")


def exit_code_for(error: PipeforgeError) -> ExitCode:
    """The exit code an error ends a command with: the one its class declares (a conflict 3, a remote
    failure 4, a template that lints with errors 1), else 2 for bad input."""
    return ExitCode(error.exit_code)


def command(commands: Any, name: str, summary: str, description: str, examples: str = "", **options: Any) -> Any:
    """A subcommand whose --help ends with its examples and the exit codes it can return."""
    return commands.add_parser(
        name, help=summary, description=description, epilog=examples + epilog(name),
        formatter_class=argparse.RawDescriptionHelpFormatter, **options,
    )


def usage(parser: argparse.ArgumentParser, out: TextIO) -> int:
    """A command group run without its subcommand: its help, and exit 2."""
    parser.print_help(out)
    return ExitCode.USAGE


def set_pair(text: str) -> tuple[str, str]:
    key, sep, value = text.partition("=")
    if not sep or not key.strip():
        raise argparse.ArgumentTypeError(f"expected KEY=VALUE, got {text!r}")
    return key.strip(), value


def positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a number of at least 1, got {value}")
    return value


def typed(parse: Callable[[str], Any]) -> Callable[[str], Any]:
    """An argparse type from a parser that raises ValueError with a readable message."""

    def convert(text: str) -> Any:
        try:
            return parse(text)
        except ValueError as exc:
            raise argparse.ArgumentTypeError(str(exc)) from None

    return convert


def add_template_argument(parser: argparse.ArgumentParser) -> None:
    """TEMPLATE and --from-catalog, resolved by :func:`with_template`."""
    parser.add_argument("template", metavar="TEMPLATE",
                        help="template name (see 'pipeforge templates'), folder, or catalog NAME[@SPEC]")
    parser.add_argument("--from-catalog", action="store_true",
                        help="take TEMPLATE from the catalog even if a local template has that name")


def with_template(args: argparse.Namespace, out: TextIO, render: Callable[..., int]) -> int:
    """Resolve TEMPLATE (local first unless --from-catalog, then the catalog) and call ``render`` with it."""
    from catalog.resolution import CATALOG, LOCAL_FIRST, resolved, split_reference  # lazy: only rendering commands

    name, spec = split_reference(args.template)
    with resolved(name, spec, sources=(CATALOG,) if args.from_catalog else LOCAL_FIRST) as found:
        if found.row is not None and found.row.yanked:  # only an exact pin gets a yanked version: say why
            sys.stderr.write(f"pipeforge: warning: {name} {found.row.version} is yanked: {found.row.yank_reason}\n")
        return render(found.template, found.digest, args, out)
