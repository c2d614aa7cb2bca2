"""The architecture the docs describe, checked on the tree: no module-level import cycle in the packages,
every import inside a function says why it is there (``# lazy: <reason>``), and the layer contracts in
pyproject.toml hold (import-linter). A cycle held together by imports hidden in functions breaks the
first time someone hoists one of them; a layer crossed once is soon crossed everywhere."""

from __future__ import annotations

import ast
import os
import re
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import pytest

ROOT = next(p for p in Path(__file__).resolve().parents if (p / "pyproject.toml").is_file())  # wherever tests/ nests
PACKAGES = ("generator", "catalog", "registry_api")

LAZY = re.compile(r"#\s*lazy:\s*\S")


@dataclass(frozen=True)
class Source:
    """One module of the packages: its dotted name, its path relative to the root, and its parsed tree."""

    name: str
    path: str
    tree: ast.Module
    lines: list[str]


@cache
def sources(root: Path, packages: tuple[str, ...]) -> tuple[Source, ...]:
    """Every module of the packages under ``root``, parsed once per process (several tests read the tree)."""
    return tuple(_parsed(root, packages))


def _parsed(root: Path, packages: tuple[str, ...]) -> Iterator[Source]:
    for package in packages:
        for file in sorted((root / package).rglob("*.py")):
            relative = file.relative_to(root)
            parts = list(relative.with_suffix("").parts)
            if parts[-1] == "__init__":
                parts.pop()
            text = file.read_text(encoding="utf-8")
            yield Source(".".join(parts), relative.as_posix(), ast.parse(text, str(file)), text.splitlines())


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def module_level_imports(body: list[ast.stmt]) -> Iterator[ast.Import | ast.ImportFrom]:
    """The imports that run when the module is imported: the module body and the blocks in it (``if``,
    ``try``, ``with``, class bodies), not function bodies and not ``if TYPE_CHECKING:`` blocks."""
    for statement in body:
        if isinstance(statement, ast.Import | ast.ImportFrom):
            yield statement
        elif isinstance(statement, ast.FunctionDef | ast.AsyncFunctionDef):
            continue
        elif isinstance(statement, ast.If):
            if not _is_type_checking(statement.test):
                yield from module_level_imports(statement.body)
            yield from module_level_imports(statement.orelse)
        elif isinstance(statement, ast.Try | ast.TryStar):
            for block in (statement.body, statement.orelse, statement.finalbody):
                yield from module_level_imports(block)
            for handler in statement.handlers:
                yield from module_level_imports(handler.body)
        elif isinstance(statement, ast.With | ast.AsyncWith | ast.ClassDef | ast.For | ast.While):
            yield from module_level_imports(statement.body)


def _imported(source: Source, node: ast.Import | ast.ImportFrom, modules: set[str]) -> Iterator[str]:
    """The modules of the packages that an import statement loads (``from a import b`` loads ``a.b`` when
    that is a module, else ``a``)."""
    if isinstance(node, ast.Import):
        targets = [alias.name for alias in node.names]
    else:
        base = node.module or ""
        if node.level:
            package = source.name.split(".")
            if not source.path.endswith("__init__.py"):
                package.pop()
            package = package[: len(package) - (node.level - 1)]
            base = ".".join([*package, base] if base else package)
        targets = [f"{base}.{alias.name}" if f"{base}.{alias.name}" in modules else base for alias in node.names]
    for target in targets:
        while target and target not in modules:
            target = target.rpartition(".")[0]
        if target and target != source.name:
            yield target


def module_graph(root: Path, packages: tuple[str, ...]) -> dict[str, set[str]]:
    """Module → the modules of the packages it imports at module level."""
    found = list(sources(root, packages))
    modules = {source.name for source in found}
    return {
        source.name: {
            target for node in module_level_imports(source.tree.body) for target in _imported(source, node, modules)
        }
        for source in found
    }


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One import cycle as ``[a, b, ..., a]``, or None: a depth-first search that stops at the first
    edge back to a module still on the path."""
    state: dict[str, str] = {}
    path: list[str] = []

    def visit(module: str) -> list[str] | None:
        state[module] = "open"
        path.append(module)
        for target in sorted(graph.get(module, ())):
            if state.get(target) == "open":
                return [*path[path.index(target) :], target]
            if target not in state and (cycle := visit(target)):
                return cycle
        state[module] = "done"
        path.pop()
        return None

    for module in sorted(graph):
        if module not in state and (cycle := visit(module)):
            return cycle
    return None


def unexplained_function_imports(
    root: Path, packages: tuple[str, ...], allowed: frozenset[str] = frozenset()
) -> list[str]:
    """``path:line: import`` for each import inside a function whose first line has no ``# lazy:`` reason."""
    offenders = []
    for source in sources(root, packages):
        if source.path in allowed:
            continue
        for function in ast.walk(source.tree):
            if not isinstance(function, ast.FunctionDef | ast.AsyncFunctionDef):
                continue
            for node in ast.walk(function):
                if isinstance(node, ast.Import | ast.ImportFrom):
                    line = source.lines[node.lineno - 1]
                    if not LAZY.search(line):
                        offenders.append(f"{source.path}:{node.lineno}: {line.strip()}")
    return sorted(set(offenders))


def test_no_module_level_import_cycle() -> None:
    cycle = find_cycle(module_graph(ROOT, PACKAGES))
    assert cycle is None, "module-level import cycle: " + " -> ".join(cycle or [])


def test_every_function_level_import_says_why_it_is_lazy() -> None:
    offenders = unexplained_function_imports(ROOT, PACKAGES)
    assert not offenders, "imports inside functions need a `# lazy: <reason>` comment:\n" + "\n".join(offenders)


def test_the_layer_contracts_hold() -> None:
    lint_imports = Path(sys.executable).with_name("lint-imports")
    command = [str(lint_imports)] if lint_imports.exists() else [sys.executable, "-m", "importlinter.cli"]
    env = {**os.environ, "PYTHONPATH": str(ROOT)}  # this tree, not whichever copy is installed
    result = subprocess.run([*command, "--no-cache"], cwd=ROOT, env=env, capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 broken" in result.stdout


def _package(root: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text), encoding="utf-8")
    return root


def test_a_cycle_is_named_and_type_checking_and_function_imports_are_not_edges(tmp_path: Path) -> None:
    root = _package(
        tmp_path,
        {
            "pkg/__init__.py": "",
            "pkg/a.py": "from pkg import b\n",
            "pkg/b.py": "from .c import thing\n",
            "pkg/c.py": "import pkg.a\nthing = 1\n",
            "pkg/d.py": """\
                from typing import TYPE_CHECKING
                if TYPE_CHECKING:
                    from pkg import e
                def f():
                    from pkg import e  # lazy: test
                """,
            "pkg/e.py": "import pkg.d\n",
        },
    )
    graph = module_graph(root, ("pkg",))
    assert graph["pkg.d"] == set()
    assert find_cycle(graph) == ["pkg.a", "pkg.b", "pkg.c", "pkg.a"]
    del graph["pkg.c"]
    assert find_cycle(graph) is None


def test_a_function_import_without_a_reason_is_named_by_file_and_line(tmp_path: Path) -> None:
    root = _package(
        tmp_path,
        {
            "pkg/__init__.py": "",
            "pkg/m.py": """\
                import json


                def quick():
                    import sqlite3  # lazy: only this path needs it


                class C:
                    def slow(self):
                        import csv
                """,
            "pkg/skipped.py": "def f():\n    import csv\n",
        },
    )
    found = unexplained_function_imports(root, ("pkg",), frozenset({"pkg/skipped.py"}))
    assert found == ["pkg/m.py:10: import csv"]


@pytest.mark.parametrize("name", PACKAGES)
def test_each_package_is_seen_by_the_graph(name: str) -> None:
    assert any(module.split(".")[0] == name for module in module_graph(ROOT, PACKAGES))
