"""Operational hygiene: pinned images, GC, TTL, service accounts, non-root pods, fail-fast, a run deadline."""

from __future__ import annotations

from collections.abc import Iterator

from generator.findings import Hit
from generator.model import Template
from generator.rules.base import rule
from generator.rules.context import Context, key_line
from generator.severity import Severity

_HEAD = "apiVersion: argoproj.io/v1alpha1\nkind: Workflow\nmetadata: {generateName: demo-}\nspec:\n"
_ECHO = "  templates:\n  - name: main\n    container: {image: 'busybox:1.36', command: [echo, hi]}\n"


def _workflow_level(ctx: Context) -> bool:
    """Workflow-level settings are judged on runnable workflows, not on referencing ones or template libraries."""
    if ctx.spec.workflow_template_ref is not None:
        return False
    return not (ctx.manifest.kind in ("WorkflowTemplate", "ClusterWorkflowTemplate") and not ctx.spec.entrypoint)


@rule(
    "PF501", "image-not-pinned", Severity.WARNING,
    summary="an image without a tag, or `latest`",
    why="A retry or a resubmission may run other code than the first attempt.",
    source="docs/argo-semantics.md, Image tags other than a digest can change under a retry",
    bad=_HEAD + "  entrypoint: main\n" + _ECHO.replace("busybox:1.36", "busybox"),
    good=_HEAD + "  entrypoint: main\n" + _ECHO,
    confident="That the image reference has no tag or the tag `latest` and no digest.",
    leaves="Mutable tags other than latest (`1`, `stable`): only a digest pins the code.",
)
def image_not_pinned(ctx: Context) -> Iterator[Hit]:
    for template in ctx.templates.values():
        image = template.container.get("image") if template.kind in ("container", "script") else None
        if not isinstance(image, str) or "{{" in image:
            continue
        ref = image.rsplit("/", 1)[-1]
        tag = ref.partition(":")[2]
        if "@" not in ref and (not tag or tag == "latest"):
            line = key_line(template.raw.get(template.kind), "image", template.line)
            yield ctx.hit("PF501", line, template.name, f"image '{image}' of template '{template.name}' is not "
                          "pinned", "pin a version tag or a digest (image@sha256:...)",
                          path=ctx.template_path(template, template.kind, "image"), field="image", image=image)


@rule(
    "PF502", "no-pod-gc", Severity.WARNING,
    summary="no podGC",
    why="Without podGC, finished pods are never deleted.",
    source="argo-failure-semantics.md §7 (podGC unset means pods are never deleted)",
    bad=_HEAD + "  entrypoint: main\n" + _ECHO,
    good=_HEAD + "  entrypoint: main\n  podGC: {strategy: OnPodSuccess}\n" + _ECHO,
    confident="That no podGC strategy is set on the workflow.",
    leaves="A controller-wide default (workflowDefaults in the controller ConfigMap) is not visible here.",
)
def no_pod_gc(ctx: Context) -> Iterator[Hit]:
    if _workflow_level(ctx) and not ctx.spec.has_pod_gc:
        yield ctx.hit("PF502", ctx.spec.line, None, "no podGC: finished pods are never deleted",
                      "add podGC: {strategy: OnPodSuccess} (keeps failed pods for debugging)",
                      path=[*ctx.spec_path], field="podGC")


@rule(
    "PF503", "ttl-misses-errors", Severity.WARNING,
    summary="no ttlStrategy, or one that never removes Error workflows",
    why="secondsAfterFailure matches phase Failed only; an Error workflow needs secondsAfterCompletion.",
    source="argo-failure-semantics.md §7 (secondsAfterFailure matches phase Failed only)",
    bad=_HEAD + "  entrypoint: main\n  ttlStrategy: {secondsAfterFailure: 600}\n" + _ECHO,
    good=_HEAD + "  entrypoint: main\n  ttlStrategy: {secondsAfterFailure: 600, secondsAfterCompletion: 600}\n"
         + _ECHO,
    confident="That no TTL removes the workflow object when it ends in Error.",
    leaves="A controller-wide default TTL is not visible here.",
)
def ttl_misses_errors(ctx: Context) -> Iterator[Hit]:
    spec = ctx.spec
    if not _workflow_level(ctx):
        return
    if spec.ttl is None:
        yield ctx.hit("PF503", spec.line, None, "no ttlStrategy: the workflow object is kept until the controller "
                      "default removes it", "add ttlStrategy with secondsAfterSuccess, secondsAfterFailure and "
                      "secondsAfterCompletion", path=[*ctx.spec_path], field="ttlStrategy")
    elif "secondsAfterCompletion" not in spec.ttl:
        yield ctx.hit("PF503", key_line(spec.raw, "ttlStrategy", spec.line), None,
                      "ttlStrategy has no secondsAfterCompletion: secondsAfterFailure matches Failed only, so an "
                      "Error workflow is never removed", "add ttlStrategy.secondsAfterCompletion",
                      path=[*ctx.spec_path, "ttlStrategy"], field="secondsAfterCompletion")


def _pods(ctx: Context) -> list[Template]:
    return [t for t in ctx.templates.values() if t.runs_pod]


@rule(
    "PF504", "default-service-account", Severity.WARNING,
    summary="serviceAccountName missing or `default`",
    why="Steps then run with the namespace's default account, usually more or less than they need.",
    source="argo-failure-semantics.md §9 (security notes); Argo docs/service-accounts.md",
    bad=_HEAD + "  entrypoint: main\n" + _ECHO,
    good=_HEAD + "  entrypoint: main\n  serviceAccountName: demo-runner\n" + _ECHO,
    confident="That the pods run as the namespace's default service account.",
    leaves="Whether the account named has the right permissions.",
)
def default_service_account(ctx: Context) -> Iterator[Hit]:
    spec, pods = ctx.spec, _pods(ctx)
    if not _workflow_level(ctx) or spec.service_account not in (None, "default"):
        return
    if pods and all(t.raw.get("serviceAccountName") not in (None, "default") for t in pods):
        return
    yield ctx.hit("PF504", spec.line, None, "serviceAccountName is " + (
        "'default'" if spec.service_account else "not set (the namespace's default account is used)"),
        "set spec.serviceAccountName to an account with just the permissions the steps need",
        path=[*ctx.spec_path], field="serviceAccountName")


def _non_root(template: Template) -> bool:
    for context in (template.raw.get("securityContext"), template.container.get("securityContext")):
        if isinstance(context, dict) and context.get("runAsNonRoot") is True:
            return True
    return False


@rule(
    "PF505", "no-run-as-non-root", Severity.WARNING,
    summary="runAsNonRoot is not set",
    why="Pods may run as root.",
    source="argo-failure-semantics.md §9 (security notes); Kubernetes Pod Security Standards (restricted)",
    bad=_HEAD + "  entrypoint: main\n" + _ECHO,
    good=_HEAD + "  entrypoint: main\n  securityContext: {runAsNonRoot: true, runAsUser: 1000}\n" + _ECHO,
    confident="That neither the workflow nor the template asks Kubernetes to refuse a root container.",
    leaves="Images that do not run as root anyway; admission policies of the cluster.",
)
def no_run_as_non_root(ctx: Context) -> Iterator[Hit]:
    if not _workflow_level(ctx) or ctx.spec.security_context.get("runAsNonRoot") is True:
        return
    missing = [t.name for t in _pods(ctx) if not _non_root(t)]
    if missing:
        yield ctx.hit("PF505", ctx.spec.line, None, "runAsNonRoot is not set for " + ", ".join(missing[:5])
                      + (" and others" if len(missing) > 5 else ""), "set spec.securityContext.runAsNonRoot: true "
                      "(and runAsUser)", path=[*ctx.spec_path], field="securityContext", templates=missing)


@rule(
    "PF506", "dag-fail-fast-off", Severity.WARNING,
    summary="`failFast: false` on a DAG",
    why="Every branch keeps running after one failed, spending time and side effects on a lost run.",
    source="argo-failure-semantics.md §4 (DAG failFast)",
    bad=_HEAD + "  entrypoint: main\n  templates:\n  - name: main\n    dag:\n      failFast: false\n"
        "      tasks: [{name: a, template: echo}]\n  - name: echo\n    container: {image: 'busybox:1.36', "
        "command: [echo]}\n",
    good=_HEAD + "  entrypoint: main\n  templates:\n  - name: main\n    dag:\n"
         "      tasks: [{name: a, template: echo}]\n  - name: echo\n"
         "    container: {image: 'busybox:1.36', command: [echo]}\n",
    confident="That the DAG keeps scheduling branches after a failure.",
    leaves="DAGs whose branches are independent on purpose (a fan-out of reports): suppress with a reason.",
)
def dag_fail_fast_off(ctx: Context) -> Iterator[Hit]:
    for template in ctx.templates.values():
        if template.kind == "dag" and template.dag_fail_fast is False:
            yield ctx.hit("PF506", key_line(template.raw.get("dag"), "failFast", template.line), template.name,
                          f"DAG '{template.name}' has failFast: false: every branch keeps running after a failure",
                          "remove failFast: false, or explain why every branch must finish",
                          path=ctx.template_path(template, "dag", "failFast"), field="failFast")


@rule(
    "PF507", "no-workflow-deadline", Severity.INFO,
    summary="no workflow-level activeDeadlineSeconds",
    why="Nothing bounds the whole run: an unanswered approval gate waits forever.",
    source="argo-failure-semantics.md §2 (spec.activeDeadlineSeconds) and §6 (suspend waits until resumed)",
    bad=_HEAD + "  entrypoint: main\n" + _ECHO,
    good=_HEAD + "  entrypoint: main\n  activeDeadlineSeconds: 3600\n" + _ECHO,
    confident="That the workflow has no overall deadline.",
    leaves="How long a run may take.",
)
def no_workflow_deadline(ctx: Context) -> Iterator[Hit]:
    if _workflow_level(ctx) and ctx.spec.active_deadline_seconds is None:
        yield ctx.hit("PF507", ctx.spec.line, None, "no spec.activeDeadlineSeconds: nothing bounds the whole run",
                      "add spec.activeDeadlineSeconds", path=[*ctx.spec_path], field="activeDeadlineSeconds")
