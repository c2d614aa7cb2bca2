"""``pipeforge new``: validate parameters, render, check, and write a pipeline folder atomically.

Nothing is written until every parameter is valid and the rendered manifest has passed the structural
checks. Files are rendered into a temporary folder beside the destination and moved into place in one
rename, so a failure leaves no half-written folder behind.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any

from generator import bundle
from generator.errors import ConflictError, TemplateDefinitionError, UsageError
from generator.explain import FailureMode, failure_modes, to_markdown
from generator.model import Manifest, parse_manifest
from generator.params import validate
from generator.render import render
from generator.safe_write import write_files
from generator.sim.matrix import MatrixResult
from generator.sim.matrix import to_markdown as matrix_markdown
from generator.structure import check_document
from generator.template_spec import TemplateSpec
from generator.verdict import verdict_of
from generator.yamlio import dump_yaml, load_documents

MANIFEST_FILE = "workflowtemplate.yaml"
ANSWERS_FILE = ".pipeforge-answers.yaml"
TABLE_START = "<!-- pipeforge:failure-modes:start -->"
TABLE_END = "<!-- pipeforge:failure-modes:end -->"
SIMULATION_START = "<!-- pipeforge:simulation:start -->"
SIMULATION_END = "<!-- pipeforge:simulation:end -->"


@dataclass(frozen=True)
class Pipeline:
    """A rendered pipeline, in memory: its rendered files, parsed manifest and failure-mode table.

    ``rendered`` costs nothing more than the render. ``files`` (what is written), ``simulation`` and
    ``verdict`` need the fault matrix, which is asked of ``generator.verdict`` on first use (and cached
    there per rendered content), so a caller that only reads the manifest never pays for it."""

    template: TemplateSpec
    digest: str
    values: dict[str, Any]
    folder_name: str
    rendered: dict[str, str]  # every file; the README without its simulated-failures section
    manifest: Manifest
    modes: list[FailureMode]

    @cached_property
    def simulation(self) -> MatrixResult:
        return verdict_of(self).matrix

    @property
    def verdict(self) -> str:
        return self.simulation.summary()

    @cached_property
    def files(self) -> dict[str, str]:
        """The files as written: the README's simulated-failures section is rendered from the matrix."""
        files = dict(self.rendered)
        if "README.md" in files:
            files["README.md"] = _with_section(files["README.md"], matrix_markdown(self.simulation),
                                               start_marker=SIMULATION_START, end_marker=SIMULATION_END,
                                               heading="Simulated failures")
        return files

    @property
    def table(self) -> str:
        return to_markdown(self.modes)


def answers(template: TemplateSpec, digest: str, values: dict[str, Any]) -> dict[str, Any]:
    """Provenance of a generated pipeline: enough to regenerate or upgrade it."""
    return {
        "template": template.name,
        "version": template.version,
        "digest": digest,
        "parameters": dict(values),
    }


def _check_manifest(template: TemplateSpec, text: str) -> Manifest:
    documents = load_documents(text, file=f"{template.name}/{MANIFEST_FILE}")
    problems = [p for d in documents for p in check_document(d)]
    manifest = parse_manifest(documents[0] if documents else None, file=MANIFEST_FILE)
    if problems or manifest is None:
        listed = "; ".join(f"line {p.line}: {p.message}" for p in problems) or "no Argo workflow document"
        raise TemplateDefinitionError(f"template {template.name} rendered an invalid manifest: {listed}")
    return manifest


def _with_section(readme: str, content: str, *, start_marker: str = TABLE_START, end_marker: str = TABLE_END,
                  heading: str = "Failure modes") -> str:
    """``content`` between the markers of the README, or in a new section at its end."""
    start, end = readme.find(start_marker), readme.find(end_marker)
    if start < 0 or end < start:
        return readme.rstrip("\n") + f"\n\n## {heading}\n\n" + content
    return readme[: start + len(start_marker)] + "\n" + content + readme[end:]


def build(template: TemplateSpec, given: dict[str, Any], *, digest: str | None = None) -> Pipeline:
    """Validate and render in memory; raises InvalidParametersError listing every bad parameter.

    ``digest`` is the template's bundle digest when the caller already knows it (a catalog version);
    otherwise it is computed from the template folder."""
    values = validate(template, given)
    folder_name, rendered = render(template, values)
    files = {f.path: f.content for f in rendered}
    if MANIFEST_FILE not in files:
        raise TemplateDefinitionError(f"template {template.name} renders no {MANIFEST_FILE}")
    manifest = _check_manifest(template, files[MANIFEST_FILE])
    modes = failure_modes(manifest)
    digest = digest or bundle.digest(template.path)
    if "README.md" in files:
        files["README.md"] = _with_section(files["README.md"], to_markdown(modes))
    files[ANSWERS_FILE] = dump_yaml(answers(template, digest, values))
    return Pipeline(template, digest, values, folder_name, files, manifest, modes)


def build_judged(template: TemplateSpec, given: dict[str, Any], *, digest: str | None = None) -> Pipeline:
    """``build`` with the verdict and the written files computed, so they travel back from a worker."""
    pipeline = build(template, given, digest=digest)
    assert pipeline.files  # computes (and keeps) the matrix and the README that shows it
    return pipeline


def build_bounded(template: TemplateSpec, given: dict[str, Any], *, digest: str | None = None) -> Pipeline:
    """``build`` in a worker process with CPU, memory and time limits (``generator.sandbox_worker``): for
    a server rendering what others chose (catalog templates, answers read from a repository)."""
    from generator.sandbox_worker import run_bounded  # lazy: worker processes only for untrusted renders

    return run_bounded(build_judged, template, given, digest=digest)  # the matrix stays inside the bounds


def _umask() -> int:
    current = os.umask(0o022)
    os.umask(current)
    return current


def _swap(staging: Path, destination: Path) -> None:
    """Replace a folder by another; the old one is put back if the new one cannot take its place."""
    old = Path(tempfile.mkdtemp(prefix=f".{destination.name}.old.", dir=destination.resolve().parent))
    backup = old / "previous"
    destination.replace(backup)
    try:
        staging.replace(destination)
    except OSError:
        backup.replace(destination)
        raise
    finally:
        shutil.rmtree(old, ignore_errors=True)


def write(pipeline: Pipeline, destination: Path, *, force: bool = False) -> Path:
    """Write the pipeline folder at ``destination`` in one rename; an existing non-empty folder is a
    ConflictError unless ``force``, which replaces it only once the new one is complete."""
    if destination.exists() and not destination.is_dir():
        raise UsageError(f"{destination} exists and is not a folder")
    occupied = destination.is_dir() and any(destination.iterdir())
    if occupied and not force:
        raise ConflictError(f"{destination} already exists and is not empty; choose another -o or pass --force")
    parent = destination.resolve().parent
    try:
        parent.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=f".{destination.name}.", dir=parent))
        staging.chmod(0o777 & ~_umask())  # mkdtemp makes 0700; the pipeline folder is an ordinary folder
    except OSError as exc:
        raise UsageError(f"cannot write into {parent}: {exc.strerror}") from None
    try:
        write_files(staging, dict(pipeline.files))
        if destination.is_dir():
            _swap(staging, destination)
        else:
            staging.replace(destination)
    except OSError as exc:
        raise UsageError(f"cannot write {destination}: {exc.strerror}") from None
    finally:
        with contextlib.suppress(OSError):
            if staging.exists():
                shutil.rmtree(staging)
    return destination


def write_atomically(path: Path, text: str) -> None:
    """Replace one file in a single rename: readers see the old or the new file, never half of one.

    An existing file keeps its permission bits; a new one gets the usual ones (0666 minus the umask).
    """
    if path.is_dir():
        raise UsageError(f"{path} is a folder; give a file name")
    mode = path.stat().st_mode & 0o777 if path.exists() else 0o666 & ~_umask()
    parent = path.resolve().parent
    try:
        handle, temp = tempfile.mkstemp(prefix=f".{path.name}.", dir=parent)
    except OSError as exc:
        raise UsageError(f"cannot write into {parent}: {exc.strerror}") from None
    staged = Path(temp)
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as stream:
            stream.write(text)
        staged.chmod(mode)
        staged.replace(path)
    except OSError as exc:
        raise UsageError(f"cannot write {path}: {exc.strerror}") from None
    finally:
        with contextlib.suppress(OSError):
            staged.unlink()
