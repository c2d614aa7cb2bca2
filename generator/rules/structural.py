"""Rules about the file and its shape: YAML syntax, keys, value types and values Argo refuses."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

from generator.findings import Hit
from generator.rules.base import Rule, register, rule
from generator.rules.context import Context, Path, key_line
from generator.severity import Severity
from generator.structure import check_document
from generator.yamlio import LineDict, LineList

_HEAD = "apiVersion: argoproj.io/v1alpha1\nkind: Workflow\nmetadata: {generateName: demo-}\nspec:\n"

register(Rule(
    "PF001", "yaml-syntax", Severity.ERROR, "the file is not valid YAML",
    "Argo never sees a file it cannot parse; nothing in it is checked until it parses.",
    source="YAML 1.1 (the reader is libyaml, as in Kubernetes' own YAML handling)",
    bad=_HEAD + "  entrypoint: main\n  templates:\n  - name: main\n    container: {image: 'busybox:1.36'\n",
    good=_HEAD + "  entrypoint: main\n  templates:\n  - name: main\n    container: {image: 'busybox:1.36'}\n",
    confident="The line the parser stopped at, and that nothing else in the file was checked.",
    leaves="Where the real mistake is: an unclosed bracket is reported where the parser noticed it, "
           "which can be lines later.",
))

register(Rule(
    "PF007", "bad-suppression", Severity.WARNING, "a lint-ignore annotation without a reason or rule",
    "A suppression must say which rule it silences and why, or it is not honoured.",
    source="pipeforge's own convention (docs/lint.md, Suppressions)",
    bad=_HEAD.replace("metadata: {generateName: demo-}", "metadata:\n  generateName: demo-\n  annotations:\n"
                      "    pipeforge.io/lint-ignore: 'PF205'") + "  templates: []\n",
    good=_HEAD.replace("metadata: {generateName: demo-}", "metadata:\n  generateName: demo-\n  annotations:\n"
                       "    pipeforge.io/lint-ignore: 'PF205: the steps are idempotent reads'") + "  templates: []\n",
    confident="That the annotation names no rule or gives no reason, so it is ignored.",
    leaves="Whether the reason given is a good one.",
))


@rule(
    "PF002", "duplicate-key", Severity.ERROR,
    summary="a mapping repeats a key",
    why="Only one of the values survives, and which one depends on the tool that reads the file. Keys merged "
        "in with a YAML merge key (`<<: *anchor`) and then overridden are not duplicates (YAML 1.1).",
    source="docs/argo-semantics.md, Duplicate keys and YAML merge keys",
    bad=_HEAD + "  entrypoint: main\n  entrypoint: other\n  templates: []\n",
    good=_HEAD + "  entrypoint: main\n  templates: []\n",
    confident="That the key is written twice in one mapping.",
    leaves="Which of the two values was meant.",
)
def duplicate_key(ctx: Context) -> Iterator[Hit]:
    if not _has_duplicates(ctx.document):
        return  # the common case, found without building a path for every node
    pending: list[tuple[Any, Path]] = [(ctx.document, [])]
    while pending:
        item, path = pending.pop()
        if isinstance(item, LineDict):
            for name, line in getattr(item, "duplicate_keys", ()):
                yield ctx.hit("PF002", line, _template_at(ctx, path), f"key '{name}' appears twice in one mapping; "
                              "only the last value is kept", f"keep one '{name}'", path=[*path, name], field=name)
            pending.extend((v, [*path, k]) for k, v in item.items() if isinstance(v, LineDict | LineList))
        elif isinstance(item, LineList):
            pending.extend((v, [*path, i]) for i, v in enumerate(item) if isinstance(v, LineDict | LineList))


_CONTAINERS = (LineDict, LineList)  # a tuple: ``A | B`` in the loop built a union per item


def _has_duplicates(document: Any) -> bool:
    pending = [document]
    while pending:
        item = pending.pop()
        if isinstance(item, LineDict):
            if getattr(item, "duplicate_keys", None):
                return True
            pending.extend(v for v in item.values() if isinstance(v, _CONTAINERS))
        elif isinstance(item, LineList):
            pending.extend(v for v in item if isinstance(v, _CONTAINERS))
    return False


def _template_at(ctx: Context, path: Path) -> str | None:
    """The template a path from the document root points into."""
    base = ctx.spec_path
    if len(path) > len(base) + 1 and path[:len(base)] == base and path[len(base)] == "templates":
        index = path[len(base) + 1]
        for template in ctx.templates.values():
            if template.index == index:
                return template.name
    return None


_PATH_PART = re.compile(r"([^.\[\]]+)|\[(\d+)\]")


def split_path(dotted: str) -> Path:
    """``spec.templates[3].container`` as ``["spec", "templates", 3, "container"]``."""
    return [int(index) if index else name for name, index in _PATH_PART.findall(dotted)]


def _structure(ctx: Context, unknown: bool) -> Iterator[Hit]:
    if "structure" not in ctx.cache:  # one walk for both PF003 and PF004
        ctx.cache["structure"] = check_document(ctx.document)
    for problem in ctx.cache["structure"]:
        if problem.unknown != unknown:
            continue
        path = split_path(problem.path)
        template = _template_at(ctx, path)
        name = path[-1] if path and isinstance(path[-1], str) else None
        if unknown:
            fix = f"rename it to '{problem.suggestion}'" if problem.suggestion else "remove it or fix its spelling"
            yield ctx.hit("PF003", problem.line, template, problem.message, fix, path=path, field=name,
                          suggestion=problem.suggestion)
        else:
            yield ctx.hit("PF004", problem.line, template, problem.message, "give the field a value of that shape",
                          path=path, field=name)


@rule(
    "PF003", "unknown-field", Severity.ERROR,
    summary="a key Argo does not know (a typo silently disables safety)",
    why="Argo's schema has no additionalProperties: false, so `onexit` or `retrystrategy` validates and is "
        "ignored: the exit handler or the retry limit silently does not exist.",
    source="argo-failure-semantics.md §10 (no additionalProperties: false anywhere)",
    bad=_HEAD + "  entrypoint: main\n  onexit: cleanup\n  templates: []\n",
    good=_HEAD + "  entrypoint: main\n  onExit: cleanup\n  templates: []\n",
    confident="That Argo's field table (from its SDK models) has no such key at that place.",
    leaves="A fuzzy suggestion (`retryStratgy` -> `retryStrategy`) is a guess; fields added by an Argo version "
           "newer than the table are reported too.",
)
def unknown_field(ctx: Context) -> Iterator[Hit]:
    return _structure(ctx, unknown=True)


@rule(
    "PF004", "wrong-type", Severity.ERROR,
    summary="a field holds a value of the wrong shape",
    why="Argo refuses the manifest, or reads the field as absent.",
    source="argo-failure-semantics.md §10; api/jsonschema/schema.json",
    bad=_HEAD + "  entrypoint: main\n  templates: {main: {}}\n",
    good=_HEAD + "  entrypoint: main\n  templates: []\n",
    confident="That the value is not of the type Argo's model declares (a mapping for a list, text for a number).",
    leaves="Values templated with `{{...}}`, which are only known at run time.",
)
def wrong_type(ctx: Context) -> Iterator[Hit]:
    return _structure(ctx, unknown=False)


RETRY_POLICIES = ("Always", "OnFailure", "OnError", "OnTransientError")
POD_GC_STRATEGIES = ("OnPodCompletion", "OnPodSuccess", "OnWorkflowCompletion", "OnWorkflowSuccess")
RESOURCE_ACTIONS = ("get", "create", "apply", "delete", "replace", "patch")
MERGE_STRATEGIES = ("strategic", "merge", "json")
SHUTDOWN = ("Stop", "Terminate")


@rule(
    "PF005", "invalid-value", Severity.ERROR,
    summary="a value the schema does not constrain but Argo refuses",
    why="retryPolicy, podGC.strategy, resource.action, mergeStrategy and shutdown are free strings in the "
        "schema; a wrong value fails at run time, often only on the failure path.",
    source="argo-failure-semantics.md §10 (almost no enums; the allowed values listed there)",
    bad=_HEAD + "  entrypoint: main\n  podGC: {strategy: OnSuccess}\n  templates: []\n",
    good=_HEAD + "  entrypoint: main\n  podGC: {strategy: OnPodSuccess}\n  templates: []\n",
    confident="That the value is none of the ones Argo's controller accepts for that field.",
    leaves="Templated values (`{{...}}`), which are only known at run time.",
)
def invalid_value(ctx: Context) -> Iterator[Hit]:
    spec = ctx.spec
    for template, retry in [(None, spec.retry)] + [(t, t.retry) for t in ctx.templates.values()]:
        if retry and retry.policy and retry.policy not in RETRY_POLICIES and "{{" not in retry.policy:
            path = (ctx.template_path(template, "retryStrategy") if template else [*ctx.spec_path, "retryStrategy"])
            yield _invalid(ctx, retry.line, template.name if template else None, "retryPolicy", retry.policy,
                           RETRY_POLICIES, [*path, "retryPolicy"])
    if spec.pod_gc_strategy and spec.pod_gc_strategy not in POD_GC_STRATEGIES:
        yield _invalid(ctx, key_line(spec.raw, "podGC", spec.line), None, "podGC.strategy", spec.pod_gc_strategy,
                       POD_GC_STRATEGIES, [*ctx.spec_path, "podGC", "strategy"])
    shutdown = spec.raw.get("shutdown")
    if isinstance(shutdown, str) and shutdown not in SHUTDOWN:
        yield _invalid(ctx, key_line(spec.raw, "shutdown", spec.line), None, "shutdown", shutdown, SHUTDOWN,
                       [*ctx.spec_path, "shutdown"])
    for template in ctx.templates.values():
        if template.resource is None:
            continue
        res, raw = template.resource, template.raw.get("resource")
        raw = raw if isinstance(raw, dict) else {}
        if res.action and res.action not in RESOURCE_ACTIONS and "{{" not in res.action:
            yield _invalid(ctx, res.line, template.name, "resource.action", res.action, RESOURCE_ACTIONS,
                           ctx.template_path(template, "resource", "action"))
        merge = raw.get("mergeStrategy")
        if isinstance(merge, str) and merge not in MERGE_STRATEGIES and "{{" not in merge:
            yield _invalid(ctx, key_line(raw, "mergeStrategy", res.line), template.name, "resource.mergeStrategy",
                           merge, MERGE_STRATEGIES, ctx.template_path(template, "resource", "mergeStrategy"))


def _invalid(ctx: Context, line: int, template: str | None, name: str, value: str, allowed: tuple[str, ...],
             path: Path) -> Hit:
    near = next((a for a in allowed if a.lower() == value.lower()), None)
    fix = f"write '{near}'" if near else f"use one of: {', '.join(allowed)}"
    return ctx.hit("PF005", line, template, f"{name} '{value}' is not a value Argo accepts", fix, path=path,
                   field=name, value=value, allowed=list(allowed))
