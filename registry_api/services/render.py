"""``POST /api/v1/render`` and the template page's preview: resolve a catalog version, render it with the
given parameters in memory, lint it, and describe how it fails. No side effects.

The stored bundle is the source of truth: it is checked against its digest and the bundle rules and
unpacked into a private folder once per digest (``catalog.checkout.TemplateCache``), then rendered in
Jinja's sandbox. Templates are data: nothing in a bundle runs as code on the server. The render, its lint
and its fault matrix run in a worker process (``generator.sandbox_worker.run_bounded``), so a template
planted to be expensive costs its budget and a 422, never the event loop or the other requests.
"""

from __future__ import annotations

from contextlib import nullcontext
from dataclasses import dataclass
from typing import Any

from catalog import resolution
from catalog.checkout import TemplateCache
from catalog.db import Catalog
from catalog.models import TemplateVersion
from generator.delivery import archive, new_command
from generator.sandbox_worker import run_bounded
from generator.scaffold import MANIFEST_FILE, Pipeline, build
from generator.severity import SEVERITIES, Severity
from generator.template_spec import TemplateSpec
from generator.verdict import verdict_of
from registry_api.services.dag import conditions, dag_svg


@dataclass(frozen=True)
class Rendered:
    row: TemplateVersion
    body: dict[str, Any]  # everything about the render itself (see ``preview``)

    @property
    def values(self) -> dict[str, Any]:
        return dict(self.body["parameters"])

    def public(self) -> dict[str, Any]:
        return {"template": self.row.name, "version": self.row.version, "digest": self.row.digest,
                "yanked": self.row.yanked, "yank_reason": self.row.yank_reason, **self.body,
                "command": self.command()}

    def command(self) -> str:
        """``pipeforge new NAME@VERSION ... --set`` for the values that differ from the defaults."""
        properties = (self.row.parameters or {}).get("properties") or {}
        defaults = {k: v.get("default") for k, v in properties.items() if isinstance(v, dict)}
        return new_command(template=self.row.name, version=self.row.version, folder=self.body["folder"],
                           values=self.values, defaults=defaults)

    def archive(self, fmt: str) -> bytes:
        """The rendered folder as a ``fmt`` archive (tar.gz or zip), from the files the description carries."""
        return archive(self.body["folder"], self.body["files"], fmt)


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


def render(catalog: Catalog, cache: TemplateCache, *, name: str, version: str | None,
           parameters: dict[str, Any]) -> Rendered:
    """Render NAME at VERSION (exact, a range, or latest when None) with ``parameters``, in a worker
    process; raises InvalidParametersError naming every bad parameter, BudgetExceeded for a render that
    costs more than its budget."""
    with resolution.resolved(name, version or "latest", sources=(resolution.CATALOG,),
                             catalog=lambda: nullcontext(catalog), checkout=cache.lease) as found:
        assert found.row is not None  # asked of the catalog only: a version of it, or an error
        body = run_bounded(preview, found.template, parameters, found.row.digest)  # files kept till read
    return Rendered(found.row, body)
