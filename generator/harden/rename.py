"""Keys misspelt only in case or separators (``onexit``, ``retry_strategy``) renamed in place.

A key the structure check does not know, whose spelling folds (case, ``-``, ``_``) to exactly one real
field, is renamed on its own line; a fuzzier match needs a human to confirm, so lint keeps reporting it.
A typo inside a misspelt key is only visible once the outer one is fixed, so the caller repeats this
until nothing is left to rename.
"""

from __future__ import annotations

from typing import Any

from generator.harden import text
from generator.harden.plan import Change
from generator.harden.text import Edit, MappingNode, ScalarNode
from generator.lint import template_of_path
from generator.structure import check_document


def split_path(path: str) -> list[str | int]:
    """``spec.templates[3].retrystrategy`` as keys and indexes."""
    parts: list[str | int] = []
    for chunk in path.split("."):
        name, *indexes = chunk.split("[")
        if name:
            parts.append(name)
        parts.extend(int(i.rstrip("]")) for i in indexes if i.rstrip("]").isdigit())
    return parts


def _fold(key: str) -> str:
    return key.lower().replace("-", "").replace("_", "")


def renames(root: MappingNode, document: Any) -> tuple[list[Edit], list[Change]]:
    edits: list[Edit] = []
    changes: list[Change] = []
    for problem in check_document(document):
        if not problem.unknown_key or not problem.suggestion:
            continue
        *parents, key = split_path(problem.path)
        if not isinstance(key, str) or _fold(key) != problem.suggestion.lower():
            continue
        owner = text.walk(root, parents)
        if not isinstance(owner, MappingNode) or text.entry(owner, problem.suggestion) is not None:
            continue
        pair = text.entry(owner, key)
        if pair is None or not isinstance(pair[0], ScalarNode) or pair[0].style not in (None, ""):
            continue
        node = pair[0]
        if node.start_mark.line != node.end_mark.line:
            continue
        edits.append(Edit((node.start_mark.line, node.start_mark.column), (node.end_mark.line, node.end_mark.column),
                          problem.suggestion))
        where = ".".join(map(str, parents)) or "top level"
        changes.append(Change(node.start_mark.line + 1, template_of_path(document, problem.path), "PF003",
                              f"renamed '{key}' to '{problem.suggestion}' ({where})"))
    return edits, changes
