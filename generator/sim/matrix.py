"""The fault matrix: the fault-free run and every single fault, each checked for orphans and duplicates.

Scenarios, each a way a real run fails: each step failed permanently, errored permanently, failed once then recovered,
hung; argo stop while each step of the main graph runs (Stop lets exit-handler pods finish, so
stopping during the exit handler changes nothing for them); argo terminate while each step runs; each
approval gate approved and rejected (and left undecided until the deadline). Gates are approved in
every other scenario, with, for each supplied output, the first value of the input's ``enum`` that is
not its default (``approve=YES``), so the steps behind a gate are exercised.

The documented exceptions that do not fail the matrix are judged in ``generator.sim.verdict``, the same
way as for a single run. A scenario that never ends (a retry without limit, a hang no deadline reaches)
is unsafe. Each row is labelled by what happened, not only by what was injected: "failed once, not
retried: OnError does not retry failures" when the step's policy does not retry the fault.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from generator.sim.catalogue import StepInfo
from generator.sim.faults import UNSCHEDULABLE, Faults
from generator.sim.retry import RETRIED
from generator.simulate import SimulationResult, Target, simulate

#: Scenario kinds that inject a fault (the baseline and the gate decisions do not).
FAULT_KINDS = ("failed", "errored", "unschedulable", "recovered", "hung", "stop", "terminate")


@dataclass(frozen=True)
class Scenario:
    label: str
    kind: str  # baseline, failed, errored, recovered, hung, stop, terminate, approved, rejected
    step: str | None
    faults: Faults


@dataclass(frozen=True)
class Row:
    scenario: Scenario
    result: SimulationResult
    reached: bool
    label: str = ""  # what happened, when it differs from what was injected

    @property
    def excused(self) -> str | None:
        return self.result.excused

    @property
    def mitigations(self) -> list[str]:
        return list(self.result.mitigations)

    @property
    def violation(self) -> bool:
        return not self.result.ok

    @property
    def title(self) -> str:
        return self.label or self.scenario.label

    def verdict(self) -> str:
        if self.result.safe:
            return "safe"
        if self.result.never_ends is not None:
            return f"UNSAFE: never ends ({self.result.never_ends})"
        return f"known gap: {self.excused}" if self.excused else "UNSAFE"

    def as_dict(self) -> dict[str, Any]:
        result = self.result
        return {
            "scenario": self.title,
            "injected": self.scenario.label,
            "phase": result.phase,
            "exit_handler": {"ran": result.exit_ran, "phase": result.exit_phase},
            "orphaned": [r.ref for r in result.orphaned],
            "duplicated": [n for _, names in result.duplicated for n in names],
            "reached": self.reached,
            "never_ends": result.never_ends,
            "verdict": "violation" if self.violation else ("known gap" if self.excused else "safe"),
            "excused": self.excused,
            "mitigations": self.mitigations,
        }


@dataclass(frozen=True)
class MatrixResult:
    manifest: str
    rows: list[Row]

    @property
    def ok(self) -> bool:
        return not any(row.violation for row in self.rows)

    @property
    def violations(self) -> list[Row]:
        return [row for row in self.rows if row.violation]

    @property
    def gaps(self) -> list[Row]:
        return [row for row in self.rows if row.excused and not row.result.safe]

    @property
    def passed(self) -> bool:
        """Safe in every scenario, and at least one scenario injected a fault."""
        return self.ok and self.injected > 0

    @property
    def injected(self) -> int:
        """How many scenarios injected a fault (the fault-free run and gate decisions do not)."""
        return sum(1 for row in self.rows if row.scenario.kind in FAULT_KINDS)

    def summary(self) -> str:
        count = len(self.rows)
        if not self.ok:
            names = "; ".join(_violation(row) for row in self.violations)
            return f"FAILED: {len(self.violations)} of {count} scenarios break the safety invariants ({names})"
        if not self.injected:
            return ("NO FAULT INJECTED: nothing in this workflow runs a pod a fault can hit, so only the "
                    "fault-free run was checked; this is not a pass")
        gaps = f"; {len(self.gaps)} known gap{'s' if len(self.gaps) != 1 else ''} (see the table)" if self.gaps else ""
        return f"PASSED: {count} scenarios, nothing orphaned or duplicated outside the documented exceptions{gaps}"

    def as_dict(self) -> dict[str, Any]:
        return {"manifest": self.manifest, "passed": self.passed, "faults_injected": self.injected,
                "scenarios": [row.as_dict() for row in self.rows]}


def _violation(row: Row) -> str:
    result = row.result
    if result.never_ends is not None:
        return f"{row.title}: never ends ({result.never_ends})"
    text = f"{row.title}: orphans {', '.join(r.ref for r in result.orphaned) or 'nothing'}"
    if result.duplicated:
        text += f", duplicates {', '.join(d for _, ns in result.duplicated for d in ns)}"
    return text


def approving_values(info: StepInfo) -> dict[str, str]:
    """What an approver supplies at a gate: per supplied output, the first enum value that is not the
    input's default (``YES`` for ``enum: [YES, NO]``, default ``NO``); otherwise nothing (the defaults)."""
    inputs = {p.name: p for p in info.template.inputs}
    values = {}
    for out in info.template.outputs:
        param = inputs.get(out.name)
        if not out.supplied or param is None or not param.enum:
            continue
        default = str(param.default) if param.default is not None else None
        choice = next((v for v in param.enum if v != default), None)
        if choice is not None:
            values[out.name] = choice
    return values


def scenarios(target: Target) -> list[Scenario]:
    steps = target.steps()
    gates = {name: approving_values(info) for name, info in steps.items() if info.gate}

    def with_gates(**kwargs: Any) -> Faults:
        undecided = {*kwargs.get("reject", ()), *kwargs.get("hang", ())}
        resume = {g: v for g, v in gates.items() if g not in undecided}
        resume.update(kwargs.pop("resume", {}))
        return Faults(resume=resume, **kwargs)

    approved = ", ".join(f"{g} {' '.join(f'{k}={v}' for k, v in vals.items()) or 'with defaults'}"
                         for g, vals in gates.items())
    out = [Scenario("fault-free" + (f" (gates approved: {approved})" if gates else ""), "baseline", None, with_gates())]
    for name, info in steps.items():
        if info.gate:
            out += _gate_scenarios(name, info, gates, with_gates)
        elif info.runs:
            out += [
                Scenario(f"{name} failed permanently", "failed", name, with_gates(fail={name: ("Failed", None)})),
                Scenario(f"{name} errored permanently", "errored", name, with_gates(fail={name: ("Error", None)})),
                Scenario(f"{name} failed once", "recovered", name, with_gates(fail={name: ("Failed", 1)})),
                Scenario(f"{name} hung", "hung", name, with_gates(hang=frozenset({name}))),
            ]
            if info.template.runs_pod:
                out.append(Scenario(f"{name} could not be scheduled (its pod is never created)", "unschedulable",
                                    name, with_gates(fail={name: (UNSCHEDULABLE, None)})))
        if (info.gate or info.runs) and info.stage == "main":
            out.append(Scenario(f"argo stop while {name} runs", "stop", name, with_gates(stop_at=name)))
        if info.gate or info.runs:
            out.append(Scenario(f"argo terminate while {name} runs", "terminate", name, with_gates(terminate_at=name)))
    return out


def _gate_scenarios(name: str, info: StepInfo, gates: dict[str, dict[str, str]], with_gates: Any) -> list[Scenario]:
    out = []
    if gates[name]:
        defaults = ", ".join(f"{p.name}={p.default}" for p in info.template.inputs if p.name in gates[name])
        out.append(Scenario(f"{name} approved with the defaults ({defaults})", "approved", name,
                            with_gates(resume={name: {}})))
    else:
        out.append(Scenario(f"{name} approved", "approved", name, with_gates()))
    out.append(Scenario(f"{name} rejected", "rejected", name, with_gates(reject=frozenset({name}))))
    wait = f"auto-resumes after {info.template.suspend_duration}" if info.template.suspend_duration else \
        "until the deadline"
    out.append(Scenario(f"{name} left undecided ({wait})", "hung", name, with_gates(hang=frozenset({name}))))
    return out


def run_matrix(target: Target) -> MatrixResult:
    rows = []
    for scenario in scenarios(target):
        result = simulate(target, scenario.faults)
        reached = scenario.step is None or scenario.step in result.touched
        rows.append(Row(scenario, result, reached, _what_happened(scenario, result, target)))
    return MatrixResult(target.manifest.label, rows)


def _what_happened(scenario: Scenario, result: SimulationResult, target: Target) -> str:
    """The label of a "failed once" row, by outcome: recovered by a retry, or why it was not retried."""
    if scenario.kind != "recovered" or scenario.step is None:
        return ""
    name = scenario.step
    nodes = [n for n in result.nodes if n.step == name and n.children is None and n.attempts > 0]
    if not nodes:
        return ""
    if all(n.phase == "Succeeded" for n in nodes):
        return f"{name} failed once, then recovered (retried)"
    if max(n.attempts for n in nodes) > 1:
        return f"{name} failed once, retried, and still ended {nodes[-1].phase}"
    info = target.steps()[name]
    retry = info.template.retry or target.manifest.spec.retry
    if retry is None:
        why = "it has no retryStrategy"
    elif retry.effective_policy not in RETRIED:
        why = f"retryPolicy {retry.effective_policy!r} is not one Argo knows"
    elif "Failed" not in RETRIED[retry.effective_policy]:
        why = f"{retry.effective_policy} does not retry failures"
    else:
        why = "its retryStrategy allows no retry here (limit 0, expression or deadline)"
    return f"{name} failed once, not retried: {why}"


def _cells(row: Row) -> list[list[str]]:
    result = row.result
    exit_cell = "none" if result.exit_handler is None else (
        f"ran ({result.exit_phase})" if result.exit_ran else "did not run")
    return [
        [row.title + ("" if row.reached else " (not reached)")],
        [result.phase],
        [exit_cell],
        [r.ref for r in result.orphaned] or ["-"],
        [n for _, names in result.duplicated for n in names] or ["-"],
        [row.verdict(), *row.mitigations],
    ]


HEADINGS = ["Scenario", "Workflow", "Exit handler", "Orphaned", "Duplicated", "Verdict"]


def to_markdown(matrix: MatrixResult) -> str:
    """The table for a README: GitHub-flavoured Markdown (``<`` escaped, so ``<run-key>`` shows)."""

    def cell(items: list[str]) -> str:
        return "<br>".join(i.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;") for i in items)

    lines = ["| " + " | ".join(HEADINGS) + " |", "|" + "---|" * len(HEADINGS)]
    for row in matrix.rows:
        lines.append("| " + " | ".join(cell(c).replace("|", "\\|") for c in _cells(row)) + " |")
    return "\n".join(lines) + "\n\n" + matrix.summary() + "\n"


def to_text(matrix: MatrixResult) -> str:
    """The table for a terminal: aligned columns, one line per value."""
    rows = [[[h] for h in HEADINGS], *(_cells(row) for row in matrix.rows)]
    widths = [min(max(len(v) for r in rows for v in r[i][:1]), 60) for i in range(len(HEADINGS) - 1)]
    lines = []
    for row in rows:
        height = max(len(c) for c in row)
        for k in range(height):
            parts = [(c[k] if k < len(c) else "").ljust(w) for c, w in zip(row[:-1], widths, strict=True)]
            last = row[-1][k] if k < len(row[-1]) else ""
            lines.append("  ".join([*parts, last]).rstrip())
    return "\n".join(lines) + "\n\n" + matrix.summary() + "\n"
