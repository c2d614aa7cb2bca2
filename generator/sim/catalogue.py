"""The steps a manifest can run, by name: what ``--fail``/``--hang``/``--resume`` may name, and what the
matrix fails one by one. Walks the entry template and the exit handler, nested templates, templateRefs
within the file, inline templates and step/task exit hooks (named ``<step>.onExit``, as Argo names them).

A leaf entrypoint and a leaf exit handler are pods too (docs/argo-semantics.md "Leaf entry and exit
pods"): Argo names the first after the workflow and the second ``<workflow>.onExit``. They are listed by
their template name (or ``<workflow>``/``onExit`` when a step already has that name), and every other
name a person would use for them (the workflow's name, ``onExit``, ``<workflow>.onExit``) is an alias.
"""

from __future__ import annotations

from dataclasses import dataclass

from generator.model import Manifest, Task, Template, WorkflowSpec
from generator.sim.inferred import command_deletes
from generator.sim.variables import task_inline


@dataclass(frozen=True)
class StepInfo:
    name: str
    template: Template
    stage: str  # "main" or "exit handler"
    role: str = "step"  # "step", "entry" (a leaf entrypoint), "exit" (a leaf exit handler) or "hook"
    aliases: tuple[str, ...] = ()

    @property
    def gate(self) -> bool:
        return self.template.kind == "suspend"

    @property
    def runs(self) -> bool:
        """It runs something a fault can hit (a pod, or a request in the agent pod)."""
        return self.template.faultable

    @property
    def cleanup(self) -> bool:
        """It deletes or undoes something: a cleanup or compensation step."""
        resource = self.template.resource
        return (bool(self.template.effects("deletes")) or (resource is not None and resource.action == "delete")
                or command_deletes(self.template))


def resolve_task(spec: WorkflowSpec, task: Task, library: list[Manifest]) -> tuple[Template, WorkflowSpec] | None:
    ref = task.template_ref
    if ref is not None:
        kinds = ("ClusterWorkflowTemplate",) if ref.get("clusterScope") is True else ("WorkflowTemplate",)
        for other in library:
            if other.name == ref.get("name") and other.kind in kinds and ref.get("template") in other.spec.templates:
                return other.spec.templates[str(ref["template"])], other.spec
        return None
    if task.inline:
        raw = task_inline(spec, task)
        return (Template.parse(raw, 0), spec) if raw is not None else None
    template = spec.templates.get(task.template or "")
    return (template, spec) if template is not None else None


def steps_of(manifest: Manifest, library: list[Manifest], workflow: str) -> dict[str, StepInfo]:
    """Every step or task name, in the order a reader meets them (main, then the exit handler);
    ``workflow`` is the workflow's node name (Argo names the entry node after the workflow)."""
    spec = manifest.spec
    found: dict[str, StepInfo] = {}
    seen: set[tuple[int, str]] = set()
    leaves: list[tuple[str, Template]] = []
    for role, root, stage in (("entry", spec.entrypoint, "main"), ("exit", spec.exit_handler, "exit handler")):
        template = spec.templates.get(root or "")
        if template is not None and template.is_leaf:
            leaves.append((role, template))
        elif template is not None:
            _walk(template, spec, stage, library, found, seen)
    found = _hook_aliases(found)
    names = _workflow_names(manifest, workflow)
    for role, template in leaves:
        info = _leaf(role, template, names, found)
        found = {info.name: info, **found} if role == "entry" else {**found, info.name: info}
    return found


def _leaf(role: str, template: Template, names: tuple[str, ...], found: dict[str, StepInfo]) -> StepInfo:
    """A leaf entrypoint or exit handler, named by its template name unless a step has it, with every
    other name for it as an alias (the workflow's names; ``onExit`` and ``<workflow>.onExit``)."""
    plain = [n for n in names if not n.endswith("-")]
    own = (*(f"{n}.onExit" for n in plain), "onExit") if role == "exit" else names
    canonical = template.name if template.name not in found else ("onExit" if role == "exit" else plain[0])
    aliases = tuple(a for a in dict.fromkeys((template.name, *own)) if a != canonical and a not in found)
    return StepInfo(canonical, template, "main" if role == "entry" else "exit handler", role, aliases)


def _hook_aliases(found: dict[str, StepInfo]) -> dict[str, StepInfo]:
    """A leaf exit hook is also named by its template name, when that names nothing else."""
    hooks = [info.template.name for info in found.values() if info.role == "hook"]
    return {
        name: info if info.role != "hook" or info.template.name in found or hooks.count(info.template.name) > 1
        else StepInfo(name, info.template, info.stage, info.role, (info.template.name,))
        for name, info in found.items()
    }


def _workflow_names(manifest: Manifest, workflow: str) -> tuple[str, ...]:
    """What a person calls the workflow: its metadata name, its generateName (with or without the
    trailing dash), and the node name the simulator gives it."""
    metadata = manifest.raw.get("metadata") or {}
    given = [metadata.get("name"), metadata.get("generateName")]
    names = [n for n in given if isinstance(n, str) and n]
    names += [n.rstrip("-") for n in names if n.endswith("-")]
    return tuple(dict.fromkeys([*names, workflow]))


def aliases_of(steps: dict[str, StepInfo]) -> dict[str, str]:
    """Every name a flag may use → the step's canonical name."""
    table = {alias: info.name for info in steps.values() for alias in info.aliases}
    table.update({name: name for name in steps})
    return table


def _walk(template: Template, spec: WorkflowSpec, stage: str, library: list[Manifest],
          found: dict[str, StepInfo], seen: set[tuple[int, str]]) -> None:
    pending = [(template, spec, stage)]
    while pending:
        current, cspec, cstage = pending.pop(0)
        key = (id(cspec), current.name + "/" + cstage)
        if key in seen:
            continue
        seen.add(key)
        for task in current.children:
            resolved = resolve_task(cspec, task, library)
            if resolved is None:
                continue
            target, tspec = resolved
            if target.is_leaf:
                found.setdefault(task.name, StepInfo(task.name, target, cstage))
            else:
                pending.append((target, tspec, cstage))
            hook = task.exit_hook
            hook_template = cspec.templates.get(hook or "") if hook else None
            if hook_template is not None and hook_template.is_leaf:
                name = f"{task.name}.onExit"
                found.setdefault(name, StepInfo(name, hook_template, "exit handler", "hook"))
            elif hook_template is not None:
                pending.append((hook_template, cspec, "exit handler"))
