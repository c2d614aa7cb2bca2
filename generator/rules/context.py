"""What every rule reads about one document: the model, the raw document, and shared analysis.

The analysis (exit-handler templates, what the workflow creates, which deletes are its own cleanup) is
computed once per document, lazily, and shared by the rules that need it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

from generator.findings import Hit
from generator.model import Manifest, RetryStrategy, Task, Template, WorkflowSpec
from generator.rules.effects import (
    Target,
    creations,
    deletions,
    has_side_effects,
    matches,
    resource_target,
    unmodelled_destructive,
)
from generator.severity import Severity

Path = list[str | int]

#: Names that say a step cleans up, reverts or compensates (documented in docs/rules/PF101.md).
CLEANUP_NAME = re.compile(
    r"^(?:revert|delete|remove|destroy|drop|release|dispose|teardown|tear-down|rollback|roll-back|cleanup|"
    r"clean-up|undeploy|uninstall)(?:$|[-_.])"
    r"|(?:^|[-_.])(?:clean[-_]?up|tear[-_]?down)(?:$|[-_.])",
    re.IGNORECASE,
)
#: Names that say a (templateRef'd, unreadable) step creates or deploys something.
_CREATOR_NAME = re.compile(r"^(?:create|deploy|install|apply|provision|setup|set-up|start|launch|inject)[-_](.+)$",
                           re.IGNORECASE)
_UNDO_NAME = re.compile(r"^(?:delete|remove|destroy|revert|rollback|roll-back|undeploy|uninstall|cleanup|"
                        r"clean-up|teardown|tear-down|stop)[-_](.+)$", re.IGNORECASE)
_INPUT_PARAM = re.compile(r"{{\s*inputs\.parameters\.([A-Za-z0-9_\-]+)\s*}}")
_STEP_OUTPUT = re.compile(r"(?:steps|tasks)\.([A-Za-z0-9_\-]+)\.outputs")


@dataclass(frozen=True)
class Options:
    """Keyword options of a lint run that rules read."""

    kubernetes_version: str = "1.31.0"


@dataclass
class Context:
    manifest: Manifest
    document: Any
    options: Options = field(default_factory=Options)
    cache: dict[str, Any] = field(default_factory=dict)  # analyses shared by several rules

    @property
    def spec(self) -> WorkflowSpec:
        return self.manifest.spec

    @property
    def templates(self) -> dict[str, Template]:
        return self.manifest.spec.templates

    # -- structured data

    @cached_property
    def spec_path(self) -> Path:
        return ["spec", "workflowSpec"] if self.manifest.kind == "CronWorkflow" else ["spec"]

    def template_path(self, template: Template, *rest: str | int) -> Path:
        return [*self.spec_path, "templates", template.index, *rest]

    def task_path(self, template: Template, task: Task) -> Path:
        return self.template_path(template, *task.position)

    def hit(self, code: str, line: int, template: str | None, message: str, fix: str,
            severity: Severity | None = None, *, path: Path, **data: Any) -> Hit:
        return Hit(code, line, template, message, fix, severity,
                   {"template": template, "path": list(path), **data})

    def task_data(self, template: Template, task: Task) -> dict[str, Any]:
        noun = "task" if template.kind == "dag" else "step"
        return {"path": self.task_path(template, task), noun: task.name}

    # -- shared analysis

    @cached_property
    def exit_templates(self) -> set[str]:
        names = set(self.spec.exit_templates())
        for template in self.templates.values():
            for task in template.children:
                if task.exit_hook:
                    names |= self.spec.reachable(task.exit_hook)
        return names

    @cached_property
    def created(self) -> set[Target]:
        return {c for t in self.templates.values() for c in creations(t)}

    @cached_property
    def created_kinds(self) -> set[str]:
        return {kind for kind, _ in self.created if kind}

    @cached_property
    def step_templates(self) -> dict[str, str]:
        return {task.name: task.template for t in self.templates.values() for task in t.children if task.template}

    @cached_property
    def referenced_creators(self) -> set[str]:
        """What templateRef'd steps say, by their name, that they create (``create-application``)."""
        nouns = set()
        for template in self.templates.values():
            for task in template.children:
                if task.template_ref is None:
                    continue
                ref_name = str(task.template_ref.get("template", ""))
                for name in (task.name, ref_name):
                    match = _CREATOR_NAME.match(name)
                    if match:
                        nouns.add(match.group(1).lower())
        return nouns

    def retry_of(self, template: Template) -> RetryStrategy | None:
        return template.retry or self.spec.retry

    @cached_property
    def _effects_memo(self) -> dict[str, bool]:
        return {}

    def subgraph_has_effects(self, name: str) -> bool:
        if name not in self._effects_memo:
            self._effects_memo[name] = any(
                has_side_effects(self.templates[n]) for n in self.spec.reachable(name) if n in self.templates
            )
        return self._effects_memo[name]

    def main_composites(self) -> list[Template]:
        entry = self.spec.entrypoint
        names = self.spec.reachable(entry) if entry in self.templates else set(self.templates)
        return [self.templates[n] for n in sorted(names - self.exit_templates) if not self.templates[n].is_leaf]

    def leaves(self, name: str) -> list[Template]:
        template = self.templates.get(name)
        if template is None:
            return []
        if template.is_leaf:
            return [template]
        return [self.templates[n] for n in sorted(self.spec.reachable(name)) if self.templates[n].is_leaf]

    def cleanup_targets(self, task: Task) -> tuple[list[Target], bool]:
        """What a task cleans up (deletes of things the workflow creates), and whether by name only."""
        leaves = self.leaves(task.template or "")
        own = {c for leaf in leaves for c in creations(leaf)} if len(leaves) > 1 else set()
        targets = [(k, n) for leaf in leaves for k, n, created in self.call_deletions(task, leaf)
                   if created and (k, n) not in own]  # a sub-graph that creates and removes is not cleanup
        if targets:
            return targets, False
        if not any(deletions(leaf) for leaf in leaves) and (
            CLEANUP_NAME.search(task.name) or CLEANUP_NAME.search(task.template or "")
        ):
            return [], True
        return [], False

    def call_deletions(self, task: Task, leaf: Template) -> list[tuple[str, str, bool]]:
        """(kind, name, created by this workflow) for each delete a call performs.

        Created: the workflow creates that object (``effects.matches``), a templateRef'd step's name says it
        creates what this step's name says it removes, or the name is passed in as
        ``{{inputs.parameters.P}}`` from the outputs of a step whose template creates that kind.
        """
        found = []
        for kind, name in deletions(leaf):
            created = (
                matches((kind, name), self.created, self.created_kinds)
                or self._undoes_referenced_creator(task, leaf)
                or self._from_creator(task, kind, name)
            )
            found.append((kind, name, created))
        return found

    def _undoes_referenced_creator(self, task: Task, leaf: Template) -> bool:
        for name in (task.name, leaf.name):
            match = _UNDO_NAME.match(name)
            if match and match.group(1).lower() in self.referenced_creators:
                return True
        return False

    def _from_creator(self, task: Task, kind: str, name: str) -> bool:
        arguments = {p.name: p.value for p in task.arguments}
        for param in _INPUT_PARAM.findall(name):
            value = arguments.get(param)
            for step in _STEP_OUTPUT.findall(value) if isinstance(value, str) else ():
                creator = self.templates.get(self.step_templates.get(step, ""))
                if creator is not None and any(k == kind for k, _ in creations(creator)):
                    return True
        return False

    def irreversible_reason(self, template: Template, task: Task) -> str | None:
        """Why calling a leaf template from ``task`` cannot be undone, or None (its own cleanup is not)."""
        res = template.resource
        target = resource_target(template)
        if res and res.action == "replace" and (target is None or not matches(target, self.created,
                                                                                self.created_kinds)):
            return f"replaces {'/'.join(target) if target else 'an object it did not create'}"
        foreign = [f"{k}/{n}" if k else f"the objects in {n.removeprefix('file:')}"
                   for k, n, created in self.call_deletions(task, template) if not created]
        if res and res.action == "delete" and target is None:
            foreign.append("an object it did not create")
        if foreign:
            return f"deletes {', '.join(dict.fromkeys(foreign))}"
        if not template.effects("deletes"):
            command = unmodelled_destructive(template)
            if command:
                return f"runs '{command}'"
        return None

    def may_be_irreversible(self, template: Template) -> bool:
        res = template.resource
        return bool(
            (res and res.action in ("delete", "replace"))
            or deletions(template)
            or unmodelled_destructive(template)
        )


def key_line(node: Any, key: str, default: int) -> int:
    line_of = getattr(node, "line_of", None)
    return int(line_of(key)) if line_of else default
