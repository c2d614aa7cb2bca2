"""What a render of ``POST /api/v1/render`` does in its worker process (``generator.sandbox_worker``): build,
lint and describe the pipeline. It imports the core and the SVG drawing only, never the catalog or the
database: a worker imports the module of the function it runs, and a fresh worker (one per registry start,
and after every runaway it was killed for) would otherwise import SQLAlchemy before its first render."""

from __future__ import annotations

from typing import Any

from generator.scaffold import MANIFEST_FILE, Pipeline, build
from generator.severity import SEVERITIES, Severity
from generator.template_spec import TemplateSpec
from generator.verdict import verdict_of
from registry_api.services.dag import conditions, dag_svg


def describe(pipeline: Pipeline, findings: list[dict[str, Any]]) -> dict[str, Any]:
    """The render's part of the answer to ``POST /api/v1/render``: files, lint, failure modes, the graph."""
    counts = {s: sum(1 for f in findings if f["severity"] == s) for s in SEVERITIES}
    return {
        "parameters": pipeline.values,
        "folder": pipeline.folder_name,
        "manifest_file": MANIFEST_FILE,
        "files": dict(sorted(pipeline.files.items())),
        "lint": {"errors": counts[Severity.ERROR], "warnings": counts[Severity.WARNING], "infos": counts[Severity.INFO],
                 "findings": findings},
        "failure_modes": [m.as_dict() for m in pipeline.modes],
        "failure_modes_markdown": pipeline.table,
        "dag_svg": dag_svg(pipeline.manifest),
        "conditions": conditions(pipeline.manifest),
        "fault_matrix": fault_matrix_verdict(pipeline),
    }


def preview(template: TemplateSpec, parameters: dict[str, Any], digest: str) -> dict[str, Any]:
    """Runs in a worker process: build, lint and describe (the description is smaller to send back than
    the pipeline)."""
    pipeline = build(template, parameters, digest=digest)
    return describe(pipeline, _lint(pipeline))


def fault_matrix_verdict(pipeline: Pipeline) -> dict[str, Any]:
    """The fault-matrix verdict of ``pipeforge simulate`` for the rendered manifest: the one place the
    registry reads it, from ``generator.verdict`` (every single fault: each step failed, errored, hung,
    the workflow stopped or terminated during it, each gate approved or rejected), cached per content."""
    matrix = verdict_of(pipeline).matrix
    return {"passed": matrix.passed, "summary": matrix.summary(), "scenarios": matrix.as_dict()["scenarios"]}


def _lint(pipeline: Pipeline) -> list[dict[str, Any]]:
    return [f.as_dict() for f in verdict_of(pipeline).findings]
