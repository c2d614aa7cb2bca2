"""Retry rules: bounded, at the leaves, with backoff and an explicit policy, and safe to repeat."""

from __future__ import annotations

import re
from collections.abc import Iterator

from generator.findings import Hit
from generator.model import RetryStrategy, Template
from generator.rules.base import rule
from generator.rules.context import Context, Path
from generator.rules.effects import creations
from generator.severity import Severity

_HEAD = "apiVersion: argoproj.io/v1alpha1\nkind: Workflow\nmetadata: {generateName: demo-}\nspec:\n"
_BACKOFF = "{duration: 10s, factor: 2}"
_EXPR = re.compile(r"{{\s*(=?)\s*(.*?)\s*}}")
_PER_ATTEMPT = re.compile(r"\bpod\.name\b|\bretries\b|creationTimestamp|\bnow\(|\bnode\.id\b|\bworkflow\.duration\b")


def _leaf(retry: str, body: str = "container: {image: 'busybox:1.36', command: [wget, 'https://example.org']}") -> str:
    return (_HEAD + "  entrypoint: fetch\n  templates:\n  - name: fetch\n    activeDeadlineSeconds: 60\n"
            + (f"    retryStrategy: {retry}\n" if retry else "") + f"    {body}\n")


_JOB = ("resource: {action: ACTION, manifest: \"apiVersion: batch/v1\\nkind: Job\\nmetadata: NAME\\n"
        "spec: {template: {spec: {restartPolicy: Never, containers: [{name: c, image: 'busybox:1.36'}]}}}\"}")


def _job(action: str, name: str) -> str:
    return _JOB.replace("ACTION", action).replace("NAME", name)


def _retry_path(ctx: Context, template: Template) -> Path:
    """Where the retryStrategy a pod leaf runs under is written: its own, else spec.retryStrategy."""
    if template.retry is not None:
        return ctx.template_path(template, "retryStrategy")
    return [*ctx.spec_path, "retryStrategy"]


@rule(
    "PF201", "unbounded-retry", Severity.ERROR,
    summary="a retryStrategy without limit retries forever",
    why="`retryStrategy: {}` retries until the step succeeds (retries.md). In spec.templateDefaults it applies "
        "to every template.",
    source="argo-failure-semantics.md §1 (retryStrategy: {} retries until it succeeds); "
           "docs/argo-semantics.md, spec.templateDefaults are merged into every template",
    bad=_leaf("{retryPolicy: OnError, backoff: " + _BACKOFF + "}"),
    good=_leaf("{limit: 3, retryPolicy: OnError, backoff: " + _BACKOFF + "}"),
    confident="That the retryStrategy (the template's own, or the one templateDefaults gives it) has no limit.",
    leaves="How many retries the step deserves.",
)
def unbounded_retry(ctx: Context) -> Iterator[Hit]:
    defaults = ctx.spec.raw.get("templateDefaults")
    inherited = RetryStrategy.parse(defaults.get("retryStrategy")) if isinstance(defaults, dict) else None
    if inherited is not None and not inherited.bounded:
        yield ctx.hit("PF201", inherited.line, None, "spec.templateDefaults.retryStrategy has no limit: every "
                      "template without a limit of its own retries forever", "add retryStrategy.limit "
                      "(for example 3) to spec.templateDefaults", path=[*ctx.spec_path, "templateDefaults",
                                                                       "retryStrategy"], field="limit")
    for template in ctx.templates.values():
        retry = template.retry
        if retry is None or retry.bounded:
            continue
        if inherited is not None and not inherited.bounded and template.inherits("retryStrategy") and \
                "retryStrategy" not in (template.own or {}):
            continue  # reported once, at templateDefaults
        yield ctx.hit("PF201", retry.line, template.name, f"template '{template.name}' retries without a limit: "
                      "it retries forever", "add retryStrategy.limit (for example 3)",
                      path=ctx.template_path(template, "retryStrategy"), field="limit")


@rule(
    "PF204", "retry-on-composite", Severity.ERROR,
    summary="retryStrategy on a steps/DAG template or at spec level re-runs succeeded children",
    why="Each attempt re-runs the whole sub-graph, including steps that already succeeded, so their side "
        "effects happen again (argo-workflows#12009, #5073, #9190). A warning when the sub-graph has none.",
    source="argo-failure-semantics.md §1 (retrying a steps/DAG template re-runs the whole sub-graph)",
    bad=_HEAD + "  entrypoint: main\n  templates:\n  - name: main\n    retryStrategy: {limit: 2}\n    steps:\n"
        "    - - {name: deploy, template: deploy}\n  - name: deploy\n    activeDeadlineSeconds: 60\n"
        "    " + _job("create", "{name: app}") + "\n",
    good=_HEAD + "  entrypoint: main\n  templates:\n  - name: main\n    steps:\n"
         "    - - {name: deploy, template: deploy}\n  - name: deploy\n    activeDeadlineSeconds: 60\n"
         "    retryStrategy: {limit: 2, retryPolicy: OnError, backoff: " + _BACKOFF + "}\n"
         "    " + _job("apply", "{name: app}") + "\n",
    confident="That a retry of the composite re-runs children that already succeeded.",
    leaves="Whether re-running them is harmless; where (which leaves) the retries belong.",
)
def retry_on_composite(ctx: Context) -> Iterator[Hit]:
    for template in ctx.templates.values():
        if template.retry is None or template.is_leaf:
            continue
        yield _composite(ctx, template.retry, template.name, f"{template.kind} template '{template.name}'",
                         ctx.subgraph_has_effects(template.name), ctx.template_path(template, "retryStrategy"))
    spec = ctx.spec
    if spec.retry is not None:
        entry = spec.entrypoint or ""
        effects = entry in ctx.templates and ctx.subgraph_has_effects(entry)
        yield _composite(ctx, spec.retry, None, "spec.retryStrategy (it applies to every template without one, "
                         "the entry template included)", effects, [*ctx.spec_path, "retryStrategy"])


def _composite(ctx: Context, retry: RetryStrategy, template: str | None, what: str, effects: bool,
               path: Path) -> Hit:
    fix = "move the retryStrategy to the leaf templates"
    if effects:
        return ctx.hit("PF204", retry.line, template, f"{what} re-runs every child on each attempt, succeeded ones "
                       "too, and its children have side effects", fix, path=path, side_effects=True)
    return ctx.hit("PF204", retry.line, template, f"{what} re-runs every child on each attempt", fix, Severity.WARNING,
                   path=path, side_effects=False)


def _pod_leaves(ctx: Context) -> Iterator[tuple[Template, RetryStrategy | None]]:
    for template in ctx.templates.values():
        if template.runs_pod:
            yield template, ctx.retry_of(template)


@rule(
    "PF205", "no-retry", Severity.WARNING,
    summary="a step without retryStrategy",
    why="One evicted pod or image-pull hiccup fails the whole workflow.",
    source="argo-failure-semantics.md §0 (Error: infrastructure faults) and §1",
    bad=_leaf(""),
    good=_leaf("{limit: 3, retryPolicy: OnError, backoff: " + _BACKOFF + "}"),
    confident="That one transient fault of the pod fails the step and, without continueOn, the workflow.",
    leaves="Whether the step is safe to repeat (a `create` of a fixed name is not reported: a retry would fail).",
)
def no_retry(ctx: Context) -> Iterator[Hit]:
    for template, retry in _pod_leaves(ctx):
        res = template.resource
        if retry is None and not (res and res.action == "create"):
            yield ctx.hit("PF205", template.line, template.name, f"template '{template.name}' has no retryStrategy: "
                          "one transient fault fails the workflow", "add retryStrategy with limit, retryPolicy and "
                          "backoff", path=ctx.template_path(template), field="retryStrategy")


@rule(
    "PF206", "retry-without-backoff", Severity.WARNING,
    summary="retries without backoff",
    why="Without backoff every retry follows at once and hits the same transient fault.",
    source="argo-failure-semantics.md §1 (backoff)",
    bad=_leaf("{limit: 3, retryPolicy: OnError}"),
    good=_leaf("{limit: 3, retryPolicy: OnError, backoff: " + _BACKOFF + "}"),
    confident="That the retries follow each other without waiting.",
    leaves="The backoff to choose.",
)
def retry_without_backoff(ctx: Context) -> Iterator[Hit]:
    for template, retry in _pod_leaves(ctx):
        if retry is not None and retry.backoff is None:
            yield ctx.hit("PF206", retry.line, template.name, f"template '{template.name}' retries without backoff",
                          "add retryStrategy.backoff (for example duration: 10s, factor: 2, maxDuration: 5m)",
                          path=_retry_path(ctx, template), field="backoff")


@rule(
    "PF207", "implicit-retry-policy", Severity.WARNING,
    summary="retryPolicy left implicit",
    why="The default is OnFailure (Always with an expression): infrastructure errors are not retried and "
        "non-zero exits are; say which one is meant.",
    source="argo-failure-semantics.md §1 (policies table)",
    bad=_leaf("{limit: 3, backoff: " + _BACKOFF + "}"),
    good=_leaf("{limit: 3, retryPolicy: OnError, backoff: " + _BACKOFF + "}"),
    confident="Which policy Argo applies when none is written.",
    leaves="Which policy the step needs.",
)
def implicit_retry_policy(ctx: Context) -> Iterator[Hit]:
    for template, retry in _pod_leaves(ctx):
        if retry is not None and not retry.policy:
            yield ctx.hit("PF207", retry.line, template.name, f"template '{template.name}' leaves retryPolicy "
                          f"implicit ({retry.effective_policy})", f"write retryPolicy: {retry.effective_policy} (or "
                          "OnError to retry infrastructure errors only)", path=_retry_path(ctx, template),
                          field="retryPolicy", effective=retry.effective_policy)


def per_attempt_names(template: Template) -> str | None:
    res = template.resource
    if res and res.action == "create" and res.generate_name and not res.name:
        return f"{res.kind}/{res.generate_name}* (generateName)"
    for kind, name in creations(template):
        for match in _EXPR.finditer(name):
            if _PER_ATTEMPT.search(match.group(2)):
                return f"{kind}/{name}"
    return None


@rule(
    "PF202", "non-idempotent-retry", Severity.ERROR,
    summary="a retried step creates a new object on every attempt",
    why="With generateName, or a name built from the pod name, the retry number or the time, every retry "
        "creates another object that nothing cleans up (argo-workflows#6150).",
    source="argo-failure-semantics.md §8 (create is not idempotent; with generateName every retry creates another)",
    bad=_leaf("{limit: 3, retryPolicy: OnError, backoff: " + _BACKOFF + "}", _job("create", "{generateName: job-}")),
    good=_leaf("{limit: 3, retryPolicy: OnError, backoff: " + _BACKOFF + "}",
               _job("apply", "{name: 'job-{{workflow.name}}'}")),
    confident="That each attempt creates an object under a new name.",
    leaves="Whether something else (an ownerReference, a TTL) removes the extra objects.",
)
def non_idempotent_retry(ctx: Context) -> Iterator[Hit]:
    for template, retry in _pod_leaves(ctx):
        per_attempt = per_attempt_names(template) if retry is not None else None
        if retry is not None and per_attempt:
            yield ctx.hit("PF202", retry.line, template.name, f"template '{template.name}' is retried but creates "
                          f"{per_attempt} under a new name on every attempt: each retry leaves another object "
                          "behind", "use a fixed name keyed on a workflow parameter and action: apply",
                          path=_retry_path(ctx, template), object=_object(per_attempt))


def _object(ref: str) -> dict[str, str]:
    kind, _, name = ref.partition("/")
    return {"kind": kind, "name": name.split(" ")[0]}


@rule(
    "PF203", "create-under-retry", Severity.WARNING,
    summary="`create` of a fixed name under a retryStrategy",
    why="A retry after the object was created fails with AlreadyExists; apply converges instead.",
    source="argo-failure-semantics.md §8 (with name, a retry hits AlreadyExists)",
    bad=_leaf("{limit: 3, retryPolicy: OnError, backoff: " + _BACKOFF + "}", _job("create", "{name: job}")),
    good=_leaf("{limit: 3, retryPolicy: OnError, backoff: " + _BACKOFF + "}", _job("apply", "{name: job}")),
    confident="That a retry after a successful create fails with AlreadyExists.",
    leaves="Whether apply's semantics (update in place) are wanted.",
)
def create_under_retry(ctx: Context) -> Iterator[Hit]:
    for template, retry in _pod_leaves(ctx):
        res = template.resource
        if retry is None or per_attempt_names(template) or not (res and res.action == "create" and res.name):
            continue
        yield ctx.hit("PF203", retry.line, template.name, f"template '{template.name}' creates {res.kind}/{res.name} "
                      "under retry: a retry after it was created fails with AlreadyExists", "use action: apply",
                      path=ctx.template_path(template, "resource", "action"), field="action",
                      object={"kind": res.kind or "", "name": res.name})


@rule(
    "PF208", "always-on-non-idempotent", Severity.WARNING,
    summary="retryPolicy Always on a step that is not idempotent",
    why="Always retries errors too, where the previous attempt may already have acted.",
    source="argo-failure-semantics.md §1 (Always retries Failed and Error) and §8",
    bad=_leaf("{limit: 3, retryPolicy: Always, backoff: " + _BACKOFF + "}", _job("create", "{name: job}")),
    good=_leaf("{limit: 3, retryPolicy: Always, backoff: " + _BACKOFF + "}", _job("apply", "{name: job}")),
    confident="That the step is retried on errors although it creates objects in a way that cannot repeat.",
    leaves="Whether the step can be made idempotent.",
)
def always_on_non_idempotent(ctx: Context) -> Iterator[Hit]:
    for template, retry in _pod_leaves(ctx):
        res = template.resource
        if retry is not None and retry.effective_policy == "Always" and (
            per_attempt_names(template) or (res and res.action == "create")
        ):
            yield ctx.hit("PF208", retry.line, template.name, f"template '{template.name}' retries Always although "
                          "it is not idempotent", "make the step idempotent (apply, keyed names), or retry OnError "
                          "only", path=_retry_path(ctx, template), field="retryPolicy")
