"""Rendering a template in memory, the way cookiecutter does, in a Jinja sandbox.

Compatible with cookiecutter: the project folder is the child whose name holds ``cookiecutter`` and the
variable delimiters; ``_jinja2_env_vars`` in cookiecutter.json sets the delimiters (pipeforge templates
use ``[[ ]]`` and ``[% %]`` so that Argo's own ``{{ }}`` stays literal); ``_copy_without_render`` is
honoured. Unlike cookiecutter, nothing in a template can run code: the environment is Jinja's immutable
sandbox with a budget (``generator.sandbox``: sizes, wall clock, memory, output), and neither hooks nor
Jinja extensions are loaded. Each file is rendered on its own, so ``{% include %}``, ``{% import %}`` and
``{% extends %}`` have nothing to load: a template using them is refused when it is compiled (at publish),
with the file and line, rather than failing on some render later.

The environment itself (delimiters, cookiecutter's default extensions, ``tojson``) is
``generator.template_env``.
"""

from __future__ import annotations

import fnmatch
import threading
from collections import OrderedDict
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from jinja2 import Template, TemplateError, nodes

from generator.cookiecutter_compat import PROMPTS_KEY, context, needs_rendering
from generator.errors import BudgetExceeded, TemplateDefinitionError
from generator.paths import path_problem, shown, tree_problems
from generator.sandbox import BoundedSandbox, Budget, budgeted
from generator.template_env import environment
from generator.template_spec import TemplateSpec


@dataclass(frozen=True)
class RenderedFile:
    path: str  # relative to the project folder, "/"-separated
    content: str


def _environment(template: TemplateSpec, sources: Iterable[str] = ()) -> BoundedSandbox:
    return environment(template.cookiecutter, template.name, sources=sources)


def project_folder(template: TemplateSpec, env: BoundedSandbox) -> Path:
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
    files: tuple[tuple[str, Template, Template | str], ...]  # (path, path template, content template or text)


_LOADING = {nodes.Include: "include", nodes.Import: "import", nodes.FromImport: "from ... import",
            nodes.Extends: "extends"}


def _parsed(env: BoundedSandbox, source: str, where: str, problems: list[str]) -> Template | None:
    """``source`` compiled, or None with what is wrong appended to ``problems`` (every one, with its line)."""
    try:
        tree = env.parse(source)
        loads = [node for node in tree.find_all(tuple(_LOADING)) if isinstance(node, nodes.Node)]
        for node in loads:
            problems.append(f"{where} line {node.lineno}: {{% {_LOADING[type(node)]} %}} is not supported: each "
                            "file is rendered on its own, so there is nothing to load; put the text in the file")
        return None if loads else env.from_string(tree)
    except TemplateError as exc:
        line = getattr(exc, "lineno", None)
        problems.append(f"{where}{f' line {line}' if line else ''}: {getattr(exc, 'message', None) or exc}")
        return None


def _verbatim(env: BoundedSandbox, rel: str, globs: list[str]) -> tuple[bool, str]:
    """Whether ``rel`` is copied without rendering, and the template of its name. As in cookiecutter, a
    file that matches keeps a rendered name; a folder that matches is copied whole, the names below it
    as they are."""
    parts = rel.split("/")
    for depth in range(1, len(parts)):
        folder = "/".join(parts[:depth])
        if any(fnmatch.fnmatch(folder, g) for g in globs):
            rest = "/" + "/".join(parts[depth:])
            raw = f"{env.block_start_string} raw {env.block_end_string}{rest}" \
                  f"{env.block_start_string} endraw {env.block_end_string}"
            return True, folder + raw
    return any(fnmatch.fnmatch(rel, g) for g in globs), rel


def _compile_uncached(template: TemplateSpec) -> _Compiled:
    root = project_folder(template, _environment(template))
    texts = {p.relative_to(root).as_posix(): p.read_text(encoding="utf-8")
             for p in sorted(root.rglob("*")) if p.is_file()}
    env = _environment(template, sources=[root.name, *texts, *texts.values()])
    raw_globs = template.cookiecutter.get("_copy_without_render") or []
    files: list[tuple[str, Template, Template | str]] = []
    problems: list[str] = []
    folder = _parsed(env, root.name, f"folder name {root.name}", problems)
    for rel, text in texts.items():
        verbatim, name_source = _verbatim(env, rel, raw_globs)
        name = _parsed(env, name_source, f"{rel} (its name)", problems)
        content = text if verbatim else _parsed(env, text, rel, problems)
        if name is not None and content is not None:
            files.append((rel, name, content))
    if problems or folder is None:
        raise TemplateDefinitionError(f"template {template.name}: " + "; ".join(problems))
    return _Compiled(folder, tuple(files))


_COMPILED: OrderedDict[tuple[str, str, str], _Compiled] = OrderedDict()
_COMPILED_LOCK = threading.Lock()
_COMPILED_SIZE = 64  # bounded: a long-running process (or worker) renders many catalog versions


def _compile(template: TemplateSpec) -> _Compiled:
    """Compiled once per template folder and version: by key, not by object, because a template sent to a
    worker process arrives as a new object each time."""
    key = (str(template.path), template.name, template.version)
    with _COMPILED_LOCK:
        found = _COMPILED.get(key)
        if found is not None:
            _COMPILED.move_to_end(key)
            return found
    compiled = _compile_uncached(template)
    with _COMPILED_LOCK:
        _COMPILED[key] = compiled
        while len(_COMPILED) > _COMPILED_SIZE:
            _COMPILED.popitem(last=False)
    return compiled


def _render_one(compiled: Template, budget: Budget, context: dict[str, Any]) -> str:
    chunks = []
    for chunk in compiled.generate(cookiecutter=context):
        budget.wrote(len(chunk))
        chunks.append(chunk)
    return "".join(chunks)


def render(template: TemplateSpec, values: dict[str, Any], *, budget: Budget | None = None) -> tuple[
        str, list[RenderedFile]]:
    """Render with validated values: the project folder's name and its files, nothing written. Costs more
    than ``budget`` (default: ``generator.sandbox``'s) are a BudgetExceeded naming the file and the limit."""
    compiled = _compile(template)
    context = cookiecutter_context(template, values)
    where = "its folder name"
    try:
        with budgeted(budget) as spent:
            folder = _render_one(compiled.folder, spent, context)
            out = []
            for rel, name, content in compiled.files:
                where = rel
                text = content if isinstance(content, str) else _render_one(content, spent, context)
                out.append(RenderedFile(_render_one(name, spent, context), text))
    except BudgetExceeded as exc:
        raise BudgetExceeded(f"template {template.name}: {where}: {exc.message}", budget=exc.budget) from None
    except RecursionError:
        raise BudgetExceeded(f"template {template.name}: {where}: calls nested too deeply (macros calling "
                             "themselves); the render budget allows as deep as the interpreter's stack",
                             budget="render-recursion") from None
    except MemoryError:
        raise BudgetExceeded(f"template {template.name}: {where}: out of memory while rendering",
                             budget="render-memory") from None
    except (TemplateError, ArithmeticError, ValueError, TypeError, LookupError, AttributeError) as exc:
        raise TemplateDefinitionError(f"template {template.name} failed to render {where}: {exc}") from None
    _check_paths(template, folder, [f.path for f in out])
    return folder, out


def cookiecutter_context(template: TemplateSpec, values: dict[str, Any]) -> dict[str, Any]:
    """What ``cookiecutter`` holds in a render: private keys as written, computed keys rendered in
    cookiecutter's order (``generator.cookiecutter_compat``), and ``values`` for the parameters."""
    env = _environment(template)
    if not needs_rendering(template.cookiecutter, env):
        out = {k: v for k, v in template.cookiecutter.items() if k.startswith("_") and k != PROMPTS_KEY}
        out.update(values)
        return out
    return context(template.cookiecutter, values, env)


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
