"""Reading YAML documents fast, with the line of every mapping, key and list item.

Reading goes through libyaml (PyYAML's C composer) when it is available: on Argo's example corpus that is
about fifteen times faster than ruamel.yaml's round-trip load, and line numbers are all the linter needs.
Round-trip editing that must keep comments (``harden``) is ruamel.yaml's job.

PyYAML resolves scalars the YAML 1.1 way (``yes``/``on`` are booleans), which is what Kubernetes and Argo
(sigs.k8s.io/yaml over go-yaml v2) do too, so values read here are the values Argo would see.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import yaml

from generator.errors import ManifestError

try:
    from yaml import CSafeLoader as _Loader
except ImportError:  # pragma: no cover - libyaml is in every PyYAML wheel
    from yaml import SafeLoader as _Loader  # type: ignore[assignment]

_MERGE_TAG = "tag:yaml.org,2002:merge"
_SCALAR_TAGS = {
    "tag:yaml.org,2002:int",
    "tag:yaml.org,2002:float",
    "tag:yaml.org,2002:bool",
    "tag:yaml.org,2002:null",
}


class LineDict(dict[str, Any]):
    """A mapping that remembers where it, each of its keys and each value start (1-based lines)."""

    line: int
    key_lines: dict[str, int]
    duplicate_keys: list[tuple[str, int]]

    def line_of(self, key: str) -> int:
        return self.key_lines.get(key, self.line)


class LineList(list[Any]):
    """A sequence that remembers where it and each item start (1-based lines)."""

    line: int
    item_lines: list[int]

    def line_of(self, index: int) -> int:
        return self.item_lines[index] if 0 <= index < len(self.item_lines) else self.line


class _Builder:
    """Turns composed nodes into LineDict/LineList/scalars."""

    def __init__(self) -> None:
        self._constructor = yaml.SafeLoader("")
        self._memo: dict[int, Any] = {}

    def build(self, node: yaml.Node) -> Any:
        if isinstance(node, yaml.ScalarNode):
            return self._scalar(node)
        cached = self._memo.get(id(node))
        if cached is not None:
            return cached
        if isinstance(node, yaml.SequenceNode):
            return self._sequence(node)
        assert isinstance(node, yaml.MappingNode)
        return self._mapping(node)

    def _scalar(self, node: yaml.ScalarNode) -> Any:
        if node.tag in _SCALAR_TAGS:
            return self._constructor.construct_object(node)
        return node.value

    def _sequence(self, node: yaml.SequenceNode) -> LineList:
        out = LineList()
        out.line = node.start_mark.line + 1
        self._memo[id(node)] = out
        out.item_lines = []
        for item in node.value:
            out.append(self.build(item))
            out.item_lines.append(item.start_mark.line + 1)
        return out

    def _mapping(self, node: yaml.MappingNode) -> LineDict:
        out = LineDict()
        out.line = node.start_mark.line + 1
        out.key_lines = {}
        out.duplicate_keys = []
        self._memo[id(node)] = out
        # YAML 1.1 merge keys: pairs merged in through `<<` come first and are overridden by the mapping's
        # own keys without that being a duplicate; only a key written twice in the mapping itself is one.
        merges = any(key_node.tag == _MERGE_TAG for key_node, _ in node.value)
        explicit = {id(key_node) for key_node, _ in node.value} if merges else set()
        self._constructor.flatten_mapping(node)
        written: set[str] = set()
        for key_node, value_node in node.value:
            key = self.build(key_node)
            key = key if isinstance(key, str) else str(key)
            line = key_node.start_mark.line + 1
            if not merges:
                if key in out:
                    out.duplicate_keys.append((key, line))
            elif id(key_node) in explicit:
                if key in written:
                    out.duplicate_keys.append((key, line))
                written.add(key)
            out[key] = self.build(value_node)
            out.key_lines[key] = line
        return out


def iter_documents(text: str, *, file: str) -> Iterator[Any]:
    """Yield each document of a YAML stream, with line numbers; malformed YAML raises ManifestError."""
    loader = _Loader(str(text))  # exactly str: libyaml refuses str subclasses (ruamel scalars)
    try:
        while loader.check_node():
            node = loader.get_node()
            yield None if node is None else _Builder().build(node)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark is not None else None
        problem = exc.problem or exc.context or "invalid YAML"
        raise ManifestError(f"malformed YAML: {problem}", file=file, line=line) from None
    except yaml.YAMLError as exc:
        raise ManifestError(f"malformed YAML: {exc}", file=file) from None
    finally:
        loader.dispose()


@contextmanager
def gc_paused() -> Iterator[None]:
    """Pause the cyclic garbage collector while building many small acyclic objects.

    Reading a 10,000-task DAG allocates about a million objects; with the collector running, each of its
    passes walks the growing heap again, and reading time grows faster than the file (three times slower
    at 10,000 tasks, worse at 20,000). Nothing built here forms cycles, so pausing loses nothing.
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def load_documents(text: str, *, file: str = "<string>") -> list[Any]:
    """Every document of a YAML stream (empty documents included as None)."""
    with gc_paused():
        return list(iter_documents(text, file=file))


def read_documents(path: Path) -> list[Any]:
    """Read a YAML file; an unreadable file or bad encoding is a ManifestError, never a traceback."""
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise ManifestError(f"not UTF-8 text (byte {exc.start})", file=str(path)) from None
    except OSError as exc:
        raise ManifestError(f"cannot read: {exc.strerror}", file=str(path)) from None
    return load_documents(text, file=str(path))


def dump_yaml(data: Any) -> str:
    """Plain data as block-style YAML (libyaml's emitter; non-ASCII kept readable, order kept).

    Files that are read, edited and written back (``harden``) go through ruamel.yaml's round-trip mode
    instead, so that their comments and layout survive.
    """
    try:
        from yaml import CSafeDumper as Dumper
    except ImportError:  # pragma: no cover
        from yaml import SafeDumper as Dumper  # type: ignore[assignment]
    return yaml.dump(data, Dumper=Dumper, sort_keys=False, allow_unicode=True, default_flow_style=False, width=4096)
