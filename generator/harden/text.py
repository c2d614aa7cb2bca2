"""Edits applied to a manifest as text, so every line harden does not touch comes back byte for byte.

A round-trip dump (ruamel.yaml) re-emits the whole file: step groups written ``- - name`` come back as
``-   - name``, folded scalars are reflowed, flow lists collapse and a leading ``---`` is dropped. Here the
file is composed once with libyaml (node positions only), each fix says where its lines go (after an
entry of a block mapping, at the end of a block sequence, in place of a key), and the edits are spliced
into the original lines with the indentation the surrounding block already uses. Nothing else is re-emitted.

No library splices YAML text at node positions, so this part is written by hand; rendering the inserted
values is left to PyYAML's emitter.
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import yaml

try:
    from yaml import CSafeLoader as _Loader
except ImportError:  # pragma: no cover - libyaml is in every PyYAML wheel
    from yaml import SafeLoader as _Loader  # type: ignore[assignment]

Node = yaml.Node
MappingNode = yaml.MappingNode
SequenceNode = yaml.SequenceNode
ScalarNode = yaml.ScalarNode


class Quoted(str):
    """A string written double-quoted: IntOrString fields (``"3600"``), which Argo's schema types as strings."""


class _Dumper(yaml.SafeDumper):
    pass


_Dumper.add_representer(Quoted, lambda d, v: d.represent_scalar("tag:yaml.org,2002:str", str(v), style='"'))


def compose(text: str) -> list[Node | None]:
    """The node tree of every document (positions only); the text was already read by generator.yamlio."""
    loader = _Loader(str(text))
    try:
        documents: list[Node | None] = []
        while loader.check_node():
            documents.append(loader.get_node())
        return documents
    finally:
        loader.dispose()


def entry(node: Node | None, key: str) -> tuple[ScalarNode, Node] | None:
    """The (key, value) nodes of ``key`` in a mapping node (the last one when a key repeats, as Argo reads it)."""
    if not isinstance(node, MappingNode):
        return None
    found = None
    for k, v in node.value:
        if isinstance(k, ScalarNode) and k.value == key:
            found = (k, v)
    return found


def value(node: Node | None, key: str) -> Node | None:
    pair = entry(node, key)
    return pair[1] if pair else None


def walk(node: Node | None, path: list[str | int]) -> Node | None:
    for part in path:
        if isinstance(part, int):
            node = node.value[part] if isinstance(node, SequenceNode) and 0 <= part < len(node.value) else None
        else:
            node = value(node, part)
    return node


def is_block(node: Node | None) -> bool:
    return isinstance(node, MappingNode | SequenceNode) and not node.flow_style


@dataclass(frozen=True)
class Edit:
    """Replace ``[start, end)`` (line, column positions, 0-based) with ``text``; an insertion when empty."""

    start: tuple[int, int]
    end: tuple[int, int]
    text: str
    order: int = 0

    @property
    def lines(self) -> range:
        """The input lines (0-based) this edit rewrites or removes; none for a pure insertion of lines."""
        if self.start == self.end and self.start[1] == 0:
            return range(0)
        last = self.end[0] if self.end[1] > 0 else self.end[0] - 1
        return range(self.start[0], max(last, self.start[0]) + 1)


class Source:
    """The lines of one file and the layout facts the edits need (line ending, sequence offset)."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.lines = text.splitlines(keepends=True)
        self.newline = "\r\n" if self.lines and self.lines[0].endswith("\r\n") else "\n"

    def line(self, index: int) -> str:
        return self.lines[index] if 0 <= index < len(self.lines) else ""

    def _is_trailer(self, index: int, column: int) -> bool:
        """A blank line, or a comment at or left of ``column``: it belongs to what follows."""
        stripped = self.line(index).strip()
        if not stripped:
            return True
        indent = len(self.line(index)) - len(self.line(index).lstrip())
        return stripped.startswith("#") and indent <= column

    def hard_end(self, node: Node) -> int:
        """The first line after a block node (its end mark points at the next token)."""
        line, column = node.end_mark.line, node.end_mark.column
        if column > 0 and self.line(line)[:column].strip():
            return line + 1
        return line

    def floor(self, node: Node) -> int:
        """The first line after the last content of a node (the insertion point may not be earlier)."""
        while isinstance(node, MappingNode | SequenceNode) and not node.flow_style and node.value:
            last = node.value[-1]
            node = last[1] if isinstance(node, MappingNode) else last
        return self.hard_end(node) if isinstance(node, MappingNode | SequenceNode | ScalarNode) else 0

    def entry_end(self, mapping: MappingNode, index: int) -> int:
        """The line after entry ``index`` and the comments indented under it; before the next comment block."""
        key, val = mapping.value[index]
        last = index + 1 >= len(mapping.value)
        end = self.hard_end(mapping) if last else int(mapping.value[index + 1][0].start_mark.line)
        lowest = max(self.floor(val), key.start_mark.line + 1)
        while end > lowest and self._is_trailer(end - 1, key.start_mark.column):
            end -= 1
        return end

    def item_start(self, sequence: SequenceNode, index: int) -> int:
        """The line of an item's dash."""
        return int(sequence.value[index].start_mark.line)

    def item_end(self, sequence: SequenceNode, index: int) -> int:
        item = sequence.value[index]
        end = self.item_start(sequence, index + 1) if index + 1 < len(sequence.value) else self.hard_end(sequence)
        lowest = max(self.floor(item), item.start_mark.line + 1)
        while end > lowest and self._is_trailer(end - 1, sequence.start_mark.column):
            end -= 1
        return end

    def offset_of(self, sequence: SequenceNode, key: ScalarNode) -> int:
        """How far a block sequence's dashes sit right of its key (0 or 2 in practice)."""
        return max(int(sequence.start_mark.column) - int(key.start_mark.column), 0)

    def block(self, start: int, end: int, column: int) -> list[str]:
        """Lines ``[start, end)`` with ``column`` characters of indentation removed (blank lines kept)."""
        out = []
        for index in range(start, end):
            raw = self.line(index).rstrip("\r\n")
            head = raw[:column]
            out.append(raw[column:] if not head.strip(" -") else raw.lstrip())
        return out


def render(data: Any, indent: int, *, step: int = 2, offset: int = 0) -> list[str]:
    """Block YAML for ``data`` (a mapping of new keys, or a list of new items), each line indented by
    ``indent`` spaces, nested mappings by ``step`` and sequence dashes ``offset`` right of their key, as
    in the block being written into (ruamel.yaml's emitter has both settings; PyYAML's has no offset)."""
    return [(" " * indent) + line if line else line for line in _rendered(_frozen(data), step, offset)]


@lru_cache(maxsize=256)
def _rendered(frozen: Any, step: int, offset: int) -> tuple[str, ...]:
    """Emitting is the costly part and most inserted blocks are alike (the same retryStrategy on every
    template), so each distinct block is emitted once."""
    out = io.StringIO()
    _emitter(step, offset).dump(_plain(_thawed(frozen)), out)
    return tuple(out.getvalue().splitlines())


def _frozen(data: Any) -> Any:
    """A hashable, type-faithful form of plain data (a Quoted string stays distinct from a str)."""
    if isinstance(data, dict):
        return ("map", tuple((k, _frozen(v)) for k, v in data.items()))
    if isinstance(data, list):
        return ("seq", tuple(_frozen(v) for v in data))
    if isinstance(data, Quoted):
        return ("quoted", str(data))
    return ("scalar", data)


def _thawed(frozen: Any) -> Any:
    kind, body = frozen
    if kind == "map":
        return {k: _thawed(v) for k, v in body}
    if kind == "seq":
        return [_thawed(v) for v in body]
    return Quoted(body) if kind == "quoted" else body


@lru_cache(maxsize=16)
def _emitter(step: int, offset: int) -> Any:
    from ruamel.yaml import YAML  # lazy: ruamel.yaml only when a fix inserts a block

    emitter = YAML(typ="rt")
    emitter.indent(mapping=step, sequence=step + offset, offset=offset)
    emitter.width = 4096
    return emitter


def _plain(data: Any) -> Any:
    from ruamel.yaml.scalarstring import DoubleQuotedScalarString  # lazy: ruamel.yaml only when a fix inserts a block

    if isinstance(data, Quoted):
        return DoubleQuotedScalarString(str(data))
    if isinstance(data, dict):
        return {k: _plain(v) for k, v in data.items()}
    if isinstance(data, list):
        return [_plain(v) for v in data]
    return data


def flow(data: Any) -> str:
    """A value in flow style, for insertion into ``{...}``."""
    return _flowed(_frozen(data))


@lru_cache(maxsize=256)
def _flowed(frozen: Any) -> str:
    data = _thawed(frozen)
    dumped = yaml.dump(data, Dumper=_Dumper, default_flow_style=True, sort_keys=False, width=100000)
    return dumped.strip().removesuffix("...").strip()


def apply(source: Source, edits: list[Edit]) -> str:
    """The text with every edit spliced in (edits must not overlap; same-place inserts keep their order)."""
    text = source.text
    starts = _line_starts(source)
    ordered = sorted(enumerate(edits), key=lambda pair: (_pos(starts, pair[1].start), pair[1].order, pair[0]))
    out: list[str] = []
    cursor = 0
    for _, edit in ordered:
        start, end = _pos(starts, edit.start), _pos(starts, edit.end)
        if start < cursor:
            raise ValueError(f"overlapping edits at line {edit.start[0] + 1}")
        out.append(text[cursor:start])
        piece = edit.text
        if piece and start > 0 and text[start - 1] not in "\r\n" and edit.start[1] == 0:
            piece = source.newline + piece
        out.append(piece)
        cursor = end
    out.append(text[cursor:])
    return "".join(out)


def _line_starts(source: Source) -> list[int]:
    starts, position = [], 0
    for line in source.lines:
        starts.append(position)
        position += len(line)
    starts.append(position)
    return starts


def _pos(starts: list[int], where: tuple[int, int]) -> int:
    line, column = where
    if line >= len(starts) - 1:
        return starts[-1]
    return starts[line] + column


def lines_text(lines: list[str], newline: str) -> str:
    return "".join(line + newline for line in lines)


def iter_mappings(node: Node | None) -> Iterator[MappingNode]:
    pending = [node]
    while pending:
        item = pending.pop()
        if isinstance(item, MappingNode):
            yield item
            pending.extend(v for _, v in item.value)
        elif isinstance(item, SequenceNode):
            pending.extend(item.value)


def dash_item(lines: list[str], dashes: int = 1, *, width: int = 2) -> list[str]:
    """A mapping's lines (indented 0) as one sequence item: ``- `` before the first line (``- - `` for a
    step group of one step; ``width`` is how far the item's keys sit right of its dash), the rest moved
    right to stay under it."""
    head = "- " * (dashes - 1) + "-" + " " * (max(width, 2) - 1)
    pad = " " * len(head)
    return [head + lines[0], *(pad + line if line else line for line in lines[1:])]
