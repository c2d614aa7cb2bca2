"""Deadline rules: a step that can hang must be bounded, and exit-handler steps by their own deadline."""

from __future__ import annotations

from collections.abc import Iterator

from generator.commands import SHELLS, inline_script, simple_commands
from generator.findings import Hit
from generator.model import Template
from generator.rules.base import rule
from generator.rules.context import Context
from generator.severity import Severity

_HEAD = "apiVersion: argoproj.io/v1alpha1\nkind: Workflow\nmetadata: {generateName: demo-}\nspec:\n"
_WORK = "  - name: work\n    container: {image: 'alpine/git:2.45.2', command: [git, clone, 'https://example.org/r']}\n"
#: Programs that finish on their own: a step running only these cannot hang once it has started.
_TERMINATING = frozenset({"echo", "printf", "true", "false", "exit", "cowsay", "date", "env", "printenv", "pwd",
                          "whoami", "hostname", "uname", "set", "export", ":", "test", "[", "ls", "cat", "cp", "mv",
                          "mkdir", "touch", "rm", "wc", "head", "basename", "dirname"})


_SHORT = 400  # characters: longer inline scripts are assumed to do real work


def _what(template: Template) -> str:
    if template.kind == "resource":
        return "timeout (activeDeadlineSeconds applies to container and script templates only)"
    return "activeDeadlineSeconds or timeout"


def _bounded(template: Template) -> bool:
    return template.timeout is not None if template.kind == "resource" else template.has_deadline


def can_hang(template: Template) -> bool:
    """Whether a pod-running template can run forever once started.

    Daemons are meant to run until their scope ends (a deadline would kill them by design); a resource
    template without success/failure conditions ends when kubectl returns (only polling has no timeout);
    a container whose commands are all ones that terminate by themselves (echo, a numeric sleep) cannot.
    """
    if not template.runs_pod or template.raw.get("daemon") is True:
        return False
    if template.kind == "resource":
        res = template.resource
        return res is not None and bool(res.success_condition or res.failure_condition)
    if template.kind == "container":
        return not _terminates(template)
    return True


def _terminates(template: Template) -> bool:
    argv = [str(p) for k in ("command", "args") for p in template.container.get(k) or [] if p is not None]
    if not argv:
        return False  # the image's entrypoint: unknown
    if argv[0].rsplit("/", 1)[-1] in SHELLS:
        script = inline_script(argv[1:])
        if script is None or len(script) > _SHORT:
            return False  # a long script is not a few echo lines: not worth tokenising to find out
        commands = simple_commands(script)
    else:
        commands = [argv]
    return bool(commands) and all(_finite(command) for command in commands or [])


def _finite(argv: list[str]) -> bool:
    """Whether a command ends by itself; ``sleep``'s argument is the shell's (coreutils NUMBER[smhd]), not an
    Argo duration, so it is read here and not by generator/argo_values.py."""
    program = argv[0].rsplit("/", 1)[-1]
    if program == "sleep":
        return len(argv) == 2 and argv[1].rstrip("smhd").replace(".", "", 1).isdigit()
    return program in _TERMINATING


@rule(
    "PF102", "exit-handler-no-deadline", Severity.ERROR,
    summary="an exit-handler step has no deadline of its own",
    why="Exit-handler pods ignore the workflow's activeDeadlineSeconds (workflowpod.go onExitPod), so a hung "
        "cleanup step keeps the workflow Running forever.",
    source="argo-failure-semantics.md §2 (exit-handler pods ignore the workflow deadline)",
    bad=_HEAD + "  entrypoint: work\n  onExit: cleanup\n  activeDeadlineSeconds: 600\n  templates:\n" + _WORK.replace(
        "  - name: work\n", "  - name: work\n    activeDeadlineSeconds: 60\n")
    + "  - name: cleanup\n    container: {image: 'bitnami/kubectl:1.31', command: [kubectl, delete, job, -l, a=b]}\n",
    good=_HEAD + "  entrypoint: work\n  onExit: cleanup\n  activeDeadlineSeconds: 600\n  templates:\n" + _WORK.replace(
        "  - name: work\n", "  - name: work\n    activeDeadlineSeconds: 60\n")
    + "  - name: cleanup\n    activeDeadlineSeconds: 120\n"
      "    container: {image: 'bitnami/kubectl:1.31', command: [kubectl, delete, job, -l, a=b]}\n",
    confident="That a pod of the exit handler has no deadline of its own: nothing stops it if it hangs.",
    leaves="How long the cleanup may take: the deadline to set.",
)
def exit_handler_no_deadline(ctx: Context) -> Iterator[Hit]:
    for template in ctx.templates.values():
        if template.name in ctx.exit_templates and can_hang(template) and not _bounded(template):
            what = _what(template)
            yield ctx.hit("PF102", template.line, template.name, f"exit-handler step '{template.name}' has no "
                          f"{what}: exit pods ignore the workflow deadline, so it can hang forever",
                          f"add {what.split(' ')[0]} to '{template.name}'", path=ctx.template_path(template),
                          field=what.split(" ")[0])


@rule(
    "PF103", "step-no-deadline", Severity.ERROR,
    summary="a step that can hang has no deadline",
    why="A container, script or polling resource template with no activeDeadlineSeconds/timeout can hang "
        "forever. Under spec.activeDeadlineSeconds the hang ends with the workflow, but the step then fails "
        "without a retry (a retry is refused after the workflow deadline): a warning. Daemons, suspend, http, "
        "data and steps/DAG templates, and containers that only echo or sleep a fixed time, are not reported.",
    source="argo-failure-semantics.md §2 (deadlines) and §8 (polling has no built-in timeout); "
           "docs/argo-semantics.md, HTTP and plugin templates run in the workflow's agent pod; "
           "docs/argo-semantics.md, Daemons run until their scope ends; "
           "docs/argo-semantics.md, A resource template without conditions ends when kubectl returns",
    bad=_HEAD + "  entrypoint: work\n  templates:\n" + _WORK,
    good=_HEAD + "  entrypoint: work\n  templates:\n" + _WORK.replace(
        "  - name: work\n", "  - name: work\n    activeDeadlineSeconds: 300\n"),
    confident="That nothing bounds the step's pod: it can run forever (an error), or only until the workflow "
              "deadline ends the whole run (a warning).",
    leaves="Which deadline suits the step; whether an image's own entrypoint can hang (a container without a "
           "command is assumed to).",
)
def step_no_deadline(ctx: Context) -> Iterator[Hit]:
    covered = ctx.spec.active_deadline_seconds is not None
    for template in ctx.templates.values():
        if template.name in ctx.exit_templates or not can_hang(template) or _bounded(template):
            continue
        what = _what(template)
        yield ctx.hit("PF103", template.line, template.name,
                      f"template '{template.name}' has no {what}"
                      + (" (only the workflow deadline bounds it)" if covered else ""),
                      f"add {what.split(' ')[0]} to '{template.name}'", Severity.WARNING if covered else None,
                      path=ctx.template_path(template), field=what.split(" ")[0], workflow_deadline=covered)
