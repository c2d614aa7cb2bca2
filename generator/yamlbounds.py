"""What both YAML builders share (``generator.yamlio``'s node builder, ``generator.yamlevents``'s event
builder): the line-numbered containers they build and the limits they keep.

Every stream read here is untrusted (manifests, ``template.yaml``, answers files, MCP tool arguments), so
reading is bounded: a size cap, a nesting-depth cap, no recursive aliases, and a cap on the nodes that
aliases and merge keys add. Aliases share one node in the composed graph, so a few hundred bytes can stand
for billions of nodes once anything walks or serialises the result; the builders count what each alias
stands for instead of expanding it. A limit broken is a ``YamlLimitError`` naming the limit.
"""

from __future__ import annotations

from typing import Any, NamedTuple

#: The largest YAML stream read, in bytes (UTF-8): four times the largest object Argo can store (a resource
#: must be under 1 MB; docs/argo-semantics.md). Argo's examples and the real-world corpus stay under 64 KB; a
#: 20,000-task DAG is about 1.5 MB.
MAX_YAML_BYTES = 4 * 1024 * 1024
#: The deepest nesting of mappings and sequences. Real manifests nest about 13 levels; Python's recursion
#: (here and in every walker of the result, ruamel.yaml's composer included) stays far from its limit.
MAX_YAML_DEPTH = 100
#: The most nodes aliases and merge keys may add on top of those written out (each alias counts the whole
#: subtree it stands for; a long scalar counts one node per 64 characters).
MAX_ALIAS_NODES = 100_000
#: Scalars at least this long are tracked so that aliasing them is counted by their length.
LONG_SCALAR = 64


class SizeLimit(NamedTuple):
    """A cap on the bytes of one input, with the constant's name that error messages give."""

    bytes: int
    name: str


YAML_SIZE = SizeLimit(MAX_YAML_BYTES, "MAX_YAML_BYTES")


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

