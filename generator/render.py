"""Rendering a template in memory, the way cookiecutter does, in a Jinja sandbox.

Compatible with cookiecutter: the project folder is the child whose name holds ``cookiecutter`` and the
variable delimiters; ``_jinja2_env_vars`` in cookiecutter.json sets the delimiters (pipeforge templates
use ``[[ ]]`` and ``[% %]`` so that Argo's own ``{{ }}`` stays literal); ``_copy_without_render`` is
honoured. Unlike cookiecutter, nothing in a template can run code: the environment is Jinja's immutable
sandbox, and neither hooks nor Jinja extensions are loaded.

``tojson`` emits a JSON string, which is also a YAML double-quoted scalar: a parameter rendered through
it is always exactly one scalar, whatever it holds. pipeforge's ``tojson`` keeps non-ASCII text readable
and escapes the few characters YAML treats as line breaks or forbids.
"""

from __future__ import annotations

import fnmatch
import json
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from jinja2 import StrictUndefined, Template, TemplateError
from jinja2.sandbox import ImmutableSandboxedEnvironment

from generator.errors import TemplateDefinitionError
from generator.paths import path_problem, shown, tree_problems
from generator.template_spec import TemplateSpec

_ENV_KEYS = {
    "variable_start_string",
    "variable_end_string",
    "block_start_string",
    "block_end_string",
    "comment_start_string",
    "comment_end_string",
    "line_statement_prefix",
    "line_comment_prefix",
    "trim_blocks",
    "lstrip_blocks",
}

# Characters JSON leaves raw that YAML reads as line breaks (U+0085, U+2028, U+2029) or forbids.
_YAML_ESCAPES = {c: f"\\u{ord(c):04x}" for c in "\x7f\x85\u2028\u2029\ufeff\ufffe\uffff"}
_YAML_ESCAPES.update({chr(c): f"\\u{c:04x}" for c in range(0x80, 0xA0)})
_ESCAPE_TABLE = str.maketrans(_YAML_ESCAPES)


def yaml_safe_json(value: Any, **kwargs: Any) -> str:
    """``json.dumps`` whose output is also a valid YAML 1.1/1.2 flow scalar, non-ASCII kept readable."""
    kwargs["ensure_ascii"] = False
    return json.dumps(value, **kwargs).translate(_ESCAPE_TABLE)


@dataclass(frozen=True)
class RenderedFile:
    path: str  # relative to the project folder, "/"-separated
    content: str


def _environment(template: TemplateSpec) -> ImmutableSandboxedEnvironment:
    options = template.cookiecutter.get("_jinja2_env_vars") or {}
    unknown = set(options) - _ENV_KEYS
    if unknown:
        raise TemplateDefinitionError(
            f"template {template.name}: unsupported _jinja2_env_vars {sorted(unknown)}"
        )
    env = ImmutableSandboxedEnvironment(
        undefined=StrictUndefined, keep_trailing_newline=True, autoescape=False, **options
    )
    # Jinja's own tojson also escapes <, >, & and ' for HTML; YAML needs none of that, and readers of
    # the generated manifest are better served by `&&` than by `\u0026\u0026`. Plain cookiecutter uses
    # Jinja's filter: its output differs in those escapes only and parses to the same values.
    env.filters["tojson"] = _tojson
    return env


def _tojson(value: Any) -> str:
    return yaml_safe_json(value)


def project_folder(template: TemplateSpec, env: ImmutableSandboxedEnvironment) -> Path:
    for child in sorted(template.path.iterdir()):
        name = child.name
        if child.is_dir() and "cookiecutter" in name and env.variable_start_string in name:
            return child
    raise TemplateDefinitionError(
        f"template {template.name}: no project folder (a folder named like "
        f"'{env.variable_start_string}cookiecutter.pipeline_name{env.variable_end_string}')"
    )


@dataclass(frozen=True)
class _Compiled:
    folder: Template
    files: tuple[tuple[Template, Template | str], ...]  # (path template, content template or verbatim text)


@lru_cache(maxsize=64)  # bounded: a long-running process renders many catalog versions
def _compile(template: TemplateSpec) -> _Compiled:
    env = _environment(template)
    root = project_folder(template, env)
    raw_globs = template.cookiecutter.get("_copy_without_render") or []
    files: list[tuple[Template, Template | str]] = []
    try:
        for path in sorted(p for p in root.rglob("*") if p.is_file()):
            rel = path.relative_to(root).as_posix()
            text = path.read_text(encoding="utf-8")
            verbatim = any(fnmatch.fnmatch(rel, g) for g in raw_globs)
            files.append((env.from_string(rel), text if verbatim else env.from_string(text)))
        return _Compiled(env.from_string(root.name), tuple(files))
    except TemplateError as exc:
        raise TemplateDefinitionError(f"template {template.name}: {exc}") from None


def render(template: TemplateSpec, values: dict[str, Any]) -> tuple[str, list[RenderedFile]]:
    """Render with validated values: the project folder's name and its files, nothing written."""
    compiled = _compile(template)
    context = {k: v for k, v in template.cookiecutter.items() if k.startswith("_")}
    context.update(values)
    try:
        folder = compiled.folder.render(cookiecutter=context)
        out = []
        for name, content in compiled.files:
            text = content if isinstance(content, str) else content.render(cookiecutter=context)
            out.append(RenderedFile(name.render(cookiecutter=context), text))
    except TemplateError as exc:
        raise TemplateDefinitionError(f"template {template.name} failed to render: {exc}") from None
    _check_paths(template, folder, [f.path for f in out])
    return folder, out


def _check_paths(template: TemplateSpec, folder: str, paths: list[str]) -> None:
    """Refuse a rendered project folder or file path that would not stay inside the new folder (see
    ``generator.paths``): names are templates, so their author and the parameters decide where files land.
    Every entry point renders through here, so this is the one place the check is made."""
    problems = tree_problems(paths)
    folder_problem = "it holds a '/'" if "/" in folder else path_problem(folder)
    if folder_problem is not None:
        problems.insert(0, f"the project folder {shown(folder)}: {folder_problem}")
    if problems:
        listed = "\n".join(f"  - {p}" for p in problems)
        raise TemplateDefinitionError(
            f"template {template.name} renders {len(problems)} path(s) that would not stay inside the new "
            f"folder (plain names separated by '/' only):\n{listed}"
        )
