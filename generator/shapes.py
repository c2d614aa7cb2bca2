"""The JSON shapes of a lint finding and of a failure-mode row, as pydantic models: one definition for
every place that publishes them with a schema (the MCP tools' output schemas, the registry's OpenAPI)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field


class LintFinding(BaseModel):
    """One ``pipeforge lint`` finding (``Finding.as_dict()``)."""

    rule: str = Field(description="rule code, e.g. PF101 (see the rule table in pipeforge's README)")
    severity: str = Field(description="error, warning or info")
    file: str
    line: int
    template: str | None = Field(description="the Argo template concerned, if any")
    message: str
    fix: str = Field(description="a concrete fix")
    data: dict[str, Any] = Field(default_factory=dict, description=(
        "structured data for tools: template, path (keys and indexes from the document root) and, where "
        "relevant, task/step, object {kind, name} and field"))


class FailureModeRow(BaseModel):
    """One step of the failure-mode table (``pipeforge explain``; ``FailureMode.as_dict()``)."""

    step: str
    template: str
    stage: str = Field(description="'main' or 'exit handler'")
    retries: str
    backoff: str
    deadline: str
    side_effects: list[str]
    idempotency: list[str]
    cleaned_up_by: list[str]
    on_failure: str
