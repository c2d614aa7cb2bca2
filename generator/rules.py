"""The failure-safety rules: each reads the typed model of one manifest and yields what it finds.

Every rule has a code, a name, a default severity and the reason from
../shared/reference/argo-failure-semantics.md behind it (see ``RULES``). ``check_manifest`` runs them all
over one Argo document; ``generator.lint`` adds the structural checks, suppressions and reporting.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Set
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from generator.depends import DependsSyntaxError, Expr, evaluate, from_dependencies, operands, parse_depends
from generator.model import Manifest, RetryStrategy, SideEffect, Task, Template, WorkflowSpec

ERROR, WARNING, INFO = "error", "warning", "info"


@dataclass(frozen=True)
class Rule:
    code: str
    name: str
    severity: str
    summary: str
    why: str


RULES: dict[str, Rule] = {
    rule.code: rule
    for rule in (
        Rule("PF001", "yaml-syntax", ERROR, "the file is not valid YAML",
             "Argo never sees a file it cannot parse; nothing in it is checked until it parses."),
        Rule("PF002", "duplicate-key", ERROR, "a mapping repeats a key",
             "Only one of the values survives, and which one depends on the tool that reads the file."),
        Rule("PF003", "unknown-field", ERROR, "a key Argo does not know (a typo silently disables safety)",
             "Argo's schema has no additionalProperties: false, so `onexit` or `retrystrategy` validates and "
             "is ignored: the exit handler or the retry limit silently does not exist."),
        Rule("PF004", "wrong-type", ERROR, "a field holds a value of the wrong shape",
             "Argo refuses the manifest, or reads the field as absent."),
        Rule("PF005", "invalid-value", ERROR, "a value the schema does not constrain but Argo refuses",
             "retryPolicy, podGC.strategy, resource.action, mergeStrategy and shutdown are free strings in "
             "the schema; a wrong value fails at run time, often only on the failure path."),
        Rule("PF006", "missing-template", ERROR, "onExit, a hook or a step names a template that does not exist",
             "A workflow whose exit handler cannot be resolved never finishes (argo-workflows#5835)."),
        Rule("PF007", "bad-suppression", WARNING, "a lint-ignore annotation without a reason or rule",
             "A suppression must say which rule it silences and why, or it is not honoured."),
        Rule("PF101", "cleanup-not-in-exit-handler", ERROR,
             "cleanup runs as an ordinary DAG or steps node, so it never runs when an earlier step fails",
             "A failed task omits its dependents and a failed step group stops the template; only the exit "
             "handler runs whatever the outcome (exit-handlers.md). The temporary resource is orphaned."),
        Rule("PF102", "exit-handler-no-deadline", ERROR, "an exit-handler step has no deadline of its own",
             "Exit-handler pods ignore the workflow's activeDeadlineSeconds (workflowpod.go onExitPod), "
             "so a hung cleanup step keeps the workflow Running forever."),
        Rule("PF103", "step-no-deadline", ERROR, "a step that runs a pod has no deadline",
             "A container, script or resource template with no activeDeadlineSeconds/timeout can hang "
             "forever; resource polling has no built-in timeout."),
        Rule("PF201", "unbounded-retry", ERROR, "a retryStrategy without limit retries forever",
             "`retryStrategy: {}` retries until the step succeeds (retries.md)."),
        Rule("PF202", "non-idempotent-retry", ERROR,
             "a retried step creates a new object on every attempt",
             "With generateName, or a name built from the pod name, the retry number or the time, every "
             "retry creates another object that nothing cleans up (argo-workflows#6150)."),
        Rule("PF203", "create-under-retry", WARNING, "`create` of a fixed name under a retryStrategy",
             "A retry after the object was created fails with AlreadyExists; apply converges instead."),
        Rule("PF204", "retry-on-composite", ERROR,
             "retryStrategy on a steps/DAG template or at spec level re-runs succeeded children",
             "Each attempt re-runs the whole sub-graph, including steps that already succeeded, so their "
             "side effects happen again (argo-workflows#12009, #5073, #9190). Warning when it has none."),
        Rule("PF205", "no-retry", WARNING, "a step without retryStrategy",
             "One evicted pod or image-pull hiccup fails the whole workflow."),
        Rule("PF206", "retry-without-backoff", WARNING, "retries without backoff",
             "Without backoff every retry follows at once and hits the same transient fault."),
        Rule("PF207", "implicit-retry-policy", WARNING, "retryPolicy left implicit",
             "The default is OnFailure (Always with an expression): infrastructure errors are not retried "
             "and non-zero exits are; say which one is meant."),
        Rule("PF208", "always-on-non-idempotent", WARNING, "retryPolicy Always on a step that is not idempotent",
             "Always retries errors too, where the previous attempt may already have acted."),
        Rule("PF301", "ungated-irreversible", ERROR,
             "an irreversible action without an approval gate whose answer it checks",
             "A delete or replace of something the workflow did not create, or a command that deletes, drops "
             "or destroys, must follow a suspend gate and check its answer with `when`."),
        Rule("PF302", "auto-approving-gate", ERROR, "an approval gate with a duration",
             "`suspend: {duration: ...}` auto-resumes as Succeeded: the gate approves by itself "
             "(suspending.md)."),
        Rule("PF401", "parameter-in-script", ERROR, "a parameter is spliced into script source or a shell string",
             "Parameters are substituted as text, so a quote in a value runs commands (argo-workflows#12534); "
             "pass values through env and quote \"$VAR\"."),
        Rule("PF501", "image-not-pinned", WARNING, "an image without a tag, or `latest`",
             "A retry or a resubmission may run other code than the first attempt."),
        Rule("PF502", "no-pod-gc", WARNING, "no podGC", "Without podGC, finished pods are never deleted."),
        Rule("PF503", "ttl-misses-errors", WARNING, "no ttlStrategy, or one that never removes Error workflows",
             "secondsAfterFailure matches phase Failed only; an Error workflow needs secondsAfterCompletion."),
        Rule("PF504", "default-service-account", WARNING, "serviceAccountName missing or `default`",
             "Steps then run with the namespace's default account, usually more or less than they need."),
        Rule("PF505", "no-run-as-non-root", WARNING, "runAsNonRoot is not set",
             "Pods may run as root."),
        Rule("PF506", "dag-fail-fast-off", WARNING, "`failFast: false` on a DAG",
             "Every branch keeps running after one failed, spending time and side effects on a lost run."),
        Rule("PF507", "no-workflow-deadline", INFO, "no workflow-level activeDeadlineSeconds",
             "Nothing bounds the whole run: an unanswered approval gate waits forever."),
    )
}
RULES_BY_NAME = {rule.name: rule for rule in RULES.values()}


@dataclass(frozen=True)
class Hit:
    """A finding before it is tied to a file: rule, line, template, message, fix."""

    code: str
    line: int
    template: str | None
    message: str
    fix: str
    severity: str | None = None  # None: the rule's default
    #: Structured facts about the finding (``task``: the step or task name) for fixes to read.
    data: dict[str, Any] = field(default_factory=dict, compare=False)


RETRY_POLICIES = ("Always", "OnFailure", "OnError", "OnTransientError")
POD_GC_STRATEGIES = ("OnPodCompletion", "OnPodSuccess", "OnWorkflowCompletion", "OnWorkflowSuccess")
RESOURCE_ACTIONS = ("get", "create", "apply", "delete", "replace", "patch")
MERGE_STRATEGIES = ("strategic", "merge", "json")
SHUTDOWN = ("Stop", "Terminate")

_EXPR = re.compile(r"{{\s*(=?)\s*(.*?)\s*}}")
_PER_ATTEMPT = re.compile(r"\bpod\.name\b|\bretries\b|creationTimestamp|\bnow\(|\bnode\.id\b|\bworkflow\.duration\b")
_PARAM = re.compile(r"{{\s*=?[^}]*\b(?:inputs|workflow)\.parameters\b")
_CLEANUP_NAME = re.compile(
    r"(?:^|[-_.])(?:clean[-_]?up|tear[-_]?down|dispose|"
    r"(?:release|delete|remove|destroy|drop)[-_]?(?:tmp|temp|scratch|workspace|volume|pvc|lock|resources?))"
    r"(?:$|[-_.])",
    re.IGNORECASE,
)
_DESTRUCTIVE = re.compile(
    r"\b(?:kubectl|oc)\b[^\n;&|]*?\sdelete\b"
    r"|\bhelm\s+(?:uninstall|delete)\b"
    r"|\bterraform\s+destroy\b"
    r"|\b(?:drop|truncate)\s+(?:table|database|schema)\b"
    r"|\bdelete\s+from\b"
    r"|\baws\s+s3\s+(?:rm|rb)\b"
    r"|\bgsutil\s+(?:-m\s+)?rm\b"
    r"|\b(?:gcloud|az)\b[^\n;&|]*?\sdelete\b",
    re.IGNORECASE,
)
_MANIFEST_KIND = re.compile(r"^kind:\s*(\S+)", re.MULTILINE)
_MANIFEST_NAME = re.compile(r"^metadata:\s*\n(?:\s+.*\n)*?\s+name:\s*(\S.*?)\s*$", re.MULTILINE)
_SHELLS = {"sh", "bash", "zsh", "ash", "dash", "ksh", "python", "python3", "node", "perl", "ruby", "pwsh"}
_INLINE_FLAGS = {"-c", "-e", "-ec", "-ce", "-xc", "-euc", "-eu", "--command"}


def normalise(name: str) -> str:
    """A resource name with Argo expressions written one way, so two references compare equal."""
    return _EXPR.sub(lambda m: "{{" + m.group(1) + m.group(2) + "}}", name.strip())


def _key(kind: str, name: str) -> tuple[str, str]:
    return kind.strip().lower(), normalise(name)


# ---------------------------------------------------------------- what templates do


def resource_target(template: Template) -> tuple[str, str] | None:
    """(kind, name) a resource template acts on; generateName ends with ``*``, a selector is ``*``.

    Falls back to the raw manifest text when an unquoted ``{{...}}`` name made it unparsable YAML, and to
    ``flags`` (``[configmap, --selector, x]``) when there is no manifest.
    """
    res = template.resource
    if res is None:
        return None
    if res.kind and (res.name or res.generate_name):
        return _key(res.kind, res.name or f"{res.generate_name}*")
    raw = template.raw.get("resource")
    text = raw.get("manifest") if isinstance(raw, dict) else None
    if isinstance(text, str):
        kind_match = _MANIFEST_KIND.search(text)
        name_match = _MANIFEST_NAME.search(text)
        if kind_match and name_match:
            return _key(kind_match.group(1), name_match.group(1).strip("'\""))
    if text or not res.flags:
        return None
    positional, selector, skip = [], False, False
    for flag in res.flags:
        if skip:
            skip = False
        elif flag in ("-l", "--selector", "--field-selector", "--all"):
            selector, skip = True, flag != "--all"
        elif flag in ("-n", "--namespace", "-o", "--output", "--grace-period", "--timeout", "--cascade"):
            skip = True
        elif not flag.startswith("-"):
            positional.append(flag)
    if not positional:
        return None
    kind_text, _, object_name = positional[0].partition("/")
    object_name = object_name or (positional[1] if len(positional) > 1 and not selector else "*")
    return _key(_singular(kind_text), object_name)


def _singular(kind: str) -> str:
    kind = kind.split(".")[0]
    return kind[:-1] if kind.lower().endswith("s") and not kind.lower().endswith("ss") else kind


def creations(template: Template) -> list[tuple[str, str]]:
    """(kind, name) of what a leaf template creates or produces (generateName ends with ``*``)."""
    found = [_key(e.kind, e.name) for e in template.side_effects if e.verb != "deletes"]
    res = template.resource
    target = resource_target(template)
    if res and res.action in ("create", "apply") and target:
        found.append(target)
    return found


def deletions(template: Template) -> list[tuple[str, str]]:
    found = [_key(e.kind, e.name) for e in template.effects("deletes")]
    res = template.resource
    target = resource_target(template)
    if res and res.action == "delete" and target:
        found.append(target)
    return found


def has_side_effects(template: Template) -> bool:
    res = template.resource
    return bool(template.side_effects) or (res is not None and res.action not in (None, "get"))


def command_text(template: Template) -> str:
    """What a container or script runs, as one string (command, args and source)."""
    parts = [str(p) for key in ("command", "args") for p in _as_list(template.container.get(key))]
    if template.source:
        parts.append(template.source)
    return " ".join(parts)


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def _inline_scripts(template: Template) -> list[str]:
    """The strings a shell or interpreter runs from ``-c``/``-e`` (where parameters must not go)."""
    argv = [str(p) for key in ("command", "args") for p in _as_list(template.container.get(key))]
    if not argv or argv[0].rsplit("/", 1)[-1] not in _SHELLS:
        return []
    return [argv[i + 1] for i, arg in enumerate(argv[:-1]) if arg in _INLINE_FLAGS]


# ---------------------------------------------------------------- the checker


class _Checker:
    def __init__(self, manifest: Manifest) -> None:
        self.manifest = manifest
        self.spec: WorkflowSpec = manifest.spec
        self.templates = self.spec.templates
        self.hits: list[Hit] = []
        self.exit_templates = self._exit_templates()
        self.created = {c for t in self.templates.values() for c in creations(t)}
        self.created_kinds = {kind for kind, _ in self.created}
        self._effects_memo: dict[str, bool] = {}
        self.step_templates = {
            task.name: task.template for t in self.templates.values() for task in t.children if task.template
        }

    def hit(self, code: str, line: int, template: str | None, message: str, fix: str,
            severity: str | None = None, data: dict[str, Any] | None = None) -> None:
        self.hits.append(Hit(code, line, template, message, fix, severity, {"template": template, **(data or {})}))

    def _exit_templates(self) -> set[str]:
        names = set(self.spec.exit_templates())
        for template in self.templates.values():
            for task in template.children:
                if task.exit_hook:
                    names |= self.spec.reachable(task.exit_hook)
        return names

    def retry_of(self, template: Template) -> RetryStrategy | None:
        return template.retry or self.spec.retry

    def run(self) -> list[Hit]:
        self.references()
        self.values()
        for template in self.templates.values():
            self.template_rules(template)
        self.composite_retry()
        self.cleanup()
        self.irreversible()
        self.workflow_level()
        return self.hits

    # -- references and values

    def references(self) -> None:
        spec = self.spec
        if spec.workflow_template_ref is not None:
            return  # the templates live in the referenced WorkflowTemplate
        names = self.templates

        def check(name: str | None, line: int, where: str, template: str | None) -> None:
            if name and "{{" not in name and name not in names:
                known = ", ".join(sorted(names)) or "none"
                self.hit("PF006", line, template, f"{where} names template '{name}', which does not exist",
                         f"name one of the templates defined here ({known}), or add a template '{name}'")

        if spec.entrypoint and spec.templates:
            check(spec.entrypoint, spec.raw.line_of("entrypoint") if hasattr(spec.raw, "line_of") else spec.line,
                  "spec.entrypoint", None)
        check(spec.on_exit, _key_line(spec.raw, "onExit", spec.line), "spec.onExit", None)
        for hook in spec.hooks.values():
            check(hook.template, hook.line, f"spec.hooks.{hook.name}", None)
        for template in names.values():
            for task in template.children:
                if task.template_ref is None and not task.inline:
                    check(task.template, task.line, f"step '{task.name}'", template.name)
                check(task.on_exit, task.line, f"onExit of step '{task.name}'", template.name)
                for hook in task.hooks.values():
                    if not hook.has_template_ref:
                        check(hook.template, hook.line, f"hooks.{hook.name} of step '{task.name}'", template.name)

    def values(self) -> None:
        spec = self.spec
        retries = [(None, spec.retry)] + [(t.name, t.retry) for t in self.templates.values()]
        for owner, retry in retries:
            if retry and retry.policy and retry.policy not in RETRY_POLICIES and "{{" not in retry.policy:
                self._invalid(retry.line, owner, "retryPolicy", retry.policy, RETRY_POLICIES)
        if spec.pod_gc_strategy and spec.pod_gc_strategy not in POD_GC_STRATEGIES:
            self._invalid(_key_line(spec.raw, "podGC", spec.line), None, "podGC.strategy", spec.pod_gc_strategy,
                          POD_GC_STRATEGIES)
        shutdown = spec.raw.get("shutdown")
        if isinstance(shutdown, str) and shutdown not in SHUTDOWN:
            self._invalid(_key_line(spec.raw, "shutdown", spec.line), None, "shutdown", shutdown, SHUTDOWN)
        for template in self.templates.values():
            if template.resource is None:
                continue
            res, raw = template.resource, template.raw.get("resource")
            raw = raw if isinstance(raw, dict) else {}
            if res.action and res.action not in RESOURCE_ACTIONS and "{{" not in res.action:
                self._invalid(res.line, template.name, "resource.action", res.action, RESOURCE_ACTIONS)
            merge = raw.get("mergeStrategy")
            if isinstance(merge, str) and merge not in MERGE_STRATEGIES and "{{" not in merge:
                self._invalid(_key_line(raw, "mergeStrategy", res.line), template.name, "resource.mergeStrategy",
                              merge, MERGE_STRATEGIES)

    def _invalid(self, line: int, template: str | None, field: str, value: str, allowed: tuple[str, ...]) -> None:
        near = next((a for a in allowed if a.lower() == value.lower()), None)
        fix = f"write '{near}'" if near else f"use one of: {', '.join(allowed)}"
        self.hit("PF005", line, template, f"{field} '{value}' is not a value Argo accepts", fix)

    # -- per-template rules

    def template_rules(self, template: Template) -> None:
        name = template.name
        if template.retry is not None and not template.retry.bounded:
            self.hit("PF201", template.retry.line, name, f"template '{name}' retries without a limit: "
                     "it retries forever", "add retryStrategy.limit (for example 3)")
        if template.kind == "dag" and template.dag_fail_fast is False:
            self.hit("PF506", _key_line(template.raw.get("dag"), "failFast", template.line), name,
                     f"DAG '{name}' has failFast: false: every branch keeps running after a failure",
                     "remove failFast: false, or explain why every branch must finish")
        if template.kind in ("container", "script"):
            self.script_injection(template)
            self.image(template)
        if template.runs_pod:
            self.deadline(template)
            self.leaf_retry(template)

    def script_injection(self, template: Template) -> None:
        sources = [("script source", template.source)] if template.source else []
        sources += [("shell -c string", text) for text in _inline_scripts(template)]
        for what, text in sources:
            if text and _PARAM.search(text):
                param = _PARAM.search(text)
                assert param is not None
                self.hit("PF401", template.line, template.name,
                         f"template '{template.name}' splices a parameter into its {what} "
                         f"({text[param.start():text.find('}}', param.start()) + 2]}): a quote in the value "
                         "runs commands", "pass the value through env (value: '{{inputs.parameters.x}}') and "
                         "use \"$X\" in the script")
                return

    def image(self, template: Template) -> None:
        image = template.container.get("image")
        if not isinstance(image, str) or "{{" in image:
            return
        ref = image.rsplit("/", 1)[-1]
        if "@" in ref:
            return
        tag = ref.partition(":")[2]
        if not tag or tag == "latest":
            line = _key_line(template.raw.get(template.kind), "image", template.line)
            self.hit("PF501", line, template.name, f"image '{image}' of template '{template.name}' is not pinned",
                     "pin a version tag or a digest (image@sha256:...)")

    def deadline(self, template: Template) -> None:
        name = template.name
        if template.kind == "resource":
            has = template.timeout is not None
            what = "timeout (activeDeadlineSeconds applies to container and script templates only)"
        else:
            has = template.has_deadline
            what = "activeDeadlineSeconds or timeout"
        if has:
            return
        if name in self.exit_templates:
            self.hit("PF102", template.line, name, f"exit-handler step '{name}' has no {what}: exit pods ignore "
                     "the workflow deadline, so it can hang forever", f"add {what.split(' ')[0]} to '{name}'")
            return
        covered = self.spec.active_deadline_seconds is not None
        self.hit("PF103", template.line, name,
                 f"template '{name}' has no {what}" + (" (only the workflow deadline bounds it)" if covered else ""),
                 f"add {what.split(' ')[0]} to '{name}'", WARNING if covered else None)

    def leaf_retry(self, template: Template) -> None:
        name = template.name
        retry = self.retry_of(template)
        res = template.resource
        if retry is None:
            if not (res and res.action == "create"):
                self.hit("PF205", template.line, name, f"template '{name}' has no retryStrategy: one transient "
                         "fault fails the workflow", "add retryStrategy with limit, retryPolicy and backoff")
            return
        line = retry.line
        if retry.backoff is None:
            self.hit("PF206", line, name, f"template '{name}' retries without backoff",
                     "add retryStrategy.backoff (for example duration: 10s, factor: 2, maxDuration: 5m)")
        if not retry.policy:
            self.hit("PF207", line, name, f"template '{name}' leaves retryPolicy implicit "
                     f"({retry.effective_policy})", f"write retryPolicy: {retry.effective_policy} (or OnError to "
                     "retry infrastructure errors only)")
        per_attempt = self.per_attempt_names(template)
        if per_attempt:
            self.hit("PF202", line, name, f"template '{name}' is retried but creates {per_attempt} under a new "
                     "name on every attempt: each retry leaves another object behind",
                     "use a fixed name keyed on a workflow parameter and action: apply")
        elif res and res.action == "create" and res.name:
            self.hit("PF203", line, name, f"template '{name}' creates {res.kind}/{res.name} under retry: a retry "
                     "after it was created fails with AlreadyExists", "use action: apply")
        if retry.effective_policy == "Always" and (per_attempt or (res and res.action == "create")):
            self.hit("PF208", line, name, f"template '{name}' retries Always although it is not idempotent",
                     "make the step idempotent (apply, keyed names), or retry OnError only")

    def per_attempt_names(self, template: Template) -> str | None:
        res = template.resource
        if res and res.action == "create" and res.generate_name and not res.name:
            return f"{res.kind}/{res.generate_name}* (generateName)"
        for kind, name in creations(template):
            for match in _EXPR.finditer(name):
                if _PER_ATTEMPT.search(match.group(2)):
                    return f"{kind}/{name}"
        return None

    # -- composites

    def subgraph_has_effects(self, name: str) -> bool:
        if name not in self._effects_memo:
            self._effects_memo[name] = any(
                has_side_effects(self.templates[n]) for n in self.spec.reachable(name) if n in self.templates
            )
        return self._effects_memo[name]

    def composite_retry(self) -> None:
        for template in self.templates.values():
            if template.retry is None or template.is_leaf:
                continue
            self._composite_hit(template.retry, template.name, f"{template.kind} template '{template.name}'",
                                self.subgraph_has_effects(template.name))
        spec = self.spec
        if spec.retry is not None:
            entry = spec.entrypoint or ""
            effects = entry in self.templates and self.subgraph_has_effects(entry)
            self._composite_hit(spec.retry, None, "spec.retryStrategy (it applies to every template without one, "
                                "the entry template included)", effects)

    def _composite_hit(self, retry: RetryStrategy, template: str | None, what: str, effects: bool) -> None:
        if effects:
            self.hit("PF204", retry.line, template, f"{what} re-runs every child on each attempt, succeeded ones "
                     "too, and its children have side effects", "move the retryStrategy to the leaf templates")
        else:
            self.hit("PF204", retry.line, template, f"{what} re-runs every child on each attempt",
                     "move the retryStrategy to the leaf templates", WARNING)

    # -- cleanup placement

    def main_composites(self) -> list[Template]:
        entry = self.spec.entrypoint
        names = self.spec.reachable(entry) if entry in self.templates else set(self.templates)
        return [self.templates[n] for n in names - self.exit_templates if not self.templates[n].is_leaf]

    def leaves(self, name: str) -> list[Template]:
        template = self.templates.get(name)
        if template is None:
            return []
        if template.is_leaf:
            return [template]
        return [self.templates[n] for n in self.spec.reachable(name) if self.templates[n].is_leaf]

    def cleanup_targets(self, task: Task) -> tuple[list[tuple[str, str]], bool]:
        """What a task cleans up (deletes of things the workflow creates), and whether by name only."""
        leaves = self.leaves(task.template or "")
        targets = [(k, n) for leaf in leaves for k, n, created in self.call_deletions(task, leaf) if created]
        if targets:
            return targets, False
        if not any(deletions(leaf) for leaf in leaves) and (
            _CLEANUP_NAME.search(task.name) or _CLEANUP_NAME.search(task.template or "")
        ):
            return [], True
        return [], False

    def call_deletions(self, task: Task, leaf: Template) -> list[tuple[str, str, bool]]:
        """(kind, name, created by this workflow) for each delete a call performs.

        A name passed in as ``{{inputs.parameters.P}}`` counts as created when the caller passes P from the
        outputs of a step whose template creates that kind (create a Job, hand its name to the delete).
        """
        found = []
        for kind, name in deletions(leaf):
            created = (
                (kind, name) in self.created
                or (name == "*" and kind in self.created_kinds)
                or self._from_creator(task, kind, name)
            )
            found.append((kind, name, created))
        return found

    def _from_creator(self, task: Task, kind: str, name: str) -> bool:
        arguments = {p.name: p.value for p in task.arguments}
        for param in _INPUT_PARAM.findall(name):
            value = arguments.get(param)
            for step in _STEP_OUTPUT.findall(value) if isinstance(value, str) else ():
                creator = self.templates.get(self.step_templates.get(step, ""))
                if creator is not None and any(k == kind for k, _ in creations(creator)):
                    return True
        return False

    def cleanup(self) -> None:
        exit_deletes = {d for n in self.exit_templates if n in self.templates for d in deletions(self.templates[n])}
        has_exit = self.spec.exit_handler is not None
        for template in self.main_composites():
            cleanup_tasks = {}
            for task in template.children:
                targets, by_name = self.cleanup_targets(task)
                if targets or by_name:
                    cleanup_tasks[task.name] = (task, targets, by_name)
            if not cleanup_tasks:
                continue
            unsafe = unsafe_cleanups(template, set(cleanup_tasks))
            for name in unsafe:
                task, targets, by_name = cleanup_tasks[name]
                missing = [t for t in targets if t not in exit_deletes]
                if has_exit and (by_name or not missing):
                    continue
                what = ", ".join(f"{k}/{n}" for k, n in missing) if missing else f"by its name '{task.name}'"
                where = ("the exit handler does not clean it up" if has_exit else "the workflow has no exit handler")
                self.hit("PF101", task.line, template.name,
                         f"step '{task.name}' cleans up ({what}) as an ordinary {template.kind} node that does "
                         f"not run when an earlier step fails, and {where}",
                         f"move '{task.name}' into the exit handler (spec.onExit), or let it run on failure "
                         "(continueOn on the steps before it, or depends on their .Failed/.Errored)",
                         data={"task": task.name})

    # -- irreversible actions

    def irreversible_reason(self, template: Template, task: Task) -> str | None:
        """Why calling a leaf template from ``task`` cannot be undone, or None."""
        res = template.resource
        target = resource_target(template)
        if res and res.action == "replace" and target not in self.created:
            return f"replaces {'/'.join(target) if target else 'an object it did not create'}"
        foreign = [f"{k}/{n}" for k, n, created in self.call_deletions(task, template) if not created]
        if res and res.action == "delete" and target is None:
            foreign.append("an object it did not create")
        if foreign:
            return f"deletes {', '.join(dict.fromkeys(foreign))}"
        if template.kind in ("container", "script") and not template.effects("deletes"):
            match = _DESTRUCTIVE.search(command_text(template))
            if match:
                return f"runs '{match.group(0).strip()[:60]}'"
        return None

    def _may_be_irreversible(self, template: Template) -> bool:
        res = template.resource
        return bool(
            (res and res.action in ("delete", "replace"))
            or template.effects("deletes")
            or (template.kind in ("container", "script") and _DESTRUCTIVE.search(command_text(template)))
        )

    def irreversible(self) -> None:
        if not any(self._may_be_irreversible(t) for t in self.templates.values() if t.is_leaf):
            return
        roots = [r for r in (self.spec.entrypoint, self.spec.exit_handler) if r in self.templates]
        if not roots:
            roots = [n for n, t in self.templates.items() if not t.is_leaf]
        seen: set[tuple[str, bool]] = set()
        reported: set[tuple[str, str]] = set()
        pending: list[tuple[str, bool]] = [(root, False) for root in roots]
        while pending:
            name, gated = pending.pop()
            template = self.templates.get(name)
            if template is None or (name, gated) in seen or template.is_leaf:
                continue
            seen.add((name, gated))
            for task, gate in _gated_tasks(template, self.templates):
                if gate is not None and self.templates[gate].suspend_duration is not None:
                    self.hit("PF302", self.templates[gate].line, gate,
                             f"approval gate '{gate}' has suspend.duration "
                             f"{self.templates[gate].suspend_duration}: it auto-resumes, i.e. approves by itself, "
                             f"before step '{task.name}'", "remove the duration: `suspend: {}`")
                    gate = None
                child = self.templates.get(task.template or "")
                if child is None:
                    continue
                if not child.is_leaf:
                    pending.append((child.name, gated or gate is not None))
                    continue
                reason = self.irreversible_reason(child, task)
                if reason and not gated and gate is None and (template.name, task.name) not in reported:
                    reported.add((template.name, task.name))
                    self.hit("PF301", task.line, template.name,
                             f"step '{task.name}' {reason} with no approval gate before it whose answer it checks",
                             "put a suspend gate (suspend: {} with a supplied output, default NO) before it and add "
                             f"when: '{{{{steps.approval.outputs.parameters.approve}}}} == YES' to '{task.name}'")

    # -- workflow level

    def workflow_level(self) -> None:
        spec, manifest = self.spec, self.manifest
        if spec.workflow_template_ref is not None:
            return
        if manifest.kind in ("WorkflowTemplate", "ClusterWorkflowTemplate") and not spec.entrypoint:
            return  # a library of templates: the workflows that reference it carry these settings
        line = spec.line
        if not spec.has_pod_gc:
            self.hit("PF502", line, None, "no podGC: finished pods are never deleted",
                     "add podGC: {strategy: OnPodSuccess} (keeps failed pods for debugging)")
        ttl = spec.ttl
        if ttl is None:
            self.hit("PF503", line, None, "no ttlStrategy: the workflow object is kept until the controller "
                     "default removes it", "add ttlStrategy with secondsAfterSuccess, secondsAfterFailure and "
                     "secondsAfterCompletion")
        elif "secondsAfterCompletion" not in ttl:
            self.hit("PF503", _key_line(spec.raw, "ttlStrategy", line), None,
                     "ttlStrategy has no secondsAfterCompletion: secondsAfterFailure matches Failed only, so an "
                     "Error workflow is never removed", "add ttlStrategy.secondsAfterCompletion")
        pods = [t for t in self.templates.values() if t.runs_pod]
        if spec.service_account in (None, "default") and not (
            pods and all(t.raw.get("serviceAccountName") not in (None, "default") for t in pods)
        ):
            self.hit("PF504", line, None, "serviceAccountName is " + (
                "'default'" if spec.service_account else "not set (the namespace's default account is used)"),
                "set spec.serviceAccountName to an account with just the permissions the steps need")
        if spec.security_context.get("runAsNonRoot") is not True:
            missing = [t.name for t in pods if not _non_root(t)]
            if missing:
                self.hit("PF505", line, None, "runAsNonRoot is not set for " + ", ".join(missing[:5]) +
                         (" and others" if len(missing) > 5 else ""),
                         "set spec.securityContext.runAsNonRoot: true (and runAsUser)")
        if spec.active_deadline_seconds is None:
            self.hit("PF507", line, None, "no spec.activeDeadlineSeconds: nothing bounds the whole run",
                     "add spec.activeDeadlineSeconds")


def _non_root(template: Template) -> bool:
    for context in (template.raw.get("securityContext"), template.container.get("securityContext")):
        if isinstance(context, dict) and context.get("runAsNonRoot") is True:
            return True
    return False


def _key_line(node: Any, key: str, default: int) -> int:
    line_of = getattr(node, "line_of", None)
    return int(line_of(key)) if line_of else default


_INPUT_PARAM = re.compile(r"{{\s*inputs\.parameters\.([A-Za-z0-9_\-]+)\s*}}")
_STEP_OUTPUT = re.compile(r"(?:steps|tasks)\.([A-Za-z0-9_\-]+)\.outputs")
_GATE_REF = re.compile(
    r"(?:steps|tasks)\s*(?:\.\s*|\[\s*['\"])([A-Za-z0-9_\-]+)['\"]?\s*\]?\s*\.\s*outputs\.parameters"
)


def _gated_tasks(template: Template, templates: dict[str, Template]) -> Iterator[tuple[Task, str | None]]:
    """Each child with the suspend gate (run before it) whose output its ``when`` checks, if any."""
    earlier: set[str] = set()
    if template.kind == "steps":
        for group in template.steps:
            done = frozenset(earlier)
            for task in group:
                yield task, _gate_of(task, lambda done=done: done, templates)  # type: ignore[misc]
            earlier |= {task.name for task in group}
        return
    by_name = {task.name: task for task in template.dag_tasks}
    for task in template.dag_tasks:
        yield task, _gate_of(task, lambda task=task: _ancestors(task, by_name), templates)  # type: ignore[misc]


def _gate_of(task: Task, before: Callable[[], Set[str]], templates: dict[str, Template]) -> str | None:
    """The suspend template of a step run before ``task`` whose output parameters its ``when`` reads."""
    if not task.when:
        return None
    matches = list(_GATE_REF.finditer(task.when))
    ran_before = before() if matches else frozenset()
    for match in matches:
        if match.group(1) not in ran_before:
            continue
        gate = _task_template(match.group(1), task, templates)
        if gate is not None:
            return gate
    return None


def _task_template(step: str, task: Task, templates: dict[str, Template]) -> str | None:
    del task
    for template in templates.values():
        for child in template.children:
            if child.name == step:
                target = templates.get(child.template or "")
                if target is not None and target.kind == "suspend":
                    return target.name
    return None


def _direct(task: Task) -> set[str]:
    """The tasks a DAG task waits for."""
    if task.depends:
        return _depends_operands(task.depends)
    return set(task.dependencies)


@lru_cache(maxsize=4096)
def _parsed(text: str) -> Expr | None:
    try:
        return parse_depends(text)
    except DependsSyntaxError:
        return None


def _depends_operands(text: str) -> set[str]:
    expr = _parsed(text)
    return operands(expr) if expr is not None else set()


def _ancestors(task: Task, by_name: dict[str, Task]) -> set[str]:
    seen: set[str] = set()
    pending = list(_direct(task))
    while pending:
        name = pending.pop()
        if name in seen or name not in by_name:
            continue
        seen.add(name)
        pending.extend(_direct(by_name[name]))
    return seen


def unsafe_cleanups(template: Template, cleanups: set[str]) -> list[str]:
    """The cleanup children that do not run when a step before them (not itself cleanup) fails."""
    if template.kind == "steps":
        unsafe: list[str] = []
        stopper = False
        for group in template.steps:
            unsafe.extend(t.name for t in group if t.name in cleanups and stopper)
            stopper = stopper or any(
                t.name not in cleanups and not (t.continue_on_failed and t.continue_on_error) for t in group
            )
        return unsafe
    return _unsafe_dag_cleanups(template, cleanups)


def _condition(task: Task, by_name: dict[str, Task]) -> Expr | None:
    if task.depends:
        return _parsed(task.depends)

    def continue_on(name: str) -> tuple[bool, bool]:
        dep = by_name.get(name)
        return (dep.continue_on_failed, dep.continue_on_error) if dep else (False, False)

    return from_dependencies(task.dependencies, continue_on)


def _unsafe_dag_cleanups(template: Template, cleanups: set[str]) -> list[str]:
    """Single-fault analysis: the phases each task can end in when it or one task above it fails.

    A cleanup task is safe when, for each dependency and each such phase (the others Succeeded), its
    condition still holds. Linear in the number of tasks and dependency edges.
    """
    by_name = {task.name: task for task in template.dag_tasks}
    conditions = {name: _condition(task, by_name) for name, task in by_name.items()}
    faulted: dict[str, set[str]] = {}
    order = _topological(by_name)
    unsafe = []
    for name in order:
        task, condition = by_name[name], conditions[name]
        phases = set() if name in cleanups else {"Failed", "Error"}
        deps = _direct(task) & by_name.keys()
        runs_always = True
        for dep in deps:
            for phase in faulted.get(dep, ()):
                def phase_of(other: str, dep: str = dep, phase: str = phase) -> str:
                    return phase if other == dep else "Succeeded"

                if condition is not None and evaluate(condition, phase_of):
                    phases.add("Succeeded")
                else:
                    phases.add("Omitted")
                    runs_always = False
        if name in cleanups and not runs_always:
            unsafe.append(name)
        faulted[name] = phases - {"Succeeded"}
    return unsafe


def _topological(by_name: dict[str, Task]) -> list[str]:
    order: list[str] = []
    state: dict[str, int] = {}
    for root in by_name:
        if root in state:
            continue
        stack = [(root, iter(sorted(_direct(by_name[root]) & by_name.keys())))]
        state[root] = 1
        while stack:
            name, deps = stack[-1]
            dep = next(deps, None)
            if dep is None:
                stack.pop()
                state[name] = 2
                order.append(name)
            elif dep not in state:
                state[dep] = 1
                stack.append((dep, iter(sorted(_direct(by_name[dep]) & by_name.keys()))))
    return order


def check_manifest(manifest: Manifest) -> list[Hit]:
    """Every rule over one Argo workflow document."""
    return _Checker(manifest).run()


__all__ = ["RULES", "RULES_BY_NAME", "Hit", "Rule", "SideEffect", "check_manifest"]
