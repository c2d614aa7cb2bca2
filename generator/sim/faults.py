"""The faults and decisions a simulated run is given (the ``pipeforge simulate`` flags)."""

from __future__ import annotations

import json
import reprlib
from collections.abc import Mapping
from dataclasses import dataclass, field

from generator.errors import YamlLimitError
from generator.yamlio import load_json

#: The pod of the step cannot be created (Argo: a pod creation error, the node is Error).
UNSCHEDULABLE = "Unschedulable"
PHASE_WORDS = {"failed": "Failed", "error": "Error", "errored": "Error", "unschedulable": UNSCHEDULABLE}


@dataclass(frozen=True)
class Faults:
    """``fail``: step → (Failed or Error, how many first attempts; None = all), counted per node (each
    fan-out item has its own count) across re-runs of a retried parent. ``resume``: gate →
    supplied outputs. ``stop_at``/``terminate_at``: the step during which argo stop/terminate is issued."""

    fail: Mapping[str, tuple[str, int | None]] = field(default_factory=dict)
    hang: frozenset[str] = frozenset()
    resume: Mapping[str, Mapping[str, str]] = field(default_factory=dict)
    reject: frozenset[str] = frozenset()
    stop_at: str | None = None
    terminate_at: str | None = None

    def injected(self, step: str, attempt: int) -> str | None:
        """The phase an attempt of ``step`` is forced into, if any."""
        fault = self.fail.get(step)
        if fault is None:
            return None
        phase, count = fault
        return phase if count is None or attempt < count else None

    def steps(self) -> list[str]:
        named = [*self.fail, *self.hang, *self.resume, *self.reject, self.stop_at, self.terminate_at]
        return [s for s in dict.fromkeys(named) if s]

    def describe(self) -> list[str]:
        lines = []
        for step, (phase, count) in self.fail.items():
            times = "every attempt" if count is None else f"its first {count} attempt{'s' if count != 1 else ''}"
            what = "cannot create its pod" if phase == UNSCHEDULABLE else f"ends {phase}"
            lines.append(f"{step} {what} on {times}")
        lines += [f"{step} hangs until a deadline kills it" for step in self.hang]
        for gate, values in self.resume.items():
            supplied = ", ".join(f"{k}={v}" for k, v in values.items())
            lines.append(f"{gate} is resumed" + (f" with {supplied}" if supplied else ""))
        lines += [f"{gate} is rejected (argo stop on the node)" for gate in self.reject]
        if self.stop_at:
            lines.append(f"argo stop while {self.stop_at} runs")
        if self.terminate_at:
            lines.append(f"argo terminate while {self.terminate_at} runs")
        return lines


def parse_fail(text: str) -> tuple[str, tuple[str, int | None]]:
    """``STEP[=failed|error|unschedulable][:N]`` → (step, (phase, N)); raises ValueError with a readable message."""
    head, colon, count_text = text.rpartition(":") if ":" in text else (text, "", "")
    step, eq, word = head.partition("=")
    step = step.strip()
    if not step:
        raise ValueError(f"expected STEP[=failed|error|unschedulable][:N], got {text!r}")
    phase = PHASE_WORDS.get(word.strip().lower()) if eq else "Failed"
    if phase is None:
        raise ValueError(f"{text!r}: the phase must be failed, error or unschedulable, not {word!r}")
    count: int | None = None
    if colon:
        if not count_text.strip().isdigit() or int(count_text) < 1:
            raise ValueError(f"{text!r}: N must be a whole number of attempts, 1 or more")
        count = int(count_text)
    return step, (phase, count)


def parse_resume(text: str) -> tuple[str, dict[str, str]]:
    """``GATE[:NAME=VALUE,...]`` or ``GATE:{JSON object}`` → (gate, values).

    A VALUE with a comma (or any character) is written as a JSON string: ``msg="Hello, World!"``; the
    JSON object form carries any set of values: ``approval:{"msg": "Hello, World!"}``."""
    gate, _, rest = text.partition(":")
    if not gate.strip():
        raise ValueError(f"expected GATE[:NAME=VALUE,...] or GATE:{{JSON object}}, got {text!r}")
    if rest.lstrip().startswith("{"):
        return gate.strip(), _json_values(text, rest)
    values: dict[str, str] = {}
    position = 0
    while position < len(rest):
        name, eq, _ = rest[position:].partition("=")
        if not eq or not name.strip() or "," in name:
            pair = rest[position:].split(",", 1)[0]
            raise ValueError(f"{text!r}: expected NAME=VALUE, got {pair!r}")
        start = position + len(name) + 1
        value, position = _value(text, rest, start)
        values[name.strip()] = value
    return gate.strip(), values


def _value(text: str, rest: str, start: int) -> tuple[str, int]:
    """One VALUE from ``start``: a JSON string when it opens with a double quote, else up to the next comma."""
    if rest[start:start + 1] == '"':
        try:
            value, end = json.JSONDecoder().raw_decode(rest, start)
        except ValueError as exc:
            raise ValueError(f"{text!r}: the quoted value at column {start + 1} is not a JSON string: {exc}") from None
        if end < len(rest) and rest[end] != ",":
            raise ValueError(f"{text!r}: expected a comma after the quoted value, got {rest[end:]!r}")
        return str(value), end + 1
    end = rest.find(",", start)
    end = len(rest) if end < 0 else end
    return rest[start:end], end + 1


def _json_values(text: str, rest: str) -> dict[str, str]:
    # Bounded as every untrusted JSON is (an MCP caller writes these too): deep nesting is a limit named in
    # a ValueError, never a RecursionError out of json.loads.
    try:
        loaded = load_json(rest, file="the resume values")
    except YamlLimitError as exc:
        raise ValueError(f"{reprlib.repr(text)}: {exc.message}") from None
    except ValueError as exc:
        raise ValueError(f"{text!r}: the values are not a JSON object: {exc}") from None
    if not isinstance(loaded, dict) or not all(isinstance(v, str | int | float | bool) for v in loaded.values()):
        raise ValueError(f"{text!r}: expected a JSON object of NAME: VALUE (strings, numbers or booleans)")
    return {str(k): v if isinstance(v, str) else json.dumps(v) for k, v in loaded.items()}
