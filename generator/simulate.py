"""``pipeforge simulate``: fail an Argo pipeline on purpose, offline, and check that it cleans up.

A deterministic discrete-event simulator of Argo's controller semantics (``generator.sim.engine``) runs
the manifest on a virtual clock with the faults asked for, keeps a ledger of the side effects each
attempt performs, and reports the workflow phase, the exit handler, every node, the timeline and the
resources created, deleted, orphaned and duplicated. The safety invariants: nothing orphaned, nothing
duplicated. ``run_matrix`` (``generator.sim.matrix``) runs every single fault.

Library first: ``load`` reads a file, ``check_faults`` validates what the flags name, ``simulate`` runs.
"""

from __future__ import annotations

import dataclasses
import difflib
import functools
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from generator.errors import UsageError
from generator.model import Manifest, load_manifests, parse_documents
from generator.sim.catalogue import StepInfo, aliases_of, steps_of
from generator.sim.engine import Engine, workflow_name
from generator.sim.faults import UNSCHEDULABLE, Faults
from generator.sim.ledger import Ledger, Resource
from generator.sim.nodes import Event, SimNode
from generator.sim.validate import validate
from generator.sim.verdict import excuse
from generator.yamlio import load_documents

__all__ = ["Faults", "SimulationResult", "Target", "check_faults", "load", "simulate"]

#: Argo features the simulator does not model, found by key, and what it assumes instead.
_GAPS = {
    "daemon": "daemoned steps are simulated as ordinary steps that finish",
    "sidecars": "sidecars are not simulated (a sidecar exiting 137/143 is ignored by Argo anyway)",
    "initContainers": "init containers are not simulated (an init container failure is an Error)",
    "memoize": "memoization is not simulated: every step runs",
    "synchronization": "synchronization (mutexes, semaphores) is not simulated: locks are always free",
    "parallelism": "parallelism limits are not simulated: every ready step starts at once",
    "failFast": "template.failFast is not simulated (dag.failFast is)",
    "podSpecPatch": "podSpecPatch is not simulated",
}


@dataclass
class Target:
    """What to simulate: one manifest, with the file's other documents for templateRef."""

    manifest: Manifest
    library: list[Manifest]

    @functools.cached_property
    def _steps(self) -> dict[str, StepInfo]:
        return steps_of(self.manifest, self.library, workflow_name(self.manifest))

    def steps(self) -> dict[str, StepInfo]:
        """Every step or task name it can run (see ``generator.sim.catalogue``), computed once."""
        return self._steps

    @functools.cached_property
    def aliases(self) -> dict[str, str]:
        """Every name a flag may use for a step (a leaf entrypoint or exit handler has several)."""
        return aliases_of(self._steps)

    def canonical(self, faults: Faults) -> Faults:
        """``faults`` with every alias replaced by the step's canonical name."""
        name = self.aliases.get
        return dataclasses.replace(
            faults,
            fail={name(k, k): v for k, v in faults.fail.items()},
            hang=frozenset(name(k, k) for k in faults.hang),
            resume={name(k, k): v for k, v in faults.resume.items()},
            reject=frozenset(name(k, k) for k in faults.reject),
            stop_at=name(faults.stop_at, faults.stop_at) if faults.stop_at else None,
            terminate_at=name(faults.terminate_at, faults.terminate_at) if faults.terminate_at else None,
        )

    def validate(self) -> None:
        """Raise InvalidWorkflowError listing every problem Argo would reject the workflow for."""
        validate(self.manifest, self.library)

    def roots(self) -> dict[str, str]:
        """The step names of a leaf entrypoint ("entry") and a leaf exit handler ("exit")."""
        return {i.role: i.name for i in self._steps.values() if i.role in ("entry", "exit")}

    @functools.cached_property
    def gaps(self) -> list[str]:
        """What the manifest uses that the simulator does not model (named as assumptions)."""
        return _gaps(self.manifest)


@dataclass(frozen=True)
class SimulationResult:
    manifest: str
    workflow: str
    phase: str  # Succeeded, Failed, Error, or Running (waiting at a gate, hung, retrying forever)
    halted: str | None
    exit_handler: str | None
    exit_ran: bool
    exit_phase: str | None
    nodes: list[SimNode]
    events: list[Event]
    ledger: Ledger
    orphaned: list[Resource]
    duplicated: list[tuple[str, list[str]]]
    assumptions: list[str]
    faults: Faults
    unreached: list[str]  # steps a fault named that never ran
    touched: frozenset[str]
    removed_with_workflow: tuple[tuple[str, str], ...] = ()  # (ref, when) of owned objects left at the end
    never_ends: str | None = None  # why no bound ends the run ("retries forever", "hangs with no deadline")
    excused: str | None = None  # the documented exception the broken invariants fall under, if any
    mitigations: tuple[str, ...] = ()

    @property
    def safe(self) -> bool:
        """Nothing orphaned, nothing duplicated, and the run ends."""
        return not self.orphaned and not self.duplicated and self.never_ends is None

    @property
    def ok(self) -> bool:
        """Safe, or unsafe only in a documented known gap (the exit status follows this)."""
        return self.safe or self.excused is not None

    def as_dict(self) -> dict[str, Any]:
        """The ``--json`` shape scripts and the registry read (plus the assumptions and why a run is still Running)."""
        return {
            "phase": self.phase,
            "exit_handler": {"ran": self.exit_ran, "phase": self.exit_phase},
            "nodes": [
                {"name": n.name, "template": n.template, "phase": n.phase, "attempts": n.attempts}
                for n in self.nodes
            ],
            "resources": {
                "created": list(dict.fromkeys(self.ledger.created)),
                "deleted": list(dict.fromkeys(self.ledger.deleted)),
                "orphaned": [r.ref for r in self.orphaned],
                "duplicated": [name for _, names in self.duplicated for name in names],
                "removed_with_workflow": [{"resource": ref, "when": when} for ref, when in self.removed_with_workflow],
                "inferred_from_commands": {r.ref: r.inferred for r in self.ledger.resources.values() if r.inferred},
            },
            "events": [e.as_dict() for e in self.events],
            "assumptions": self.assumptions,
            "waiting": self.halted,
            "never_ends": self.never_ends,
            "verdict": "safe" if self.safe else ("known gap" if self.excused else "unsafe"),
            "excused": self.excused,
            "mitigations": list(self.mitigations),
        }


def load(path: Path) -> Target:
    """The manifest a file asks to simulate: its first Workflow (or CronWorkflow), else its first
    WorkflowTemplate; every document of the file can be the target of a templateRef."""
    if path.is_dir():
        raise UsageError(f"{path} is a folder: simulate reads one manifest file")
    if not path.is_file():
        raise UsageError(f"{path}: no such file")
    return _target(load_manifests(path), str(path))


def load_text(text: str, file: str = "<string>") -> Target:
    """``load`` for YAML text (malformed YAML raises ManifestError)."""
    return _target(parse_documents(load_documents(text, file=file), file=file), file)


def _target(manifests: list[Manifest], file: str) -> Target:
    if not manifests:
        raise UsageError(f"{file}: no Argo Workflow, WorkflowTemplate, ClusterWorkflowTemplate or CronWorkflow")
    runnable = [m for m in manifests if m.kind in ("Workflow", "CronWorkflow")]
    runnable = runnable or [m for m in manifests if m.spec.entrypoint] or manifests
    chosen = _with_referenced_spec(runnable[0], manifests)
    if not chosen.spec.entrypoint and chosen.spec.workflow_template_ref is None:
        raise UsageError(f"{file}: {chosen.label} has no entrypoint, so there is nothing to run: it is a library "
                         "of templates; simulate a Workflow that uses it (put both in one file)")
    return Target(chosen, manifests)


def _with_referenced_spec(manifest: Manifest, library: list[Manifest]) -> Manifest:
    """A Workflow that runs a WorkflowTemplate of the same file (``workflowTemplateRef``) runs its spec,
    with the Workflow's own arguments, entrypoint and exit handler taking precedence."""
    ref = manifest.spec.workflow_template_ref
    if ref is None:
        return manifest
    kind = "ClusterWorkflowTemplate" if ref.get("clusterScope") is True else "WorkflowTemplate"
    base = next((m for m in library if m.kind == kind and m.name == ref.get("name")), None)
    if base is None:
        return manifest
    own = manifest.spec
    given = {p.name: p for p in own.arguments}
    arguments = tuple(given.pop(p.name, p) for p in base.spec.arguments) + tuple(given.values())
    spec = dataclasses.replace(
        base.spec,
        arguments=arguments,
        entrypoint=own.entrypoint or base.spec.entrypoint,
        on_exit=own.on_exit or base.spec.on_exit,
        active_deadline_seconds=own.active_deadline_seconds or base.spec.active_deadline_seconds,
    )
    return dataclasses.replace(manifest, spec=spec)


def check_faults(target: Target, faults: Faults) -> None:
    """Every step a flag names must exist (and be of the right kind); all problems are listed at once."""
    steps = target.steps()
    faults = target.canonical(faults)
    problems = []
    known = ", ".join(steps) or "none"
    for name in faults.steps():
        if name not in steps:
            near = difflib.get_close_matches(name, list(steps), n=1)
            hint = f"; did you mean {near[0]!r}?" if near else ""
            problems.append(f"no step or task named {name!r} in {target.manifest.label}{hint} (its steps: {known})")
    for name in [*faults.fail, *faults.hang]:
        info = steps.get(name)
        if info is not None and not info.runs and not (info.gate and name in faults.hang):
            problems.append(f"{name!r} runs the {info.template.kind} template {info.template.name!r}: "
                            "--fail and --hang name a step that runs a pod (or --hang a gate)")
        elif info is not None and faults.fail.get(name, ("",))[0] == UNSCHEDULABLE and not info.template.runs_pod:
            problems.append(f"{name!r} runs the {info.template.kind} template {info.template.name!r}, which has no "
                            "pod of its own: =unschedulable names a step that runs a pod")
    for name in [*faults.resume, *faults.reject]:
        info = steps.get(name)
        if info is not None and not info.gate:
            problems.append(f"{name!r} is not an approval gate (a suspend step): --resume/--reject name a gate")
        elif info is not None and name in faults.resume:
            supplied = {p.name for p in info.template.outputs if p.supplied}
            for key in faults.resume[name]:
                if key not in supplied:
                    problems.append(f"--resume {name}: {key!r} is not an output with valueFrom.supplied "
                                    f"(supplied: {', '.join(sorted(supplied)) or 'none'})")
    both = set(faults.resume) & set(faults.reject)
    problems += [f"{name!r} is both resumed and rejected" for name in sorted(both)]
    if problems:
        raise UsageError("; ".join(problems) if len(problems) == 1 else
                         f"{len(problems)} problems:\n" + "\n".join(f"  - {p}" for p in problems))


def simulate(target: Target, faults: Faults | None = None) -> SimulationResult:
    """Run the manifest on the virtual clock with ``faults``; deterministic, never raises for odd input."""
    faults = target.canonical(faults or Faults())
    engine = Engine(target.manifest, target.library, faults, target.roots())
    for gap in target.gaps:
        engine.assume(gap)
    engine.run()
    phase = engine.phase if engine.finished else "Running"
    orphaned = engine.ledger.orphaned(phase) if engine.finished else []
    steps = target.steps()
    unreached = [s for s in faults.steps() if s not in engine.touched and s in steps]
    result = SimulationResult(
        manifest=target.manifest.label,
        workflow=engine.workflow_name,
        phase=phase,
        halted=engine.halted if not engine.finished else None,
        exit_handler=target.manifest.spec.exit_handler,
        exit_ran=engine.exit_ran,
        exit_phase=engine.exit_phase,
        nodes=engine.nodes,
        events=engine.events,
        ledger=engine.ledger,
        orphaned=orphaned,
        duplicated=engine.ledger.duplicated(),
        assumptions=list(engine.assumptions),
        faults=faults,
        unreached=unreached,
        touched=frozenset(engine.touched),
        never_ends=engine.never_ends if not engine.finished else None,
        removed_with_workflow=tuple((r.ref, removal(target.manifest, phase))
                                    for r in (engine.ledger.owned_left() if engine.finished else [])),
    )
    excused, mitigations = excuse(result, steps)
    return dataclasses.replace(result, excused=excused, mitigations=tuple(mitigations))


def removal(manifest: Manifest, phase: str) -> str:
    """When an object owned by the Workflow goes: with the Workflow, which its ttlStrategy deletes after a
    run ending ``phase`` (secondsAfterFailure matches Failed only, reference §7), or when someone deletes it."""
    ttl = manifest.spec.raw.get("ttlStrategy")
    ttl = ttl if isinstance(ttl, dict) else {}
    key = {"Succeeded": "secondsAfterSuccess", "Failed": "secondsAfterFailure"}.get(phase)
    for field in (key, "secondsAfterCompletion"):
        if field and ttl.get(field) is not None:
            return f"removed with the Workflow, which ttlStrategy.{field} deletes {ttl[field]}s after it ends"
    return (f"removed with the Workflow when it is deleted (no ttlStrategy deletes a {phase} Workflow, so "
            "until someone does it stays)")


def _gaps(manifest: Manifest) -> list[str]:
    spec = manifest.spec
    gaps = [
        text
        for key, text in _GAPS.items()
        if key in spec.raw or any(key in t.raw or key in (t.container or {}) for t in spec.templates.values())
    ]
    if any(_has_artifacts(t.raw) for t in spec.templates.values()):
        gaps.append("artifacts are not simulated: every artifact is taken to be there")
    gaps += [f"workflow lifecycle hook {name!r} ({hook.expression}) is not simulated"
             for name, hook in spec.hooks.items() if name != "exit"]
    if spec.workflow_template_ref is not None:
        gaps.append(f"workflowTemplateRef {spec.workflow_template_ref.get('name')!r} is resolved only within "
                    "this file")
    if spec.raw.get("suspend") is True:
        gaps.append("spec.suspend: true is ignored: the simulated workflow runs as if resumed")
    return gaps


def _has_artifacts(raw: dict[str, Any]) -> bool:
    return any(isinstance(raw.get(side), dict) and raw[side].get("artifacts") for side in ("inputs", "outputs"))
