"""Running `pipeforge` from a test: ``run`` calls the command line in this process (what most tests need:
arguments in, exit code and output out), ``run_process`` starts ``python -m generator`` for the tests
that are about the process itself (exit status, stdin, signals, the environment, warnings at start-up).

An in-process run sees what a process would: its own working folder, an empty stdin that is not a
terminal, stdout and stderr captured as text, and an exception that escapes the command line as a
traceback on stderr with exit code 1. Starting a process costs a fresh interpreter and its imports
(traced by coverage) each time; a call costs neither."""

from __future__ import annotations

import io
import os
import subprocess
import sys
import traceback
from collections.abc import Iterator
from contextlib import chdir, contextmanager, redirect_stderr, redirect_stdout
from pathlib import Path
from unittest import mock


class _EmptyStdin(io.TextIOWrapper):
    """``subprocess.DEVNULL`` as a process sees it: nothing to read, not a terminal."""

    def __init__(self) -> None:
        super().__init__(io.BytesIO(b""), encoding="utf-8")

    def isatty(self) -> bool:
        return False


def run(*args: str, cwd: Path | None = None,
        env: dict[str, str | None] | None = None) -> subprocess.CompletedProcess[str]:
    """`pipeforge ARGS` in this process: its exit code, stdout and stderr. ``env`` adds variables to the
    environment for the call (None: removes one)."""
    from generator.cli import main

    out, err = io.StringIO(), io.StringIO()
    with (chdir(cwd or Path.cwd()), _environment(env or {}), mock.patch.object(sys, "stdin", _EmptyStdin()),
          redirect_stdout(out), redirect_stderr(err)):
        try:
            code = main(list(args))
        except SystemExit as exc:  # argparse's usage errors and --help/--version
            code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
            if isinstance(exc.code, str):
                err.write(exc.code + "\n")
        except Exception:
            traceback.print_exc(file=err)
            code = 1
    return subprocess.CompletedProcess(["pipeforge", *args], code, out.getvalue(), err.getvalue())


@contextmanager
def _environment(changes: dict[str, str | None]) -> Iterator[None]:
    with mock.patch.dict(os.environ):
        for name, value in changes.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
        yield


def run_process(*args: str, cwd: Path | None = None,
                env: dict[str, str | None] | None = None) -> subprocess.CompletedProcess[str]:
    """`python -m generator ARGS` as a process of its own, with warnings as errors and no stdin."""
    environment = {**os.environ, "PYTHONWARNINGS": "error"}
    for name, value in (env or {}).items():
        if value is None:
            environment.pop(name, None)
        else:
            environment[name] = value
    return subprocess.run(
        [sys.executable, "-m", "generator", *args], capture_output=True, text=True, cwd=cwd, env=environment,
        stdin=subprocess.DEVNULL, check=False,
    )
