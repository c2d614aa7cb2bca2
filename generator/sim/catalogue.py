"""The steps a manifest can run, by name: what ``--fail``/``--hang``/``--resume`` may name, and what the
matrix fails one by one. Walks the entry template and the exit handler, nested templates, templateRefs
within the file, inline templates and step/task exit hooks (named ``<step>.onExit``, as Argo names them).
"""

from __future__ import annotations

from dataclasses import dataclass

from generator.model import Manifest, Task, Template, WorkflowSpec

POD_KINDS = ("container", "script", "resource", "containerSet", "http", "plugin", "data")


@dataclass(frozen=True)
class StepInfo:
    name: str
    template: Template
    stage: str  # "main" or "exit handler"

    @property
    def gate(self) -> bool:
        return self.template.kind == "suspend"

    @property
    def runs(self) -> bool:
        """It runs something a fault can hit (a pod, or an opaque step)."""
        return self.template.kind in POD_KINDS

    @property
    def cleanup(self) -> bool:
        """It deletes or undoes something: a cleanup or compensation step."""
        resource = self.template.resource
        return bool(self.template.effects("deletes")) or (resource is not None and resource.action == "delete")


def resolve_task(spec: WorkflowSpec, task: Task, library: list[Manifest]) -> tuple[Template, WorkflowSpec] | None:
    ref = task.template_ref
    if ref is not None:
        kinds = ("ClusterWorkflowTemplate",) if ref.get("clusterScope") is True else ("WorkflowTemplate",)
        for other in library:
            if other.name == ref.get("name") and other.kind in kinds and ref.get("template") in other.spec.templates:
                return other.spec.templates[str(ref["template"])], other.spec
        return None
    if task.inline:
        from generator.sim.engine import task_inline

        raw = task_inline(spec, task)
        return (Template.parse(raw, 0), spec) if raw is not None else None
    template = spec.templates.get(task.template or "")
    return (template, spec) if template is not None else None


def steps_of(manifest: Manifest, library: list[Manifest]) -> dict[str, StepInfo]:
    """Every step or task name, in the order a reader meets them (main, then the exit handler)."""
    spec = manifest.spec
    found: dict[str, StepInfo] = {}
    seen: set[tuple[int, str]] = set()
    roots = [(spec.entrypoint, "main"), (spec.exit_handler, "exit handler")]
    for root, stage in roots:
        template = spec.templates.get(root or "")
        if template is not None:
            _walk(template, spec, stage, library, found, seen)
    return found


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
                found.setdefault(name, StepInfo(name, hook_template, "exit handler"))
            elif hook_template is not None:
                pending.append((hook_template, cspec, "exit handler"))
