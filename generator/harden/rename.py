"""Keys misspelt only in case or separators (``onexit``, ``retry_strategy``) renamed in place.

A key the structure check does not know, whose spelling folds (case, ``-``, ``_``) to exactly one real
field, is renamed on its own line; a fuzzier match needs a human to confirm, so lint keeps reporting it.
A typo inside a misspelt key is only visible once the outer one is fixed, so the caller repeats this
until nothing is left to rename.
"""

from __future__ import annotations

from generator.findings import Finding
from generator.harden import text
from generator.harden.plan import Plan, fixes
from generator.harden.text import Edit, MappingNode, ScalarNode


def _fold(key: str) -> str:
    return key.lower().replace("-", "").replace("_", "")


@fixes("PF003")
def rename_key(plan: Plan, finding: Finding) -> None:
    path, suggestion = finding.data.get("path"), finding.data.get("suggestion")
    if not isinstance(path, list) or not path or not isinstance(suggestion, str):
        return
    *parents, key = path
    if not isinstance(key, str) or _fold(key) != suggestion.lower():
        return  # a fuzzy match needs a human to confirm
    owner = text.walk(plan.root, parents)
    if not isinstance(owner, MappingNode) or text.entry(owner, suggestion) is not None:
        return
    pair = text.entry(owner, key)
    if pair is None or not isinstance(pair[0], ScalarNode) or pair[0].style not in (None, ""):
        return
    node = pair[0]
    if node.start_mark.line != node.end_mark.line:
        return
    plan.edits.append(Edit((node.start_mark.line, node.start_mark.column),
                           (node.end_mark.line, node.end_mark.column), suggestion))
    where = ".".join(map(str, parents)) or "top level"
    plan.changed(node.start_mark.line + 1, finding.template, "PF003", f"renamed '{key}' to '{suggestion}' ({where})")
