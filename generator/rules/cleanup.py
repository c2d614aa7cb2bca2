"""Cleanup placement: what a workflow creates for itself must be removed whatever the outcome."""

from __future__ import annotations

from collections.abc import Iterator

from generator.findings import Hit
from generator.rules.base import rule
from generator.rules.context import Context
from generator.rules.effects import deletions
from generator.rules.graph import unsafe_cleanups
from generator.severity import Severity

_HEAD = "apiVersion: argoproj.io/v1alpha1\nkind: Workflow\nmetadata: {generateName: demo-}\nspec:\n"
_LEAVES = """\
  - name: create-db
    activeDeadlineSeconds: 120
    container: {image: 'bitnami/kubectl:1.31', command: [kubectl, apply, -f, /db.yaml]}
  - name: test
    activeDeadlineSeconds: 600
    container: {image: 'busybox:1.36', command: [wget, 'http://db']}
  - name: delete-db
    activeDeadlineSeconds: 120
    container: {image: 'bitnami/kubectl:1.31', command: [kubectl, delete, -f, /db.yaml]}
"""


@rule(
    "PF101", "cleanup-not-in-exit-handler", Severity.ERROR,
    summary="cleanup runs as an ordinary DAG or steps node, so it never runs when an earlier step fails",
    why="A failed task omits its dependents and a failed step group stops the template; only the exit handler "
        "runs whatever the outcome (exit-handlers.md). The temporary resource is orphaned. Cleanup is "
        "recognised by what it does (a delete, revert or rollback of something the workflow creates: resource "
        "templates, pipeforge.io/creates annotations, kubectl/helm/argocd/aws/terraform commands) and, for "
        "steps whose commands cannot be read, by a name starting with cleanup-, teardown-, delete-, remove-, "
        "destroy-, revert-, rollback-, undeploy- or uninstall-.",
    source="argo-failure-semantics.md §3 (exit handlers run irrespective of the outcome), §4 and §5 (a failure "
           "omits dependents / stops the steps)",
    bad=_HEAD + "  entrypoint: main\n  templates:\n  - name: main\n    steps:\n    - - {name: create, template: "
        "create-db}\n    - - {name: test, template: test}\n    - - {name: cleanup, template: delete-db}\n" + _LEAVES,
    good=_HEAD + "  entrypoint: main\n  onExit: delete-db\n  templates:\n  - name: main\n    steps:\n"
         "    - - {name: create, template: create-db}\n    - - {name: test, template: test}\n" + _LEAVES,
    confident="That the step deletes something the workflow itself creates (or is named as cleanup) and does "
              "not run when a step before it fails.",
    leaves="Steps that clean up through a tool it does not read, or under another name; whether the object "
           "would be garbage-collected anyway (ownerReferences).",
)
def cleanup_not_in_exit_handler(ctx: Context) -> Iterator[Hit]:
    exit_deletes = {d for n in ctx.exit_templates if n in ctx.templates for d in deletions(ctx.templates[n])}
    has_exit = ctx.spec.exit_handler is not None
    for template in ctx.main_composites():
        cleanup_tasks = {}
        for task in template.children:
            targets, by_name = ctx.cleanup_targets(task)
            if targets or by_name:
                cleanup_tasks[task.name] = (task, targets, by_name)
        if not cleanup_tasks:
            continue
        for name in unsafe_cleanups(template, set(cleanup_tasks)):
            task, targets, by_name = cleanup_tasks[name]
            missing = [t for t in targets if t not in exit_deletes]
            if has_exit and (by_name or not missing):
                continue
            what = ", ".join(f"{k}/{n}" for k, n in missing) if missing else f"by its name '{task.name}'"
            where = "the exit handler does not clean it up" if has_exit else "the workflow has no exit handler"
            yield ctx.hit("PF101", task.line, template.name,
                          f"step '{task.name}' cleans up ({what}) as an ordinary {template.kind} node that does not "
                          f"run when an earlier step fails, and {where}",
                          f"move '{task.name}' into the exit handler (spec.onExit), or let it run on failure "
                          "(continueOn on the steps before it, or depends on their .Failed/.Errored)",
                          **ctx.task_data(template, task), by_name=by_name,
                          objects=[{"kind": k, "name": n} for k, n in missing])
