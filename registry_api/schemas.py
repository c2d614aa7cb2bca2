"""Request and response bodies of the JSON API (documented in /openapi.json)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

from generator.shapes import FailureModeRow, LintFinding
from generator.yamlio import MAX_YAML_DEPTH, json_depth

NAME = r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$"
#: More parameters than any template has; past it a request is refused before it is looked at.
MAX_PARAMETERS = 200


class TemplateSummary(BaseModel):
    name: str
    latest: str | None = Field(description="the newest release that is not yanked; null when there is none")
    summary: str
    tags: list[str]
    versions: int
    yanked_versions: int
    updated_at: str


class TemplatePage(BaseModel):
    total: int
    limit: int
    offset: int
    items: list[TemplateSummary]


class LintSummary(BaseModel):
    errors: int
    warnings: int
    infos: int
    findings: list[LintFinding]


class VersionBrief(BaseModel):
    version: str
    digest: str
    yanked: bool
    yank_reason: str | None
    prerelease: bool
    published_at: str


class TemplateDetail(BaseModel):
    name: str
    latest: str | None
    summary: str
    tags: list[str]
    parameters: dict[str, Any] = Field(description="JSON Schema of the latest version's parameters")
    versions: list[VersionBrief] = Field(description="newest first, yanked ones included and marked")


class VersionPublic(BaseModel):
    name: str
    version: str
    digest: str
    yanked: bool
    yank_reason: str | None
    prerelease: bool
    summary: str
    tags: list[str]
    parameters: dict[str, Any]
    changelog: str | None
    lint: LintSummary
    publisher: str
    published_at: str


class RenderRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    template: str = Field(max_length=63, pattern=NAME, examples=["provision-process-publish"])
    version: str | None = Field(default=None, max_length=200,
                                description="exact version or spec (^1.2, ~1.2.3, >=1,<2); default latest")
    parameters: dict[str, Any] = Field(default_factory=dict, max_length=MAX_PARAMETERS,
                                       description="parameters; missing ones take defaults")

    @field_validator("parameters")
    @classmethod
    def _bounded_depth(cls, value: dict[str, Any]) -> dict[str, Any]:
        if json_depth(value) > MAX_YAML_DEPTH:
            raise ValueError(f"nested deeper than {MAX_YAML_DEPTH} levels (MAX_YAML_DEPTH)")
        return value


class MatrixScenario(BaseModel):
    scenario: str
    phase: str
    exit_handler: dict[str, Any]
    orphaned: list[str]
    duplicated: list[str]
    reached: bool
    verdict: str = Field(description="safe, known gap, or violation")
    excused: str | None
    mitigations: list[str]


class FaultMatrix(BaseModel):
    passed: bool = Field(description="no scenario orphans or duplicates a side effect outside documented gaps")
    summary: str
    scenarios: list[MatrixScenario]


class RenderResponse(BaseModel):
    template: str
    version: str
    digest: str
    yanked: bool
    yank_reason: str | None
    parameters: dict[str, Any] = Field(description="every parameter, defaults filled in")
    folder: str
    manifest_file: str
    files: dict[str, str]
    lint: LintSummary
    failure_modes: list[FailureModeRow]
    failure_modes_markdown: str
    dag_svg: str = Field(description="the pipeline's graph as an SVG document")
    fault_matrix: FaultMatrix | None = Field(
        description="the simulated fault matrix (every single fault injected) and its verdict")
    conditions: dict[str, str] = Field(description="each conditional step's full `when` expression, by step name")
    command: str = Field(description="the `pipeforge new` command that renders the same folder (shell-quoted)")


class YankRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reason: str = Field(min_length=1, max_length=1000, description="why; users of the version see it")


class RemoveRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reason: str = Field(min_length=1, max_length=1000, description="why; recorded with the version number")


class RemovedPublic(BaseModel):
    """A removed version: what it was and who removed it, when and why. Its number is never reused."""

    name: str
    version: str
    digest: str
    publisher: str
    published_at: str
    reason: str
    removed_by: str
    removed_at: str


class ChangeResult(BaseModel):
    changed: bool
    version: VersionPublic


# The HTTP form of an error, not a finding (generator.findings): registry_api.problems is the only place
# that builds one; a render's lint findings travel in the render's own answer. (A comment, not the
# docstring: the docstring is the schema's description in the published OpenAPI document.)
class Problem(BaseModel):
    """RFC 9457 problem details."""

    type: str
    title: str
    status: int
    detail: str
    instance: str | None = None
    errors: list[dict[str, Any]] | None = None
    budget: str | None = Field(default=None, description="for budget-exceeded: the limit the work ran into "
                               "(render-seconds, render-output, render-size, worker-seconds, ...)")


class Health(BaseModel):
    status: str


class PullRequestCreate(RenderRequest):
    """What to render (as for ``POST /render``), and where its pull request goes."""

    repo: str = Field(max_length=2000, description="the GitOps repository's URL (no credentials in it); it must "
                      "be in the registry's PIPEFORGE_PR_ALLOWED_REPOS")
    path: str = Field(max_length=500, description="folder of the pipeline inside the repository")
    base: str = Field(default="main", max_length=200, description="the branch the pull request targets")
    provider: str = Field(default="none", description="none (push the branch only), github, gitlab or gitea")


class UpgradeCreate(BaseModel):
    """Where the pipeline to upgrade lives (its folder holds .pipeforge-answers.yaml on the base branch), and
    the version to move it to."""

    model_config = ConfigDict(extra="forbid")

    repo: str = Field(max_length=2000, description="the GitOps repository's URL (no credentials in it); it must "
                      "be in the registry's PIPEFORGE_PR_ALLOWED_REPOS")
    path: str = Field(max_length=500, description="folder of the pipeline inside the repository")
    to: str = Field(default="latest", max_length=200, description="version or spec (^1.2, ~1.2.3, >=1,<2) to move "
                    "to; never a downgrade")
    base: str = Field(default="main", max_length=200, description="the branch the pull request targets")
    provider: str = Field(default="none", description="none (push the branch only), github, gitlab or gitea")


class PullRequestJobOut(BaseModel):
    id: int
    kind: str = Field(description="render (POST /pull-requests) or upgrade (POST /upgrades, roll-outs)")
    rollout: int | None = Field(description="the roll-out this job is a target of")
    status: str = Field(description="queued, running, succeeded or failed")
    request: dict[str, Any] = Field(description="the request, with the template version it resolved to")
    result: dict[str, Any] | None = Field(description="when succeeded: branch, commit, changed, pull_request (and "
                                          "the template digest of a render, the upgrade of an upgrade)")
    error: str | None = Field(description="when failed: what went wrong (no credentials in it)")
    attempts: int
    created_at: str | None
    started_at: str | None
    finished_at: str | None


class RolloutCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    template: str = Field(max_length=63, pattern=NAME, examples=["provision-process-publish"])
    to: str = Field(default="latest", max_length=200, description="version or spec; resolved once, when the "
                    "roll-out is made, so every target moves to the same version")


class RolloutCounts(BaseModel):
    pending: int
    opened: int
    up_to_date: int = Field(alias="up-to-date")
    conflict: int
    declined: int
    failed: int


class RolloutTarget(BaseModel):
    repo: str
    path: str
    from_: str | None = Field(alias="from", description="the version PATH holds on the base branch")
    status: str = Field(description="pending, opened, up-to-date, conflict, declined (a person closed this "
                        "upgrade's pull request unmerged: left closed, nothing pushed) or failed")
    reason: str | None = Field(description="when failed: what went wrong and what to do (no credentials in it)")
    pull_request: dict[str, Any] | None = Field(description="number, url and action (created, updated, unchanged, "
                                                "declined)")
    branch: str | None
    conflicts: list[str] = Field(description="files of the upgrade PR holding conflict markers")
    job: int = Field(description="the upgrade job (GET /api/v1/pull-requests/{job})")
    attempts: int


class RolloutSummary(BaseModel):
    id: int
    template: str
    to: str = Field(description="the spec asked for")
    to_version: str = Field(description="the version it resolved to when the roll-out was made")
    requested_by: str
    created_at: str | None
    counts: RolloutCounts
    total: int = Field(description="how many targets (deliveries below the target version)")
    done: bool = Field(description="no target is pending")


class RolloutOut(RolloutSummary):
    targets: list[RolloutTarget]


class RolloutList(BaseModel):
    items: list[RolloutSummary]
