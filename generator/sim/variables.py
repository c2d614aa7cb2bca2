"""Templates and variables of a simulated run: which template a task calls, what ``{{...}}`` resolves to
(the workflow's globals, inputs, expressions), and the assumptions made where a value is not known
offline. A mixin of ``generator.sim.engine.Engine``, kept apart so each module stays readable.
"""

from __future__ import annotations

import json
import re
from typing import Any

from generator.model import Manifest, Parameter, Task, Template, WorkflowSpec
from generator.sim.expr import ExpressionError, evaluate_expr, substitute
from generator.sim.values import Scope, placeholder, suffix, text

_UNKNOWN = re.compile(r"<([^<>\s]+)>")


def opaque(label: str) -> Template:
    """A stand-in for a template outside the file: a step that succeeds."""
    return Template(name=label, kind="plugin", line=0, raw={})


class Variables:
    manifest: Manifest
    library: list[Manifest]
    spec: WorkflowSpec
    workflow_name: str
    assumptions: dict[str, None]

    def assume(self, text_: str) -> None:
        self.assumptions.setdefault(text_, None)

    def resolve(self, spec: WorkflowSpec, name: str | None, ref: dict[str, Any] | None
                ) -> tuple[Template, WorkflowSpec] | str:
        """The template a task calls: by name in the same spec, or a templateRef into this file."""
        if ref is not None:
            target, tname = ref.get("name"), ref.get("template")
            kinds = ("ClusterWorkflowTemplate",) if ref.get("clusterScope") is True else ("WorkflowTemplate",)
            for other in self.library:
                if other.name == target and other.kind in kinds and tname in other.spec.templates:
                    return other.spec.templates[str(tname)], other.spec
            self.assume(f"templateRef {target}/{tname} is not in this file: simulated as a step that succeeds")
            return opaque(f"{target}/{tname}"), spec
        template = spec.templates.get(name or "")
        if template is None and spec.workflow_template_ref is not None and not spec.templates:
            ref_name = spec.workflow_template_ref.get("name")
            self.assume(f"workflowTemplateRef {ref_name} is not in this file: simulated as one step that succeeds")
            return opaque(f"{ref_name}/{name or 'entrypoint'}"), spec
        if template is None:
            return f"template {name!r} is not defined in this workflow"
        return template, spec

    def lookup(self, scope: Scope, name: str, is_expr: bool, in_expression: bool) -> str:
        if is_expr:
            return self._expr_value(scope, name, in_expression)
        value = scope.get(name)
        if value is not None:
            if in_expression and "<" in value:
                return _UNKNOWN.sub(lambda m: placeholder(m.group(1), in_expression=True), value)
            return value
        shown = placeholder(name, in_expression=False)
        if name.startswith(("steps.", "tasks.")) and ".outputs." in name:
            self.assume(f"{name} is a runtime output, not known offline: simulated as {shown}")
        else:
            self.assume(f"{name} has no value here: simulated as {shown}")
        return placeholder(name, in_expression=in_expression)

    def _expr_value(self, scope: Scope, source: str, in_expression: bool) -> str:
        class _Vars(dict[str, Any]):
            def __missing__(self, key: str) -> Any:
                value = scope.get(key)
                if value is None:
                    raise KeyError(key)
                return value

            def __contains__(self, key: object) -> bool:
                return isinstance(key, str) and scope.get(key) is not None

        try:
            return text(evaluate_expr(source, _Vars()))
        except (ExpressionError, KeyError):
            self.assume(f"expression {{{{={source}}}}} is not evaluated offline: simulated as a placeholder")
            return placeholder("=" + source, in_expression=in_expression)

    def subst(self, value: str, scope: Scope, *, in_expression: bool = False) -> str:
        return substitute(value, lambda name, is_expr: self.lookup(scope, name, is_expr, in_expression))

    def _global_values(self) -> dict[str, str]:
        values = {
            "workflow.name": self.workflow_name,
            "workflow.namespace": str((self.manifest.raw.get("metadata") or {}).get("namespace") or "default"),
            "workflow.uid": "00000000-0000-4000-8000-" + suffix(7, 12),
            "workflow.serviceAccountName": self.spec.service_account or "default",
            "workflow.creationTimestamp": "2026-01-01T00:00:00Z",
            "workflow.duration": "0",
            "workflow.priority": "0",
            "workflow.status": "Running",
        }
        params = {}
        for param, value in self._workflow_arguments():
            values[f"workflow.parameters.{param.name}"] = value
            params[param.name] = value
        values["workflow.parameters"] = json.dumps(params, separators=(",", ":"))
        return values

    def _workflow_arguments(self) -> list[tuple[Parameter, str]]:
        out = []
        for param in self.spec.arguments:
            raw = param.value if param.value is not None else param.default
            if raw is None:
                if param.value_from is None:
                    self.assume(f"workflow parameter {param.name} is given at submission: simulated as <{param.name}>")
                else:
                    self.assume(f"workflow parameter {param.name} comes from valueFrom: simulated as <{param.name}>")
                out.append((param, f"<{param.name}>"))
            else:
                out.append((param, text(raw)))
        return out

    def inputs_for(self, template: Template, arguments: tuple[Parameter, ...], scope: Scope
                   ) -> dict[str, str] | str:
        """The input parameters of a call, or an error message (Argo fails the node)."""
        given = {p.name: p for p in arguments}
        values: dict[str, str] = {}
        for param in template.inputs:
            arg = given.get(param.name)
            raw: Any = None
            if arg is not None and arg.value is not None:
                raw = arg.value
            elif arg is not None and arg.value_from is not None:
                self.assume(f"argument {param.name} of {template.name} comes from valueFrom: "
                            "simulated as a placeholder")
                raw = f"<{param.name}>"
            elif param.value is not None:
                raw = param.value
            elif param.default is not None:
                raw = param.default
            else:
                return f"input parameter {param.name!r} of template {template.name!r} was not supplied"
            values[f"inputs.parameters.{param.name}"] = self.subst(text(raw), scope)
        return values


def call_task(engine: Variables, task: Task, spec: WorkflowSpec) -> tuple[Template, WorkflowSpec] | str:
    """The template a task or step calls (inline templates included)."""
    if task.inline:
        raw = task_inline(spec, task)
        if raw is not None:
            return Template.parse(raw, 0), spec
    return engine.resolve(spec, task.template, task.template_ref)


def task_inline(spec: WorkflowSpec, task: Task) -> dict[str, Any] | None:
    for template in spec.templates.values():
        for group in (template.raw.get("dag") or {}).get("tasks") or [], *(template.raw.get("steps") or []):
            for raw in group if isinstance(group, list) else []:
                if isinstance(raw, dict) and raw.get("name") == task.name and isinstance(raw.get("inline"), dict):
                    return dict(raw["inline"], name=f"{task.name}-inline")
    return None
