"""The ``pipeforge`` command line: the top-level parser, dispatch to the command modules, and what an
error, an interrupt or a closed pipe turns into.

Each command module adds its own subcommand; they import nothing heavy at module level, so building the
whole parser (``pipeforge --help``) loads no database, web or git library. A command line that names its
command first (``pipeforge lint ...``) builds only that command's options: the whole tree costs about as much
as linting a dozen files.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TextIO

from generator import __version__
from generator.cli import (
    assistant,
    catalog,
    explain,
    harden,
    lint,
    new,
    pr,
    rollout,
    serve,
    simulate,
    templates,
    upgrade,
)
from generator.cli.common import Parser, exit_code_for
from generator.errors import PipeforgeError
from generator.exit_codes import ExitCode, epilog

#: The subcommands in the order ``pipeforge --help`` lists them (``serve`` adds ``serve`` and ``token``).
COMMANDS = (templates, new, catalog, explain, lint, harden, upgrade, assistant, simulate, pr, rollout, serve)

#: The module that adds each command name, for building one command's parser.
_MODULE_OF = {
    "templates": templates, "new": new, "catalog": catalog, "explain": explain, "lint": lint, "harden": harden,
    "upgrade": upgrade, "mcp": assistant, "simulate": simulate, "pr": pr, "rollout": rollout, "serve": serve,
    "token": serve,
}


def build_parser(argv: Sequence[str] | None = None) -> Parser:
    """The whole parser; or, when ``argv`` starts with a command's name, a parser with only that command
    (what parsing that command line needs: anything else, a top-level option, a typo, no command, gets the
    whole tree, so that help and "invalid choice" errors list every command)."""
    parser = Parser(
        prog="pipeforge",
        description="Safe-by-default Argo Workflows pipelines: scaffold them from templates whose cleanup, "
        "retries, deadlines and approval gates are right by construction, and see how each step fails.",
        epilog=epilog(None),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"pipeforge {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=Parser)
    only = _MODULE_OF.get(argv[0]) if argv else None
    for module in COMMANDS if only is None else (only,):
        module.add_command(commands)
    return parser


def main(argv: Sequence[str] | None = None, out: TextIO | None = None) -> int:
    words = sys.argv[1:] if argv is None else list(argv)
    parser = build_parser(words)
    args = parser.parse_args(words)
    stream = out or sys.stdout
    if not getattr(args, "handler", None):
        parser.print_help(stream)
        return ExitCode.USAGE
    try:
        code: int = args.handler(args, stream)
    except PipeforgeError as exc:
        sys.stderr.write(f"pipeforge: error: {exc.message}\n")
        return exit_code_for(exc)
    except (RecursionError, MemoryError) as exc:  # a last resort: the reading limits are meant to stop these first
        sys.stderr.write(f"pipeforge: error: the input is too large or too deeply nested ({type(exc).__name__})\n")
        return ExitCode.USAGE
    except KeyboardInterrupt:
        sys.stderr.write("\npipeforge: interrupted\n")
        return ExitCode.INTERRUPTED
    except EOFError:  # Ctrl-D at a prompt: the person is leaving, nothing was written
        sys.stderr.write("\npipeforge: cancelled (end of input at a prompt); nothing was written\n")
        return ExitCode.INTERRUPTED
    except BrokenPipeError:  # the reader went away (`pipeforge catalog list --json | head`): not an error
        sys.stdout = Path(os.devnull).open("w")  # noqa: SIM115 - keeps the interpreter's final flush quiet
        return ExitCode.OK
    return code
