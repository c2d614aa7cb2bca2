"""What the linter finds: a ``Hit`` while a rule runs, a ``Finding`` once it is tied to a file.

Everything that reads lint results reads these: the output formats, the catalog's publish check, the
registry's preview, the MCP tools, and ``harden``, whose fixes read a finding's ``data`` (template, task,
path) and never its message, which is for people. Other records named "problem" are other concepts:
``generator.structure.StructureProblem`` is a field-table mismatch before a rule (PF003/PF004) reports it,
``generator.errors.ParameterProblem`` is a template parameter the user gave wrong, and the registry's
``Problem`` is an HTTP error document.

Kept apart from ``generator.lint`` so the rules and the fixes can name the type without importing the
linter's reading, configuration and output code.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from generator.severity import Severity


@dataclass(frozen=True)
class Hit:
    """A finding before it is tied to a file: rule, line, template, message, fix text and structured data.

    ``data`` always holds ``template`` (name or None) and ``path`` (keys and indexes from the document root
    to the offending node); when relevant also ``task``/``step``, ``object`` ({kind, name}) and ``field``.
    Tools (``harden``, editors) read ``data``; the message is for people.
    """

    code: str
    line: int
    template: str | None
    message: str
    fix: str
    severity: Severity | None = None  # None: the rule's default
    data: dict[str, Any] = field(default_factory=dict, compare=False)


@dataclass(frozen=True)
class Finding:
    """One problem: which rule, how bad, where (file, line, template) and what to do about it.

    ``data`` is the structured form for tools: ``template``, ``path`` (from the document root) and, when
    relevant, ``task``/``step``, ``object`` and ``field`` (see ``Hit``).
    """

    rule: str
    severity: Severity
    file: str
    line: int
    template: str | None
    message: str
    fix: str
    data: dict[str, Any] = field(default_factory=dict, compare=False)

    @property
    def task(self) -> str | None:
        """The step or task the finding is about (``task`` in a DAG, ``step`` in a steps template)."""
        value = self.data.get("task", self.data.get("step"))
        return value if isinstance(value, str) else None

    def as_dict(self) -> dict[str, Any]:
        """The fields as JSON-ready values; ``data`` is shared, not copied (dataclasses.asdict's deep copy
        was a fifth of a JSON report's time)."""
        return {"rule": self.rule, "severity": self.severity, "file": self.file, "line": self.line,
                "template": self.template, "message": self.message, "fix": self.fix, "data": self.data}

    def sort_key(self) -> tuple[str, int, str]:
        return self.file, self.line, self.rule
