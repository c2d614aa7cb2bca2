"""``POST /api/v1/render`` and the template page's preview: resolve a catalog version, render it with the
given parameters in memory, lint it, and describe how it fails. No side effects.

The stored bundle is the source of truth: it is checked against its digest and the bundle rules and
unpacked into a private folder once per digest (a digest's content never changes), then rendered in
Jinja's sandbox. Templates are data: nothing in a bundle runs as code on the server. The render, its lint
and its fault matrix run in a worker process (``generator.sandbox_worker.run_bounded``), so a template
planted to be expensive costs its budget and a 422, never the event loop or the other requests.
"""

from __future__ import annotations

import shutil
import tempfile
import threading
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from catalog import service
from catalog.db import Catalog, reporting
from catalog.models import TemplateVersion
from catalog.publication import load_unpacked
from catalog.safety import unpacked
from generator.sandbox_worker import run_bounded
from generator.scaffold import ANSWERS_FILE, MANIFEST_FILE, Pipeline, build
from generator.template_spec import TemplateSpec
from registry_api.services.dag import dag_svg


class TemplateCache:
    """Unpacked catalog versions by digest, least recently used evicted (its folder removed)."""

    def __init__(self, *, size: int) -> None:
        self.size = size
        self._root = Path(tempfile.mkdtemp(prefix="pipeforge-registry-"))
        self._items: OrderedDict[str, TemplateSpec] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, catalog: Catalog, row: TemplateVersion) -> TemplateSpec:
        with self._lock:
            found = self._items.get(row.digest)
            if found is not None:
                self._items.move_to_end(row.digest)
                return found
            template = self._unpack(catalog, row)
            self._items[row.digest] = template
            while len(self._items) > self.size:
                _, old = self._items.popitem(last=False)
                shutil.rmtree(old.path, ignore_errors=True)
            return template

    def _unpack(self, catalog: Catalog, row: TemplateVersion) -> TemplateSpec:
        with reporting(catalog.engine.url), catalog.session() as session:
            data = service.bundle_bytes(session, digest=row.digest)
        source = f"{row.name}@{row.version} ({row.digest})"
        target = self._root / row.digest.replace(":", "-")
        with unpacked(data, source=source) as folder:  # checked again: the database is not trusted either
            shutil.rmtree(target, ignore_errors=True)
            shutil.copytree(folder, target)
        return load_unpacked(target, source, name=row.name)

    def clear(self) -> None:
        with self._lock:
            self._items.clear()
            shutil.rmtree(self._root, ignore_errors=True)


@dataclass(frozen=True)
class Rendered:
    row: TemplateVersion
    body: dict[str, Any]  # everything about the render itself (see ``preview``)
    pipeline: Pipeline | None = None  # only when asked for (a pull request writes its files)

    @property
    def values(self) -> dict[str, Any]:
        return dict(self.body["parameters"])

    def public(self) -> dict[str, Any]:
        return {"template": self.row.name, "version": self.row.version, "digest": self.row.digest,
                "yanked": self.row.yanked, "yank_reason": self.row.yank_reason, **self.body}


def describe(pipeline: Pipeline, findings: list[dict[str, Any]]) -> dict[str, Any]:
    """The render's part of the answer to ``POST /api/v1/render``: files, lint, failure modes, the graph."""
    counts = {s: sum(1 for f in findings if f["severity"] == s) for s in ("error", "warning", "info")}
    return {
        "parameters": pipeline.values,
        "folder": pipeline.folder_name,
        "manifest_file": MANIFEST_FILE,
        "files": dict(sorted(pipeline.files.items())),
        "lint": {"errors": counts["error"], "warnings": counts["warning"], "infos": counts["info"],
                 "findings": findings},
        "failure_modes": [m.as_dict() for m in pipeline.modes],
        "failure_modes_markdown": pipeline.table,
        "dag_svg": dag_svg(pipeline.manifest),
        "fault_matrix": fault_matrix_verdict(pipeline),
    }


def preview(template: TemplateSpec, parameters: dict[str, Any], digest: str,
            keep_pipeline: bool = False) -> tuple[dict[str, Any], Pipeline | None]:
    """Runs in a worker process: build, lint and describe; the pipeline itself only when asked for (it is
    larger to send back than the description)."""
    pipeline = build(template, parameters, digest=digest)
    return describe(pipeline, _lint(pipeline)), pipeline if keep_pipeline else None


def fault_matrix_verdict(pipeline: Pipeline) -> dict[str, Any] | None:
    """The fault-matrix verdict of ``pipeforge simulate`` (issue 4) for the rendered manifest: the one
    place the registry reads it. ``generator.scaffold.build`` runs the matrix (every single fault: each
    step failed, errored, hung, the workflow stopped or terminated during it, each gate approved or
    rejected); None only when a pipeline was built without it."""
    matrix = pipeline.simulation
    if matrix is None:
        return None
    return {"passed": matrix.passed, "summary": matrix.summary(), "scenarios": matrix.as_dict()["scenarios"]}


def _lint(pipeline: Pipeline) -> list[dict[str, Any]]:
    from generator.lint import lint_text

    return [
        f.as_dict()
        for name, text in sorted(pipeline.files.items())
        if name.endswith((".yaml", ".yml")) and name != ANSWERS_FILE
        for f in lint_text(text, name)
    ]


def render(catalog: Catalog, cache: TemplateCache, *, name: str, version: str | None,
           parameters: dict[str, Any], keep_pipeline: bool = False) -> Rendered:
    """Render NAME at VERSION (exact, a range, or latest when None) with ``parameters``, in a worker
    process; raises InvalidParametersError naming every bad parameter, BudgetExceeded for a render that
    costs more than its budget."""
    with reporting(catalog.engine.url), catalog.session() as session:
        row = service.resolve(session, name=name, spec=version or "latest")
    template = cache.get(catalog, row)
    body, pipeline = run_bounded(preview, template, parameters, row.digest, keep_pipeline)
    return Rendered(row, body, pipeline)
