"""The faults and decisions a simulated run is given (the ``pipeforge simulate`` flags)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

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
    """``GATE[:NAME=VALUE,...]`` → (gate, values)."""
    gate, _, rest = text.partition(":")
    if not gate.strip():
        raise ValueError(f"expected GATE[:NAME=VALUE,...], got {text!r}")
    values: dict[str, str] = {}
    for pair in filter(None, (p.strip() for p in rest.split(","))):
        name, eq, value = pair.partition("=")
        if not eq or not name.strip():
            raise ValueError(f"{text!r}: expected NAME=VALUE, got {pair!r}")
        values[name.strip()] = value
    return gate.strip(), values
