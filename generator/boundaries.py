"""Rendering a template at the edges of its parameters, so a publish catches what its defaults hide.

A template can render its defaults cheaply and still blow up for a value its schema allows: ``'x' *
count`` with ``count`` at its maximum, a loop over every character of the longest allowed name. Before a
version is accepted it is rendered (within the render budget) with each parameter in turn at each of its
edges, the others at their defaults, and once with every parameter at its largest:

- boolean: true and false; an ``enum``: every value;
- integer: ``minimum`` and ``maximum``, or +/-2**31-1 where the schema sets no bound;
- string: the shortest and the longest allowed (``minLength``/``maxLength``, else LONGEST_STRING
  characters), built from the default and kept only when the parameter's rules accept it (a pattern no
  such construction satisfies is left at its default: this is a search, not a regex solver).
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

from generator.errors import BudgetExceeded, InvalidParametersError, TemplateDefinitionError
from generator.params import check_value, validate
from generator.render import render
from generator.sandbox import RENDER_SECONDS, Budget
from generator.template_spec import ParameterSpec, TemplateSpec

LONGEST_STRING = 10_000  # the longest text the MCP tools accept for one parameter
UNBOUNDED_INTEGER = 2**31 - 1
CHECK_SECONDS = 10.0  # wall clock of every boundary render of one publish together


def _strings_of(spec: ParameterSpec, length: int) -> Iterator[str]:
    """Candidates of exactly ``length`` characters: the default stretched (one of its characters repeated,
    so ``busybox:1.36.1`` becomes ``busyboxxx...x:1.36.1``), repeated, or one character many times."""
    seed = str(spec.default or "") or "a"
    if len(seed) >= length:
        yield seed[:length]
    for at in range(min(len(seed), 64)):
        grown = length - len(seed)
        if grown >= 0:
            yield seed[:at] + seed[at] * (grown + 1) + seed[at + 1:]
    yield (seed * (length // len(seed) + 1))[:length]
    for char in "a0x":
        yield char * length


def _string_edges(spec: ParameterSpec) -> list[tuple[str, str]]:
    edges = []
    shortest, longest = int(spec.schema.get("minLength", 0)), int(spec.schema.get("maxLength", LONGEST_STRING))
    for lengths, why in (((shortest, shortest + 1), "its shortest allowed value"),
                         ((longest, longest - 1), "its longest allowed value")):
        found = next((s for n in lengths for s in _strings_of(spec, n) if check_value(spec, s) is None), None)
        if found is not None:
            edges.append((found, why))
    return edges


def edges(spec: ParameterSpec) -> list[tuple[Any, str]]:
    """(value, why) for each edge of one parameter's schema that its rules accept."""
    if spec.enum is not None:
        return [(value, "one of its allowed values") for value in spec.enum]
    if spec.type == "boolean":
        return [(True, "true"), (False, "false")]
    if spec.type == "integer":
        low, high = spec.schema.get("minimum", -UNBOUNDED_INTEGER), spec.schema.get("maximum", UNBOUNDED_INTEGER)
        found = [(low, "its minimum"), (high, "its maximum")]
        return [(value, why) for value, why in found if check_value(spec, value) is None]
    if spec.type == "string":
        return _string_edges(spec)
    return []


def _cases(template: TemplateSpec) -> Iterator[tuple[dict[str, Any], str]]:
    largest: dict[str, Any] = {}
    for spec in template.parameters:
        found = edges(spec)
        for value, why in found:
            shown = repr(value) if len(repr(value)) <= 40 else f"{repr(value)[:30]}... ({len(value):,} characters)"
            yield {spec.name: value}, f"{spec.name}={shown} ({why})"
        if found and spec.enum is None:
            largest[spec.name] = found[-1][0]
    if largest:
        yield largest, "every parameter at its largest"


def check_boundaries(template: TemplateSpec, *, source: str) -> None:
    """Render ``template`` at the edges of its parameters; a TemplateDefinitionError naming the values and
    the budget when one of those renders costs more than its budget. A render that fails for another
    reason is not a refusal: that value gets its own clear error whenever it is asked for."""
    deadline = time.monotonic() + CHECK_SECONDS
    for given, label in _cases(template):
        try:
            values = validate(template, given)
        except InvalidParametersError:
            continue  # a combination the cross-field rules refuse cannot be asked for
        seconds = min(RENDER_SECONDS, deadline - time.monotonic())
        if seconds <= 0:
            raise TemplateDefinitionError(f"{source}: rendering at the edges of the parameters took more than "
                                          f"{CHECK_SECONDS:g} s altogether (publish budget)")
        try:
            render(template, values, budget=Budget(seconds=seconds))
        except BudgetExceeded as exc:
            raise TemplateDefinitionError(f"{source}: with {label}, {exc.message}") from None
        except TemplateDefinitionError:
            continue  # a value the template cannot render (a path it refuses...) is a 422 when someone asks
