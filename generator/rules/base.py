"""What a rule is: its code, name, severity, rationale, examples, check and (when it has one) its fix.

One rule is one unit, as in ruff and checkov: ``@rule(...)`` on a check function registers it with its
metadata, the examples are its tests and its documentation, and ``harden`` attaches an automatic fix
with ``@fixes(code)``. The registry is filled by importing the rule modules (``generator.rules``).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from generator.findings import Hit
from generator.severity import Severity

if TYPE_CHECKING:
    from generator.rules.context import Context

#: Where the documentation (``docs/``, rule pages under ``rules/PFxxx/``) is published;
#: ``PIPEFORGE_DOCS_URL`` points the links at another copy (a mirror, an internal site).
DOCS_BASE_URL = "https://pipeforge.readthedocs.io/en/latest"


Check = Callable[["Context"], Iterable[Hit]]


@dataclass(eq=False)
class Rule:
    """One lint rule (see the module docstring); ``fix`` is set by ``harden``'s ``@fixes`` decorator."""

    code: str
    name: str
    severity: Severity
    summary: str
    why: str
    source: str  # the fact it rests on: a section of the failure-semantics reference or docs/argo-semantics.md
    bad: str  # a manifest the rule reports
    good: str  # the same manifest, fixed: the rule is silent
    confident: str  # what a finding of this rule can be trusted on
    leaves: str  # what it leaves to people
    check: Check | None = None  # None: emitted while reading the file (PF001) or suppressions (PF007)
    fix: Callable[..., Any] | None = None

    @property
    def url(self) -> str:
        return rule_url(self.code)


RULES: dict[str, Rule] = {}
RULES_BY_NAME: dict[str, Rule] = {}


def register(unit: Rule) -> Rule:
    if unit.code in RULES or unit.name in RULES_BY_NAME:
        raise ValueError(f"rule {unit.code} ({unit.name}) is registered twice")
    RULES[unit.code] = unit
    RULES_BY_NAME[unit.name] = unit
    return unit


def rule(code: str, name: str, severity: Severity, *, summary: str, why: str, source: str, bad: str, good: str,
         confident: str, leaves: str) -> Callable[[Check], Check]:
    """Register the decorated check function as rule ``code`` with its metadata (see ``Rule``)."""

    def decorate(check: Check) -> Check:
        register(Rule(code, name, severity, summary, why, source, bad, good, confident, leaves, check=check))
        return check

    return decorate


def resolve_rule(name: str) -> str | None:
    """A rule's code from its code or its name (case-insensitive)."""
    key = name.strip()
    if key.upper() in RULES:
        return key.upper()
    unit = RULES_BY_NAME.get(key.lower())
    return unit.code if unit else None


def rule_unit(code_or_name: str) -> Rule:
    """The rule unit for a code (``PF201``) or a name (``unbounded-retry``); KeyError when there is none."""
    code = resolve_rule(code_or_name)
    if code is None:
        raise KeyError(f"no pipeforge rule '{code_or_name}'")
    return RULES[code]


def docs_url() -> str:
    """The documentation's address, ending in ``/`` (SARIF ``informationUri``)."""
    return (os.environ.get("PIPEFORGE_DOCS_URL") or DOCS_BASE_URL).rstrip("/") + "/"


def rule_url(code: str) -> str:
    """The documentation page of a rule (SARIF ``helpUri``, the text output's link)."""
    return f"{docs_url()}rules/{code}/"
