"""Order in a steps or DAG template: which steps run before a task, which gate its ``when`` checks, and
which cleanup children do not run when an earlier step fails.

``depends`` expressions are parsed and evaluated by ``generator.depends`` (their one home).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Set
from functools import lru_cache

from generator.depends import DependsSyntaxError, Expr, evaluate, from_dependencies, operands, parse_depends
from generator.model import Task, Template

_GATE_REF = re.compile(
    r"(?:steps|tasks)\s*(?:\.\s*|\[\s*['\"])([A-Za-z0-9_\-]+)['\"]?\s*\]?\s*\.\s*outputs\.parameters"
)


def gated_tasks(template: Template, templates: dict[str, Template]) -> Iterator[tuple[Task, str | None]]:
    """Each child with the suspend gate (run before it) whose output its ``when`` checks, if any."""
    earlier: set[str] = set()
    if template.kind == "steps":
        for group in template.steps:
            done = frozenset(earlier)
            for task in group:
                yield task, _gate_of(task, lambda done=done: done, templates)  # type: ignore[misc]
            earlier |= {task.name for task in group}
        return
    by_name = {task.name: task for task in template.dag_tasks}
    for task in template.dag_tasks:
        yield task, _gate_of(task, lambda task=task: ancestors(task, by_name), templates)  # type: ignore[misc]


def _gate_of(task: Task, before: Callable[[], Set[str]], templates: dict[str, Template]) -> str | None:
    """The suspend template of a step run before ``task`` whose output parameters its ``when`` reads."""
    if not task.when:
        return None
    matches = list(_GATE_REF.finditer(task.when))
    ran_before = before() if matches else frozenset()
    for match in matches:
        if match.group(1) not in ran_before:
            continue
        gate = _task_template(match.group(1), task, templates)
        if gate is not None:
            return gate
    return None


def _task_template(step: str, task: Task, templates: dict[str, Template]) -> str | None:
    del task
    for template in templates.values():
        for child in template.children:
            if child.name == step:
                target = templates.get(child.template or "")
                if target is not None and target.kind == "suspend":
                    return target.name
    return None


def _direct(task: Task) -> set[str]:
    """The tasks a DAG task waits for."""
    if task.depends:
        return _depends_operands(task.depends)
    return set(task.dependencies)


@lru_cache(maxsize=4096)
def _parsed(text: str) -> Expr | None:
    try:
        return parse_depends(text)
    except DependsSyntaxError:
        return None


def _depends_operands(text: str) -> set[str]:
    expr = _parsed(text)
    return operands(expr) if expr is not None else set()


def ancestors(task: Task, by_name: dict[str, Task]) -> set[str]:
    seen: set[str] = set()
    pending = list(_direct(task))
    while pending:
        name = pending.pop()
        if name in seen or name not in by_name:
            continue
        seen.add(name)
        pending.extend(_direct(by_name[name]))
    return seen


def unsafe_cleanups(template: Template, cleanups: set[str]) -> list[str]:
    """The cleanup children that do not run when a step before them (not itself cleanup) fails."""
    if template.kind == "steps":
        unsafe: list[str] = []
        stopper = False
        for group in template.steps:
            unsafe.extend(t.name for t in group if t.name in cleanups and stopper)
            stopper = stopper or any(
                t.name not in cleanups and not (t.continue_on_failed and t.continue_on_error) for t in group
            )
        return unsafe
    return _unsafe_dag_cleanups(template, cleanups)


def _condition(task: Task, by_name: dict[str, Task]) -> Expr | None:
    if task.depends:
        return _parsed(task.depends)

    def continue_on(name: str) -> tuple[bool, bool]:
        dep = by_name.get(name)
        return (dep.continue_on_failed, dep.continue_on_error) if dep else (False, False)

    return from_dependencies(task.dependencies, continue_on)


def _unsafe_dag_cleanups(template: Template, cleanups: set[str]) -> list[str]:
    """Single-fault analysis: the phases each task can end in when it or one task above it fails.

    A cleanup task is safe when, for each dependency and each such phase (the others Succeeded), its
    condition still holds. Linear in the number of tasks and dependency edges.
    """
    by_name = {task.name: task for task in template.dag_tasks}
    conditions = {name: _condition(task, by_name) for name, task in by_name.items()}
    faulted: dict[str, set[str]] = {}
    order = _topological(by_name)
    unsafe = []
    for name in order:
        task, condition = by_name[name], conditions[name]
        phases = set() if name in cleanups else {"Failed", "Error"}
        deps = _direct(task) & by_name.keys()
        runs_always = True
        for dep in deps:
            for phase in faulted.get(dep, ()):
                def phase_of(other: str, dep: str = dep, phase: str = phase) -> str:
                    return phase if other == dep else "Succeeded"

                if condition is not None and evaluate(condition, phase_of):
                    phases.add("Succeeded")
                else:
                    phases.add("Omitted")
                    runs_always = False
        if name in cleanups and not runs_always:
            unsafe.append(name)
        faulted[name] = phases - {"Succeeded"}
    return unsafe


def _topological(by_name: dict[str, Task]) -> list[str]:
    order: list[str] = []
    state: dict[str, int] = {}
    for root in by_name:
        if root in state:
            continue
        stack = [(root, iter(sorted(_direct(by_name[root]) & by_name.keys())))]
        state[root] = 1
        while stack:
            name, deps = stack[-1]
            dep = next(deps, None)
            if dep is None:
                stack.pop()
                state[name] = 2
                order.append(name)
            elif dep not in state:
                state[dep] = 1
                stack.append((dep, iter(sorted(_direct(by_name[dep]) & by_name.keys()))))
    return order


def earlier_tasks(template: Template) -> Iterator[tuple[Task, frozenset[str]]]:
    """Each child of a steps or DAG template with the names of the children that finish before it starts."""
    if template.kind == "steps":
        earlier: set[str] = set()
        for group in template.steps:
            done = frozenset(earlier)
            for task in group:
                yield task, done
            earlier |= {task.name for task in group}
        return
    by_name = {task.name: task for task in template.dag_tasks}
    for task in template.dag_tasks:
        yield task, frozenset(ancestors(task, by_name))
