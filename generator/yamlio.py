"""Reading YAML documents fast, with the line of every mapping, key and list item.

Reading goes through libyaml when it is available: on Argo's example corpus that is about fifteen times
faster than ruamel.yaml's round-trip load, and line numbers are all the linter needs. Documents are built
from libyaml's events (``generator.yamlevents``); a stream that builder leaves alone (merge keys, errors,
limits) is read through libyaml's composer and the node builder here, which is the reference for what a
stream reads as. ``harden`` reads files here too and writes its edits into the original text
(``generator.harden.text``), so every line it does not change is kept as written.

Reading is bounded (``generator.yamlbounds``): a size cap, a nesting-depth cap, no recursive aliases, and a
cap on the nodes that aliases and merge keys add. A limit broken is a ``YamlLimitError`` naming the limit.

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

from generator.errors import ManifestError, YamlLimitError
from generator.yamlbounds import LONG_SCALAR as _LONG_SCALAR
from generator.yamlbounds import MAX_ALIAS_NODES as MAX_ALIAS_NODES  # the limits and containers, re-exported
from generator.yamlbounds import MAX_YAML_BYTES as MAX_YAML_BYTES
from generator.yamlbounds import MAX_YAML_DEPTH as MAX_YAML_DEPTH
from generator.yamlbounds import YAML_SIZE as YAML_SIZE
from generator.yamlbounds import LineDict as LineDict
from generator.yamlbounds import LineList as LineList
from generator.yamlbounds import SizeLimit as SizeLimit
from generator.yamlevents import _Unsupported, read_events

try:
    from yaml import CSafeDumper as _Dumper
except ImportError:  # pragma: no cover
    from yaml import SafeDumper as _Dumper  # type: ignore[assignment]
import json

try:
    from yaml import CSafeLoader as _BaseLoader
except ImportError:  # pragma: no cover - libyaml is in every PyYAML wheel
    from yaml import SafeLoader as _BaseLoader  # type: ignore[assignment]

_TAGS: dict[tuple[type, str, tuple[bool, bool]], str] = {}
_MAX_REMEMBERED_TAGS = 50_000


class _Loader(_BaseLoader):
    """libyaml's loader with PyYAML's resolver memoised: libyaml calls the pure-Python resolver for every
    node, and the same scalars (``name``, ``template``, ``true``) recur in every manifest. The tag for a
    (kind, value, implicit) triple is a pure function of them (SafeLoader has no path resolvers), so the
    answers are identical; only the regex matching is skipped."""

    def resolve(self, kind: Any, value: Any, implicit: Any) -> str:
        key = (kind, value, implicit) if isinstance(value, str) else None
        if key is None:
            return super().resolve(kind, value, implicit)  # type: ignore[no-any-return, no-untyped-call]
        tag = _TAGS.get(key)
        if tag is None:
            if len(_TAGS) >= _MAX_REMEMBERED_TAGS:
                _TAGS.clear()
            tag = _TAGS[key] = super().resolve(kind, value, implicit)  # type: ignore[no-untyped-call]
        return tag

    if not _BaseLoader.yaml_path_resolvers:  # nothing to descend into: skip two calls per node
        def descend_resolver(self, _node: Any, _index: Any) -> None:
            return None

        def ascend_resolver(self) -> None:
            return None


_SCALAR_TAGS = {
    "tag:yaml.org,2002:int",
    "tag:yaml.org,2002:float",
    "tag:yaml.org,2002:bool",
    "tag:yaml.org,2002:null",
}


def _unreadable(node: yaml.ScalarNode, file: str) -> ManifestError:
    """A scalar its tag (written, or resolved from its text) cannot make a value of: malformed YAML."""
    shown = node.value if len(node.value) <= 40 else node.value[:40] + "..."
    tag = node.tag.replace("tag:yaml.org,2002:", "!!")
    return ManifestError(f"malformed YAML: {shown!r} is not a valid {tag}", file=file,
                         line=node.start_mark.line + 1)


def _limit(limit: str, message: str, node: yaml.Node, file: str) -> YamlLimitError:
    return YamlLimitError(message, limit=limit, file=file, line=node.start_mark.line + 1)


class _Builder:
    """Turns composed nodes into LineDict/LineList/scalars, within the depth and alias limits.

    A node met again is an alias: its built value is shared (never rebuilt) and its size (the nodes it
    stands for, counted as it was built) is charged to the alias budget. A node met again while it is
    still being built is a recursive alias, which no finite document has.
    """

    def __init__(self, file: str) -> None:
        self._constructor = yaml.SafeLoader("")
        self._file = file
        self._memo: dict[int, Any] = {}
        self._sizes: dict[int, int] = {}
        self._open: set[int] = set()
        self._count = 0
        self._aliased = 0

    def build(self, node: yaml.Node, depth: int = 1) -> Any:
        if isinstance(node, yaml.ScalarNode):
            return self._scalar(node)
        key = id(node)
        if key in self._memo:
            return self._again(node, key)
        if depth > MAX_YAML_DEPTH:
            raise _limit("MAX_YAML_DEPTH", f"nesting deeper than {MAX_YAML_DEPTH} levels (MAX_YAML_DEPTH)",
                         node, self._file)
        start = self._count
        self._open.add(key)
        if isinstance(node, yaml.SequenceNode):
            out: Any = self._sequence(node, depth)
        else:
            assert isinstance(node, yaml.MappingNode)
            out = self._mapping(node, depth)
        self._open.discard(key)
        self._sizes[key] = self._count - start
        return out

    def _again(self, node: yaml.Node, key: int) -> Any:
        if key in self._open:
            raise _limit("recursive alias", "the node anchored here contains an alias of itself (a recursive "
                         "alias, which stands for an infinite document)", node, self._file)
        self._charge(self._sizes[key], node)
        return self._memo[key]

    def _charge(self, size: int, node: yaml.Node) -> None:
        self._count += size
        self._aliased += size
        if self._aliased > MAX_ALIAS_NODES:
            raise _limit("MAX_ALIAS_NODES", f"aliases and merge keys stand for more than {MAX_ALIAS_NODES:,} "
                         "nodes (MAX_ALIAS_NODES)", node, self._file)

    def _scalar(self, node: yaml.ScalarNode) -> Any:
        self._count += 1
        if len(node.value) >= _LONG_SCALAR:
            key = id(node)
            if key in self._memo:
                self._charge(len(node.value) // _LONG_SCALAR, node)
            self._memo[key] = node.value
        if node.tag in _SCALAR_TAGS:
            try:
                return self._constructor.construct_object(node)
            except (ValueError, KeyError, IndexError):  # `!!int abc`, `!!bool maybe`, `!!float ""`, 5,000 digits
                raise _unreadable(node, self._file) from None
        return node.value

    def _sequence(self, node: yaml.SequenceNode, depth: int) -> LineList:
        out = LineList()
        out.line = node.start_mark.line + 1
        self._memo[id(node)] = out
        out.item_lines = []
        for item in node.value:
            out.append(self.build(item, depth + 1))
            out.item_lines.append(item.start_mark.line + 1)
        return out

    def _mapping(self, node: yaml.MappingNode, depth: int) -> LineDict:
        out = LineDict()
        out.line = node.start_mark.line + 1
        out.key_lines = {}
        out.duplicate_keys = []
        self._memo[id(node)] = out
        # YAML 1.1 merge keys: pairs merged in through `<<` come first and are overridden by the mapping's
        # own keys without that being a duplicate; only a key written twice in the mapping itself is one.
        tags = {key_node.tag for key_node, _ in node.value}
        merges = _MERGE_TAG in tags
        explicit = {id(key_node) for key_node, _ in node.value} if merges else set()
        if merges or _VALUE_TAG in tags:  # else PyYAML's flatten_mapping changes nothing: skip its loop
            self._flatten(node, merges)
        written: set[str] = set()
        for key_node, value_node in node.value:
            key = self.build(key_node, depth + 1)
            key = key if isinstance(key, str) else str(key)
            line = key_node.start_mark.line + 1
            if not merges:
                if key in out:
                    out.duplicate_keys.append((key, line))
            elif id(key_node) in explicit:
                if key in written:
                    out.duplicate_keys.append((key, line))
                written.add(key)
            out[key] = self.build(value_node, depth + 1)
            out.key_lines[key] = line
        return out

    def _flatten(self, node: yaml.MappingNode, merges: bool) -> None:
        """Expand merge keys (``<<``) the way PyYAML does, after checking what the expansion would add."""
        if merges:
            added = _MergeCheck(self._file).pairs(node, 1) - len(node.value)
            self._charge(max(added, 0), node)
        self._constructor.flatten_mapping(node)


_MERGE_TAG = "tag:yaml.org,2002:merge"
_VALUE_TAG = "tag:yaml.org,2002:value"  # the `=` key, which flatten_mapping turns into a plain string


class _MergeCheck:
    """Counts the key/value pairs a mapping has once its merge keys are expanded, without expanding them.

    PyYAML's ``flatten_mapping`` copies the pairs of every merged mapping (once per distinct key), so one
    large mapping merged into many others multiplies; and a mapping merging itself recurses forever.
    Counting first (the same keys, the same way) keeps both within the limits.
    """

    def __init__(self, file: str) -> None:
        self._file = file
        self._keys: dict[int, frozenset[int]] = {}
        self._open: set[int] = set()

    def pairs(self, node: yaml.MappingNode, depth: int) -> int:
        return len(self._merged(node, depth)) + sum(1 for key, _ in node.value if key.tag != _MERGE_TAG)

    def _merged(self, node: yaml.MappingNode, depth: int) -> set[int]:
        merged: set[int] = set()
        for key_node, value_node in node.value:
            if key_node.tag != _MERGE_TAG:
                continue
            sources = value_node.value if isinstance(value_node, yaml.SequenceNode) else [value_node]
            for source in sources:
                if isinstance(source, yaml.MappingNode):  # anything else is PyYAML's error to report
                    merged |= self._flattened(source, depth + 1)
            if len(merged) > MAX_ALIAS_NODES:
                raise _limit("MAX_ALIAS_NODES", f"merge keys stand for more than {MAX_ALIAS_NODES:,} pairs "
                             "(MAX_ALIAS_NODES)", node, self._file)
        return merged

    def _flattened(self, node: yaml.MappingNode, depth: int) -> frozenset[int]:
        """The identities of the keys ``node`` has once flattened (PyYAML keeps the first of each)."""
        key = id(node)
        if key in self._keys:
            return self._keys[key]
        if key in self._open:
            raise _limit("recursive alias", "a merge key (<<) merges a mapping into itself (a recursive alias)",
                         node, self._file)
        if depth > MAX_YAML_DEPTH:
            raise _limit("MAX_YAML_DEPTH", f"merge keys chained deeper than {MAX_YAML_DEPTH} levels "
                         "(MAX_YAML_DEPTH)", node, self._file)
        self._open.add(key)
        own = {id(k.value) for k, _ in node.value if k.tag != _MERGE_TAG}
        keys = frozenset(self._merged(node, depth) | own)
        self._open.discard(key)
        self._keys[key] = keys
        return keys


def check_size(size: int, *, file: str, limit: SizeLimit = YAML_SIZE) -> None:
    """Refuse a stream larger than the limit before anything parses it."""
    if size > limit.bytes:
        raise YamlLimitError(f"{size:,} bytes, larger than the {limit.bytes:,}-byte limit ({limit.name})",
                             limit=limit.name, file=file)


def iter_documents(text: str, *, file: str, limit: SizeLimit = YAML_SIZE) -> Iterator[Any]:
    """Yield each document of a YAML stream, with line numbers; malformed YAML raises ManifestError.

    A stream beyond the limits (size, depth, recursive or oversized aliases) raises ``YamlLimitError``.
    """
    check_size(len(text), file=file, limit=limit)  # characters: a lower bound of the UTF-8 size
    text = str(text)  # exactly str: libyaml refuses str subclasses (ruamel scalars)
    try:
        documents = read_events(text)
    except _Unsupported:
        yield from _node_documents(text, file)
    else:
        yield from documents


def _node_documents(text: str, file: str) -> Iterator[Any]:
    """The documents as libyaml's composer and the node builder read them, errors and limits included."""
    loader = _Loader(text)
    try:
        while loader.check_node():
            node = loader.get_node()
            yield None if node is None else _Builder(file).build(node)
    except RecursionError:  # a last resort: the depth cap is meant to stop every recursion first
        raise YamlLimitError(f"nesting too deep to read (MAX_YAML_DEPTH is {MAX_YAML_DEPTH})",
                             limit="MAX_YAML_DEPTH", file=file) from None
    except MemoryError:  # a last resort: the size and alias caps are meant to stop this first
        raise YamlLimitError("the document does not fit in memory (MAX_YAML_BYTES, MAX_ALIAS_NODES)",
                             limit="memory", file=file) from None
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


def load_documents(text: str, *, file: str = "<string>", limit: SizeLimit = YAML_SIZE) -> list[Any]:
    """Every document of a YAML stream (empty documents included as None), within the reading limits."""
    with gc_paused():
        return list(iter_documents(text, file=file, limit=limit))


def check_limits(text: str, *, file: str = "<string>", limit: SizeLimit = YAML_SIZE) -> None:
    """Raise what ``load_documents`` would (limits, malformed YAML) without keeping the result.

    For readers other than this module's (ruamel.yaml's round trip), which have no limits of their own.
    """
    for _ in iter_documents(text, file=file, limit=limit):
        pass


def read_text(path: Path, *, limit: SizeLimit = YAML_SIZE) -> str:
    """A file's UTF-8 text, its size checked before it is read; failures are ManifestErrors."""
    try:
        check_size(path.stat().st_size, file=str(path), limit=limit)
        return path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise ManifestError(f"not UTF-8 text (byte {exc.start})", file=str(path)) from None
    except OSError as exc:
        raise ManifestError(f"cannot read: {exc.strerror}", file=str(path)) from None


def read_documents(path: Path, *, limit: SizeLimit = YAML_SIZE) -> list[Any]:
    """Read a YAML file; an unreadable file or bad encoding is a ManifestError, never a traceback."""
    return load_documents(read_text(path, limit=limit), file=str(path), limit=limit)


def dump_yaml(data: Any) -> str:
    """Plain data as block-style YAML (libyaml's emitter; non-ASCII kept readable, order kept).

    Files that are read, edited and written back (``harden``) are never re-emitted: their edits are
    spliced into the original text (``generator.harden.text``).
    """
    return yaml.dump(data, Dumper=_Dumper, sort_keys=False, allow_unicode=True, default_flow_style=False, width=4096)


#: The largest JSON text read (``cookiecutter.json``, embedded JSON values, provenance blocks).
MAX_JSON_BYTES = 1024 * 1024
JSON_SIZE = SizeLimit(MAX_JSON_BYTES, "MAX_JSON_BYTES")


def load_json(text: str, *, file: str, limit: SizeLimit = JSON_SIZE) -> Any:
    """Parse untrusted JSON within the size and depth limits of YAML (JSON has no aliases to count).

    Malformed JSON raises ``ValueError`` as ``json.loads`` does; a limit broken raises ``YamlLimitError``.
    """
    check_size(len(text), file=file, limit=limit)
    try:
        value = json.loads(text)
    except RecursionError:
        raise YamlLimitError(f"nesting deeper than {MAX_YAML_DEPTH} levels (MAX_YAML_DEPTH)",
                             limit="MAX_YAML_DEPTH", file=file) from None
    if json_depth(value) > MAX_YAML_DEPTH:
        raise YamlLimitError(f"nesting deeper than {MAX_YAML_DEPTH} levels (MAX_YAML_DEPTH)",
                             limit="MAX_YAML_DEPTH", file=file)
    return value


def json_depth(value: Any) -> int:
    """The nesting depth of parsed JSON (or plain data), walked without recursion; counting stops a level
    below MAX_YAML_DEPTH, so the walk is bounded by the data's size, whatever its depth."""
    deepest, stack = 0, [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict):
            item = list(item.values())
        if isinstance(item, list):
            deepest = max(deepest, depth)
            if depth <= MAX_YAML_DEPTH:
                stack.extend((child, depth + 1) for child in item)
    return deepest
