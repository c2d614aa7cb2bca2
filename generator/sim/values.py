"""Simulated values: scopes of ``{{variables}}``, numbers and durations on the virtual clock, deterministic names.

Names resolve against simulated values (runs are reproducible): ``workflow.name`` is stable for a run, ``pod.name`` and
``generateName`` suffixes are unique per attempt, ``retries`` is the attempt index. A value the simulator
cannot know offline (a container's output, a parameter given at submission) becomes a stable placeholder
such as ``<run-key>``, and the caller names that as an assumption.
"""

from __future__ import annotations

import json
import re
from typing import Any

from generator.argo_values import atoi, duration_seconds
from generator.sim.expr import ExpressionError

_ALPHABET = "bcdfghjklmnpqrstvwxz2456789"  # Kubernetes' rand.String alphabet: no vowels, no 0/1/3


def wait_seconds(text: str | None) -> float | None:
    """Seconds of an Argo duration on the virtual clock, None if Argo cannot parse it; a negative duration
    (which Argo accepts) is a deadline already passed or a wait already over: 0."""
    seconds = duration_seconds(text)
    return None if seconds is None else max(seconds, 0.0)


def suffix(seed: int, length: int = 5) -> str:
    """A deterministic name suffix that looks like Kubernetes' random ones (distinct for distinct seeds)."""
    n = (seed * 2654435761 + 97) % (len(_ALPHABET) ** length)
    chars = []
    for _ in range(length):
        n, r = divmod(n, len(_ALPHABET))
        chars.append(_ALPHABET[r])
    return "".join(chars)


class Scope:
    """Variables visible to one template invocation: its own, then its parent's (up to the globals)."""

    __slots__ = ("parent", "values")

    def __init__(self, values: dict[str, str], parent: Scope | None = None) -> None:
        self.values = values
        self.parent = parent

    def get(self, name: str) -> str | None:
        scope: Scope | None = self
        while scope is not None:
            value = scope.values.get(name)
            if value is not None:
                return value
            scope = scope.parent
        return None

    def child(self, values: dict[str, str]) -> Scope:
        return Scope(values, self)


def placeholder(name: str, *, in_expression: bool) -> str:
    """The stand-in for a value not known offline: ``<run-key>`` in names, one bare word in expressions."""
    short = name.removeprefix("workflow.parameters.")
    if in_expression:
        return "unknown:" + re.sub(r"[^\w.:-]+", "_", short)
    return f"<{short}>"


def item_values(item: Any) -> dict[str, str]:
    """``{{item}}`` and ``{{item.field}}`` of one withItems/withParam element."""
    if isinstance(item, dict):
        values = {"item": json.dumps(item, separators=(",", ":"))}
        values.update({f"item.{k}": _text(v) for k, v in item.items()})
        return values
    return {"item": _text(item)}


def _text(value: Any) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e21:
        return str(int(value))  # Go's encoding/json (how Argo renders {{= }} results) writes 6.0 as 6
    if isinstance(value, int | float):
        return str(value)
    return json.dumps(value, separators=(",", ":"))


def to_int(value: str) -> int:
    """A substituted IntOrString value as Argo reads it (``strconv.Atoi``: ``"3.5"`` and ``" 3"`` are no number)."""
    number = atoi(value)
    if number is None:
        raise ExpressionError(f"{value!r} is not a number")
    return number


def text(value: Any) -> str:
    return _text(value)


def _go_item(value: Any) -> str:
    """Argo's ``Item.String``: JSON, with the quotes of a string dropped (docs/argo-semantics.md)."""
    if isinstance(value, str):
        if value.isprintable() and '"' not in value and "\\" not in value:
            return value  # what JSON would write between the quotes anyway
        return json.dumps(value, ensure_ascii=False)[1:-1]
    if isinstance(value, float) and value.is_integer():
        value = int(value)  # Go's encoding/json writes 1.0 as 1
    return json.dumps(value, separators=(",", ":"), sort_keys=True, ensure_ascii=False)


def item_node_name(name: str, index: int, item: Any) -> str:
    """The node name Argo gives fan-out item ``index`` (``generateNodeName`` after ``processItem``):
    ``name(0:a)``; a map item ``name(0:k1:v1,k2:v2)`` with its ``key:value`` pairs sorted; a list item
    ``name(0:[a b])``; parentheses dropped from the description."""
    if isinstance(item, dict):
        desc = ",".join(sorted(f"{k}:{_go_item(v)}" for k, v in item.items()))
    elif isinstance(item, list):
        desc = "[" + " ".join(_go_item(v) for v in item) + "]"
    else:
        desc = _go_item(item)
    return f"{name}({index}:{desc.replace('(', '').replace(')', '')})"
