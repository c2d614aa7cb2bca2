"""A small typed model of the Argo concepts that rendering, linting and simulation need.

Built from documents read by ``generator.yamlio`` (plain dicts and lists that remember their lines).
Building never fails on odd input: a field of the wrong shape is treated as absent here and reported by
``generator.structure``. Kinds: Workflow, WorkflowTemplate, ClusterWorkflowTemplate and the
``workflowSpec`` of a CronWorkflow; any other document is not an Argo workflow and gives ``None``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from generator.errors import ManifestError
from generator.yamlio import LineDict, load_documents, read_documents

ARGO_API_GROUP = "argoproj.io"
WORKFLOW_KINDS = ("Workflow", "WorkflowTemplate", "ClusterWorkflowTemplate", "CronWorkflow")

#: Template metadata annotations declaring side effects, each a list of ``Kind/name``.
CREATES = "pipeforge.io/creates"  # temporary: must be gone when the workflow ends
PRODUCES = "pipeforge.io/produces"  # lasting output: kept on success, undone on failure
DELETES = "pipeforge.io/deletes"
SIDE_EFFECT_ANNOTATIONS = {CREATES: "creates", PRODUCES: "produces", DELETES: "deletes"}

#: Template kinds, the one definition everything imports (docs/argo-semantics.md "Template kinds"):
#: Argo's ``Template.GetType`` tries the fields in this order, and the first one set decides.
TEMPLATE_KINDS = ("container", "containerSet", "steps", "dag", "script", "resource", "data", "suspend", "http",
                  "plugin")
#: Kinds that run a pod of their own (Argo's ``Template.IsPodType``).
POD_KINDS = ("container", "containerSet", "script", "resource", "data")
#: Kinds Argo runs in the workflow's shared agent pod, not a pod of their own (``executeTaskSet``).
AGENT_KINDS = ("http", "plugin")
#: Leaf template kinds (no children: they run something, or wait) and the composite ones (they schedule children).
LEAF_KINDS = (*POD_KINDS, *AGENT_KINDS, "suspend")
COMPOSITE_KINDS = ("dag", "steps")

Verb = Literal["creates", "produces", "deletes"]


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def _str(value: Any) -> str | None:
    return value if isinstance(value, str) else None


def _scalar(value: Any) -> int | str | None:
    if isinstance(value, bool) or not isinstance(value, int | str):
        return None
    return value


def _line(node: Any, default: int = 0) -> int:
    return int(getattr(node, "line", default))


def _key_line(node: Any, key: str, default: int) -> int:
    return node.line_of(key) if isinstance(node, LineDict) else _line(node, default)


@dataclass(frozen=True)
class SideEffect:
    """A declared side effect: what it does to which ``Kind/name`` (the name may hold Argo expressions)."""

    verb: Verb
    kind: str
    name: str

    @property
    def ref(self) -> str:
        return f"{self.kind}/{self.name}"


def parse_side_effects(verb: Verb, value: Any) -> list[SideEffect]:
    """``Kind/name`` entries separated by commas or new lines."""
    text = value if isinstance(value, str) else ""
    effects = []
    for item in text.replace("\n", ",").split(","):
        kind, sep, name = item.strip().partition("/")
        if sep and kind and name:
            effects.append(SideEffect(verb, kind.strip(), name.strip()))
    return effects


@dataclass(frozen=True)
class Backoff:
    """A retry's backoff as written (durations stay text: Argo accepts numbers and duration strings)."""

    duration: str | None
    factor: int | str | None
    max_duration: str | None
    cap: str | None

    @classmethod
    def parse(cls, node: Any) -> Backoff | None:
        if not isinstance(node, dict):
            return None
        duration = node.get("duration")
        return cls(
            duration=str(duration) if isinstance(duration, int | str) else None,
            factor=_scalar(node.get("factor")),
            max_duration=_str_or_int(node.get("maxDuration")),
            cap=_str_or_int(node.get("cap")),
        )


def _str_or_int(value: Any) -> str | None:
    return str(value) if isinstance(value, int | str) and not isinstance(value, bool) else None


@dataclass(frozen=True)
class RetryStrategy:
    """A template's ``retryStrategy``: the rules need whether it is bounded and how it backs off."""

    limit: int | str | None
    policy: str | None
    expression: str | None
    backoff: Backoff | None
    line: int

    @property
    def bounded(self) -> bool:
        return self.limit is not None

    @property
    def effective_policy(self) -> str:
        """The policy Argo applies: explicit, else Always with an expression (v3.5+), else OnFailure."""
        if self.policy:
            return self.policy
        return "Always" if self.expression else "OnFailure"

    @classmethod
    def parse(cls, node: Any) -> RetryStrategy | None:
        if not isinstance(node, dict):
            return None
        return cls(
            limit=_scalar(node.get("limit")),
            policy=_str(node.get("retryPolicy")),
            expression=_str(node.get("expression")),
            backoff=Backoff.parse(node.get("backoff")),
            line=_line(node),
        )


@dataclass(frozen=True)
class Parameter:
    """An input, output or argument parameter, with where its value comes from and its line."""

    name: str
    value: Any = None
    default: Any = None
    enum: tuple[str, ...] = ()
    description: str | None = None
    value_from: dict[str, Any] | None = None
    global_name: str | None = None
    line: int = 0

    @property
    def supplied(self) -> bool:
        """An intermediate parameter: its value is supplied when a suspend node is resumed."""
        return self.value_from is not None and "supplied" in self.value_from

    @classmethod
    def parse_all(cls, node: Any) -> list[Parameter]:
        params = []
        for item in _list(node):
            if not isinstance(item, dict) or not isinstance(item.get("name"), str):
                continue
            value_from = item.get("valueFrom")
            params.append(
                cls(
                    name=item["name"],
                    value=item.get("value"),
                    default=item.get("default"),
                    enum=tuple(str(v) for v in _list(item.get("enum"))),
                    description=_str(item.get("description")),
                    value_from=value_from if isinstance(value_from, dict) else None,
                    global_name=_str(item.get("globalName")),
                    line=_line(item),
                )
            )
        return params


@dataclass(frozen=True)
class Hook:
    """A lifecycle hook (``hooks:``): the template it runs, under which expression, with what arguments."""

    name: str
    template: str | None
    expression: str | None
    line: int
    has_template_ref: bool = False
    arguments: tuple[Parameter, ...] = ()

    @classmethod
    def parse_all(cls, node: Any) -> dict[str, Hook]:
        hooks = {}
        for name, item in _dict(node).items():
            if isinstance(item, dict):
                hooks[str(name)] = cls(
                    name=str(name),
                    template=_str(item.get("template")),
                    expression=_str(item.get("expression")),
                    line=_line(item),
                    has_template_ref=isinstance(item.get("templateRef"), dict),
                    arguments=tuple(Parameter.parse_all(_dict(item.get("arguments")).get("parameters"))),
                )
        return hooks


@dataclass(frozen=True)
class ResourceAction:
    """A resource template: the kubectl action and the object it acts on."""

    action: str | None
    kind: str | None
    name: str | None
    generate_name: str | None
    set_owner_reference: bool
    has_owner_references: bool
    success_condition: str | None
    failure_condition: str | None
    flags: tuple[str, ...]
    line: int
    api_group: str | None = None  # from the manifest's apiVersion ("" for the core group; None: not written)

    @property
    def target(self) -> str | None:
        if self.kind and (self.name or self.generate_name):
            return f"{self.kind}/{self.name or (self.generate_name or '') + '*'}"
        return None

    @classmethod
    def parse(cls, node: Any) -> ResourceAction:
        body = _parse_embedded_manifest(node.get("manifest"))
        meta = _dict(body.get("metadata"))
        return cls(
            action=_str(node.get("action")),
            kind=_str(body.get("kind")),
            name=_str(meta.get("name")),
            generate_name=_str(meta.get("generateName")),
            set_owner_reference=node.get("setOwnerReference") is True,
            has_owner_references=bool(_list(meta.get("ownerReferences"))),
            success_condition=_str(node.get("successCondition")),
            failure_condition=_str(node.get("failureCondition")),
            flags=tuple(str(f) for f in _list(node.get("flags"))),
            line=_line(node),
            api_group=_api_group(body.get("apiVersion")),
        )


def _api_group(api_version: Any) -> str | None:
    """``litmuschaos.io/v1alpha1`` → ``litmuschaos.io``; ``v1`` → ``""`` (the core group)."""
    if not isinstance(api_version, str) or not api_version or "{{" in api_version:
        return None
    group, sep, _ = api_version.rpartition("/")
    return group.lower() if sep else ""


def _parse_embedded_manifest(text: Any) -> dict[str, Any]:
    """The object inside ``resource.manifest`` (best effort: Argo expressions may make it unparsable)."""
    if not isinstance(text, str):
        return {}
    try:
        docs = load_documents(text, file="<resource manifest>")
    except ManifestError:
        return {}
    return docs[0] if docs and isinstance(docs[0], dict) else {}


@dataclass(frozen=True)
class Task:
    """A DAG task or a step: the node that calls a template."""

    name: str
    template: str | None
    line: int
    template_ref: dict[str, Any] | None = None
    inline: bool = False
    dependencies: tuple[str, ...] = ()
    depends: str | None = None
    when: str | None = None
    continue_on_failed: bool = False
    continue_on_error: bool = False
    hooks: dict[str, Hook] = field(default_factory=dict)
    on_exit: str | None = None
    with_items: list[Any] | None = None
    with_param: str | None = None
    with_sequence: dict[str, Any] | None = None
    arguments: tuple[Parameter, ...] = ()
    position: tuple[str | int, ...] = ()  # path from its template: ("dag", "tasks", 2) or ("steps", 0, 1)

    @property
    def exit_hook(self) -> str | None:
        hook = self.hooks.get("exit")
        return hook.template if hook else self.on_exit

    @property
    def fans_out(self) -> bool:
        return self.with_items is not None or self.with_param is not None or self.with_sequence is not None

    @classmethod
    def parse(cls, node: Any, index: int, position: tuple[str | int, ...] = ()) -> Task:
        node = _dict(node)
        continue_on = _dict(node.get("continueOn"))
        template_ref = node.get("templateRef")
        return cls(
            name=str(node.get("name", f"#{index}")),
            template=_str(node.get("template")),
            line=_line(node),
            template_ref=template_ref if isinstance(template_ref, dict) else None,
            inline=isinstance(node.get("inline"), dict),
            dependencies=tuple(str(d) for d in _list(node.get("dependencies"))),
            depends=_str(node.get("depends")),
            when=_str(node.get("when")) if not isinstance(node.get("when"), bool) else str(node["when"]).lower(),
            continue_on_failed=continue_on.get("failed") is True,
            continue_on_error=continue_on.get("error") is True,
            hooks=Hook.parse_all(node.get("hooks")),
            on_exit=_str(node.get("onExit")),
            with_items=node.get("withItems") if isinstance(node.get("withItems"), list) else None,
            with_param=_str(node.get("withParam")),
            with_sequence=node.get("withSequence") if isinstance(node.get("withSequence"), dict) else None,
            arguments=tuple(Parameter.parse_all(_dict(node.get("arguments")).get("parameters"))),
            position=position,
        )


def _template_kind(node: dict[str, Any]) -> str:
    for kind in TEMPLATE_KINDS:
        if isinstance(node.get(kind), dict | list):
            return kind
    return "unknown"


@dataclass(frozen=True)
class Template:
    """One entry of ``spec.templates``."""

    name: str
    kind: str
    line: int
    raw: dict[str, Any]
    retry: RetryStrategy | None = None
    active_deadline_seconds: int | str | None = None
    timeout: str | None = None
    annotations: dict[str, str] = field(default_factory=dict)
    side_effects: tuple[SideEffect, ...] = ()
    dag_tasks: tuple[Task, ...] = ()
    dag_target: str | None = None
    dag_fail_fast: bool | None = None
    steps: tuple[tuple[Task, ...], ...] = ()
    suspend_duration: str | None = None
    resource: ResourceAction | None = None
    inputs: tuple[Parameter, ...] = ()
    outputs: tuple[Parameter, ...] = ()
    index: int = 0  # position in spec.templates
    own: dict[str, Any] | None = None  # the template as written, when spec.templateDefaults changed it

    @property
    def written(self) -> dict[str, Any]:
        """The template as written in the file; ``raw`` is its effective form (templateDefaults merged)."""
        return self.raw if self.own is None else self.own

    def inherits(self, key: str) -> bool:
        """Whether a top-level key's value comes (wholly or partly) from spec.templateDefaults."""
        return self.own is not None and key in self.raw and self.raw[key] != self.own.get(key)

    @property
    def is_leaf(self) -> bool:
        return self.kind in LEAF_KINDS

    @property
    def runs_pod(self) -> bool:
        """It runs a pod of its own (Argo's ``IsPodType``): the pod can hang, fail or never be created."""
        return self.kind in POD_KINDS

    @property
    def faultable(self) -> bool:
        """A fault can hit it: its own pod, or its request in the agent pod (http, plugin)."""
        return self.kind in POD_KINDS or self.kind in AGENT_KINDS

    @property
    def children(self) -> tuple[Task, ...]:
        if self.kind == "dag":
            return self.dag_tasks
        return tuple(task for group in self.steps for task in group)

    @property
    def container(self) -> dict[str, Any]:
        """The main container (of a container or script template); empty for other kinds."""
        return _dict(self.raw.get(self.kind)) if self.kind in ("container", "script") else {}

    @property
    def source(self) -> str | None:
        return _str(self.container.get("source")) if self.kind == "script" else None

    @property
    def has_deadline(self) -> bool:
        return self.active_deadline_seconds is not None or self.timeout is not None

    def effects(self, verb: Verb) -> list[SideEffect]:
        return [effect for effect in self.side_effects if effect.verb == verb]

    @classmethod
    def parse(cls, node: Any, index: int, defaults: dict[str, Any] | None = None) -> Template:
        node = node if isinstance(node, dict) else {}
        kind = _template_kind(node)
        own = None
        if defaults:
            own, node = node, merge_template_defaults(defaults, node, kind)
        annotations = {str(k): str(v) for k, v in _dict(_dict(node.get("metadata")).get("annotations")).items()}
        effects = [
            effect
            for key, verb in SIDE_EFFECT_ANNOTATIONS.items()
            for effect in parse_side_effects(verb, annotations.get(key))  # type: ignore[arg-type]
        ]
        dag = _dict(node.get("dag"))
        fail_fast = dag.get("failFast")
        suspend = node.get("suspend")
        duration = _dict(suspend).get("duration")
        return cls(
            name=str(node.get("name", f"#{index}")),
            kind=kind,
            line=_line(node),
            raw=node,
            retry=RetryStrategy.parse(node.get("retryStrategy")),
            active_deadline_seconds=_scalar(node.get("activeDeadlineSeconds")),
            timeout=_str_or_int(node.get("timeout")),
            annotations=annotations,
            side_effects=tuple(effects),
            dag_tasks=tuple(Task.parse(t, i, ("dag", "tasks", i)) for i, t in enumerate(_list(dag.get("tasks")))),
            dag_target=_str(dag.get("target")),
            dag_fail_fast=fail_fast if isinstance(fail_fast, bool) else None,
            steps=tuple(
                tuple(Task.parse(s, i, ("steps", g, i)) for i, s in enumerate(_list(group)))
                for g, group in enumerate(_list(node.get("steps")))
            ),
            suspend_duration=_str_or_int(duration),
            resource=ResourceAction.parse(_dict(node["resource"])) if kind == "resource" else None,
            inputs=tuple(Parameter.parse_all(_dict(node.get("inputs")).get("parameters"))),
            outputs=tuple(Parameter.parse_all(_dict(node.get("outputs")).get("parameters"))),
            index=index,
            own=own,
        )


def merge_template_defaults(defaults: dict[str, Any], template: dict[str, Any], kind: str) -> dict[str, Any]:
    """A template with ``spec.templateDefaults`` merged in the way Argo's controller does it.

    Argo merges the defaults under each template with a strategic merge patch (operator.go
    ``mergedTemplateDefaultsInto``): the template's own keys win, mappings merge key by key, lists are
    replaced. A template-type key of the defaults (``container``...) applies only to templates of that type.
    """
    kinds = {*LEAF_KINDS, *COMPOSITE_KINDS} - {kind}
    base = {k: v for k, v in defaults.items() if k not in kinds and k != "name"}
    return _merged(base, template)


def _merged(base: dict[str, Any], own: dict[str, Any]) -> dict[str, Any]:
    out = LineDict()
    out.line = _line(own)
    out.key_lines = {**getattr(base, "key_lines", {}), **getattr(own, "key_lines", {})}
    out.duplicate_keys = list(getattr(own, "duplicate_keys", []))
    for key, value in base.items():
        if key not in own:
            out[key] = value
    for key, value in own.items():
        default = base.get(key)
        out[key] = _merged(default, value) if isinstance(default, dict) and isinstance(value, dict) else value
    return out


@dataclass(frozen=True)
class WorkflowSpec:
    """``spec`` of a Workflow or template, or ``spec.workflowSpec`` of a CronWorkflow."""

    line: int
    raw: dict[str, Any]
    entrypoint: str | None
    templates: dict[str, Template]
    template_order: tuple[str, ...]
    duplicate_templates: tuple[str, ...]
    on_exit: str | None
    hooks: dict[str, Hook]
    active_deadline_seconds: int | None
    retry: RetryStrategy | None
    pod_gc_strategy: str | None
    has_pod_gc: bool
    ttl: dict[str, Any] | None
    service_account: str | None
    security_context: dict[str, Any]
    arguments: tuple[Parameter, ...]
    workflow_template_ref: dict[str, Any] | None

    @property
    def exit_handler(self) -> str | None:
        """The workflow's exit handler template: ``onExit`` wins over ``hooks.exit`` (operator.go)."""
        if self.on_exit:
            return self.on_exit
        hook = self.hooks.get("exit")
        return hook.template if hook else None

    def exit_templates(self) -> set[str]:
        """Every template that runs as part of the workflow's exit handler (transitively)."""
        root = self.exit_handler
        return self.reachable(root) if root else set()

    def reachable(self, root: str) -> set[str]:
        seen: set[str] = set()
        pending = [root]
        while pending:
            name = pending.pop()
            template = self.templates.get(name)
            if name in seen or template is None:
                continue
            seen.add(name)
            for task in template.children:
                pending.extend(n for n in (task.template, task.exit_hook) if n)
        return seen

    @classmethod
    def parse(cls, node: Any) -> WorkflowSpec:
        node = node if isinstance(node, dict) else {}
        templates: dict[str, Template] = {}
        order: list[str] = []
        duplicates: list[str] = []
        defaults = _dict(node.get("templateDefaults"))
        for index, raw in enumerate(_list(node.get("templates"))):
            template = Template.parse(raw, index, defaults)
            if template.name in templates:
                duplicates.append(template.name)
                continue
            templates[template.name] = template
            order.append(template.name)
        pod_gc = node.get("podGC")
        deadline = node.get("activeDeadlineSeconds")
        ref = node.get("workflowTemplateRef")
        return cls(
            line=_line(node),
            raw=node,
            entrypoint=_str(node.get("entrypoint")),
            templates=templates,
            template_order=tuple(order),
            duplicate_templates=tuple(duplicates),
            on_exit=_str(node.get("onExit")),
            hooks=Hook.parse_all(node.get("hooks")),
            active_deadline_seconds=deadline if isinstance(deadline, int) and not isinstance(deadline, bool) else None,
            retry=RetryStrategy.parse(node.get("retryStrategy")),
            pod_gc_strategy=_str(_dict(pod_gc).get("strategy")),
            has_pod_gc=isinstance(pod_gc, dict),
            ttl=node.get("ttlStrategy") if isinstance(node.get("ttlStrategy"), dict) else None,
            service_account=_str(node.get("serviceAccountName")),
            security_context=_dict(node.get("securityContext")),
            arguments=tuple(Parameter.parse_all(_dict(node.get("arguments")).get("parameters"))),
            workflow_template_ref=ref if isinstance(ref, dict) else None,
        )


@dataclass(frozen=True)
class Manifest:
    """One Argo workflow document of a file."""

    kind: str
    name: str
    file: str
    index: int
    line: int
    raw: dict[str, Any]
    spec: WorkflowSpec
    annotations: dict[str, str]

    @property
    def label(self) -> str:
        return f"{self.kind}/{self.name}"


def is_workflow_document(document: Any) -> bool:
    if not isinstance(document, dict) or document.get("kind") not in WORKFLOW_KINDS:
        return False
    api = document.get("apiVersion")
    return not isinstance(api, str) or api.split("/")[0] == ARGO_API_GROUP


def parse_manifest(document: Any, *, file: str = "<string>", index: int = 0) -> Manifest | None:
    """The typed model of one document, or None when it is not an Argo workflow kind."""
    if not is_workflow_document(document):
        return None
    metadata = _dict(document.get("metadata"))
    spec_node = _dict(document.get("spec"))
    if document["kind"] == "CronWorkflow":
        spec_node = _dict(spec_node.get("workflowSpec"))
    name = _str(metadata.get("name")) or (_str(metadata.get("generateName")) or "") + "*"
    return Manifest(
        kind=document["kind"],
        name=name,
        file=file,
        index=index,
        line=_line(document, 1),
        raw=document,
        spec=WorkflowSpec.parse(spec_node),
        annotations={str(k): str(v) for k, v in _dict(metadata.get("annotations")).items()},
    )


def parse_documents(documents: list[Any], *, file: str) -> list[Manifest]:
    manifests = []
    for index, document in enumerate(documents):
        manifest = parse_manifest(document, file=file, index=index)
        if manifest is not None:
            manifests.append(manifest)
    return manifests


def load_manifests(path: Path) -> list[Manifest]:
    """Every Argo workflow document of a file; non-Argo documents are skipped."""
    return parse_documents(read_documents(path), file=str(path))
