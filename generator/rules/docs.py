"""A rule's documentation page, written from its unit (``pipeforge lint --explain``, ``docs/rules/``).

The shape follows ruff's rule pages: what it does, why it matters, what it is confident about and what it
leaves to people, an example it reports and the same example fixed. Generating the pages from the units
means the documentation cannot drift from the rule.
"""

from __future__ import annotations

import generator.harden  # noqa: F401  (importing it attaches the automatic fixes to the rule units)
from generator.rules.base import RULES, Rule


def rule_page(unit: Rule) -> str:
    """The Markdown page of one rule."""
    fix = "yes (applied by `pipeforge harden`)" if unit.fix is not None else "none"
    return "\n".join([
        f"# {unit.code} {unit.name}",
        "",
        f"Default severity: **{unit.severity}**. Automatic fix: {fix}.",
        "",
        "## What it does",
        "",
        f"{unit.summary[0].upper()}{unit.summary[1:]}.",
        "",
        "## Why is this bad?",
        "",
        unit.why,
        "",
        f"Source: {unit.source}.",
        "",
        "## What it is confident about",
        "",
        unit.confident,
        "",
        "## What it leaves to people",
        "",
        unit.leaves,
        "",
        "## Example",
        "",
        "```yaml",
        unit.bad.rstrip("\n"),
        "```",
        "",
        "## Use instead",
        "",
        "```yaml",
        unit.good.rstrip("\n"),
        "```",
        "",
        "## Suppressing it",
        "",
        "With a reason, on the template's or the workflow's `metadata.annotations`:",
        "",
        "```yaml",
        f"pipeforge.io/lint-ignore: '{unit.code}: <why this is fine here>'",
        "```",
        "",
    ])


def index_page() -> str:
    """The table of every rule, linking to its page."""
    rows = [f"| [{u.code}]({u.code}.md) | `{u.name}` | {u.severity} | {u.summary} |" for u in RULES.values()]
    return "\n".join([
        "# Rules",
        "",
        "Generated from the rule units in `generator/rules/` by `scripts/gen_rule_docs.py`; do not edit by hand.",
        "",
        "| rule | name | severity | what it catches |",
        "|---|---|---|---|",
        *rows,
        "",
    ])


def pages() -> dict[str, str]:
    """Every page under docs/rules/, by file name."""
    return {"index.md": index_page(), **{f"{code}.md": rule_page(unit) for code, unit in RULES.items()}}
