"""The failure-mode table: for each step, what happens when it fails.

One row per step that runs something (DAG task or step calling a leaf template), in the entry graph
and then in the exit handler: retry limit and policy (what it will and will not retry), backoff,
deadline, side effects with their idempotency key, what cleans up after it, and what the workflow does
when the step fails for good. Facts follow ../shared/reference/argo-failure-semantics.md.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from typing import Any

from generator.model import Manifest, RetryStrategy, SideEffect, Task, Template, WorkflowSpec
from generator.rules import deletions, unsafe_cleanups

_POLICY_SCOPE = {
    "OnFailure": "failures (non-zero exit, deadline), not errors",
    "OnError": "errors (infrastructure), not failures (non-zero exit, deadline)",
    "Always": "failures and errors",
    "OnTransientError": "transient errors only",
}
_EXPRESSION = re.compile(r"{{\s*=?\s*([^}]*?)\s*}}")


@dataclass(frozen=True)
class FailureMode:
    step: str
    template: str
    stage: str  # "main" or "exit handler"
    retries: str
    backoff: str
    deadline: str
    side_effects: list[str] = field(default_factory=list)
    idempotency: list[str] = field(default_factory=list)
    cleaned_up_by: list[str] = field(default_factory=list)
    on_failure: str = ""

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class _Call:
    path: str
    task: Task
    template: Template
    stage: str


def _walk(spec: WorkflowSpec, root: str | None, stage: str, prefix: str = "") -> Iterator[_Call]:
    seen: set[str] = set()

    def visit(name: str, path: str) -> Iterator[_Call]:
        template = spec.templates.get(name)
        if template is None or name in seen:
            return
        seen.add(name)
        for task in template.children:
            child = spec.templates.get(task.template or "")
            if child is None:
                continue
            label = f"{path}.{task.name}" if path else task.name
            if child.is_leaf:
                yield _Call(label, task, child, stage)
            else:
                yield from visit(child.name, label)
            if task.exit_hook:
                hook = Task(name=f"{task.name}.hooks.exit", template=task.exit_hook, line=task.line)
                yield from _hook_call(spec, hook, label, stage)
        seen.discard(name)

    leaf = spec.templates.get(root or "")
    if leaf is not None and leaf.is_leaf and not prefix:
        # a leaf entrypoint or exit handler is a pod of its own (docs/argo-semantics.md)
        yield _Call(leaf.name, Task(name=leaf.name, template=leaf.name, line=leaf.line), leaf, stage)
    elif root:
        yield from visit(root, prefix)


def _hook_call(spec: WorkflowSpec, hook: Task, label: str, stage: str) -> Iterator[_Call]:
    target = spec.templates.get(hook.template or "")
    if target is not None and target.is_leaf:
        yield _Call(f"{label} (exit hook)", hook, target, stage)
    elif target is not None:
        yield from _walk(spec, target.name, stage, f"{label} (exit hook)")


def _retries(retry: RetryStrategy | None, spec_retry: RetryStrategy | None) -> str:
    retry = retry or spec_retry
    if retry is None:
        return "none: one attempt"
    if not retry.bounded:
        return "UNBOUNDED: no limit, retries until it succeeds"
    policy = retry.effective_policy
    implicit = "" if retry.policy else " (implicit)"
    scope = _POLICY_SCOPE.get(policy, f"unknown policy {policy!r}")
    return f"{retry.limit} × {policy}{implicit}: retries {scope}"


def _backoff(retry: RetryStrategy | None) -> str:
    if retry is None or retry.backoff is None:
        return "none" if retry else "-"
    b = retry.backoff
    parts = [b.duration or "0s"]
    if b.factor is not None:
        parts.append(f"×{b.factor}")
    if b.cap:
        parts.append(f"cap {b.cap}")
    parts.append(f"max {b.max_duration}" if b.max_duration else "no maxDuration")
    return ", ".join(parts)


def _deadline(template: Template, spec: WorkflowSpec, stage: str) -> str:
    if template.active_deadline_seconds is not None:
        return f"{template.active_deadline_seconds}s per attempt"
    if template.timeout is not None:
        return f"timeout {template.timeout}"
    if template.kind == "suspend":
        return f"workflow deadline ({spec.active_deadline_seconds}s)" if spec.active_deadline_seconds else "NONE"
    if stage == "exit handler":
        return "NONE (exit pods ignore the workflow deadline)"
    if spec.active_deadline_seconds is not None:
        return f"workflow deadline only ({spec.active_deadline_seconds}s)"
    return "NONE"


def _keys(name: str) -> str:
    keys = [m.group(1).strip().removeprefix("workflow.parameters.") for m in _EXPRESSION.finditer(name)]
    return ", ".join(keys) if keys else "fixed name"


def _effects(template: Template) -> tuple[list[str], list[str]]:
    resource = template.resource
    effects = [f"{e.verb} {e.ref}" for e in template.side_effects]
    idempotency = [
        f"{e.ref}: keyed on {_keys(e.name)}"
        for e in template.side_effects
        if e.verb != "deletes" and not (resource and resource.kind == e.kind and resource.name == e.name)
    ]
    if resource is not None and resource.target:
        action = resource.action or "?"
        if not any(resource.kind == e.kind and resource.name == e.name for e in template.side_effects):
            effects.append(f"{action} {resource.target}")
        if resource.generate_name and action == "create":
            idempotency.append(f"{resource.target}: NONE, generateName makes a new object per attempt")
        elif action == "create":
            idempotency.append(f"{resource.target}: create of a fixed name, a retry fails AlreadyExists")
        elif action == "apply":
            idempotency.append(f"{resource.target}: apply converges, keyed on {_keys(resource.name or '')}")
        elif action == "delete":
            idempotency.append(f"{resource.target}: delete tolerates absence")
    if template.kind == "suspend":
        wait = f"auto-resumes after {template.suspend_duration}" if template.suspend_duration else "no timeout"
        effects.append(f"waits for a decision ({wait})")
    return effects, idempotency


def _success_only(spec: WorkflowSpec) -> set[str]:
    """Deleting steps of the main graph that do not run once an earlier step has failed."""
    found: set[str] = set()
    for template in spec.templates.values():
        deleting = {
            task.name for task in template.children
            if (leaf := spec.templates.get(task.template or "")) is not None and deletions(leaf)
        }
        if deleting:
            found.update(unsafe_cleanups(template, deleting))
    return found


def _deleters(calls: list[_Call], success_only: set[str]) -> dict[tuple[str, str], list[str]]:
    found: dict[tuple[str, str], list[str]] = {}
    for call in calls:
        targets = [(e.kind, e.name) for e in call.template.effects("deletes")]
        res = call.template.resource
        if res is not None and res.action == "delete" and res.kind and res.name:
            targets.append((res.kind, res.name))
        if call.stage == "exit handler":
            where = "exit handler"
        elif call.task.name in success_only:
            where = "ordinary step"
        else:
            where = "compensation step"
        cond = f" (when {call.task.when})" if call.task.when else " (always)" if call.stage == "exit handler" else ""
        if call.task.name in success_only and call.stage != "exit handler":
            cond += ", ONLY IF EVERY EARLIER STEP SUCCEEDED: not after a failure"
        for target in dict.fromkeys(targets):
            found.setdefault(target, []).append(f"{where} {call.path}{cond}")
    return found


def _cleanup(effect: SideEffect, deleters: dict[tuple[str, str], list[str]]) -> list[str]:
    who = deleters.get((effect.kind, effect.name), [])
    if who:
        return [f"{effect.ref}: {w}" for w in who]
    if effect.verb == "creates":
        return [f"{effect.ref}: NOTHING, it outlives the workflow"]
    return [f"{effect.ref}: nothing undoes it on failure"]


def _on_failure(call: _Call, spec: WorkflowSpec) -> str:
    if call.stage == "exit handler":
        return "the workflow ends Failed or Error (a failing exit handler fails a Succeeded workflow)"
    if call.template.kind == "suspend":
        outcome = "rejected or past the deadline: the workflow fails and nothing after the gate runs"
    elif call.task.continue_on_failed or call.task.continue_on_error:
        outcome = "continueOn: the workflow goes on to the steps that handle the failure"
    elif call.path == spec.entrypoint:
        outcome = "the workflow ends Failed (Error for an infrastructure error)"
    else:
        outcome = "the workflow fails; later steps do not run"
    if spec.exit_handler and not (call.task.continue_on_failed or call.task.continue_on_error):
        outcome += f"; exit handler {spec.exit_handler} runs"
    if call.path == spec.entrypoint and call.template.runs_pod:
        outcome += "; if its pod cannot be created, the workflow ends Error and no exit handler runs"
    return outcome


def failure_modes(manifest: Manifest) -> list[FailureMode]:
    """The rows of the failure-mode table of one manifest."""
    spec = manifest.spec
    calls = [*_walk(spec, spec.entrypoint, "main"), *_walk(spec, spec.exit_handler, "exit handler")]
    deleters = _deleters(calls, _success_only(spec))
    rows = []
    for call in calls:
        template = call.template
        effects, idempotency = _effects(template)
        cleanup = [c for e in template.side_effects if e.verb != "deletes" for c in _cleanup(e, deleters)]
        if template.resource and template.resource.action in ("create", "apply") and template.resource.kind:
            res = template.resource
            if not template.side_effects and res.name:
                cleanup.extend(_cleanup(SideEffect("creates", res.kind or "", res.name), deleters))
        retry = template.retry
        rows.append(
            FailureMode(
                step=call.path,
                template=template.name,
                stage=call.stage,
                retries=_retries(retry, spec.retry) if template.kind != "suspend" else "-",
                backoff=_backoff(retry or spec.retry) if template.kind != "suspend" else "-",
                deadline=_deadline(template, spec, call.stage),
                side_effects=effects,
                idempotency=idempotency,
                cleaned_up_by=cleanup,
                on_failure=_on_failure(call, spec),
            )
        )
    return rows


def _cell(items: list[str] | str) -> str:
    text = "<br>".join(items) if isinstance(items, list) else items
    return (text or "-").replace("|", "\\|")


def to_markdown(rows: list[FailureMode]) -> str:
    """The table as GitHub-flavoured Markdown."""
    header = (
        "| Step | Stage | Retries | Backoff | Deadline | Side effects | Idempotency key | Cleaned up by "
        "| If it fails |\n"
        "|---|---|---|---|---|---|---|---|---|\n"
    )
    lines = [
        "| " + " | ".join(
            _cell(v)
            for v in (
                f"`{r.step}`", r.stage, r.retries, r.backoff, r.deadline,
                r.side_effects, r.idempotency, r.cleaned_up_by, r.on_failure,
            )
        ) + " |"
        for r in rows
    ]
    return header + "\n".join(lines) + "\n"
