"""Irreversible actions: a delete or replace of what the workflow did not create needs a real approval gate."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from generator.findings import Hit
from generator.model import Task, Template
from generator.rules.base import rule
from generator.rules.context import Context
from generator.rules.graph import earlier_tasks, gated_tasks
from generator.severity import Severity

_HEAD = "apiVersion: argoproj.io/v1alpha1\nkind: Workflow\nmetadata: {generateName: demo-}\nspec:\n"
_DROP = """\
  - name: drop-namespace
    activeDeadlineSeconds: 120
    container: {image: 'bitnami/kubectl:1.31', command: [kubectl, delete, namespace, legacy]}
"""
_GATE = """\
  - name: approve
    inputs: {parameters: [{name: approve, default: 'NO', enum: ['YES', 'NO']}]}
    outputs: {parameters: [{name: approve, valueFrom: {supplied: {}}}]}
    suspend: SUSPEND
"""


@dataclass(frozen=True)
class _Ungated:
    template: Template
    task: Task
    reason: str
    timed_gates: tuple[tuple[str, str], ...]  # (step, suspend template) with a duration, run before it


@dataclass(frozen=True)
class _TimedGate:
    template: Template
    task: Task
    gate: str  # the suspend template
    step: str | None  # the step running it, when known


def _walk(ctx: Context) -> list[_Ungated | _TimedGate]:
    """Irreversible steps without a real gate, and timed gates in front of irreversible steps (memoised)."""
    if "irreversible" in ctx.cache:
        return ctx.cache["irreversible"]  # type: ignore[no-any-return]
    found: list[_Ungated | _TimedGate] = []
    if any(ctx.may_be_irreversible(t) for t in ctx.templates.values() if t.is_leaf):
        found = list(_irreversible(ctx))
    ctx.cache["irreversible"] = found
    return found


def _roots(ctx: Context) -> list[str]:
    roots = [r for r in (ctx.spec.entrypoint, ctx.spec.exit_handler) if r in ctx.templates]
    return roots or [n for n, t in ctx.templates.items() if not t.is_leaf]


def _irreversible(ctx: Context) -> Iterator[_Ungated | _TimedGate]:
    seen: set[tuple[str, bool]] = set()
    reported: set[tuple[str, str]] = set()
    pending: list[tuple[str, bool]] = [(root, False) for root in _roots(ctx)]
    while pending:
        name, gated = pending.pop()
        template = ctx.templates.get(name)
        if template is None or (name, gated) in seen or template.is_leaf:
            continue
        seen.add((name, gated))
        earlier = {t.name: names for t, names in earlier_tasks(template)}
        for task, gate in gated_tasks(template, ctx.templates):
            if gate is not None and ctx.templates[gate].suspend_duration is not None:
                yield _TimedGate(template, task, gate, None)
                gate = None
            child = ctx.templates.get(task.template or "")
            if child is None:
                continue
            if not child.is_leaf:
                pending.append((child.name, gated or gate is not None))
                continue
            reason = ctx.irreversible_reason(child, task)
            if reason and not gated and gate is None and (template.name, task.name) not in reported:
                reported.add((template.name, task.name))
                timed = _timed_before(ctx, template, earlier.get(task.name, frozenset()))
                yield _Ungated(template, task, reason, timed)


def _timed_before(ctx: Context, template: Template, before: frozenset[str]) -> tuple[tuple[str, str], ...]:
    timed = []
    for task in template.children:
        target = ctx.templates.get(task.template or "")
        if task.name in before and target is not None and target.kind == "suspend" and \
                target.suspend_duration is not None:
            timed.append((task.name, target.name))
    return tuple(timed)


@rule(
    "PF301", "ungated-irreversible", Severity.ERROR,
    summary="an irreversible action without an approval gate whose answer it checks",
    why="A delete or replace of something the workflow did not create, or a command that deletes, drops or "
        "destroys, must follow a suspend gate and check its answer with `when`. Deleting, reverting or rolling "
        "back what the workflow itself created or deployed (resource templates, pipeforge.io/creates "
        "annotations, kubectl apply/create, helm install/upgrade, argocd app create, a templateRef'd "
        "create-X step for a delete-X step) is its cleanup or compensation, not reported, in the main graph "
        "and in the exit handler alike.",
    source="argo-failure-semantics.md §6 (approval gates: suspend, supplied output, `when` on the answer) and "
           "§8 (created resources are independent of the workflow)",
    bad=_HEAD + "  entrypoint: main\n  templates:\n  - name: main\n    steps:\n    - - {name: drop, template: "
        "drop-namespace}\n" + _DROP,
    good=_HEAD + "  entrypoint: main\n  templates:\n  - name: main\n    steps:\n    - - {name: approve, template: "
         "approve}\n    - - name: drop\n        template: drop-namespace\n        when: "
         "\"'{{steps.approve.outputs.parameters.approve}}' == 'YES'\"\n" + _GATE.replace("SUSPEND", "{}") + _DROP,
    confident="That the step deletes or replaces something no step of this workflow creates, with no suspend "
              "gate before it whose answer its `when` checks.",
    leaves="Objects created outside the workflow on purpose (handed over by another system): they are reported; "
           "suppress with a reason when the delete is intended. Creators it cannot read (a templateRef'd step "
           "named otherwise) make their deletes look foreign.",
)
def ungated_irreversible(ctx: Context) -> Iterator[Hit]:
    for item in _walk(ctx):
        if not isinstance(item, _Ungated):
            continue
        template, task = item.template, item.task
        noun = "tasks" if template.kind == "dag" else "steps"
        yield ctx.hit("PF301", task.line, template.name,
                      f"step '{task.name}' {item.reason} with no approval gate before it whose answer it checks",
                      "put a suspend gate (suspend: {} with a supplied output, default NO) named 'approve' before "
                      f"it and add when: \"'{{{{{noun}.approve.outputs.parameters.approve}}}}' == 'YES'\" to "
                      f"'{task.name}'", **ctx.task_data(template, task), reason=item.reason,
                      called_template=task.template)


@rule(
    "PF302", "auto-approving-gate", Severity.ERROR,
    summary="an approval gate with a duration",
    why="`suspend: {duration: ...}` auto-resumes as Succeeded: the gate approves by itself (suspending.md). "
        "Reported for a timed gate whose answer an irreversible step checks, and for one that merely runs "
        "before an irreversible step.",
    source="argo-failure-semantics.md §6 (a duration auto-resumes as Succeeded)",
    bad=_HEAD + "  entrypoint: main\n  templates:\n  - name: main\n    steps:\n    - - {name: approve, template: "
        "approve}\n    - - name: drop\n        template: drop-namespace\n        when: "
        "\"'{{steps.approve.outputs.parameters.approve}}' == 'YES'\"\n"
        + _GATE.replace("SUSPEND", "{duration: '3600'}") + _DROP,
    good=_HEAD + "  entrypoint: main\n  templates:\n  - name: main\n    steps:\n    - - {name: approve, template: "
         "approve}\n    - - name: drop\n        template: drop-namespace\n        when: "
         "\"'{{steps.approve.outputs.parameters.approve}}' == 'YES'\"\n" + _GATE.replace("SUSPEND", "{}") + _DROP,
    confident="That the gate resumes by itself after its duration, so it does not wait for a person.",
    leaves="A timed pause that is meant as a delay, not an approval, before an irreversible step: suppress it "
           "with a reason.",
)
def auto_approving_gate(ctx: Context) -> Iterator[Hit]:
    reported: set[str] = set()
    for item in _walk(ctx):
        gates = [(item.gate, item.task.name)] if isinstance(item, _TimedGate) else \
            [(gate, item.task.name) for _, gate in item.timed_gates]
        for gate, before in gates:
            if gate in reported:
                continue
            reported.add(gate)
            suspend = ctx.templates[gate]
            yield ctx.hit("PF302", suspend.line, gate, f"approval gate '{gate}' has suspend.duration "
                          f"{suspend.suspend_duration}: it auto-resumes, i.e. approves by itself, before step "
                          f"'{before}'", "remove the duration: `suspend: {}`",
                          path=ctx.template_path(suspend, "suspend", "duration"), field="duration",
                          before=before)
