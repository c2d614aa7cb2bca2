"""Rules about names and numbers Argo resolves at run time: template references and IntOrString values."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from generator.argo_values import INT_OR_STRING_FIELDS, int_or_string
from generator.findings import Hit
from generator.rules.base import rule
from generator.rules.context import Context, Path, key_line
from generator.severity import Severity

_HEAD = "apiVersion: argoproj.io/v1alpha1\nkind: Workflow\nmetadata: {generateName: demo-}\nspec:\n"
_MAIN = "  - name: main\n    activeDeadlineSeconds: 60\n    container: {image: 'busybox:1.36', command: [true]}\n"


@rule(
    "PF006", "missing-template", Severity.ERROR,
    summary="onExit, a hook or a step names a template that does not exist",
    why="A workflow whose exit handler cannot be resolved never finishes (argo-workflows#5835).",
    source="argo-failure-semantics.md §3 (exit handlers) and Appendix (#5835)",
    bad=_HEAD + "  entrypoint: main\n  onExit: cleanup\n  templates:\n" + _MAIN,
    good=_HEAD + "  entrypoint: main\n  onExit: main\n  templates:\n" + _MAIN,
    confident="That no template of this document has that name.",
    leaves="Names built with `{{...}}`, and steps that use templateRef (the referenced WorkflowTemplate is "
           "not read).",
)
def missing_template(ctx: Context) -> Iterator[Hit]:
    spec = ctx.spec
    if spec.workflow_template_ref is not None:
        return  # the templates live in the referenced WorkflowTemplate
    names = ctx.templates
    known = ", ".join(sorted(names)) or "none"

    def check(name: str | None, line: int, where: str, template: str | None, path: Path) -> Iterator[Hit]:
        if name and "{{" not in name and name not in names:
            yield ctx.hit("PF006", line, template, f"{where} names template '{name}', which does not exist",
                          f"name one of the templates defined here ({known}), or add a template '{name}'",
                          path=path, field=path[-1], missing=name)

    if spec.entrypoint and spec.templates:
        yield from check(spec.entrypoint, key_line(spec.raw, "entrypoint", spec.line), "spec.entrypoint", None,
                         [*ctx.spec_path, "entrypoint"])
    yield from check(spec.on_exit, key_line(spec.raw, "onExit", spec.line), "spec.onExit", None,
                     [*ctx.spec_path, "onExit"])
    for hook in spec.hooks.values():
        yield from check(hook.template, hook.line, f"spec.hooks.{hook.name}", None,
                         [*ctx.spec_path, "hooks", hook.name, "template"])
    for template in names.values():
        for task in template.children:
            path = ctx.task_path(template, task)
            if task.template_ref is None and not task.inline:
                yield from check(task.template, task.line, f"step '{task.name}'", template.name, [*path, "template"])
            yield from check(task.on_exit, task.line, f"onExit of step '{task.name}'", template.name,
                             [*path, "onExit"])
            for hook in task.hooks.values():
                if not hook.has_template_ref:
                    yield from check(hook.template, hook.line, f"hooks.{hook.name} of step '{task.name}'",
                                     template.name, [*path, "hooks", hook.name, "template"])


@rule(
    "PF008", "duplicate-template", Severity.ERROR,
    summary="two templates have the same name",
    why="Template names must be unique: Argo's validator rejects the workflow (`templates.<name> is "
        "duplicated`), and a reader cannot tell which of the two a step calls.",
    source="docs/argo-semantics.md, Template names are unique",
    bad=_HEAD + "  entrypoint: main\n  templates:\n" + _MAIN + _MAIN,
    good=_HEAD + "  entrypoint: main\n  templates:\n" + _MAIN + _MAIN.replace("name: main", "name: other"),
    confident="That the name is used by more than one entry of spec.templates.",
    leaves="Which of the two should be renamed, and the callers to update.",
)
def duplicate_template(ctx: Context) -> Iterator[Hit]:
    raw = ctx.spec.raw.get("templates")
    if not isinstance(raw, list):
        return
    seen: dict[str, int] = {}
    for index, node in enumerate(raw):
        name = node.get("name") if isinstance(node, dict) else None
        if not isinstance(name, str):
            continue
        if name in seen:
            line = int(getattr(node, "line", 0)) or ctx.spec.line
            yield ctx.hit("PF008", line, name, f"template name '{name}' is used twice (also template "
                          f"#{seen[name]}); Argo rejects the workflow", f"rename one of the two '{name}' templates "
                          "and the steps that call it", path=[*ctx.spec_path, "templates", index, "name"],
                          field="name", first_index=seen[name])
        else:
            seen[name] = index




@rule(
    "PF009", "not-a-number", Severity.ERROR,
    summary="an IntOrString field (retry limit, backoff factor, template deadline) holds text that is no number",
    why="`limit`, `backoff.factor` and a template's `activeDeadlineSeconds` are IntOrString so that they can be "
        "templated; any other text passes the schema and fails when Argo converts it to a number at run time.",
    source="argo-failure-semantics.md §1 (limit may be a string so it can be templated) and §10 (IntOrString "
           "fields)",
    bad=_HEAD + "  entrypoint: main\n  templates:\n" + _MAIN.replace(
        "    container", "    retryStrategy: {limit: three}\n    container"),
    good=_HEAD + "  entrypoint: main\n  templates:\n" + _MAIN.replace(
        "    container", "    retryStrategy: {limit: '3'}\n    container"),
    confident="That the text is neither an integer nor an Argo expression (`{{inputs.parameters.n}}`).",
    leaves="Whether a templated value will be a number when the workflow runs.",
)
def not_a_number(ctx: Context) -> Iterator[Hit]:
    owners: list[tuple[str | None, Any, Path]] = [(None, ctx.spec.raw, list(ctx.spec_path))]
    defaults = ctx.spec.raw.get("templateDefaults")
    if isinstance(defaults, dict):
        owners.append((None, defaults, [*ctx.spec_path, "templateDefaults"]))
    owners += [(t.name, t.written, ctx.template_path(t)) for t in ctx.templates.values()]
    for template, node, base in owners:
        for fields in INT_OR_STRING_FIELDS:
            if template is None and base == ctx.spec_path and fields == ("activeDeadlineSeconds",):
                continue  # spec.activeDeadlineSeconds is an int, checked by PF004
            value, line = _lookup(node, fields)
            if isinstance(value, str) and "{{" not in value and int_or_string(value) is None:
                name = ".".join(fields)
                yield ctx.hit("PF009", line or ctx.spec.line, template, f"{name} is '{value}', which is not a "
                              "number: Argo fails when it reads it", f"write {name} as a number (for example 3), "
                              "or an expression such as '{{inputs.parameters.n}}'", path=[*base, *fields],
                              field=name, value=value)


def _lookup(node: Any, fields: tuple[str, ...]) -> tuple[Any, int]:
    line = 0
    for name in fields:
        if not isinstance(node, dict):
            return None, 0
        line = key_line(node, name, line)
        node = node.get(name)
    return node, line
