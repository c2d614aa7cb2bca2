"""What Argo's validation rejects before any pod runs, checked before a simulation (workflow/validate
``ValidateWorkflow``): an entrypoint or exit handler naming no template, a step, task or exit hook
naming no template, a template of no known kind, a DAG that mixes ``depends`` and ``dependencies``, names
an unknown task, repeats a task name, has a malformed ``depends`` or a dependency cycle. Every problem is
listed; a templateRef to a template outside the file is not a problem (it is assumed to exist).
"""

from __future__ import annotations

from collections import Counter

from generator.depends import DependsSyntaxError, ordered_operands, parse_depends
from generator.errors import InvalidWorkflowError, echo
from generator.model import Manifest, Task, Template, WorkflowSpec


def validate(manifest: Manifest, library: list[Manifest]) -> None:
    """Raise InvalidWorkflowError listing every problem, or return when Argo would accept it."""
    problems = problems_of(manifest, library)
    if problems:
        raise InvalidWorkflowError(manifest.label, problems)


def problems_of(manifest: Manifest, library: list[Manifest]) -> list[str]:
    spec = manifest.spec
    external = spec.workflow_template_ref is not None and not spec.templates
    problems: list[str] = []
    roots = [("spec.entrypoint", spec.entrypoint), ("spec.onExit" if spec.on_exit else "spec.hooks.exit",
                                                     spec.exit_handler)]
    for field, name in roots:
        if name and name not in spec.templates and not external:
            problems.append(f"{field} {name!r} names no template (templates: {', '.join(spec.templates) or 'none'})")
    for name in sorted(_reachable(spec, [n for _, n in roots if n])):
        problems += _template_problems(spec.templates[name], spec, library)
    return problems


def _reachable(spec: WorkflowSpec, roots: list[str]) -> set[str]:
    found: set[str] = set()
    for root in roots:
        found |= spec.reachable(root)
    return found


def _template_problems(template: Template, spec: WorkflowSpec, library: list[Manifest]) -> list[str]:
    where = f"template {template.name!r}"
    if template.kind == "unknown":
        return [f"{where} has no container, containerSet, script, resource, data, suspend, http, plugin, "
                "steps or dag (Argo: template missing specification)"]
    problems = []
    for task in template.children:
        problems += _task_problems(task, f"{where} {'task' if template.kind == 'dag' else 'step'} {task.name!r}",
                                   spec, library)
    if template.kind == "dag":
        problems += _dag_problems(template, where)
    return problems


def _task_problems(task: Task, where: str, spec: WorkflowSpec, library: list[Manifest]) -> list[str]:
    problems = []
    if task.template_ref is not None:
        ref = task.template_ref
        kind = "ClusterWorkflowTemplate" if ref.get("clusterScope") is True else "WorkflowTemplate"
        owner = next((m for m in library if m.kind == kind and m.name == ref.get("name")), None)
        if owner is not None and ref.get("template") not in owner.spec.templates:
            problems.append(f"{where}: templateRef names template {ref.get('template')!r}, which "
                            f"{kind} {owner.name!r} does not define")
    elif task.template is not None and task.template not in spec.templates:
        problems.append(f"{where} names template {task.template!r}, which is not defined")
    elif task.template is None and not task.inline:
        problems.append(f"{where} names no template (template, templateRef or inline)")
    hook = task.exit_hook
    if hook and hook not in spec.templates:
        problems.append(f"{where}: its exit hook names template {hook!r}, which is not defined")
    return problems


def _dag_problems(template: Template, where: str) -> list[str]:
    tasks = template.dag_tasks
    names = [t.name for t in tasks]
    known = set(names)
    alias = {n.replace("-", "_"): n for n in names}
    uses = Counter(names)  # one pass: names.count() per name was quadratic (a 100,000-task DAG took minutes)
    problems = [f"{where}: task name {n!r} is used more than once" for n in sorted(known) if uses[n] > 1]
    if any(t.depends for t in tasks) and any(t.dependencies for t in tasks):
        problems.append(f"{where}: a DAG cannot mix depends and dependencies")
    edges: dict[str, list[str]] = {}
    for task in tasks:
        try:
            deps = list(ordered_operands(parse_depends(task.depends))) if task.depends else list(task.dependencies)
        except DependsSyntaxError as exc:
            problems.append(f"{where} task {task.name!r}: depends {echo(task.depends)} is malformed: {exc}")
            continue
        deps = [alias.get(d, d) for d in deps]
        problems += [f"{where} task {task.name!r} depends on {d!r}, which is not a task of this DAG"
                     for d in deps if d not in known]
        edges[task.name] = [d for d in deps if d in known]
    cycle = _cycle(edges)
    if cycle:
        problems.append(f"{where}: dependency cycle {' -> '.join(cycle)}")
    return problems


def _cycle(edges: dict[str, list[str]]) -> list[str] | None:
    """One dependency cycle, as a path that ends where it starts, or None (iterative DFS: DAGs are big)."""
    state: dict[str, int] = {}  # 1 on the current path, 2 done
    for start in edges:
        if state.get(start):
            continue
        path = [start]
        stack = [iter(edges.get(start, ()))]
        state[start] = 1
        while stack:
            nxt = next(stack[-1], None)
            if nxt is None:
                state[path.pop()] = 2
                stack.pop()
            elif state.get(nxt) == 1:
                return [*path[path.index(nxt):], nxt]
            elif not state.get(nxt):
                state[nxt] = 1
                path.append(nxt)
                stack.append(iter(edges.get(nxt, ())))
    return None
