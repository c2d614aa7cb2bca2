"""pipeforge's exit codes, what each means, and which each subcommand can return (so every ``--help``
lists only those that apply).

One home for the meaning of each code: the CLI's codes and every subcommand's epilog come from here.
"""

from __future__ import annotations

from enum import IntEnum


class ExitCode(IntEnum):
    """What a pipeforge process tells its caller; scripts and CI jobs branch on these numbers."""

    OK = 0
    FINDINGS = 1
    USAGE = 2
    CONFLICT = 3
    REMOTE = 4
    INTERRUPTED = 130


MEANINGS: dict[ExitCode, str] = {
    ExitCode.OK: "success",
    ExitCode.FINDINGS: "findings or safety violations (lint errors, failed simulations, merge conflicts left to "
                       "resolve)",
    ExitCode.USAGE: "bad input or usage: invalid parameters, malformed YAML, unreadable path, unknown template",
    ExitCode.CONFLICT: "conflict: the output exists (pass --force to replace it), or someone else committed to the "
                       "pipeforge branch of a pull request",
    ExitCode.REMOTE: "the git server, forge or registry refused or failed: authentication, a rejected push, an "
                     "unreachable repository",
    ExitCode.INTERRUPTED: "interrupted (Ctrl-C, or Ctrl-D at a prompt)",
}

#: The codes each subcommand returns; a subcommand not named here gets every code but 130.
BY_COMMAND: dict[str, tuple[ExitCode, ...]] = {
    "templates": (ExitCode.OK, ExitCode.USAGE),
    "new": (ExitCode.OK, ExitCode.USAGE, ExitCode.CONFLICT, ExitCode.INTERRUPTED),
    "explain": (ExitCode.OK, ExitCode.USAGE),
    "lint": (ExitCode.OK, ExitCode.FINDINGS, ExitCode.USAGE),
    "harden": (ExitCode.OK, ExitCode.FINDINGS, ExitCode.USAGE),
    "upgrade": (ExitCode.OK, ExitCode.FINDINGS, ExitCode.USAGE),
    "mcp": (ExitCode.OK,),
    "simulate": (ExitCode.OK, ExitCode.FINDINGS, ExitCode.USAGE),
    "pr": (ExitCode.OK, ExitCode.FINDINGS, ExitCode.USAGE, ExitCode.CONFLICT, ExitCode.REMOTE),
    "rollout": (ExitCode.OK, ExitCode.FINDINGS, ExitCode.USAGE, ExitCode.REMOTE),
    "serve": (ExitCode.OK, ExitCode.USAGE),
    "token": (ExitCode.OK, ExitCode.USAGE),
}


def epilog(command: str | None) -> str:
    """The ``exit codes:`` block for ``command`` (None: the top-level help, every code)."""
    default = tuple(code for code in MEANINGS if code != ExitCode.INTERRUPTED)
    codes = BY_COMMAND.get(command, default) if command else tuple(MEANINGS)
    lines = [f"  {code:>3}  {MEANINGS[code]}" for code in codes]
    return "exit codes:\n" + "\n".join(lines) + "\n"
