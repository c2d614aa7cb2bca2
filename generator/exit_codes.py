"""Which exit codes each subcommand can return, so every ``--help`` lists only those that apply.

One home for the meaning of each code: the CLI's constants and every subcommand's epilog come from here.
"""

from __future__ import annotations

EXIT_OK, EXIT_FINDINGS, EXIT_USAGE, EXIT_CONFLICT, EXIT_REMOTE = 0, 1, 2, 3, 4
EXIT_INTERRUPTED = 130

MEANINGS: dict[int, str] = {
    EXIT_OK: "success",
    EXIT_FINDINGS: "findings or safety violations (lint errors, failed simulations, merge conflicts left to resolve)",
    EXIT_USAGE: "bad input or usage: invalid parameters, malformed YAML, unreadable path, unknown template",
    EXIT_CONFLICT: "conflict: the output exists (pass --force to replace it), or someone else committed to the "
                   "pipeforge branch of a pull request",
    EXIT_REMOTE: "the git server, forge or registry refused or failed: authentication, a rejected push, an "
                 "unreachable repository",
    EXIT_INTERRUPTED: "interrupted (Ctrl-C, or Ctrl-D at a prompt)",
}

#: The codes each subcommand returns; a subcommand not named here gets every code but 130.
BY_COMMAND: dict[str, tuple[int, ...]] = {
    "templates": (EXIT_OK, EXIT_USAGE),
    "new": (EXIT_OK, EXIT_USAGE, EXIT_CONFLICT, EXIT_INTERRUPTED),
    "explain": (EXIT_OK, EXIT_USAGE),
    "lint": (EXIT_OK, EXIT_FINDINGS, EXIT_USAGE),
    "harden": (EXIT_OK, EXIT_FINDINGS, EXIT_USAGE),
    "upgrade": (EXIT_OK, EXIT_FINDINGS, EXIT_USAGE),
    "mcp": (EXIT_OK,),
    "simulate": (EXIT_OK, EXIT_FINDINGS, EXIT_USAGE),
    "pr": (EXIT_OK, EXIT_FINDINGS, EXIT_USAGE, EXIT_CONFLICT, EXIT_REMOTE),
    "rollout": (EXIT_OK, EXIT_FINDINGS, EXIT_USAGE, EXIT_REMOTE),
    "serve": (EXIT_OK, EXIT_USAGE),
    "token": (EXIT_OK, EXIT_USAGE),
}


def epilog(command: str | None) -> str:
    """The ``exit codes:`` block for ``command`` (None: the top-level help, every code)."""
    default = tuple(code for code in MEANINGS if code != EXIT_INTERRUPTED)
    codes = BY_COMMAND.get(command, default) if command else tuple(MEANINGS)
    lines = [f"  {code:>3}  {MEANINGS[code]}" for code in codes]
    return "exit codes:\n" + "\n".join(lines) + "\n"
