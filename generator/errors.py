"""The error tree of the core library.

Every error a user can see derives from ``PipeforgeError`` and carries a ``message`` a person can act
on: what was wrong, where, and what to do. The errors several modules raise are defined here; one that a
single module raises is defined beside it (``ConfigError``, ``UnsafePathError``, ``UnsafeURLError``,
``UpgradeError``, ``InvalidVersionError``, ...) and derives from this tree; the catalog's grow from
``catalog.errors.CatalogError``. Only the CLI (exit codes) and ``registry_api.problems`` (HTTP status)
turn them into anything else; docs/architecture.md has the whole tree and both mappings.
"""

from __future__ import annotations

import reprlib
from dataclasses import dataclass
from typing import Any


def _rebuilt(cls: type[PipeforgeError], message: str, state: dict[str, Any]) -> PipeforgeError:
    error = cls.__new__(cls)
    Exception.__init__(error, message)
    error.__dict__.update(state)
    return error

#: The most characters of an untrusted value an error message echoes.
MAX_ECHOED_CHARS = 200
_REPR = reprlib.Repr()  # Python 3.11's Repr takes no keyword arguments
_REPR.maxlevel, _REPR.maxdict, _REPR.maxlist, _REPR.maxtuple, _REPR.maxset = 3, 8, 8, 8, 8
_REPR.maxstring, _REPR.maxother, _REPR.maxlong = MAX_ECHOED_CHARS, MAX_ECHOED_CHARS, 40
#: The most problems an InvalidParametersError lists in its message (``problems`` keeps them all).
MAX_LISTED_PROBLEMS = 50


def shorten(text: str, limit: int = MAX_ECHOED_CHARS) -> str:
    """``text`` cut to ``limit`` characters with an ellipsis, for echoing untrusted values in messages."""
    return text if len(text) <= limit else text[: limit - 1] + "\u2026"


def echo(value: object) -> str:
    """A bounded ``repr``: reprlib stops at a few levels and items, so a huge value costs little to show."""
    return shorten(_REPR.repr(value))


class PipeforgeError(Exception):
    """Base of every error pipeforge raises on purpose."""

    exit_code = 2

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def __reduce__(self) -> tuple[Any, ...]:
        """Pickled with its attributes, whatever its constructor takes: errors raised in a worker process
        (``generator.sandbox_worker``) reach the caller exactly as they were raised."""
        return _rebuilt, (type(self), self.message, dict(self.__dict__))


class UsageError(PipeforgeError):
    """The command line or a path given to it is wrong."""


class TemplateNotFoundError(PipeforgeError):
    """No built-in or configured template has that name."""


class TemplateDefinitionError(PipeforgeError):
    """A template's own files (template.yaml, cookiecutter.json, Jinja) are broken: a template bug."""


@dataclass(frozen=True)
class ParameterProblem:
    """One invalid parameter: the field, the value given and the rule it breaks.

    Not a finding (``generator.findings``): it is about what a user typed into a template's form, not
    about a manifest, and has no file, line or lint rule; ``InvalidParametersError`` carries every one.
    """

    field: str
    value: object
    rule: str

    def __str__(self) -> str:
        return f"{shorten(self.field)}={echo(self.value)}: {shorten(self.rule, 4 * MAX_ECHOED_CHARS)}"


class InvalidParametersError(PipeforgeError):
    """One or more parameters are invalid. Every problem is listed, not just the first."""

    def __init__(self, problems: list[ParameterProblem]) -> None:
        lines = "\n".join(f"  - {p}" for p in problems[:MAX_LISTED_PROBLEMS])
        if len(problems) > MAX_LISTED_PROBLEMS:
            lines += f"\n  ... and {len(problems) - MAX_LISTED_PROBLEMS} more"
        noun = "parameter is" if len(problems) == 1 else "parameters are"
        super().__init__(f"{len(problems)} {noun} invalid:\n{lines}")
        self.problems = problems


class ManifestError(PipeforgeError):
    """A manifest cannot be read: unreadable file or malformed YAML (with its line)."""

    def __init__(self, message: str, *, file: str, line: int | None = None) -> None:
        where = f"{file}:{line}" if line is not None else file
        super().__init__(f"{where}: {message}")
        self.detail = message
        self.file = file
        self.line = line


class YamlLimitError(ManifestError):
    """A YAML or JSON input breaks a reading limit (size, depth, aliases); ``limit`` names the limit."""

    def __init__(self, message: str, *, limit: str, file: str, line: int | None = None) -> None:
        super().__init__(message, file=file, line=line)
        self.limit = limit


class ConflictError(PipeforgeError):
    """The operation would overwrite something that exists (exit code 3)."""

    exit_code = 3


class RemoteError(PipeforgeError):
    """A git server, forge or registry refused or could not be reached: authentication, a rejected push, the
    network (exit code 4)."""

    exit_code = 4


class BudgetExceeded(PipeforgeError):
    """Untrusted work asked for more than its budget (time, memory, output or the size of one value).

    ``budget`` names the limit: render-seconds, render-memory, render-output, render-size (one value a
    template computes), worker-seconds, worker-memory or worker-crashed."""

    def __init__(self, message: str, *, budget: str) -> None:
        super().__init__(message)
        self.budget = budget


class InvalidWorkflowError(PipeforgeError):
    """A workflow Argo would reject before running any pod. Every problem is listed, not just the first."""

    def __init__(self, label: str, problems: list[str]) -> None:
        lines = "\n".join(f"  - {p}" for p in problems)
        noun = "problem" if len(problems) == 1 else "problems"
        super().__init__(f"{label} is invalid; Argo rejects it before any pod runs ({len(problems)} {noun}):\n"
                         f"{lines}\nnothing was simulated")
        self.problems = problems
