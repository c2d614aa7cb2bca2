"""Script injection: parameters are substituted as text, so they must not be spliced into code."""

from __future__ import annotations

import re
from collections.abc import Iterator

from generator.findings import Hit
from generator.model import Template
from generator.rules.base import rule
from generator.rules.context import Context
from generator.rules.effects import inline_scripts
from generator.severity import Severity

_HEAD = "apiVersion: argoproj.io/v1alpha1\nkind: WorkflowTemplate\nmetadata: {name: greet}\nspec:\n"
_PARAM = re.compile(r"{{\s*=?[^}]*\b(?:inputs|workflow)\.parameters\b")
#: ``{{inputs.parameters}}`` alone: all parameters as one JSON document, read as data by a runner (hera).
_ALL_AS_DATA = re.compile(r"^\s*{{\s*inputs\.parameters\s*}}\s*$")
_FROM_RUN = re.compile(r"\b(?:steps|tasks)\.[^}]*\.outputs\b|\bitem\b")


@rule(
    "PF401", "parameter-in-script", Severity.ERROR,
    summary="a parameter is spliced into script source or a shell string",
    why="Parameters are substituted as text, so a quote in a value runs commands (argo-workflows#12534); pass "
        "values through env and quote \"$VAR\". An error where a value can come from a caller (template kinds, "
        "values read from other steps' outputs or loop items); a warning in a plain Workflow whose values are "
        "only its own in-file defaults. `source: '{{inputs.parameters}}'` alone (hera's runner reads it as "
        "JSON data) is not reported.",
    source="argo-failure-semantics.md §9 (parameters are substituted as text into script.source and args)",
    bad=_HEAD + "  entrypoint: main\n  templates:\n  - name: main\n    inputs: {parameters: [{name: who}]}\n"
        "    script:\n      image: 'busybox:1.36'\n      command: [sh]\n"
        "      source: echo hello {{inputs.parameters.who}}\n",
    good=_HEAD + "  entrypoint: main\n  templates:\n  - name: main\n    inputs: {parameters: [{name: who}]}\n"
         "    script:\n      image: 'busybox:1.36'\n      command: [sh]\n      env: [{name: WHO, value: "
         "'{{inputs.parameters.who}}'}]\n      source: echo hello \"$WHO\"\n",
    confident="That a parameter's text becomes part of code a shell or interpreter runs.",
    leaves="Whether the values can ever hold quotes or shell syntax (who submits the workflow, what upstream "
           "steps output).",
)
def parameter_in_script(ctx: Context) -> Iterator[Hit]:
    for template in ctx.templates.values():
        if template.kind not in ("container", "script"):
            continue
        sources = [("script source", template.source)] if template.source else []
        sources = [(what, text) for what, text in sources if not _ALL_AS_DATA.match(text or "")]
        sources += [("shell -c string", text) for text in inline_scripts(template)]
        for what, text in sources:
            param = _PARAM.search(text or "")
            if text and param:
                spliced = text[param.start():text.find("}}", param.start()) + 2]
                yield ctx.hit("PF401", template.line, template.name,
                              f"template '{template.name}' splices a parameter into its {what} ({spliced}): a quote "
                              "in the value runs commands", "pass the value through env (value: "
                              "'{{inputs.parameters.x}}') and use \"$X\" in the script",
                              None if _from_caller(ctx, template) else Severity.WARNING,
                              path=ctx.template_path(template, template.kind,
                                                     "source" if what == "script source" else "args"),
                              field=what, parameter=spliced)
                break


def _from_caller(ctx: Context, template: Template) -> bool:
    """Whether a parameter value can come from outside the file: a template kind, or another step's output."""
    if ctx.manifest.kind != "Workflow":
        return True
    for parent in ctx.templates.values():
        for task in parent.children:
            if task.template == template.name and any(
                isinstance(p.value, str) and _FROM_RUN.search(p.value) for p in task.arguments
            ):
                return True
    return False
