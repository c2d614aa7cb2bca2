"""What a publish stores, worked out before the database is touched: the bundle checked and made
canonical, the template read from it, rendered with its defaults and linted, and rendered again at the edges of its
parameters (``generator.boundaries``) so that a render bomb its defaults do not set off is refused too.

Nothing here runs template code: the bundle is checked (``catalog.safety``), extracted into a private
temporary folder and rendered in Jinja's sandbox; hooks and extensions were refused before that.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from slugify import slugify

from catalog.checks import lint_summary
from catalog.safety import pack_folder, unpacked
from generator.boundaries import check_boundaries
from generator.bundle import pack
from generator.errors import InvalidParametersError, ManifestError, TemplateDefinitionError
from generator.params import schema_problems
from generator.scaffold import build
from generator.semver import InvalidVersionError, Version, parse_version
from generator.template_spec import TEMPLATE_FILE, TemplateSpec, load_template

NAME_PATTERN = re.compile(r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$")
#: The largest parameter schema stored, as compact JSON (the built-in templates' are about 4 KB). Every
#: detail page and render reads it; a listing never does.
MAX_SCHEMA_BYTES = 64 * 1024
MAX_SUMMARY_CHARS = 1000
MAX_TAGS = 32
MAX_TAG_CHARS = 63
MAX_CHANGELOG_CHARS = 64 * 1024


@dataclass(frozen=True)
class Publication:
    """One version, ready to be recorded."""

    name: str
    version: Version
    digest: str
    bundle: bytes
    summary: str
    tags: tuple[str, ...]
    parameters: dict[str, Any]
    changelog: str | None
    lint: dict[str, Any]


def _identity(template: TemplateSpec, source: str) -> Version:
    if not NAME_PATTERN.match(template.name):
        raise TemplateDefinitionError(
            f"{source}/{TEMPLATE_FILE}: name '{template.name}' must be 1-63 lowercase letters, digits and '-', "
            "starting and ending with a letter or digit"
        )
    try:
        version = parse_version(template.version)
    except InvalidVersionError as exc:
        raise TemplateDefinitionError(f"{source}/{TEMPLATE_FILE}: version: {exc.message}") from None
    if version.build:
        raise TemplateDefinitionError(
            f"{source}/{TEMPLATE_FILE}: version '{template.version}' has build metadata (+{version.build}); "
            "the catalog refuses it because versions that differ only there have the same precedence"
        )
    return version


def _check_schema(template: TemplateSpec, source: str) -> None:
    """Refuse a parameter schema that is not valid draft 2020-12 (every problem, with where it is): once in
    the catalog, every form and render relies on it."""
    problems = schema_problems(template.schema)
    if problems:
        raise TemplateDefinitionError(f"{source}/{TEMPLATE_FILE}: parameters is not a valid JSON Schema (draft "
                                      "2020-12): " + "; ".join(problems))


def _check_sizes(template: TemplateSpec, source: str) -> None:
    """Refuse a version whose stored fields would be too large for every reader of the catalog."""
    where = f"{source}/{TEMPLATE_FILE}"
    schema = len(json.dumps(template.schema, separators=(",", ":"), ensure_ascii=False).encode())
    problems = []
    if schema > MAX_SCHEMA_BYTES:
        problems.append(f"parameters: the schema is {schema:,} bytes as JSON; the limit is {MAX_SCHEMA_BYTES:,} "
                        "(MAX_SCHEMA_BYTES)")
    if len(template.summary) > MAX_SUMMARY_CHARS:
        problems.append(f"summary: {len(template.summary):,} characters; the limit is {MAX_SUMMARY_CHARS:,} "
                        "(MAX_SUMMARY_CHARS)")
    if len(template.tags) > MAX_TAGS or any(len(t) > MAX_TAG_CHARS for t in template.tags):
        problems.append(f"tags: at most {MAX_TAGS} (MAX_TAGS), each at most {MAX_TAG_CHARS} characters "
                        "(MAX_TAG_CHARS)")
    if len(template.changelog or "") > MAX_CHANGELOG_CHARS:
        problems.append(f"changelog: more than {MAX_CHANGELOG_CHARS:,} characters (MAX_CHANGELOG_CHARS)")
    if problems:
        raise TemplateDefinitionError(f"{where}: " + "; ".join(problems))


def load_unpacked(folder: Path, source: str, *, name: str | None = None) -> TemplateSpec:
    """The template in an unpacked bundle; errors name ``source``, not the temporary folder. ``name`` names
    a template that has no template.yaml (an ordinary cookiecutter template): the catalog row's name, or
    the folder it is published from; without it such a bundle is refused."""
    if name is None and not (folder / TEMPLATE_FILE).is_file():
        raise TemplateDefinitionError(
            f"{source}: no {TEMPLATE_FILE}; an ordinary cookiecutter template is named after its folder, so "
            f"publish the folder (pipeforge catalog publish DIR) or add a {TEMPLATE_FILE} with name and version")
    try:
        return load_template(folder, name=name)
    except (TemplateDefinitionError, ManifestError) as exc:  # name the user's folder, not the private temporary one
        raise TemplateDefinitionError(exc.message.replace(str(folder), source)) from None


def prepare(data: bytes, *, source: str = "bundle", name: str | None = None) -> Publication:
    """Check, canonicalise, read, render and lint a bundle (``name``: see ``load_unpacked``). Raises
    HostileBundleError, TemplateDefinitionError or LintFailedError with every problem listed."""
    with unpacked(data, source=source) as folder:
        canonical = pack(folder)
        digest = "sha256:" + hashlib.sha256(canonical).hexdigest()
        template = load_unpacked(folder, source, name=name)
        _check_schema(template, source)
        _check_sizes(template, source)
        version = _identity(template, source)
        try:
            pipeline = build(template, {}, digest=digest)
        except InvalidParametersError as exc:
            raise TemplateDefinitionError(f"{source}: the defaults in {TEMPLATE_FILE} are invalid: {exc.message}") \
                from None
        check_boundaries(template, source=source)
        return Publication(
            name=template.name,
            version=version,
            digest=digest,
            bundle=canonical,
            summary=template.summary,
            tags=template.tags,
            parameters=template.schema,
            changelog=template.changelog,
            lint=lint_summary(pipeline, source=source),
        )


def prepare_folder(folder: Path) -> Publication:
    """``prepare`` for a template folder, checked before it is packed (packing would drop links)."""
    return prepare(pack_folder(folder), source=str(folder), name=slugify(folder.resolve().name, max_length=63))
