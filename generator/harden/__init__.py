"""``pipeforge harden``: the fixes a reviewer would merge, written as minimal edits to the file's own text.

The file is read once (``generator.yamlio``, bounded), the lint rules run over each Argo document, and
each finding whose rule has a registered fix (``generator.harden.plan.fixes``) gets it, but only where
it is safe for that template (``generator.harden.judge``): no deadline on daemons, on templates that run
no pod or in compiler-generated files, never looser than a value the template or ``templateDefaults``
already has, never longer than the workflow's own; retries only where the step's effects are known to
be idempotent or it has none; cleanup moved where it runs however the template is used. What is not
safe is listed as "needs a human" with the reason and the edit to consider.

The edits are spliced into the text (``generator.harden.text``): every other line comes back byte for
byte, comments included. Misspelt keys are renamed first (repeatedly, for a typo inside a typo), then
every other fix is planned on one parse, so one run reaches a fixed point.
"""

from __future__ import annotations

import difflib
import importlib
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from generator.errors import ManifestError
from generator.findings import Finding
from generator.harden import cleanup, fixes, rename  # noqa: F401  (registers the fixes)
from generator.harden.judge import compiler_of
from generator.harden.plan import Change, NeedsHuman, Options, Plan, fix_for, fixed_rules
from generator.harden.text import MappingNode, Source, apply, compose
from generator.lint import as_finding, lint_text
from generator.model import parse_manifest
from generator.rules import check_manifest
from generator.severity import Severity
from generator.yamlio import gc_paused, load_documents

__all__ = ["DEFAULT_DEADLINE", "FIXES", "Change", "HardenResult", "NeedsHuman", "harden_text"]

#: The deadline written when neither ``--deadline`` nor the lint configuration names one; the change
#: says it is this default, so a reviewer knows to check it.
DEFAULT_DEADLINE = 3600
FIXES = fixed_rules()
_MAX_RENAME_PASSES = 8


@dataclass
class HardenResult:
    text: str
    original: str
    changes: list[Change] = field(default_factory=list)
    needs_human: list[Finding] = field(default_factory=list)
    held: list[NeedsHuman] = field(default_factory=list)
    touched: tuple[int, ...] = ()  # input lines (1-based) rewritten or removed; every other line is kept

    @property
    def changed(self) -> bool:
        return self.text != self.original

    def diff(self, name: str) -> str:
        return "".join(difflib.unified_diff(self.original.splitlines(keepends=True),
                                            self.text.splitlines(keepends=True), f"a/{name}", f"b/{name}"))


@dataclass(frozen=True)
class RuleFilter:
    """Which rules harden may act on, from ``select``/``ignore`` (codes or names)."""

    select: frozenset[str] | None = None
    ignore: frozenset[str] = frozenset()

    @classmethod
    def of(cls, select: Iterable[str] | None, ignore: Iterable[str]) -> RuleFilter:
        def codes(names: Iterable[str]) -> frozenset[str]:
            return frozenset(c for c in (_resolve_rule(n) for n in names) if c)
        return cls(None if select is None else codes(select), codes(ignore))

    def allows(self, code: str) -> bool:
        return code not in self.ignore and (self.select is None or code in self.select)


def _resolve_rule(name: str) -> str | None:
    """A rule's code from its code or name, from wherever the rule registry keeps that lookup."""
    for module in ("generator.rules", "generator.lint"):
        lookup = getattr(importlib.import_module(module), "resolve_rule", None)
        if lookup is not None:
            return lookup(name)  # type: ignore[no-any-return]
    return None


def harden_text(text: str, filename: str = "<string>", *, deadline: int | None = None, retry_limit: int = 3,
                workflow_deadline: int | None = None, select: Iterable[str] | None = None,
                ignore: Iterable[str] = ()) -> HardenResult:
    """Harden every Argo document of a YAML text; malformed YAML raises ManifestError."""
    rules = RuleFilter.of(select, ignore)
    options = Options(deadline=deadline or DEFAULT_DEADLINE, deadline_is_default=deadline is None,
                      retry_limit=retry_limit, workflow_deadline=workflow_deadline)
    original = text
    with gc_paused():
        documents = load_documents(text, file=filename)
        touched: set[int] = set()
        changes: list[Change] = []
        if rules.allows("PF003"):
            text, documents = _rename_pass(text, filename, documents, options, changes, touched)
        source = Source(text)
        plans = _plans(source, filename, documents, options, rules)
        edits = [edit for plan in plans for edit in plan.edits]
        held = [h for plan in plans for h in plan.held]
        changes += [c for plan in plans for c in sorted(plan.changes, key=lambda c: c.line)]
        try:
            out = apply(source, edits) if edits else text
            findings = lint_text(out, filename)
            if edits and any(f.rule == "PF001" for f in findings):
                raise ValueError("the edits gave malformed YAML")
        except ValueError:  # a bug of ours must never write a broken file
            broken = NeedsHuman(1, None, "harden", "the planned edits did not give valid YAML; nothing was changed",
                                "report this file to pipeforge")
            return HardenResult(original, original, [], _remaining(lint_text(original, filename), rules, []),
                                [*held, broken])
        for edit in edits:
            touched.update(line + 1 for line in edit.lines)
    return HardenResult(out, original, changes, _remaining(findings, rules, held), held, tuple(sorted(touched)))


def _rename_pass(text: str, filename: str, documents: list[Any], options: Options, changes: list[Change],
                 touched: set[int]) -> tuple[str, list[Any]]:
    fix = fix_for("PF003")
    for _ in range(_MAX_RENAME_PASSES):
        source = Source(text)
        plans = []
        for index, (document, node) in enumerate(zip(documents, compose(text), strict=False)):
            manifest = parse_manifest(document, index=index)
            if manifest is None or not isinstance(node, MappingNode) or fix is None:
                continue
            plan = Plan(source, node, document, manifest, options)
            for hit in check_manifest(manifest, document, select=("PF003",)):
                fix(plan, as_finding(hit, filename))
            plans.append(plan)
        edits = [edit for plan in plans for edit in plan.edits]
        if not edits:
            break
        renamed = apply(source, edits)
        try:
            documents = load_documents(renamed, file=filename)
        except ManifestError:  # never expected of a key renamed in place; keep the text as it was
            break
        text = renamed
        touched.update(line + 1 for edit in edits for line in edit.lines)
        changes += [c for plan in plans for c in plan.changes]
    return text, documents


def _plans(source: Source, filename: str, documents: list[Any], options: Options, rules: RuleFilter) -> list[Plan]:
    plans = []
    for index, (document, node) in enumerate(zip(documents, compose(source.text), strict=False)):
        manifest = parse_manifest(document, index=index)
        if manifest is None or not isinstance(node, MappingNode):
            continue
        plan = Plan(source, node, document, manifest, options, compiler=compiler_of(document))
        if plan.spec_node is None:
            continue
        for hit in check_manifest(manifest):
            fix = fix_for(hit.code)
            if fix is not None and rules.allows(hit.code):
                fix(plan, as_finding(hit, filename))
        cleanup.place_cleanups(plan)
        plan.finish()
        plans.append(plan)
    return plans


def _remaining(findings: list[Finding], rules: RuleFilter, held: list[NeedsHuman]) -> list[Finding]:
    """What the linter still finds, less what a held-back entry already explains (same rule and template)."""
    explained = {(h.rule, h.template) for h in held}
    return [f for f in findings
            if f.severity.at_least(Severity.WARNING) and rules.allows(f.rule) and (f.rule, f.template) not in explained]


def harden_file(path: Path, display: str | None = None, **options: Any) -> HardenResult:
    """Harden one file (see ``harden_text``); an unreadable file is a ManifestError naming it."""
    name = display or str(path)
    try:
        content = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise ManifestError(f"not UTF-8 text (byte {exc.start})", file=name) from None
    except OSError as exc:
        raise ManifestError(f"cannot read: {exc.strerror}", file=name) from None
    return harden_text(content, name, **options)
