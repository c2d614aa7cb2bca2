"""One document's plan: the findings harden may fix, the edits it decided on, and what it left to a human.

Fixes are registered per rule code with ``@fixes("PF201")`` and found only through ``fix_for(code)``; a
fix gets the lint finding (``generator.findings.Finding``) and reads its structured ``data`` (template,
task, path), never its message text. Each fix
adds text edits (``generator.harden.text``) and a ``Change`` saying what it did, or a ``NeedsHuman``
saying why it did not.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

from generator.findings import Finding
from generator.harden import text
from generator.harden.text import Edit, MappingNode, Node, Quoted, ScalarNode, SequenceNode, Source
from generator.model import Manifest, Template


@dataclass(frozen=True)
class Change:
    """One edit harden made: the input line it is at, the template, the rule it fixes, what it did."""

    line: int
    template: str | None
    rule: str
    description: str


@dataclass(frozen=True)
class NeedsHuman:
    """A fix harden did not make because it would not be safe for this template, with the edit to consider."""

    line: int
    template: str | None
    rule: str
    reason: str
    suggestion: str

    def as_dict(self) -> dict[str, Any]:
        return {"line": self.line, "template": self.template, "rule": self.rule, "reason": self.reason,
                "suggestion": self.suggestion}


@dataclass(frozen=True)
class Options:
    deadline: int
    deadline_is_default: bool
    retry_limit: int
    workflow_deadline: int | None


Fix = Callable[["Plan", Finding], None]
_FIXES: dict[str, Fix] = {}


def _rule_unit(code: str) -> Any:
    """The lint rule unit of a code, when the rules are units that carry their fix (``Rule.fix``)."""
    rules = importlib.import_module("generator.rules")
    lookup = getattr(rules, "rule_unit", None)
    try:
        unit = lookup(code) if lookup is not None else None
    except KeyError:
        return None
    return unit if unit is not None and hasattr(unit, "fix") else None


def fixes(code: str) -> Callable[[Fix], Fix]:
    """Register ``fn`` as the automatic fix of rule ``code`` (one fix per rule), on the rule unit itself
    where rules are units (``rule_unit(code).fix``), and in harden's own table."""
    def register(fn: Fix) -> Fix:
        if code in _FIXES:
            raise ValueError(f"{code} already has a fix ({_FIXES[code].__name__})")
        _FIXES[code] = fn
        unit = _rule_unit(code)
        if unit is not None:
            unit.fix = fn
        return fn
    return register


def fix_for(code: str) -> Fix | None:
    """The fix registered on a rule, or None: the one place harden looks a fix up."""
    unit = _rule_unit(code)
    if unit is not None:
        return unit.fix  # type: ignore[no-any-return]
    return _FIXES.get(code)


def fixed_rules() -> tuple[str, ...]:
    return tuple(sorted(_FIXES))


@dataclass
class Plan:
    """Edits for one Argo document of a file."""

    source: Source
    root: MappingNode
    document: dict[str, Any]
    manifest: Manifest
    options: Options
    compiler: str | None = None
    edits: list[Edit] = field(default_factory=list)
    changes: list[Change] = field(default_factory=list)
    held: list[NeedsHuman] = field(default_factory=list)
    cleanups: list[Any] = field(default_factory=list)
    done: set[tuple[int, str]] = field(default_factory=set)
    new_names: set[str] = field(default_factory=set)
    flow_added: dict[int, int] = field(default_factory=dict)
    unfold: dict[int, tuple[ScalarNode, MappingNode, dict[str, Any]]] = field(default_factory=dict)
    _by_name: dict[str, MappingNode] | None = None

    # -- where things are

    @property
    def spec_path(self) -> list[str | int]:
        return ["spec", "workflowSpec"] if self.manifest.kind == "CronWorkflow" else ["spec"]

    @property
    def spec_node(self) -> MappingNode | None:
        node = text.walk(self.root, self.spec_path)
        return node if isinstance(node, MappingNode) else None

    def template_node(self, name: str | None) -> MappingNode | None:
        templates = text.value(self.spec_node, "templates")
        if not isinstance(templates, SequenceNode) or name is None:
            return None
        if self._by_name is None:
            self._by_name = {}
            for item in templates.value:
                named = text.value(item, "name")
                if isinstance(item, MappingNode) and isinstance(named, ScalarNode):
                    self._by_name.setdefault(named.value, item)
        return self._by_name.get(name)

    def template(self, name: str | None) -> Template | None:
        return self.manifest.spec.templates.get(name) if name is not None else None

    @property
    def defaults(self) -> dict[str, Any]:
        """``spec.templateDefaults``: Argo merges it under every template (the template's own keys win)."""
        value = self.manifest.spec.raw.get("templateDefaults")
        return value if isinstance(value, dict) else {}

    # -- recording

    def changed(self, line: int, template: str | None, rule: str, description: str) -> None:
        self.changes.append(Change(line, template, rule, description))

    def hold(self, line: int, template: str | None, rule: str, reason: str, suggestion: str) -> None:
        if not any(h.template == template and h.rule == rule and h.reason == reason for h in self.held):
            self.held.append(NeedsHuman(line, template, rule, reason, suggestion))

    def once(self, node: Node, key: str) -> bool:
        """True the first time an edit of ``key`` on ``node`` is asked for (inherited findings repeat it)."""
        mark = (id(node), key)
        if mark in self.done:
            return False
        self.done.add(mark)
        return True

    # -- edits

    def add_key(self, mapping: Node | None, key: str, value: Any, *, before: tuple[str, ...] = (),
                owner: ScalarNode | None = None) -> bool:
        """Add ``key: value`` to a mapping, just before the first of ``before`` present (else at its end).

        ``owner`` is the key the mapping is the value of: an empty ``{}`` written on its line becomes a block.
        """
        if not isinstance(mapping, MappingNode) or text.entry(mapping, key) is not None:
            return False
        if mapping.flow_style and not mapping.value and owner is not None and self._unfoldable(owner, mapping):
            self.unfold.setdefault(id(mapping), (owner, mapping, {}))[2][key] = value
            return True
        if mapping.flow_style:
            return self._add_flow_key(mapping, key, value)
        if not mapping.value:
            return False
        keys = [k.value for k, _ in mapping.value]
        position = next((keys.index(b) for b in before if b in keys), len(keys))
        after = max(position - 1, 0) if position else len(keys) - 1
        column = mapping.value[0][0].start_mark.column
        lines = text.render({key: value}, column, step=self.step, offset=self.offset)
        at = self.source.entry_end(mapping, after)
        self.edits.append(Edit((at, 0), (at, 0), text.lines_text(lines, self.source.newline), order=len(self.edits)))
        return True

    def _unfoldable(self, owner: ScalarNode, mapping: MappingNode) -> bool:
        """``key: {}`` alone on its line (a comment after it is fine), with no anchor that aliases point to."""
        line = self.source.line(mapping.end_mark.line)
        tail = line[mapping.end_mark.column:].strip()
        between = line[owner.end_mark.column:mapping.end_mark.column]
        return (owner.start_mark.line == mapping.start_mark.line == mapping.end_mark.line
                and (not tail or tail.startswith("#")) and "&" not in between)  # an anchor stays in place

    def finish(self) -> None:
        """Write the ``{}`` that received keys as block mappings under their key (one rewritten line each)."""
        for owner, mapping, items in self.unfold.values():
            ordered = dict(sorted(items.items(), key=lambda kv: _KEY_ORDER.get(kv[0], len(_KEY_ORDER))))
            line = owner.start_mark.line
            self.edits.append(Edit((line, owner.end_mark.column), (line, mapping.end_mark.column), ":",
                                   order=len(self.edits)))
            lines = text.render(ordered, owner.start_mark.column + self.step, step=self.step, offset=self.offset)
            # order -1: the block goes right under its key, before any key inserted after that entry
            self.edits.append(Edit((line + 1, 0), (line + 1, 0), text.lines_text(lines, self.source.newline),
                                   order=-1))
        self.unfold.clear()

    def _add_flow_key(self, mapping: MappingNode, key: str, value: Any) -> bool:
        end = mapping.end_mark
        close = (end.line, end.column - 1)
        if self.source.line(end.line)[end.column - 1:end.column] != "}":
            return False
        piece = f"{key}: {text.flow(value)}"
        earlier = self.flow_added.get(id(mapping), 0)
        self.flow_added[id(mapping)] = earlier + 1
        self.edits.append(Edit(close, close, (", " if mapping.value or earlier else "") + piece,
                               order=len(self.edits)))
        return True

    @cached_property
    def step(self) -> int:
        """The file's mapping indentation (from the first nested block mapping of the spec)."""
        for mapping in text.iter_mappings(self.spec_node):
            for key, val in mapping.value:
                if isinstance(val, MappingNode) and not val.flow_style and val.value:
                    return max(int(val.value[0][0].start_mark.column - key.start_mark.column), 1)
        return 2

    @cached_property
    def offset(self) -> int:
        """How far the file's block sequences sit right of their key (``templates:`` decides)."""
        pair = text.entry(self.spec_node, "templates")
        if pair and isinstance(pair[1], SequenceNode) and not pair[1].flow_style:
            return self.source.offset_of(pair[1], pair[0])
        return 0


#: The order keys read best in when several are written into one new block.
_KEY_ORDER = {key: index for index, key in enumerate(("limit", "retryPolicy", "expression", "backoff"))}


def quoted(number: int) -> Quoted:
    """An IntOrString value as Argo's schema types it (a string) and its own examples write it."""
    return Quoted(str(number))
