"""Structural checks of Argo documents: known keys and value types per Argo object.

Argo's JSON schema allows any key anywhere, so a misspelt ``onexit`` or ``retrystrategy`` validates and
silently disables safety. This walks a document against the field table derived from Argo's SDK models
(``generator.fields``) and reports every unknown key, with the nearest valid one, and every value of the
wrong shape.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass
from typing import Any

from generator.fields import KIND_MODELS, FieldTable, FieldType, field_table
from generator.yamlio import LineDict, LineList


@dataclass(frozen=True)
class StructureProblem:
    """One mismatch with Argo's field table: where (dotted path and line), what, and a suggested field.

    Not a finding (``generator.findings``): it has no rule, no severity and no template yet. The rules
    PF003 (``unknown``) and PF004 (``generator.rules.structural``) turn each one into a finding, tying it to
    its template through the typed model; the renderer lists them in a ``TemplateDefinitionError``.
    """

    path: str
    line: int
    message: str
    suggestion: str | None = None
    unknown: bool = False  # a key the object does not have (rather than a value of the wrong shape)


def _line(container: Any, key: str | int, fallback: int) -> int:
    if isinstance(container, LineDict) and isinstance(key, str):
        return container.line_of(key)
    if isinstance(container, LineList) and isinstance(key, int):
        return container.line_of(key)
    return getattr(container, "line", fallback)


def _nearest(key: str, known: dict[str, FieldType]) -> str | None:
    folded = {name.lower().replace("_", "").replace("-", ""): name for name in known}
    exact = folded.get(key.lower().replace("_", "").replace("-", ""))
    if exact is not None:
        return exact
    close = difflib.get_close_matches(key, list(known), n=1, cutoff=0.75)
    return close[0] if close else None


def _templated(value: Any) -> bool:
    return isinstance(value, str) and "{{" in value


def _scalar_ok(expected: str, value: Any) -> bool:
    if value is None or _templated(value):
        return True
    if expected == "int":
        return isinstance(value, int) and not isinstance(value, bool)
    if expected == "float":
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    if expected == "bool":
        return isinstance(value, bool)
    return not isinstance(value, (dict, list))  # "str": any scalar (IntOrString, quantities, AnyString)


def _plainly_fine(expected: FieldType, value: Any) -> bool:
    """What ``_Walker.check`` accepts without looking further: nothing, or a scalar of the right shape."""
    return value is None or (isinstance(expected, str) and (expected == "any" or _scalar_ok(expected, value)))


_UNKNOWN: Any = object()  # not a field of the model (a field's type is never this)
_SHAPE_NAMES = {"int": "an integer", "float": "a number", "bool": "true or false", "str": "a scalar"}


class _Walker:
    def __init__(self, table: FieldTable) -> None:
        self.table = table
        self.problems: list[StructureProblem] = []

    def check(self, expected: FieldType, value: Any, path: str, line: int) -> None:
        if value is None:
            return
        if isinstance(expected, str):
            if expected != "any" and not _scalar_ok(expected, value):
                self._type_problem(path, line, _SHAPE_NAMES.get(expected, expected), value)
            return
        if "model" in expected:
            self._model(expected["model"], value, path, line)
        elif "list" in expected:
            self._list(expected["list"], value, path, line)
        else:
            self._map(expected["map"], value, path, line)

    def _type_problem(self, path: str, line: int, wanted: str, value: Any) -> None:
        got = "a mapping" if isinstance(value, dict) else "a list" if isinstance(value, list) else repr(value)
        self.problems.append(StructureProblem(path, line, f"{path} must be {wanted}, not {got}"))

    def _model(self, model: str, value: Any, path: str, line: int) -> None:
        fields = self.table.get(model)
        if fields is None:
            return
        if not isinstance(value, dict):
            self._type_problem(path, line, "a mapping", value)
            return
        for key, item in value.items():
            expected = fields.get(key, _UNKNOWN)
            if expected is not _UNKNOWN and _plainly_fine(expected, item):
                continue  # no path to spell out: most of the walk's time went on paths never reported
            sub = f"{path}.{key}" if path else str(key)
            key_line = _line(value, key, line)
            if expected is not _UNKNOWN:
                self.check(expected, item, sub, key_line)
                continue
            near = _nearest(str(key), fields)
            hint = f"did you mean '{near}'?" if near else None
            msg = f"unknown field '{key}' in {path or 'the document'}"
            self.problems.append(StructureProblem(sub, key_line, msg + (f"; {hint}" if hint else ""), near,
                                                  unknown=True))

    def _list(self, item_type: FieldType, value: Any, path: str, line: int) -> None:
        if not isinstance(value, list):
            if not _templated(value):
                self._type_problem(path, line, "a list", value)
            return
        for index, item in enumerate(value):
            if _plainly_fine(item_type, item):
                continue
            self.check(item_type, item, f"{path}[{index}]", _line(value, index, line))

    def _map(self, item_type: FieldType, value: Any, path: str, line: int) -> None:
        if not isinstance(value, dict):
            self._type_problem(path, line, "a mapping", value)
            return
        for key, item in value.items():
            self.check(item_type, item, f"{path}.{key}", _line(value, key, line))


def check_document(document: Any, *, table: FieldTable | None = None) -> list[StructureProblem]:
    """Every structural problem in one Argo document (a non-Argo kind gives no problems)."""
    if not isinstance(document, dict):
        return []
    model = KIND_MODELS.get(str(document.get("kind")))
    if model is None:
        return []
    walker = _Walker(table if table is not None else field_table())
    walker.check({"model": model}, document, "", getattr(document, "line", 1))
    return walker.problems
