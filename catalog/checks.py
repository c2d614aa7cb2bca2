"""The one place the catalog calls the linter: a template must render with its defaults into a
pipeline that lints without errors; warnings and infos are kept in the version's lint summary."""

from __future__ import annotations

from typing import Any

from catalog.errors import LintFailedError
from generator.scaffold import Pipeline
from generator.severity import Severity
from generator.verdict import verdict_of


def lint_summary(pipeline: Pipeline, *, source: str) -> dict[str, Any]:
    """Lint every rendered YAML file; a LintFailedError lists the errors, else the summary to record."""
    findings = list(verdict_of(pipeline).findings)
    errors = [f for f in findings if f.severity == Severity.ERROR]
    if errors:
        listed = "\n".join(f"  - {f.file}:{f.line}: [{f.rule}] {f.message}" for f in errors)
        raise LintFailedError(
            f"{source}: rendered with its defaults, the template has {len(errors)} lint "
            f"error{'s' if len(errors) != 1 else ''}; fix them before publishing:\n{listed}"
        )
    counts = {severity: sum(1 for f in findings if f.severity == severity) for severity in Severity}
    return {"errors": 0, "warnings": counts[Severity.WARNING], "infos": counts[Severity.INFO],
            "findings": [f.as_dict() for f in findings]}
