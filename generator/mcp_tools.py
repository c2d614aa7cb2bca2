"""The MCP tools: what each tool does with a manifest or a template, and the server that registers them.

The tools are list_templates, describe_template, render_pipeline, lint_manifest, explain_manifest,
harden_manifest and simulate_manifest, plus the prompt ``review-argo-pipeline``. Every tool is a thin call
into the same library the CLI uses, takes bounded input, returns structured output, and answers bad input
(invalid YAML, unknown template, bad parameters, oversized text) with a tool error that says what was
wrong; the server itself never crashes on input. Every tool that renders, lints, explains, hardens or
simulates runs in a worker process (``generator.sandbox_worker.run_bounded``): text crafted to be
expensive costs that tool call its budget, not the server.

The catalog is injected (a :class:`PublishedTemplates`), so this module stays in the core: the
composition roots pick it, ``generator.mcp_server`` the user's catalog for ``pipeforge mcp`` and
``registry_api.mcp`` the registry's own.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractContextManager, ExitStack, contextmanager
from typing import Any, Protocol

from pydantic import BaseModel, Field

from generator import __version__
from generator.errors import PipeforgeError
from generator.explain import failure_modes, to_markdown
from generator.harden import DEFAULT_DEADLINE, harden_text
from generator.lint import lint_text
from generator.model import parse_documents
from generator.sandbox_worker import run_bounded
from generator.scaffold import MANIFEST_FILE, build
from generator.severity import Severity
from generator.shapes import FailureModeRow, LintFinding
from generator.sim.faults import Faults, parse_fail, parse_resume
from generator.sim.matrix import run_matrix
from generator.sim.report import verdict
from generator.simulate import check_faults, load_text, simulate
from generator.template_spec import TemplateSpec, find_template
from generator.template_spec import list_templates as available_templates
from generator.yamlio import MAX_YAML_DEPTH, json_depth, load_documents

#: Largest manifest text a tool accepts (characters); Argo's biggest example is under 20 KB.
MAX_MANIFEST_CHARS = 1_000_000
MAX_PARAMETERS = 100
MAX_PARAMETER_CHARS = 10_000


class LintResult(BaseModel):
    errors: int
    warnings: int
    findings: list[LintFinding]


class ManifestTable(BaseModel):
    manifest: str = Field(description="Kind/name of the Argo document")
    steps: list[FailureModeRow]


class ExplainResult(BaseModel):
    manifests: list[ManifestTable]
    markdown: str = Field(description="the same tables as GitHub-flavoured Markdown")


class ChangeOut(BaseModel):
    line: int
    template: str | None
    rule: str
    description: str


class HeldOut(BaseModel):
    line: int
    template: str | None
    rule: str
    reason: str
    suggestion: str


class HardenResult(BaseModel):
    yaml: str = Field(description="the hardened manifest (every untouched line kept byte for byte)")
    changes: list[ChangeOut]
    needs_human: list[LintFinding] = Field(description="findings harden does not fix by itself")
    held_back: list[HeldOut] = Field(default_factory=list,
                                     description="fixes not made because they were not safe here, and why")
    listed: int = Field(default=0, description="each list above holds at most this many entries (the first, "
                        "by line); the totals say how many there are")
    totals: dict[str, int] = Field(default_factory=dict,
                                   description="how many changes, needs_human and held_back entries there are")


class TemplateSummary(BaseModel):
    name: str
    version: str
    summary: str
    tags: list[str]


class TemplateList(BaseModel):
    templates: list[TemplateSummary]


class VersionOut(BaseModel):
    version: str
    digest: str
    yanked: bool
    yank_reason: str | None


class TemplateDescription(BaseModel):
    name: str
    version: str = Field(description="the version described (the local template's, or the catalog's resolved one)")
    versions: list[VersionOut] = Field(description="versions published in the catalog (empty without one)")
    summary: str
    tags: list[str]
    parameters: dict[str, Any] = Field(description="JSON Schema of the template's parameters")
    safety: list[str] = Field(description="what the rendered pipeline guarantees, checked by lint on its defaults")


class RenderResult(BaseModel):
    template: str
    version: str
    digest: str
    files: dict[str, str] = Field(description="path -> content of every generated file (nothing is written)")
    lint: LintResult
    failure_modes: str = Field(description="the failure-mode table (Markdown)")
    fault_matrix: str = Field(description="verdict of the simulated fault matrix (PASSED/FAILED ...)")


class SimulateResult(BaseModel):
    safe: bool = Field(description="nothing orphaned or duplicated (for a matrix: no scenario breaks that, "
                                   "outside the documented exceptions)")
    summary: str
    simulation: dict[str, Any] | None = Field(
        default=None, description="one run: the `pipeforge simulate --json` shape (phase, exit_handler, nodes, "
                                  "resources, events, assumptions)")
    matrix: dict[str, Any] | None = Field(default=None, description="`--matrix`: every scenario with its verdict")


class ToolInputError(PipeforgeError):
    """Input a tool refuses, or a lookup or budget that failed it: the message reaches the assistant as the
    tool's error (``build_server`` turns it into the SDK's ToolError, which the SDK sends after "Error
    executing tool <name>: "). A plain project error, so a tool running in a worker process raises it
    without loading the MCP SDK there."""


def _check_text(text: str, what: str = "manifest") -> None:
    if len(text) > MAX_MANIFEST_CHARS:
        raise ToolInputError(f"{what} is {len(text):,} characters; the limit is {MAX_MANIFEST_CHARS:,}")
    if not text.strip():
        raise ToolInputError(f"{what} is empty")


def _findings(findings: list[Any]) -> LintResult:
    out = [LintFinding(**f.as_dict()) for f in findings]
    return LintResult(
        errors=sum(1 for f in out if f.severity == Severity.ERROR),
        warnings=sum(1 for f in out if f.severity == Severity.WARNING),
        findings=out,
    )


def lint_manifest(manifest: str, filename: str = "manifest.yaml") -> LintResult:
    """Check an Argo manifest (YAML text, one or more documents) for failure-safety: cleanup outside the
    exit handler, unbounded or non-idempotent retries, missing deadlines, ungated deletes, parameters in
    scripts, misspelt keys. Every finding has its rule, line, template and a concrete fix."""

    _check_text(manifest)
    return _findings(lint_text(manifest, filename))


def explain_manifest(manifest: str) -> ExplainResult:
    """The failure-mode table of an Argo manifest: per step, its retries (what they will and will not
    retry), backoff, deadline, side effects and idempotency key, what cleans up after it, and what the
    workflow does when it fails."""

    _check_text(manifest)
    manifests = parse_documents(load_documents(manifest, file="manifest.yaml"), file="manifest.yaml")
    if not manifests:
        raise ToolInputError("no Argo Workflow, WorkflowTemplate, ClusterWorkflowTemplate or CronWorkflow in "
                             "the text")
    tables = [ManifestTable(manifest=m.label, steps=[FailureModeRow(**r.as_dict()) for r in failure_modes(m)])
              for m in manifests]
    markdown = "\n".join(f"## {m.label}\n\n{to_markdown(failure_modes(m))}" for m in manifests)
    return ExplainResult(manifests=tables, markdown=markdown)


#: The most entries each list of a harden_manifest answer holds.
HARDEN_LIST_CAP = 200


def harden_manifest(manifest: str, deadline_seconds: int = 3600, retry_limit: int = 3) -> HardenResult:
    """Apply the fixes a reviewer would make (cleanup into the exit handler, bounded retries with an
    explicit policy and backoff, deadlines, podGC and ttl), keeping comments; report what needs a human."""

    _check_text(manifest)
    if not 1 <= deadline_seconds <= 7 * 86400 or not 1 <= retry_limit <= 20:
        raise ToolInputError("deadline_seconds must be 1..604800 and retry_limit 1..20")
    # the tool's default deadline is pipeforge's default, which the changes then name as one to review
    deadline = None if deadline_seconds == DEFAULT_DEADLINE else deadline_seconds
    result = harden_text(manifest, "manifest.yaml", deadline=deadline, retry_limit=retry_limit)
    # Lists are capped: thousands of entries help no reader, and a tool answer of megabytes is slow to
    # validate and send; the YAML is always whole.
    cap = HARDEN_LIST_CAP
    return HardenResult(
        yaml=result.text,
        changes=[ChangeOut(line=c.line, template=c.template, rule=c.rule, description=c.description)
                 for c in result.changes[:cap]],
        needs_human=[LintFinding(**f.as_dict()) for f in result.needs_human[:cap]],
        held_back=[HeldOut(**h.as_dict()) for h in result.held[:cap]],
        listed=cap,
        totals={"changes": len(result.changes), "needs_human": len(result.needs_human),
                "held_back": len(result.held)},
    )


def list_templates() -> TemplateList:
    """The pipeline templates pipeforge can render (name, version, summary, tags)."""

    return TemplateList(templates=[
        TemplateSummary(name=t.name, version=t.version, summary=t.summary, tags=list(t.tags))
        for t in available_templates()
    ])


class PublishedVersion(Protocol):
    """One catalog version as describe_template lists it."""

    @property
    def version(self) -> str: ...
    @property
    def digest(self) -> str: ...
    @property
    def yanked(self) -> bool: ...
    @property
    def yank_reason(self) -> str | None: ...


class PublishedTemplates(Protocol):
    """The catalog the versioned describe_template and render_pipeline calls read; its errors are
    PipeforgeErrors, which the tools answer as tool errors."""

    def published(self, name: str, spec: str) -> AbstractContextManager[tuple[TemplateSpec, str | None]]:
        """NAME@SPEC (exact, range or latest) as (template, digest), its files kept until the block ends."""
        ...

    def versions(self, name: str) -> Sequence[PublishedVersion]:
        """Every published version of NAME, oldest first, yanked ones included."""
        ...


@contextmanager
def _resolved(name: str, version: str | None,
              catalog: PublishedTemplates) -> Iterator[tuple[TemplateSpec, str | None]]:
    """(template, digest): the local template when no version is asked for, else NAME@version from the
    catalog (an exact version, a range such as ^1.2, or latest)."""
    if not version and ("/" in name or "\\" in name or name.startswith(".")):
        raise ToolInputError(f"template '{name}': give a template name from list_templates, not a path")
    with ExitStack() as stack:
        try:
            found = (find_template(name), None) if not version else \
                stack.enter_context(catalog.published(name, version))
        except PipeforgeError as exc:
            raise ToolInputError(exc.message) from None
        yield found  # outside the handler: an error of the caller's block is never taken for a lookup's


def _versions(name: str, catalog: PublishedTemplates) -> list[VersionOut]:
    try:
        rows = catalog.versions(name)
    except Exception:
        return []
    return [VersionOut(version=r.version, digest=r.digest, yanked=r.yanked, yank_reason=r.yank_reason)
            for r in rows]


def _safety(spec: Any, digest: str | None) -> list[str]:
    """Runs in a worker process: what the template renders on its defaults, as describe_template says it."""

    pipeline = build(spec, {}, digest=digest)
    findings = lint_text(pipeline.files[MANIFEST_FILE], MANIFEST_FILE)
    manifest = pipeline.manifest
    return [
        f"lint on the defaults: {sum(f.severity == Severity.ERROR for f in findings)} errors, "
        f"{sum(f.severity == Severity.WARNING for f in findings)} warnings",
        f"fault matrix on the defaults: {pipeline.verdict}",
        f"exit handler: {manifest.spec.exit_handler or 'none'}",
        f"workflow deadline: {manifest.spec.active_deadline_seconds}s",
    ]


def _bounded_call(fn: Callable[..., Any], *args: Any) -> Any:
    try:
        return run_bounded(fn, *args)
    except PipeforgeError as exc:
        raise ToolInputError(exc.message) from None


def _describe(name: str, version: str | None, catalog: PublishedTemplates) -> TemplateDescription:
    with _resolved(name, version, catalog) as (spec, digest):
        safety = _bounded_call(_safety, spec, digest)
    return TemplateDescription(name=spec.name, version=spec.version, versions=_versions(spec.name, catalog),
                               summary=spec.summary, tags=list(spec.tags), parameters=spec.schema, safety=safety)


def _rendered(spec: Any, values: dict[str, Any], digest: str | None) -> RenderResult:
    """Runs in a worker process: the render, its lint and its fault matrix."""

    pipeline = build(spec, values, digest=digest)
    return RenderResult(
        template=spec.name, version=spec.version, digest=pipeline.digest, files=dict(pipeline.files),
        lint=_findings(lint_text(pipeline.files[MANIFEST_FILE], MANIFEST_FILE)), failure_modes=pipeline.table,
        fault_matrix=pipeline.verdict,
    )


def _render(template: str, parameters: dict[str, Any] | None, version: str | None,
            catalog: PublishedTemplates) -> RenderResult:

    values = dict(parameters or {})
    if len(values) > MAX_PARAMETERS:
        raise ToolInputError(f"{len(values)} parameters; the limit is {MAX_PARAMETERS}")
    if json_depth(values) > MAX_YAML_DEPTH:
        raise ToolInputError(f"parameters nested deeper than {MAX_YAML_DEPTH} levels (MAX_YAML_DEPTH)")
    for key, value in values.items():
        if isinstance(value, str) and len(value) > MAX_PARAMETER_CHARS:
            raise ToolInputError(f"parameter {key} is longer than {MAX_PARAMETER_CHARS:,} characters")
    with _resolved(template, version, catalog) as (spec, digest):
        result: RenderResult = _bounded_call(_rendered, spec, values, digest)
    return result


def catalog_tools(catalog: PublishedTemplates) -> list[Callable[..., Any]]:
    """describe_template and render_pipeline, reading versions from ``catalog``."""

    def describe_template(name: str, version: str | None = None) -> TemplateDescription:
        """One template: its parameters (JSON Schema), the versions published in the catalog (yanked ones
        marked), and the safety properties of what it renders (lint and fault matrix on its defaults).
        Without `version`, the local template; with one (1.2.0, ^1.2, ~1.2.3, >=1,<2, latest), the catalog's."""
        return _describe(name, version, catalog)

    def render_pipeline(template: str, parameters: dict[str, Any] | None = None,
                        version: str | None = None) -> RenderResult:
        """Render a template with parameters in memory (nothing is written): the files, their lint findings,
        the failure-mode table and the fault-matrix verdict. Invalid parameters are all reported at once.
        Without `version`, the local template; with one (exact, ^, ~, range or latest), the catalog's."""
        return _render(template, parameters, version, catalog)

    return [describe_template, render_pipeline]


def simulate_manifest(
    manifest: str,
    fail: list[str] | None = None,
    hang: list[str] | None = None,
    resume: list[str] | None = None,
    reject: list[str] | None = None,
    stop_at: str | None = None,
    terminate_at: str | None = None,
    matrix: bool = False,
) -> SimulateResult:
    """Fail the pipeline on purpose, offline: Argo's failure semantics simulated with faults injected, in
    the CLI's vocabulary: fail=["STEP[=failed|error|unschedulable][:N]"], hang=["STEP"],
    resume=["GATE[:NAME=VALUE,...]"], reject=["GATE"], stop_at/terminate_at="STEP". matrix=true runs the
    fault-free run and every single fault (each step failed, errored, failed once, hung, unschedulable;
    stop and terminate during each step; each gate approved and rejected) and says whether anything is
    orphaned or duplicated."""

    _check_text(manifest)
    try:
        target = load_text(manifest, "manifest.yaml")
        target.validate()
        faults = Faults(
            fail=dict(parse_fail(text) for text in fail or []), hang=frozenset(hang or []),
            resume=dict(parse_resume(text) for text in resume or []), reject=frozenset(reject or []),
            stop_at=stop_at, terminate_at=terminate_at,
        )
        if matrix:
            if faults.steps():
                raise ToolInputError("matrix runs every single fault itself: give no other fault with it")

            result = run_matrix(target)
            return SimulateResult(safe=result.passed, summary=result.summary(), matrix=result.as_dict())
        check_faults(target, faults)
    except ValueError as exc:
        raise ToolInputError(str(exc)) from None
    run = simulate(target, faults)

    return SimulateResult(safe=run.ok, summary=verdict(run), simulation=run.as_dict())


REVIEW_PROMPT = """\
Review this Argo Workflows manifest for failure-safety the way a careful platform engineer would, and back
every claim with a pipeforge tool call rather than reading the YAML yourself.

1. Call lint_manifest on it. For each error, say what goes wrong on the failure path and quote the fix.
2. Cleanup: if any step deletes what an earlier step created as an ordinary DAG or steps node (PF101),
   convert it into the exit handler (spec.onExit), so it runs whether the workflow succeeds, fails, errors
   or is stopped. harden_manifest does this; show the change.
3. For every template, give its retryStrategy (limit, retryPolicy, backoff) and deadline, and justify the
   policy per step: OnError where a non-zero exit is a real answer (bad data, a declined payment),
   Always only where the step is idempotent (apply of a fixed name, delete, overwrite keyed on a run key).
4. Call explain_manifest and include its failure-mode table.
5. List every step whose retry could re-apply a non-idempotent side effect (create, generateName, names from
   pod name, retries or time; retryStrategy on a steps/DAG template), each with the lint finding or table
   row that shows it.
6. Call harden_manifest, then lint_manifest on the result; list what still needs a human.
7. Call simulate_manifest with matrix=true on the hardened manifest and report its verdict: which
   scenario orphans or duplicates what, or that it passes (and its known gaps).

Manifest:

```yaml
{manifest}
```
"""


def review_prompt(manifest: str) -> str:
    """The article's review of an Argo manifest, step by step, each claim backed by a pipeforge tool call."""
    _check_text(manifest)
    return REVIEW_PROMPT.format(manifest=manifest)


def build_server(catalog: PublishedTemplates) -> Any:
    """The MCP server with every tool and the review prompt registered; versioned describe/render calls
    read ``catalog``."""
    from mcp.server.mcpserver import MCPServer  # lazy: the MCP SDK loads only when a server is built
    from mcp.server.mcpserver.exceptions import ToolError  # lazy: the MCP SDK loads only when a server is built

    server = MCPServer(
        name="pipeforge",
        version=__version__,
        instructions=(
            "pipeforge verifies Argo Workflows pipelines for failure-safety. Draft or edit a manifest, then "
            "call lint_manifest; fix errors with harden_manifest (or by hand), and show the user "
            "explain_manifest's failure-mode table instead of raw YAML. Prefer render_pipeline from a "
            "template (list_templates, describe_template) over writing a pipeline from scratch."
        ),
    )
    tools: list[Callable[..., Any]] = [list_templates, *catalog_tools(catalog), lint_manifest,
                                       explain_manifest, harden_manifest, simulate_manifest]
    for tool in tools:
        server.add_tool(_answered(_bounded(tool) if tool in _WORKER_TOOLS else tool, ToolError),
                        structured_output=True)
    server.add_prompt(_prompt(review_prompt, "review-argo-pipeline"))
    return server


#: The tools whose whole call runs in a worker process (the catalog tools send only their render there).
_WORKER_TOOLS = (lint_manifest, explain_manifest, harden_manifest, simulate_manifest)


def _bounded(tool: Callable[..., Any]) -> Callable[..., Any]:
    """``tool`` with the same signature and documentation, run by ``run_bounded``."""

    @functools.wraps(tool)
    def bounded(*args: Any, **kwargs: Any) -> Any:
        return run_bounded(tool, *args, **kwargs)

    return bounded


def _answered(tool: Callable[..., Any], tool_error: type[Exception]) -> Callable[..., Any]:
    """``tool`` with every project error it raises (refused input, a failed lookup, a budget overrun in
    its worker) turned into ``tool_error``, the SDK's ToolError: the SDK sends its message to the assistant,
    where any other exception would be reported as a crash with no message."""

    @functools.wraps(tool)
    def answered(*args: Any, **kwargs: Any) -> Any:
        try:
            return tool(*args, **kwargs)
        except PipeforgeError as exc:
            raise tool_error(exc.message) from None

    return answered


def _prompt(fn: Any, name: str) -> Any:
    from mcp.server.mcpserver.prompts import Prompt  # lazy: the MCP SDK loads only when a server is built

    return Prompt.from_function(fn, name=name, description=fn.__doc__)

