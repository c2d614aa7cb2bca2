"""``pipeforge harden``: the fixes a reviewer would make, written back with comments and key order kept.

The file is read with ruamel.yaml's round-trip loader (the only place that pays for it), the lint rules run
over each Argo document, and the fixes that need no judgement are applied:

- a misspelt key that differs from a real one only in case or separators is renamed (``onexit``);
- a cleanup node that would not run on failure moves into the exit handler (one is created if needed);
- unbounded retries get a limit; pod templates without a retryStrategy get a bounded one with backoff
  (Always for idempotent resource get/apply/delete and delete-only steps, else OnError); implicit
  policies are written out as the policy Argo applies; backoff is added where missing;
- container/script templates get ``activeDeadlineSeconds`` and resource templates ``timeout``;
- ``podGC`` and a ``ttlStrategy`` that also removes Error workflows.

What needs a human (generateName under retry, ungated deletes, parameters in scripts...) is what the linter
still finds in the result; it is reported, not guessed at. Hardening is idempotent: a second run changes
nothing, and a file that needs no fix is returned byte for byte.
"""

from __future__ import annotations

import io
from dataclasses import dataclass, field
from typing import Any

from generator.errors import ManifestError
from generator.lint import Finding, lint_text, template_of_path
from generator.model import Manifest, Template, is_workflow_document, parse_manifest
from generator.rules import WARNING, check_manifest
from generator.structure import check_document

#: Rules harden fixes (where the fix needs no judgement); anything else is left for a human.
FIXES = ("PF003", "PF101", "PF102", "PF103", "PF201", "PF205", "PF206", "PF207", "PF502", "PF503")
BACKOFF = {"duration": "10s", "factor": 2, "maxDuration": "5m"}
EXIT_HANDLER = "exit-handler"


@dataclass(frozen=True)
class Change:
    line: int
    template: str | None
    rule: str
    description: str


@dataclass
class HardenResult:
    text: str
    changes: list[Change] = field(default_factory=list)
    needs_human: list[Finding] = field(default_factory=list)

    @property
    def changed(self) -> bool:
        return bool(self.changes)


def _yaml(indent: tuple[int, int, int] | None = None) -> Any:
    from ruamel.yaml import YAML

    yaml = YAML(typ="rt")
    yaml.preserve_quotes = True
    yaml.allow_duplicate_keys = True
    yaml.width = 4096
    if indent:
        mapping, sequence, offset = indent
        yaml.indent(mapping=mapping, sequence=sequence, offset=offset)
    return yaml


def _guess_indent(text: str) -> tuple[int, int, int]:
    """Mapping and sequence indentation of the file, so unchanged parts are written back as they were."""
    from ruamel.yaml.util import load_yaml_guess_indent

    try:
        _, sequence, offset = load_yaml_guess_indent(text.split("\n---", 1)[0])
    except Exception:
        return 2, 2, 0
    sequence = sequence or 2
    offset = offset or 0
    return max(sequence - offset, 2), sequence, offset


def _cmap(items: dict[str, Any]) -> Any:
    from ruamel.yaml.comments import CommentedMap

    out = CommentedMap()
    for key, value in items.items():
        out[key] = _cmap(value) if isinstance(value, dict) else value
    return out


def _insert_before(mapping: Any, key: str, value: Any, before: tuple[str, ...]) -> None:
    """Insert ``key`` just before the first of ``before`` present (else at the end)."""
    keys = list(mapping.keys())
    position = next((keys.index(k) for k in before if k in mapping), len(keys))
    mapping.insert(position, key, value)


def _line(node: Any) -> int:
    lc = getattr(node, "lc", None)
    return lc.line + 1 if lc is not None and lc.line is not None else 0


class _Hardener:
    def __init__(self, document: Any, *, deadline: int, retry_limit: int) -> None:
        self.document = document
        self.deadline = deadline
        self.retry_limit = retry_limit
        self.changes: list[Change] = []

    @property
    def spec(self) -> Any:
        spec = self.document.get("spec")
        if self.document.get("kind") == "CronWorkflow" and isinstance(spec, dict):
            return spec.get("workflowSpec")
        return spec

    def manifest(self) -> Manifest:
        manifest = parse_manifest(self.document)
        assert manifest is not None
        return manifest

    def raw_template(self, name: str | None) -> Any:
        for template in self.spec.get("templates") or []:
            if isinstance(template, dict) and template.get("name") == name:
                return template
        return None

    def changed(self, node: Any, template: str | None, rule: str, description: str) -> None:
        self.changes.append(Change(_line(node), template, rule, description))

    def run(self) -> None:
        if not isinstance(self.spec, dict):
            return
        self.rename_keys()
        manifest = self.manifest()
        hits = check_manifest(manifest)
        codes = {(hit.code, hit.template) for hit in hits}
        self.move_cleanup(manifest, [hit for hit in hits if hit.code == "PF101"])
        manifest = self.manifest()
        for template in manifest.spec.templates.values():
            self.fix_template(template, codes)
        spec_codes = {code for code, template in codes if template is None}
        self.fix_spec_retry(manifest, spec_codes)
        self.fix_workflow(spec_codes)

    # -- misspelt keys

    def rename_keys(self) -> None:
        for problem in check_document(self.document):
            if not problem.unknown_key or not problem.suggestion:
                continue
            *parents, key = _split_path(problem.path)
            if not isinstance(key, str):
                continue
            fold = key.lower().replace("-", "").replace("_", "")
            if fold != problem.suggestion.lower():
                continue  # a fuzzy match needs a human to confirm
            owner: Any = _walk(self.document, parents)
            if not hasattr(owner, "insert") or key not in owner or problem.suggestion in owner:
                continue
            position = list(owner.keys()).index(key)
            owner.insert(position, problem.suggestion, owner.pop(key))
            self.changed(owner, template_of_path(self.document, problem.path), "PF003",
                         f"renamed '{key}' to '{problem.suggestion}' ({'.'.join(map(str, parents)) or 'top level'})")

    # -- cleanup into the exit handler

    def move_cleanup(self, manifest: Manifest, hits: list[Any]) -> None:
        spec = self.spec
        for hit in hits:
            parent = self.raw_template(hit.template)
            task_name = hit.message.split("'")[1]
            task, container = _find_task(parent, task_name)
            if task is None or not self._movable(parent, task):
                continue
            handler = self._exit_steps(manifest)
            if handler is None:
                continue
            step = _cmap({k: task[k] for k in ("name", "template", "templateRef", "arguments") if k in task})
            handler.append([step])
            container.remove(task)
            if not container and parent.get("steps") is not None and container in parent["steps"]:
                parent["steps"].remove(container)
            self.changed(task, hit.template, "PF101",
                         f"moved cleanup step '{task_name}' into the exit handler '{spec.get('onExit')}'")

    def _movable(self, parent: Any, task: Any) -> bool:
        """A step moves when nothing depends on it and its arguments do not read other steps' outputs."""
        name = task.get("name")
        for other in (parent.get("dag") or {}).get("tasks") or []:
            deps = other.get("dependencies") or []
            if name in deps or (isinstance(other.get("depends"), str) and name in other["depends"]):
                return False
        text = str(task.get("arguments", "")) + str(task.get("when", ""))
        return "steps." not in text and "tasks." not in text

    def _exit_steps(self, manifest: Manifest) -> Any:
        """The steps list of the exit handler, creating the handler when the workflow has none."""
        spec = self.spec
        current = manifest.spec.exit_handler
        if current is None:
            from ruamel.yaml.comments import CommentedSeq

            name = EXIT_HANDLER
            while self.raw_template(name) is not None:
                name += "-1"
            steps = CommentedSeq()
            spec["templates"].append(_cmap({"name": name}))
            spec["templates"][-1]["steps"] = steps
            keys = list(spec.keys())
            spec.insert(keys.index("entrypoint") + 1 if "entrypoint" in spec else 0, "onExit", name)
            self.changed(spec, None, "PF101", f"added exit handler template '{name}' (spec.onExit)")
            return steps
        handler = self.raw_template(current)
        if handler is not None and isinstance(handler.get("steps"), list):
            return handler["steps"]
        return None

    # -- per-template fixes

    def fix_template(self, template: Template, codes: set[tuple[str, str | None]]) -> None:
        name, kind = template.name, template.kind
        raw = self.raw_template(name)
        if raw is None:
            return
        wants = {code for code, template in codes if template == name}
        if kind in ("container", "script", "resource") and ({"PF102", "PF103"} & wants):
            key, value = ("timeout", f"{self.deadline}s") if kind == "resource" else (
                "activeDeadlineSeconds", self.deadline)
            if key not in raw:
                _insert_before(raw, key, value, ("retryStrategy", kind))
                self.changed(raw, name, "PF102" if "PF102" in wants else "PF103", f"added {key}: {value}")
        if "PF205" in wants and "retryStrategy" not in raw:
            policy = "Always" if _idempotent(template) else "OnError"
            retry = _cmap({"limit": self.retry_limit, "retryPolicy": policy, "backoff": dict(BACKOFF)})
            _insert_before(raw, "retryStrategy", retry, (kind,))
            why = "it is idempotent" if policy == "Always" else "a non-zero exit may be a real answer"
            self.changed(raw, name, "PF205",
                         f"added retryStrategy (limit {self.retry_limit}, {policy}: {why}, backoff)")
        retry = raw.get("retryStrategy")
        if isinstance(retry, dict):
            self.fix_retry(retry, name, wants)

    def fix_retry(self, retry: Any, name: str | None, wants: set[str]) -> None:
        if "PF201" in wants and "limit" not in retry:
            retry.insert(0, "limit", self.retry_limit)
            self.changed(retry, name, "PF201", f"bounded the retries: limit {self.retry_limit}")
        if "PF207" in wants and "retryPolicy" not in retry:
            policy = "Always" if retry.get("expression") else "OnFailure"
            retry.insert(1 if "limit" in retry else 0, "retryPolicy", policy)
            self.changed(retry, name, "PF207", f"wrote the implicit retryPolicy: {policy}")
        if "PF206" in wants and "backoff" not in retry:
            retry["backoff"] = _cmap(dict(BACKOFF))
            self.changed(retry, name, "PF206", "added backoff (10s, factor 2, maxDuration 5m)")

    def fix_spec_retry(self, manifest: Manifest, spec_codes: set[str]) -> None:
        retry = self.spec.get("retryStrategy")
        if isinstance(retry, dict):
            wants = {"PF201"} & spec_codes
            # Leaf-level warnings about an inherited spec.retryStrategy are fixed on the spec itself.
            inherited = {hit.code for hit in check_manifest(manifest) if hit.code in ("PF206", "PF207")}
            self.fix_retry(retry, None, wants | inherited)

    # -- workflow level

    def fix_workflow(self, spec_codes: set[str]) -> None:
        spec = self.spec
        if "PF502" in spec_codes and "podGC" not in spec:
            _insert_before(spec, "podGC", _cmap({"strategy": "OnPodSuccess"}), ("arguments", "templates"))
            self.changed(spec, None, "PF502", "added podGC: {strategy: OnPodSuccess} (failed pods kept for debugging)")
        if "PF503" in spec_codes:
            ttl = spec.get("ttlStrategy")
            if not isinstance(ttl, dict):
                ttl = _cmap({"secondsAfterSuccess": 3600, "secondsAfterFailure": 86400,
                             "secondsAfterCompletion": 86400})
                _insert_before(spec, "ttlStrategy", ttl, ("arguments", "templates"))
                self.changed(spec, None, "PF503", "added ttlStrategy (1 h after success, 1 day after failure or error)")
            elif "secondsAfterCompletion" not in ttl:
                value = ttl.get("secondsAfterFailure", 86400)
                ttl["secondsAfterCompletion"] = value
                self.changed(ttl, None, "PF503", f"added ttlStrategy.secondsAfterCompletion: {value} (Error workflows)")


def _idempotent(template: Template) -> bool:
    """Safe to retry on every failure: a resource get/apply/delete, or a step that only deletes."""
    res = template.resource
    if res is not None:
        return res.action in ("get", "apply", "delete")
    effects = template.side_effects
    return bool(effects) and all(effect.verb == "deletes" for effect in effects)


def _split_path(path: str) -> list[str | int]:
    parts: list[str | int] = []
    for chunk in path.split("."):
        name, *indexes = chunk.split("[")
        if name:
            parts.append(name)
        parts.extend(int(i.rstrip("]")) for i in indexes)
    return parts


def _walk(node: Any, path: list[str | int]) -> Any:
    for part in path:
        try:
            node = node[part]
        except (KeyError, IndexError, TypeError):
            return None
    return node


def _find_task(parent: Any, name: str) -> tuple[Any, Any]:
    if not isinstance(parent, dict):
        return None, None
    tasks = (parent.get("dag") or {}).get("tasks")
    groups = [tasks] if isinstance(tasks, list) else list(parent.get("steps") or [])
    for group in groups:
        for task in group if isinstance(group, list) else []:
            if isinstance(task, dict) and task.get("name") == name:
                return task, group
    return None, None


def harden_text(text: str, filename: str = "<string>", *, deadline: int = 3600, retry_limit: int = 3) -> HardenResult:
    """Harden every Argo document of a YAML text; malformed YAML raises ManifestError."""
    from ruamel.yaml.error import MarkedYAMLError, YAMLError

    from generator.yamlio import check_limits

    check_limits(text, file=filename)  # ruamel.yaml has no limits of its own: refuse bombs before it reads
    indent = _guess_indent(text)
    yaml = _yaml(indent)
    try:
        documents = list(yaml.load_all(text))
    except MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        raise ManifestError(f"malformed YAML: {exc.problem or exc.context}", file=filename,
                            line=mark.line + 1 if mark else None) from None
    except YAMLError as exc:
        raise ManifestError(f"malformed YAML: {exc}", file=filename) from None
    changes: list[Change] = []
    for document in documents:
        if is_workflow_document(document):
            hardener = _Hardener(document, deadline=deadline, retry_limit=retry_limit)
            hardener.run()
            changes.extend(sorted(hardener.changes, key=lambda c: c.line))
    if changes:
        out = io.StringIO()
        _yaml(indent).dump_all(documents, out)
        text = out.getvalue()
    remaining = [f for f in lint_text(text, filename) if f.severity in ("error", WARNING)]
    return HardenResult(text=text, changes=changes, needs_human=remaining)
