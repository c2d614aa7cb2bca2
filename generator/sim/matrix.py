"""The fault matrix: the fault-free run and every single fault, each checked for orphans and duplicates.

Scenarios (issue 4): each step failed permanently, errored permanently, failed once then recovered,
hung; argo stop while each step of the main graph runs (Stop lets exit-handler pods finish, so
stopping during the exit handler changes nothing for them); argo terminate while each step runs; each
approval gate approved and rejected (and left undecided until the deadline). Gates are approved in
every other scenario, with, for each supplied output, the first value of the input's ``enum`` that is
not its default (``approve=YES``), so the steps behind a gate are exercised.

Two documented exceptions do not fail the matrix:
- terminate: Argo runs no exit handler (reference §3), so what it leaves is a known gap; the row names
  the mitigation, an ownerReference to the Workflow, and which resources lack one;
- a cleanup or compensation step that itself fails permanently: allowed only when the workflow then
  ends Failed or Error, so the leak is loud.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from generator.sim.catalogue import StepInfo
from generator.sim.faults import Faults
from generator.simulate import SimulationResult, Target, simulate

PERMANENT = ("failed", "errored", "hung")


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
    excused: str | None = None
    mitigations: list[str] = field(default_factory=list)

    @property
    def violation(self) -> bool:
        return not self.result.safe and self.excused is None

    def verdict(self) -> str:
        if self.result.safe:
            return "safe" if self.result.phase != "Running" else "safe (never ends: " + (self.result.halted or "") + ")"
        return f"known gap: {self.excused}" if self.excused else "UNSAFE"

    def as_dict(self) -> dict[str, Any]:
        result = self.result
        return {
            "scenario": self.scenario.label,
            "phase": result.phase,
            "exit_handler": {"ran": result.exit_ran, "phase": result.exit_phase},
            "orphaned": [r.ref for r in result.orphaned],
            "duplicated": [n for _, names in result.duplicated for n in names],
            "reached": self.reached,
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

    def summary(self) -> str:
        count = len(self.rows)
        if not self.ok:
            names = "; ".join(
                f"{row.scenario.label}: orphans {', '.join(r.ref for r in row.result.orphaned) or 'nothing'}"
                + (f", duplicates {', '.join(d for _, ns in row.result.duplicated for d in ns)}"
                   if row.result.duplicated else "")
                for row in self.violations
            )
            return f"FAILED: {len(self.violations)} of {count} scenarios break the safety invariants ({names})"
        gaps = f"; {len(self.gaps)} known gap{'s' if len(self.gaps) != 1 else ''} (see the table)" if self.gaps else ""
        return f"PASSED: {count} scenarios, nothing orphaned or duplicated outside the documented exceptions{gaps}"

    def as_dict(self) -> dict[str, Any]:
        return {"manifest": self.manifest, "passed": self.ok, "scenarios": [row.as_dict() for row in self.rows]}


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
                Scenario(f"{name} failed once, then recovered", "recovered", name,
                         with_gates(fail={name: ("Failed", 1)})),
                Scenario(f"{name} hung", "hung", name, with_gates(hang=frozenset({name}))),
            ]
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
    steps = target.steps()
    rows = []
    for scenario in scenarios(target):
        result = simulate(target, scenario.faults)
        reached = scenario.step is None or scenario.step in result.touched
        rows.append(_judge(scenario, result, reached, steps))
    return MatrixResult(target.manifest.label, rows)


def _judge(scenario: Scenario, result: SimulationResult, reached: bool, steps: dict[str, StepInfo]) -> Row:
    if result.safe:
        return Row(scenario, result, reached)
    if scenario.kind == "terminate" and not result.duplicated:
        mitigations = [
            f"{r.ref}: owned by the Workflow, garbage-collected when it is deleted"
            if r.owned else
            f"{r.ref}: no ownerReference; add one to the Workflow (setOwnerReference: true) or sweep it by label"
            for r in result.orphaned
        ]
        return Row(scenario, result, reached, "argo terminate runs no exit handler", mitigations)
    info = steps.get(scenario.step or "")
    if scenario.kind in PERMANENT and info is not None and info.cleanup and result.phase in ("Failed", "Error"):
        return Row(scenario, result, reached, f"the cleanup step fails for good and the workflow ends {result.phase}")
    return Row(scenario, result, reached)


def _cells(row: Row) -> list[list[str]]:
    result = row.result
    exit_cell = "none" if result.exit_handler is None else (
        f"ran ({result.exit_phase})" if result.exit_ran else "did not run")
    return [
        [row.scenario.label + ("" if row.reached else " (not reached)")],
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
