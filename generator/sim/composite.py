"""DAG and steps templates, fan-out and task-level exit hooks (reference §3, §4, §5).

A DAG keeps, per task, a counter of unfinished dependencies and the list of its dependents, so each
completion costs the number of its out-edges: a 10,000-task DAG is linear. Ready tasks go through a work
queue, never through recursion.

- depends/dependencies decide Omitted; ``when`` decides Skipped; an evaluation error gives Error.
- The DAG phase is judged over its targets (``dag.target``, else the leaves); an Omitted or Skipped target
  inherits its branch's phase, where Failed/Error win; a target whose continueOn matches does not fail it.
- ``failFast`` (default true): after an unhandled failure no new task starts, except tasks whose depends
  names a failure (``A.Failed``…), which exist to handle it; running tasks finish, then the DAG fails.
- Steps: groups run in order, a group's steps in parallel; a group waits for all its steps and their exit
  hooks; a failed step without continueOn fails the steps node (Failed even when the step was Error).
- A step/task exit hook runs after its node completes (not after Skipped/Omitted, never under Terminate)
  and does not change the node's phase.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from generator.depends import (
    DependsSyntaxError,
    Expr,
    evaluate,
    from_dependencies,
    handles_failure,
    ordered_operands,
    parse_depends,
)
from generator.errors import ManifestError, echo
from generator.model import Task, Template, WorkflowSpec
from generator.sim.expr import ExpressionError, evaluate_expr, evaluate_when, truth
from generator.sim.nodes import COMPLETED, Call, Done, SimNode
from generator.sim.values import Scope, item_node_name, item_values, to_int
from generator.sim.variables import call_task
from generator.yamlio import load_json

if TYPE_CHECKING:
    from generator.sim.engine import Engine

NodeDone = Callable[[SimNode], None]
FAILING = ("Failed", "Error")


def continues_on(task: Task, phase: str) -> bool:
    return (phase == "Failed" and task.continue_on_failed) or (phase == "Error" and task.continue_on_error)


# --- launching one task or step ---------------------------------------------------------------------


def launch(engine: Engine, task: Task, spec: WorkflowSpec, scope: Scope, in_exit: bool,
           record: NodeDone, done: NodeDone, depth: int = 0) -> None:
    """Start a task or step (expanded over its items if it fans out); ``record`` sees the finished node
    before its exit hook runs, ``done`` after."""
    items = _items(engine, task, scope)
    if items is None:
        _launch_one(engine, task, task.name, spec, scope, in_exit, record, done, depth)
        return
    group = engine.new_node(task.name, task.template or "?", in_exit, task.name)
    group.children = []
    if isinstance(items, str) or not items:
        phase, message = ("Error", items) if isinstance(items, str) else ("Skipped", "no items to expand")
        engine.finish_node(group, phase, message)
        record(group)
        done(group)
        return
    remaining = [len(items)]
    engine.record(group, "Running", message=f"{len(items)} items")

    def child_done(child: SimNode) -> None:
        assert group.children is not None
        group.children.append(child.phase)
        remaining[0] -= 1
        if remaining[0] == 0:
            failing = [p for p in group.children if p in FAILING]
            engine.finish_node(group, failing[-1] if failing else "Succeeded")
            record(group)
            done(group)

    for index, item in enumerate(items):
        child_scope = scope.child(item_values(item))
        _launch_one(engine, task, item_node_name(task.name, index, item), spec, child_scope, in_exit,
                    lambda _node: None, child_done, depth)


def _launch_one(engine: Engine, task: Task, name: str, spec: WorkflowSpec, scope: Scope, in_exit: bool,
                record: NodeDone, done: NodeDone, depth: int = 0) -> None:
    found = call_task(engine, task, spec)
    template_name = found[0].name if not isinstance(found, str) else (task.template or "?")
    node = engine.new_node(name, template_name, in_exit, task.name)

    def finish(phase: str, message: str) -> None:
        engine.finish_node(node, phase, message)
        record(node)
        _exit_hook(engine, task, node, spec, scope, done)

    if isinstance(found, str):
        finish("Error", found)
        return
    template, tspec = found
    if task.when is not None:
        decided = _when(engine, task, scope)
        if isinstance(decided, str):
            finish("Error", decided)
            return
        if not decided:
            finish("Skipped", f"when '{task.when}' evaluated false")
            return
    inputs = engine.inputs_for(template, task.arguments, scope)
    if isinstance(inputs, str):
        finish("Error", inputs)
        return
    engine.note_hooks(task)
    engine.execute(Call(node, template, tspec, engine.globals.child(inputs), in_exit, depth + 1), finish)


def _when(engine: Engine, task: Task, scope: Scope) -> bool | str:
    """Whether the step runs, or the error that makes it Error. A ``when`` over a value not known offline
    is still decided (unknown values are words equal to nothing) and the branch taken is named."""
    text = engine.subst(task.when or "", scope, in_expression=True)
    unknown = "unknown:" in text
    try:
        runs = evaluate_when(text)
    except ExpressionError as exc:
        if not unknown:
            return f"when '{task.when}' cannot be evaluated: {exc}"
        runs = True
    if unknown:
        branch = "the step runs" if runs else "the step is skipped"
        engine.assume(f"when '{task.when}' of {task.name} depends on a value not known offline: {branch}")
    return runs


def _exit_hook(engine: Engine, task: Task, node: SimNode, spec: WorkflowSpec, scope: Scope,
               done: NodeDone) -> None:
    template = task.exit_hook
    if template is None or node.phase not in COMPLETED or engine.shutdown == "Terminate":
        done(node)
        return
    hook = task.hooks.get("exit")
    if hook is not None and hook.expression and not _hook_expression(engine, hook.expression, scope):
        done(node)
        return
    hook_task = Task(name=f"{node.name}.onExit", template=template, line=task.line,
                     arguments=hook.arguments if hook is not None else ())
    _launch_one(engine, hook_task, hook_task.name, spec, scope, True, lambda _n: None, lambda _n: done(node))


def _hook_expression(engine: Engine, expression: str, scope: Scope) -> bool:
    variables = {k: v for s in _chain(scope) for k, v in s.values.items()}
    try:
        return truth(evaluate_expr(expression, variables))
    except ExpressionError:
        engine.assume(f"hook expression {expression!r} is not evaluated offline: the hook runs")
        return True


def _chain(scope: Scope) -> list[Scope]:
    chain: list[Scope] = []
    current: Scope | None = scope
    while current is not None:
        chain.append(current)
        current = current.parent
    return chain[::-1]


def _items(engine: Engine, task: Task, scope: Scope) -> list[Any] | str | None:
    if task.with_items is not None:
        return [_subst_item(engine, item, scope) for item in task.with_items]
    if task.with_param is not None:
        value = engine.subst(task.with_param, scope)
        try:
            items = load_json(value, file=f"withParam of {task.name}")
        except (ValueError, ManifestError):  # malformed, or beyond the reading limits
            engine.assume(f"withParam {task.with_param!r} of {task.name} is not known offline: simulated as one item")
            return [value]
        return items if isinstance(items, list) else f"withParam of {task.name} is not a JSON list: {value}"
    if task.with_sequence is not None:
        return _sequence(engine, task, scope)
    return None


def _subst_item(engine: Engine, item: Any, scope: Scope) -> Any:
    return engine.subst(item, scope) if isinstance(item, str) else item


def _sequence(engine: Engine, task: Task, scope: Scope) -> list[Any] | str:
    seq = task.with_sequence or {}
    unknown = [k for k in ("count", "start", "end") if k in seq and engine.subst(str(seq[k]), scope).startswith("<")]
    if unknown:
        engine.assume(f"withSequence of {task.name} counts a runtime output: simulated as one item")
        return ["0"]
    try:
        values = {k: to_int(engine.subst(str(seq[k]), scope)) for k in ("count", "start", "end") if k in seq}
    except ExpressionError as exc:
        return f"withSequence of {task.name}: {exc}"
    start = values.get("start", 0)
    if "count" in values:
        numbers = list(range(start, start + values["count"]))
    else:
        end = values.get("end", 0)
        numbers = list(range(start, end + 1)) if end >= start else list(range(start, end - 1, -1))
    fmt = seq.get("format")
    return [str(fmt) % n if isinstance(fmt, str) and "%" in fmt else str(n) for n in numbers]


# --- DAG --------------------------------------------------------------------------------------------


@dataclass
class DagPlan:
    """What a DAG template's shape implies, computed once per template."""

    tasks: tuple[Task, ...]
    index: dict[str, int]
    alias: dict[str, str]  # a_b → a-b: Argo rewrites '-' to '_' in names for evaluation (dag.go)
    conditions: list[Expr | None]
    errors: list[str | None]
    deps: list[tuple[int, ...]]
    dependents: list[list[int]]
    targets: list[int]
    handler: list[bool]  # its depends names a failure (A.Failed...): it runs even under failFast
    handled: set[int]  # tasks whose failure some dependent names, or that continue on failure
    fail_fast: bool
    error: str | None

    @classmethod
    def build(cls, template: Template) -> DagPlan:
        tasks = template.dag_tasks
        index = {t.name: i for i, t in enumerate(tasks)}
        alias = {name.replace("-", "_"): name for name in index}
        conditions: list[Expr | None] = []
        errors: list[str | None] = []
        deps: list[tuple[int, ...]] = []
        for task in tasks:
            condition, error = _condition(task, tasks, index)
            names = [alias.get(n, n) for n in ordered_operands(condition)] if condition else []
            unknown = [n for n in names if n not in index]
            if unknown and error is None:
                error = f"depends on {', '.join(unknown)}, not a task of this DAG"
            conditions.append(condition)
            errors.append(error)
            deps.append(tuple(dict.fromkeys(index[n] for n in names if n in index)))
        dependents: list[list[int]] = [[] for _ in tasks]
        for i, ds in enumerate(deps):
            for d in ds:
                dependents[d].append(i)
        handled = {i for i, t in enumerate(tasks) if t.continue_on_failed or t.continue_on_error}
        for condition in conditions:
            handled.update(index[alias.get(n, n)] for n in (handles_failure(condition) if condition else ())
                           if alias.get(n, n) in index)
        error = None
        if any(t.depends for t in tasks) and any(t.dependencies for t in tasks):
            error = "a DAG cannot mix depends and dependencies"
        if template.dag_target and "{{" not in template.dag_target:
            names = template.dag_target.split()
            missing = [n for n in names if n not in index]
            error = error or (f"dag.target names {', '.join(missing)}, not a task" if missing else None)
            targets = [index[n] for n in names if n in index]
        else:
            targets = [i for i in range(len(tasks)) if not dependents[i]]
        return cls(tasks, index, alias, conditions, errors, deps, dependents, targets,
                   [bool(c and handles_failure(c)) for c in conditions], handled,
                   template.dag_fail_fast is not False, error)


def _condition(task: Task, tasks: tuple[Task, ...], index: dict[str, int]) -> tuple[Expr | None, str | None]:
    try:
        if task.depends:
            return parse_depends(task.depends), None
        if task.dependencies:
            def continue_on(name: str) -> tuple[bool, bool]:
                dep = tasks[index[name]] if name in index else None
                return (dep.continue_on_failed, dep.continue_on_error) if dep else (False, False)

            return from_dependencies(task.dependencies, continue_on), None
    except DependsSyntaxError as exc:
        return None, f"depends {echo(task.depends)} cannot be evaluated: {exc}"
    return None, None


class DagRun:
    def __init__(self, engine: Engine, call: Call, done: Done) -> None:
        self.engine = engine
        self.call = call
        self.done = done
        plan = engine.plans.get(id(call.template))
        if plan is None:
            plan = engine.plans[id(call.template)] = DagPlan.build(call.template)
        self.plan: DagPlan = plan
        self.targets = plan.targets
        if call.template.dag_target and "{{" in call.template.dag_target:
            names = engine.subst(call.template.dag_target, call.scope).split()
            self.targets = [plan.index[name] for name in names if name in plan.index]
        n = len(plan.tasks)
        self.waiting = [len(d) for d in plan.deps]
        self.phases: list[str | None] = [None] * n
        self.children: list[list[str] | None] = [None] * n
        self.order: list[int] = []
        self.queue: deque[int] = deque()
        self.draining = False
        self.running = 0
        self.held = 0
        self.failure: str | None = None
        self.closed = False
        self.local = call.scope.child({})

    def start(self) -> None:
        if self.plan.error:
            self.closed = True
            self.done("Error", self.plan.error)
            return
        self.queue.extend(i for i, w in enumerate(self.waiting) if w == 0)
        self._drain()

    def _drain(self) -> None:
        if self.draining:
            return
        self.draining = True
        while self.queue:
            self._ready(self.queue.popleft())
        self.draining = False
        if self.running == 0 and not self.closed:
            self.closed = True
            self.done(*self._assess())

    def _ready(self, i: int) -> None:
        plan, engine = self.plan, self.engine
        task = plan.tasks[i]
        if plan.errors[i]:
            self._settle(i, task, "Error", plan.errors[i] or "")
            return
        condition = plan.conditions[i]
        if condition is not None and not evaluate(condition, self._phase, self._children):
            self._settle(i, task, "Omitted", "omitted: depends condition not met")
            return
        if engine.blocked(self.call.in_exit) or (self.failure and plan.fail_fast and not plan.handler[i]):
            self.held += 1
            return
        self.running += 1
        launch(engine, task, self.call.spec, self.local, self.call.in_exit,
               lambda node: self._record(task, node), lambda node: self._finished(i, node, True), self.call.depth)

    def _settle(self, i: int, task: Task, phase: str, message: str) -> None:
        node = self.engine.new_node(task.name, task.template or "?", self.call.in_exit, task.name)
        self.engine.finish_node(node, phase, message)
        self._record(task, node)
        self._finished(i, node, False)

    def _position(self, name: str) -> int:
        return self.plan.index[self.plan.alias.get(name, name)]

    def _phase(self, name: str) -> str:
        return self.phases[self._position(name)] or "Pending"

    def _children(self, name: str) -> list[str] | None:
        return self.children[self._position(name)]

    def _record(self, task: Task, node: SimNode) -> None:
        values = self.local.values
        values[f"tasks.{task.name}.status"] = node.phase
        for key, value in node.outputs.items():
            values[f"tasks.{task.name}.{key}"] = value

    def _finished(self, i: int, node: SimNode, launched: bool) -> None:
        if launched:
            self.running -= 1
        self.phases[i] = node.phase
        self.children[i] = node.children
        self.order.append(i)
        if node.phase in FAILING and self.failure is None and i not in self.plan.handled:
            self.failure = node.phase
        for j in self.plan.dependents[i]:
            self.waiting[j] -= 1
            if self.waiting[j] == 0:
                self.queue.append(j)
        self._drain()

    def _assess(self) -> tuple[str, str]:
        blocked = self.engine.blocked(self.call.in_exit)
        if blocked is not None or (self.engine.shutdown and not self.call.in_exit):
            return "Failed", blocked or "workflow shut down"
        if self.held:
            return self.failure or "Failed", "template has failed or errored children and failFast enabled"
        unfinished = [self.plan.tasks[i].name for i, p in enumerate(self.phases) if p is None]
        if unfinished:
            return "Error", f"tasks never became ready (a dependency cycle?): {', '.join(unfinished)}"
        branch = self._branches()
        result = "Succeeded"
        for t in self.targets:
            phase = branch[t]
            if phase in FAILING and not continues_on(self.plan.tasks[t], phase):
                result = phase
                if self.plan.fail_fast:
                    break
        failed = [self.plan.tasks[t].name for t in self.targets if branch[t] in FAILING]
        return result, (f"target {', '.join(failed)} failed" if result != "Succeeded" else "")

    def _branches(self) -> list[str]:
        """Each task's branch phase: its own once completed, else the first failing branch above it."""
        branch = ["Succeeded"] * len(self.phases)
        for i in self.order:
            phase = self.phases[i]
            if phase in COMPLETED:
                branch[i] = phase or "Succeeded"
                continue
            branch[i] = next((branch[d] for d in self.plan.deps[i] if branch[d] in FAILING), "Succeeded")
        return branch


# --- steps ------------------------------------------------------------------------------------------


class StepsRun:
    def __init__(self, engine: Engine, call: Call, done: Done) -> None:
        self.engine = engine
        self.call = call
        self.done = done
        self.group = -1
        self.pending = 0
        self.launching = False
        self.failed: str | None = None
        self.local = call.scope.child({})

    def start(self) -> None:
        self._advance()

    def _advance(self) -> None:
        groups = self.call.template.steps
        while True:
            if self.failed is not None:
                self.done("Failed", self.failed)
                return
            self.group += 1
            if self.group >= len(groups):
                stopped = self.engine.shutdown is not None and not self.call.in_exit
                self.done(*(("Failed", "workflow shut down") if stopped else ("Succeeded", "")))
                return
            blocked = self.engine.blocked(self.call.in_exit)
            if blocked is not None:
                self.done("Failed", blocked)
                return
            steps = groups[self.group]
            self.pending = len(steps)
            self.launching = True
            for step in steps:
                self._launch(step)
            self.launching = False
            if self.pending:
                return

    def _launch(self, step: Task) -> None:
        launch(self.engine, step, self.call.spec, self.local, self.call.in_exit,
               lambda node: self._record(step, node), lambda node: self._step_done(step, node), self.call.depth)

    def _record(self, step: Task, node: SimNode) -> None:
        values = self.local.values
        values[f"steps.{step.name}.status"] = node.phase
        for key, value in node.outputs.items():
            values[f"steps.{step.name}.{key}"] = value

    def _step_done(self, step: Task, node: SimNode) -> None:
        if node.name in self.engine.creation_failed:
            # a child's pod creation error makes executeStepGroup mark the step group Error, whatever
            # continueOn says; executeSteps then marks the steps node Failed, as for any failed group
            # (docs/argo-semantics.md "Entry and exit template errors")
            self.failed = f"step group deemed errored due to child {node.name} error"
        elif node.phase in FAILING and not continues_on(step, node.phase) and self.failed is None:
            self.failed = f"child '{node.name}' {node.phase.lower()}"
        self.pending -= 1
        if self.pending == 0 and not self.launching:
            self._advance()
