"""The ``pipeforge`` command line, one module per command group; each parses, calls one library
function, prints, and leaves exit codes to :mod:`generator.cli.main`."""

from generator.cli.main import build_parser, main

__all__ = ["build_parser", "main"]
