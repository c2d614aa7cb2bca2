"""The verdict on a rendered pipeline: its lint findings and its fault matrix, as one explicit step.

Rendering is cheap and the fault matrix is not (most of a render's time), so ``scaffold.build`` only
renders and callers that show the verdict (``pipeforge new``, the registry preview, the MCP tools,
``catalog publish``, the generated README's simulated-failures section, an upgrade pull request's
description) ask for it here. A server shows the same rendered content many times, and a roll-out finds
the same manifest in many repositories, so verdicts are cached, bounded, per content.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from functools import lru_cache
from typing import TYPE_CHECKING

from generator.lint import Finding, lint_text
from generator.model import Manifest
from generator.sim.matrix import MatrixResult, run_matrix
from generator.simulate import Target, load_text

if TYPE_CHECKING:
    from generator.scaffold import Pipeline

#: Files the verdict does not judge: the answers file is provenance, not a manifest.
SKIPPED = ".pipeforge-answers.yaml"
CACHE_SIZE = 256


@dataclass(frozen=True)
class Verdict:
    """Lint findings over the rendered YAML files (sorted by file name) and the manifest's fault matrix."""

    findings: tuple[Finding, ...]
    matrix: MatrixResult

    @property
    def summary(self) -> str:
        return self.matrix.summary()


@dataclass(frozen=True)
class _Content:
    """What a verdict judges, hashed and compared by its digest only, so the cache key is the digest."""

    digest: str
    yaml_files: tuple[tuple[str, str], ...] = field(compare=False)
    manifest: Manifest = field(compare=False)


def content_digest(files: dict[str, str]) -> str:
    """sha256 over the judged files' names and texts: equal digests, equal verdicts."""
    sha = hashlib.sha256()
    for name, text in _judged(files):
        sha.update(f"{len(name)}:{name}{len(text)}:".encode())
        sha.update(text.encode())
    return "sha256:" + sha.hexdigest()


def _judged(files: dict[str, str]) -> tuple[tuple[str, str], ...]:
    return tuple(sorted((n, t) for n, t in files.items() if n.endswith((".yaml", ".yml")) and n != SKIPPED))


@lru_cache(maxsize=CACHE_SIZE)
def _verdict(content: _Content) -> Verdict:
    findings = tuple(f for name, text in content.yaml_files for f in lint_text(text, name))
    return Verdict(findings, run_matrix(Target(content.manifest, [content.manifest])))


def verdict_of(pipeline: Pipeline) -> Verdict:
    """The verdict on ``pipeline``'s rendered files, computed once per content digest (bounded cache)."""
    files = pipeline.rendered
    return _verdict(_Content(content_digest(files), _judged(files), pipeline.manifest))


@dataclass(frozen=True)
class _Text:
    """One manifest file's text, hashed and compared by its digest only: the cache keeps digests as keys, not
    the texts (a server's upgrade jobs read many manifests, each up to the size a manifest may have)."""

    digest: str
    file: str
    text: str = field(compare=False)


def verdict_of_text(text: str, file: str) -> Verdict:
    """The verdict on one manifest file's text, as a repository holds it (read back before and after an
    upgrade), computed once per content and file name (bounded cache). Reading it raises what
    ``simulate.load_text`` raises (malformed YAML, no Argo document, nothing to run); an error is not cached."""
    return _text_verdict(_Text(hashlib.sha256(text.encode()).hexdigest(), file, text))


@lru_cache(maxsize=CACHE_SIZE)
def _text_verdict(source: _Text) -> Verdict:
    return Verdict(tuple(lint_text(source.text, source.file)), run_matrix(load_text(source.text, source.file)))
