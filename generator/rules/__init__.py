"""The lint rules, one unit each (``generator.rules.base.Rule``), and the function that runs them.

Each module holds one rule or a small family: ``structural`` (PF001-PF007), ``references`` (PF006,
PF008, PF009), ``kubernetes`` (PF010), ``cleanup`` (PF101), ``deadlines`` (PF102, PF103), ``retries``
(PF2xx), ``irreversible`` (PF301, PF302), ``injection`` (PF401), ``hygiene`` (PF5xx). A rule's check reads
a ``Context`` (the typed model, the raw document, shared analysis) and yields ``Hit``s with structured data.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from generator.findings import Hit
from generator.model import Manifest, SideEffect
from generator.rules import (  # noqa: F401  (importing a module registers its rules)
    cleanup,
    deadlines,
    hygiene,
    injection,
    irreversible,
    kubernetes,
    references,
    retries,
    structural,
)
from generator.rules.base import (
    DOCS_BASE_URL,
    RULES,
    RULES_BY_NAME,
    Rule,
    docs_url,
    resolve_rule,
    rule_unit,
    rule_url,
)
from generator.rules.context import Context, Options
from generator.rules.effects import creations, deletions
from generator.rules.graph import unsafe_cleanups

# The registry in code order, as --list-rules and the docs show it.
_ORDER = sorted(RULES)
RULES.update({code: RULES.pop(code) for code in _ORDER})


def check_manifest(manifest: Manifest, document: Any = None, *, options: Options | None = None,
                   select: Iterable[str] | None = None) -> list[Hit]:
    """Every rule (or the ``select``ed codes) over one Argo workflow document.

    ``document`` is the raw document the manifest was built from (``manifest.raw`` when omitted).
    """
    ctx = Context(manifest, manifest.raw if document is None else document, options or Options())
    wanted = set(select) if select is not None else None
    hits: list[Hit] = []
    for code, unit in RULES.items():
        if unit.check is None or (wanted is not None and code not in wanted):
            continue
        hits.extend(unit.check(ctx))
    return hits


__all__ = [
    "DOCS_BASE_URL", "RULES", "RULES_BY_NAME", "Context", "Hit",
    "Options", "Rule", "SideEffect", "check_manifest", "creations", "deletions", "docs_url", "resolve_rule",
    "rule_unit",
    "rule_url", "unsafe_cleanups",
]
