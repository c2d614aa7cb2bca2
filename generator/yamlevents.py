"""Line-numbered documents built straight from libyaml's events, without PyYAML's node layer.

libyaml's composer (``yaml.CSafeLoader``) makes a Python node per node of the document, calls back into
Python to resolve each one, and the documents are then built by walking those nodes again. Building each
mapping, sequence and scalar as its events arrive does that work once, and is the larger part of reading.

This builder takes the common road only. On anything else it gives up (``_Unsupported``) and
``generator.yamlio`` reads the stream again with its node builder, the reference: a merge key (``<<``), an
alias or anchor libyaml's composer would refuse, malformed YAML, a scalar a tag cannot construct, a limit
reached (depth, aliases). The node builder then gives its documents or its error exactly as before, so a
stream read here gives what the node builder gives: the same values, lines, duplicate keys, shared aliased
values and the same alias accounting, which is what lets this one stop where that one would refuse.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from yaml import ScalarNode
from yaml._yaml import CParser
from yaml.constructor import SafeConstructor
from yaml.events import (
    AliasEvent,
    MappingEndEvent,
    ScalarEvent,
    SequenceEndEvent,
    SequenceStartEvent,
    StreamEndEvent,
)
from yaml.resolver import Resolver

from generator.yamlbounds import LONG_SCALAR, MAX_ALIAS_NODES, MAX_YAML_DEPTH, LineDict, LineList


class _Unsupported(Exception):
    """The stream needs the node builder (see the module's docstring). Private control flow between this
    module and generator.yamlio, which always catches it: it never reaches a user, so it is outside the tree."""


_RESOLVER = Resolver()  # SafeLoader's resolver: implicit tags only, no path resolvers
_CONSTRUCTOR = SafeConstructor()
_STR = "tag:yaml.org,2002:str"
_MERGE = "tag:yaml.org,2002:merge"
#: The tags whose scalars the node builder constructs (every other scalar stays its text).
_CONSTRUCTED = frozenset({"tag:yaml.org,2002:int", "tag:yaml.org,2002:float", "tag:yaml.org,2002:bool",
                          "tag:yaml.org,2002:null"})
#: Short plain scalars (``name``, ``true``, ``10``) recur in every manifest: their values are remembered.
_PLAIN: dict[str, Any] = {}
_MAX_REMEMBERED = 50_000
_IMPLICIT = (True, False)
_UNSEEN: Any = object()


def _constructed(tag: str, text: str) -> Any:
    if tag == _STR:
        return text
    if tag in _CONSTRUCTED:
        return _CONSTRUCTOR.yaml_constructors[tag](_CONSTRUCTOR, ScalarNode(tag, text))
    if tag == _MERGE:
        raise _Unsupported
    return text  # timestamps, binary, `=` and local tags: the node builder keeps the text


def _resolved(text: str) -> str:
    return _RESOLVER.resolve(ScalarNode, text, _IMPLICIT)  # type: ignore[no-untyped-call, no-any-return]


def scalar_value(event: Any) -> Any:
    """What the node builder makes of a scalar: its resolved tag constructed (int, float, bool, null) or
    its text; a non-plain scalar without a tag is a string (SafeLoader resolves only plain scalars)."""
    text = event.value
    if event.tag is None:
        if not event.implicit[0]:
            return text
        value = _PLAIN.get(text, _UNSEEN)
        if value is not _UNSEEN:
            return value
    elif event.tag != "!":
        return _constructed(event.tag, text)
    elif not event.implicit[0]:
        return text
    value = _constructed(_resolved(text), text)
    if len(text) < LONG_SCALAR:
        if len(_PLAIN) >= _MAX_REMEMBERED:
            _PLAIN.clear()
        _PLAIN[text] = value
    return value


class _Anchor:
    """What an alias stands for: the value (shared, as the node builder shares it), the line of the anchored
    node, and what aliasing it costs (a collection's scalars; a long scalar's length in 64s)."""

    __slots__ = ("cost", "line", "open", "scalar", "value")

    def __init__(self, value: Any, line: int, cost: int, scalar: bool, is_open: bool) -> None:
        self.value, self.line, self.cost, self.scalar, self.open = value, line, cost, scalar, is_open


class _Document:
    """One document's events made into LineDict/LineList/scalars; ``line`` is the line the last node built
    starts on (for an alias, the anchored node's, as the node builder reports it)."""

    __slots__ = ("_aliased", "_anchors", "_count", "_next", "line")

    def __init__(self, parser: CParser) -> None:
        self._next: Callable[[], Any] = parser.get_event  # events are read by their attributes
        self._anchors: dict[str, _Anchor] = {}
        self._count = 0  # scalars built, aliases counted by what they stand for
        self._aliased = 0
        self.line = 0

    def node(self, event: Any, depth: int) -> Any:
        kind = type(event)
        if kind is ScalarEvent:
            self._count += 1
            self.line = line = event.start_mark.line + 1
            value = scalar_value(event)
            if event.anchor is not None:
                size = len(event.value)
                self._define(event.anchor, _Anchor(value, line, size // LONG_SCALAR if size >= LONG_SCALAR else 0,
                                                   True, False))
            return value
        if kind is AliasEvent:
            return self._alias(event.anchor)
        if depth > MAX_YAML_DEPTH:
            raise _Unsupported
        if kind is SequenceStartEvent:
            return self._sequence(event, depth)
        return self._mapping(event, depth)

    def _define(self, name: str, anchor: _Anchor) -> None:
        if name in self._anchors:  # libyaml's composer refuses a second anchor of the same name
            raise _Unsupported
        self._anchors[name] = anchor

    def _alias(self, name: str) -> Any:
        anchor = self._anchors.get(name)
        if anchor is None or anchor.open:  # undefined, or recursive
            raise _Unsupported
        if anchor.scalar:
            self._count += 1
        if anchor.cost:
            self._count += anchor.cost
            self._aliased += anchor.cost
            if self._aliased > MAX_ALIAS_NODES:
                raise _Unsupported
        self.line = anchor.line
        return anchor.value

    def _sequence(self, start: Any, depth: int) -> LineList:
        out = LineList()
        out.line = line = start.start_mark.line + 1
        items: list[int] = []
        out.item_lines = items
        anchor = self._open(start.anchor, out, line)
        before = self._count
        next_event, node, child = self._next, self.node, depth + 1
        event = next_event()
        while (kind := type(event)) is not SequenceEndEvent:
            if kind is ScalarEvent and event.anchor is None:  # most items: no call, no line kept aside
                self._count += 1
                out.append(scalar_value(event))
                items.append(event.start_mark.line + 1)
            else:
                out.append(node(event, child))
                items.append(self.line)
            event = next_event()
        self._close(anchor, before)
        self.line = line
        return out

    def _mapping(self, start: Any, depth: int) -> LineDict:
        out = LineDict()
        out.line = line = start.start_mark.line + 1
        key_lines: dict[str, int] = {}
        duplicates: list[tuple[str, int]] = []
        out.key_lines, out.duplicate_keys = key_lines, duplicates
        anchor = self._open(start.anchor, out, line)
        before = self._count
        next_event, node, child = self._next, self.node, depth + 1
        event = next_event()
        while (kind := type(event)) is not MappingEndEvent:
            if kind is ScalarEvent and event.anchor is None:  # most keys: as in _sequence
                self._count += 1
                key = scalar_value(event)
                key_line = event.start_mark.line + 1
            else:
                key = node(event, child)
                key_line = self.line
            if type(key) is not str:
                key = str(key)
            if key in out:
                duplicates.append((key, key_line))
            event = next_event()
            if type(event) is ScalarEvent and event.anchor is None:
                self._count += 1
                out[key] = scalar_value(event)
            else:
                out[key] = node(event, child)
            key_lines[key] = key_line
            event = next_event()
        self._close(anchor, before)
        self.line = line
        return out

    def _open(self, name: str | None, value: Any, line: int) -> _Anchor | None:
        if name is None:
            return None
        anchor = _Anchor(value, line, 0, False, True)
        self._define(name, anchor)
        return anchor

    def _close(self, anchor: _Anchor | None, before: int) -> None:
        if anchor is not None:
            anchor.cost, anchor.open = self._count - before, False


def read_events(text: str) -> list[Any]:
    """Every document of ``text`` (an exact str), or ``_Unsupported`` when the node builder must read it."""
    parser = CParser(text)
    try:
        next_event: Callable[[], Any] = parser.get_event
        next_event()  # the stream's start
        documents = []
        while type(parser.peek_event()) is not StreamEndEvent:
            next_event()  # the document's start
            documents.append(_Document(parser).node(next_event(), 1))
            next_event()  # and its end
        return documents
    except _Unsupported:
        raise
    except Exception:  # malformed YAML, a constructor's error, memory: the node builder reports it as before
        raise _Unsupported from None
    finally:
        parser.dispose()
