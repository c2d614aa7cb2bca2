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
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from catalog import service
from catalog.db import Catalog, reporting
from catalog.models import TemplateVersion
from catalog.publication import load_unpacked
from catalog.safety import unpacked
from generator.delivery import archive, new_command
from generator.sandbox_worker import run_bounded
from generator.scaffold import MANIFEST_FILE, Pipeline, build
from generator.severity import SEVERITIES, Severity
from generator.template_spec import TemplateSpec
from generator.verdict import verdict_of
from registry_api.services.dag import conditions, dag_svg


@dataclass(eq=False)
class _Entry:
    template: TemplateSpec
    folder: Path  # the entry's own folder (a digest unpacked again gets another one)
    users: int = 0
    evicted: bool = False


class TemplateCache:
    """Unpacked catalog versions by digest, least recently used evicted. Renders hold a version with
    ``lease``: an evicted version's folder is removed when the last render reading it has finished, never
    while one still reads its files."""

    def __init__(self, *, size: int) -> None:
        self.size = size
        self._root = Path(tempfile.mkdtemp(prefix="pipeforge-registry-"))
        self._items: OrderedDict[str, _Entry] = OrderedDict()
        self._lock = threading.Lock()

    @contextmanager
    def lease(self, catalog: Catalog, row: TemplateVersion) -> Iterator[TemplateSpec]:
        """The version's template, its folder kept on disk until the ``with`` block ends."""
        entry = self._acquire(catalog, row)
        try:
            yield entry.template
        finally:
            self._release(entry)

    def _acquire(self, catalog: Catalog, row: TemplateVersion) -> _Entry:
        with self._lock:
            entry = self._items.get(row.digest)
            if entry is not None:
                self._items.move_to_end(row.digest)
            else:
                entry = self._items[row.digest] = self._unpack(catalog, row)
            entry.users += 1
            while len(self._items) > self.size:
                _, old = self._items.popitem(last=False)
                old.evicted = True
                if old.users == 0:
                    shutil.rmtree(old.folder, ignore_errors=True)
            return entry

    def _release(self, entry: _Entry) -> None:
        with self._lock:
            entry.users -= 1
            unused = entry.evicted and entry.users == 0
        if unused:
            shutil.rmtree(entry.folder, ignore_errors=True)

    def _unpack(self, catalog: Catalog, row: TemplateVersion) -> _Entry:
        with reporting(catalog.engine.url), catalog.session() as session:
            data = service.bundle_bytes(session, digest=row.digest)
        source = f"{row.name}@{row.version} ({row.digest})"
        folder = Path(tempfile.mkdtemp(prefix=row.digest.replace(":", "-") + "-", dir=self._root))
        try:
            with unpacked(data, source=source) as unpacked_folder:  # checked again: the database is not trusted
                shutil.copytree(unpacked_folder, folder / "template")
            return _Entry(load_unpacked(folder / "template", source, name=row.name), folder)
        except BaseException:
            shutil.rmtree(folder, ignore_errors=True)
            raise

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
                "yanked": self.row.yanked, "yank_reason": self.row.yank_reason, **self.body,
                "command": self.command()}

    def command(self) -> str:
        """``pipeforge new NAME@VERSION ... --set`` for the values that differ from the defaults."""
        properties = (self.row.parameters or {}).get("properties") or {}
        defaults = {k: v.get("default") for k, v in properties.items() if isinstance(v, dict)}
        return new_command(template=self.row.name, version=self.row.version, folder=self.body["folder"],
                           values=self.values, defaults=defaults)

    def archive(self, fmt: str) -> bytes:
        """The rendered folder as a ``fmt`` archive (tar.gz or zip); needs ``keep_pipeline``'s files, which
        the description already carries."""
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


def preview(template: TemplateSpec, parameters: dict[str, Any], digest: str,
            keep_pipeline: bool = False) -> tuple[dict[str, Any], Pipeline | None]:
    """Runs in a worker process: build, lint and describe; the pipeline itself only when asked for (it is
    larger to send back than the description)."""
    pipeline = build(template, parameters, digest=digest)
    return describe(pipeline, _lint(pipeline)), pipeline if keep_pipeline else None


def fault_matrix_verdict(pipeline: Pipeline) -> dict[str, Any]:
    """The fault-matrix verdict of ``pipeforge simulate`` for the rendered manifest: the one place the
    registry reads it, from ``generator.verdict`` (every single fault: each step failed, errored, hung,
    the workflow stopped or terminated during it, each gate approved or rejected), cached per content."""
    matrix = verdict_of(pipeline).matrix
    return {"passed": matrix.passed, "summary": matrix.summary(), "scenarios": matrix.as_dict()["scenarios"]}


def _lint(pipeline: Pipeline) -> list[dict[str, Any]]:
    return [f.as_dict() for f in verdict_of(pipeline).findings]


def render(catalog: Catalog, cache: TemplateCache, *, name: str, version: str | None,
           parameters: dict[str, Any], keep_pipeline: bool = False) -> Rendered:
    """Render NAME at VERSION (exact, a range, or latest when None) with ``parameters``, in a worker
    process; raises InvalidParametersError naming every bad parameter, BudgetExceeded for a render that
    costs more than its budget."""
    with reporting(catalog.engine.url), catalog.session() as session:
        row = service.resolve(session, name=name, spec=version or "latest")
    with cache.lease(catalog, row) as template:  # its files stay until the worker has read them
        body, pipeline = run_bounded(preview, template, parameters, row.digest, keep_pipeline)
    return Rendered(row, body, pipeline)
