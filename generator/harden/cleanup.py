"""Cleanup that must run whatever happens: moved out of the main graph into an exit handler.

For a Workflow (or a CronWorkflow's workflowSpec) the cleanup steps go into ``spec.onExit`` (created when
the workflow has none). A WorkflowTemplate is different: a workflow that calls one of its templates
through ``templateRef`` never runs the template's ``spec.onExit``. There the template holding the cleanup
becomes a steps wrapper under its own name, whose one step runs the original body (renamed) with
``hooks.exit`` calling a new steps template of the cleanup steps; a step's exit hook runs after the step
whatever its outcome, however the template is reached (entrypoint, workflowTemplateRef or templateRef).

Every cleanup step the linter finds in a template moves, each as its own step group in the order found;
the moved step's lines (and the comments inside it) are carried over as they were written.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from generator.depends import DependsSyntaxError, operands, parse_depends
from generator.findings import Finding
from generator.harden import text
from generator.harden.plan import Plan, fixes
from generator.harden.text import Edit, MappingNode, ScalarNode, SequenceNode
from generator.model import Task, Template

EXIT_HANDLER = "exit-handler"
_DROP = ("dependencies", "depends", "continueOn")


@dataclass(frozen=True)
class _Moved:
    name: str
    parent: str
    line: int
    lines: list[str]  # the step as a mapping, indented 0
    deletes: tuple[Edit, ...]


@fixes("PF101")
def move_cleanup(plan: Plan, finding: Finding) -> None:
    """Collected here and placed by ``place_cleanups`` once every cleanup of the document is known."""
    plan.cleanups.append(finding)


def place_cleanups(plan: Plan) -> None:
    taken = _take_all(plan)
    if not taken:
        return
    if plan.manifest.kind in ("WorkflowTemplate", "ClusterWorkflowTemplate"):
        for parent in dict.fromkeys(m.parent for m in taken):
            _wrap(plan, parent, [m for m in taken if m.parent == parent])
    else:
        _into_exit_handler(plan, taken)


def _take_all(plan: Plan) -> list[_Moved]:
    """Every cleanup step that can move. Whether one can (its dependents, its step group's dash) depends
    on which of its siblings move too, so the set shrinks until every step in it can."""
    found = [f for f in plan.cleanups if f.task is not None and f.template]
    moving = {(f.template, f.task) for f in found}
    reasons: dict[tuple[str | None, str | None], tuple[Finding, str]] = {}
    while True:
        taken, failed = [], set()
        for finding in found:
            key = (finding.template, finding.task)
            if key not in moving:
                continue
            result = _take(plan, finding, {task for template, task in moving if template == finding.template})
            if isinstance(result, str):
                failed.add(key)
                reasons[key] = (finding, result)
            elif result is not None:
                taken.append(result)
        if not failed:
            break
        moving -= failed
    for finding, reason in reasons.values():
        _hold(plan, finding, f"cleanup step '{finding.task}' was not moved: {reason}")
    return taken


# ---------------------------------------------------------------- taking a step out


def _hold(plan: Plan, finding: Finding, reason: str) -> None:
    plan.hold(finding.line, finding.template, "PF101", reason,
              "move the cleanup into the exit handler by hand, or let it run on failure (continueOn / depends "
              "on .Failed)")


def _take(plan: Plan, finding: Finding, moving: set[str]) -> _Moved | str | None:
    """The step taken out (its lines and the edits removing it), or why it cannot move."""
    name, parent = finding.task, plan.template(finding.template)
    node = plan.template_node(finding.template)
    if name is None or parent is None or node is None:
        return None
    task = next((t for t in parent.children if t.name == name), None)
    if task is None:
        return None
    why = _unmovable(plan, parent, task, moving)
    if why:
        return why
    place = _locate(plan, node, parent, name, moving)
    if isinstance(place, str):
        return place
    item, span, deletes = place
    return _Moved(name, parent.name, finding.line, _step_lines(plan, item, parent, name, span), deletes)


def _reads(depends: str, name: str) -> bool:
    """The ``depends`` expression reads task ``name`` (one of its operands); a malformed one is taken to
    (lint reports it, and nothing is moved on a guess)."""
    try:
        return name in operands(parse_depends(depends))
    except DependsSyntaxError:
        return True


def _unmovable(plan: Plan, parent: Template, task: Task, moving: set[str]) -> str | None:
    for other in parent.dag_tasks:
        if other.name in moving:
            continue
        if task.name in other.dependencies or (other.depends and _reads(other.depends, task.name)):
            return f"'{other.name}' depends on it"
    text_of = " ".join(f"{p.value}" for p in task.arguments) + " " + (task.when or "")
    if "steps." in text_of or "tasks." in text_of:
        return "its arguments or when read other steps' outputs, which the exit handler cannot see"
    wraps = plan.manifest.kind in ("WorkflowTemplate", "ClusterWorkflowTemplate")
    if "inputs." in text_of and not wraps:
        return f"its arguments read the inputs of '{parent.name}', which spec.onExit does not receive"
    if task.template_ref is None and task.template is None:
        return "it has an inline template"
    return None


_Place = tuple[MappingNode, tuple[int, int], tuple[Edit, ...]]


def _locate(plan: Plan, node: MappingNode, parent: Template, name: str, moving: set[str]) -> _Place | str:
    """The step's mapping node, its input lines, and the edits that remove it (a group's dash moves to the
    first step of the group that stays; a group whose steps all move goes as a whole)."""
    source = plan.source
    if parent.kind == "dag":
        tasks = text.walk(node, ["dag", "tasks"])
        if not text.is_block(tasks):
            return "the tasks are written in flow style"
        assert isinstance(tasks, SequenceNode)
        index = _index_of(tasks, name)
        if index is None or len(tasks.value) < 2:
            return "it is the only task"
        item = tasks.value[index]
        if not _own_line(plan, item) or not isinstance(item, MappingNode):
            return "its item does not start on a line of its own"
        span = (source.item_start(tasks, index), source.item_end(tasks, index))
        return item, span, (_cut(*span),)
    return _locate_step(plan, node, name, moving)


def _locate_step(plan: Plan, node: MappingNode, name: str, moving: set[str]) -> _Place | str:
    steps = text.value(node, "steps")
    if not text.is_block(steps):
        return "the steps are written in flow style"
    assert isinstance(steps, SequenceNode)
    for g, group in enumerate(steps.value):
        if not isinstance(group, SequenceNode) or group.flow_style:
            continue
        index = _index_of(group, name)
        if index is None:
            continue
        item = group.value[index]
        if not isinstance(item, MappingNode):
            return "its step is not a mapping"
        return _in_group(plan, steps, g, index, moving)
    return "its step group is written in flow style"


def _in_group(plan: Plan, steps: SequenceNode, g: int, index: int, moving: set[str]) -> _Place | str:
    source, group = plan.source, steps.value[g]
    item = group.value[index]
    span = (source.item_start(group, index), source.item_end(group, index))
    staying = [i for i, step in enumerate(group.value) if _name(step) not in moving]
    if not staying:  # the whole group goes: the first step removes it, the others are inside that
        whole = (source.item_start(steps, g), source.item_end(steps, g))
        last = index + 1 == len(group.value)
        # each step carries the lines up to the next one, so nothing the removal deletes is left behind
        span = (whole[0] if index == 0 else span[0], whole[1] if last else source.item_start(group, index + 1))
        return item, span, (_cut(*whole),) if index == 0 else ()
    if _own_line(plan, item):
        return item, span, (_cut(*span),)
    if index != 0 or not _own_line(plan, group.value[staying[0]]):
        return "it shares a line with another step"
    # ``- - name: cleanup`` opens the group: remove it and give the group's dash to the first step that stays
    head = source.line(group.start_mark.line)[: group.start_mark.column + 1]
    following = group.value[staying[0]].start_mark.line
    return item, span, (_cut(*span), Edit((following, 0), (following, group.start_mark.column + 1), head))


def _name(step: Any) -> str | None:
    named = text.value(step, "name")
    return named.value if isinstance(named, ScalarNode) else None


def _cut(start: int, end: int) -> Edit:
    return Edit((start, 0), (end, 0), "")


def _index_of(sequence: SequenceNode, name: str) -> int | None:
    for index, item in enumerate(sequence.value):
        named = text.value(item, "name")
        if isinstance(named, ScalarNode) and named.value == name:
            return index
    return None


def _own_line(plan: Plan, item: Any) -> bool:
    head = plan.source.line(item.start_mark.line)[: item.start_mark.column]
    return head.strip() == "-"


def _step_lines(plan: Plan, item: MappingNode, parent: Template, name: str, span: tuple[int, int]) -> list[str]:
    """The step as written, less what ties it to its old place (dependencies, depends, continueOn).

    ``span`` is the input lines removing the step deletes: every other line of it (comments included)
    moves with the step.
    """
    source = plan.source
    start, end = span
    if item.flow_style or (item.value and item.value[0][0].value in _DROP):
        raw = next(t for t in _raw_children(parent) if isinstance(t, dict) and t.get("name") == name)
        rendered = text.render({k: v for k, v in raw.items() if k not in _DROP}, 0, step=plan.step,
                               offset=plan.offset)
        notes = [source.line(i).strip() for i in range(start, end) if source.line(i).strip().startswith("#")]
        return [*rendered, *notes]
    column = item.start_mark.column
    dropped: set[int] = set()
    for index, (key, _) in enumerate(item.value):
        if key.value in _DROP:
            dropped.update(range(key.start_mark.line, source.entry_end(item, index)))
    keep = [i for i in range(start, end) if i not in dropped]
    return [line for i in keep for line in source.block(i, i + 1, column)]


def _raw_children(parent: Template) -> list[Any]:
    dag = parent.raw.get("dag")
    if isinstance(dag, dict):
        tasks = dag.get("tasks")
        return list(tasks) if isinstance(tasks, list) else []
    steps = parent.raw.get("steps")
    return [s for group in steps if isinstance(group, list) for s in group] if isinstance(steps, list) else []


# ---------------------------------------------------------------- placing it


def _groups(moved: list[_Moved]) -> list[str]:
    return [line for m in moved for line in text.dash_item(m.lines, 2)]


def _indent(lines: list[str], by: int) -> list[str]:
    return [" " * by + line if line else line for line in lines]


def _append_templates(plan: Plan, templates: list[list[str]]) -> bool:
    seq = text.value(plan.spec_node, "templates")
    if not text.is_block(seq):
        return False
    assert isinstance(seq, SequenceNode)
    at = plan.source.item_end(seq, len(seq.value) - 1)
    column = seq.start_mark.column
    first = seq.value[0]
    width = first.start_mark.column - column if isinstance(first, MappingNode) else 2
    lines = [line for template in templates for line in _indent(text.dash_item(template, width=width), column)]
    plan.edits.append(Edit((at, 0), (at, 0), text.lines_text(lines, plan.source.newline), order=len(plan.edits)))
    return True


def _unique(plan: Plan, wanted: str) -> str:
    names = set(plan.manifest.spec.templates) | plan.new_names
    name = wanted
    while name in names:
        name += "-1"
    plan.new_names.add(name)
    return name


def _into_exit_handler(plan: Plan, moved: list[_Moved]) -> None:
    spec = plan.manifest.spec
    current = spec.exit_handler
    groups = _groups(moved)
    if current is not None:
        handler = plan.template_node(current)
        steps = text.value(handler, "steps")
        if not text.is_block(steps) or not isinstance(steps, SequenceNode) or not steps.value:
            for m in moved:
                plan.hold(m.line, m.parent, "PF101", f"cleanup step '{m.name}' was not moved: the exit handler "
                          f"'{current}' is not a steps template", f"add '{m.name}' to the exit handler by hand")
            return
        at = plan.source.item_end(steps, len(steps.value) - 1)
        lines = _indent(groups, steps.start_mark.column)
        plan.edits.append(Edit((at, 0), (at, 0), text.lines_text(lines, plan.source.newline), order=len(plan.edits)))
        _done(plan, moved, f"into the exit handler '{current}'")
        return
    name = _unique(plan, EXIT_HANDLER)
    keys = [k.value for k, _ in plan.spec_node.value] if plan.spec_node is not None else []
    after = keys.index("entrypoint") + 1 if "entrypoint" in keys else 0
    template = [f"name: {name}", "steps:", *_indent(groups, plan.offset)]
    if not _append_templates(plan, [template]) or not plan.add_key(
            plan.spec_node, "onExit", name, before=tuple(keys[after:after + 1])):
        return
    plan.changed(spec.line, None, "PF101", f"added exit handler template '{name}' (spec.onExit)")
    _done(plan, moved, f"into the exit handler '{name}'")


def _done(plan: Plan, moved: list[_Moved], where: str) -> None:
    for m in moved:
        plan.edits.extend(m.deletes)
        plan.changed(m.line, m.parent, "PF101", f"moved cleanup step '{m.name}' {where}")


def _wrap(plan: Plan, parent_name: str, moved: list[_Moved]) -> None:
    parent, node = plan.template(parent_name), plan.template_node(parent_name)
    named = text.entry(node, "name")
    if parent is None or node is None or named is None or not isinstance(named[1], ScalarNode):
        return
    if parent.outputs or _dict(parent.raw.get("outputs")):
        for m in moved:
            plan.hold(m.line, parent_name, "PF101", f"cleanup step '{m.name}' was not moved: '{parent_name}' has "
                      "outputs, which a wrapper template would hide from its callers",
                      f"give the step that calls '{parent_name}' a hooks.exit running the cleanup")
        return
    body, handler = _unique(plan, f"{parent_name}-body"), _unique(plan, f"{parent_name}-cleanup")
    inputs = _inputs_lines(plan, node)
    passed = _pass_inputs(parent.raw)
    call: dict[str, Any] = {"name": body, "template": body, **passed,
                            "hooks": {"exit": {"template": handler, **passed}}}
    call_lines = text.dash_item(text.render(call, 0, step=plan.step, offset=plan.offset), 2)
    wrapper = [f"name: {parent_name}", *inputs, "steps:", *_indent(call_lines, plan.offset)]
    cleanup = [f"name: {handler}", *inputs, "steps:", *_indent(_groups(moved), plan.offset)]
    if not _append_templates(plan, [wrapper, cleanup]):
        return
    value = named[1]
    plan.edits.append(Edit((value.start_mark.line, value.start_mark.column),
                           (value.end_mark.line, value.end_mark.column), body, order=len(plan.edits)))
    plan.changed(parent.line, parent_name, "PF101",
                 f"renamed template '{parent_name}' to '{body}' and added a steps template '{parent_name}' that "
                 f"runs it with hooks.exit '{handler}': the cleanup runs after it whatever its outcome, however "
                 "the WorkflowTemplate is used (entrypoint, workflowTemplateRef or templateRef)")
    _done(plan, moved, f"into '{handler}' (the exit hook of '{parent_name}')")


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _inputs_lines(plan: Plan, node: MappingNode) -> list[str]:
    for index, (key, _) in enumerate(node.value):
        if key.value == "inputs":
            end = plan.source.entry_end(node, index)
            return plan.source.block(key.start_mark.line, end, key.start_mark.column)
    return []


def _pass_inputs(raw: dict[str, Any]) -> dict[str, Any]:
    """Arguments handing the wrapper's inputs on, unchanged, to the body and to the cleanup."""
    inputs = _dict(raw.get("inputs"))
    params = [p["name"] for p in inputs.get("parameters") or [] if isinstance(p, dict) and "name" in p]
    artifacts = [a["name"] for a in inputs.get("artifacts") or [] if isinstance(a, dict) and "name" in a]
    arguments: dict[str, Any] = {}
    if params:
        arguments["parameters"] = [{"name": p, "value": f"{{{{inputs.parameters.{p}}}}}"} for p in params]
    if artifacts:
        arguments["artifacts"] = [{"name": a, "from": f"{{{{inputs.artifacts.{a}}}}}"} for a in artifacts]
    return {"arguments": arguments} if arguments else {}
