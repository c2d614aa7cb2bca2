"""Write docs/rules/PFxxx.md (and index.md) from the rule units; tests/generator/rules/test_rule_docs.py checks
they match.

    .venv/bin/python scripts/gen_rule_docs.py            # rewrite the pages
    .venv/bin/python scripts/gen_rule_docs.py --check    # exit 1 when a committed page is out of date
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from generator.rules.docs import pages

ROOT = Path(__file__).resolve().parent.parent
FOLDER = ROOT / "docs" / "rules"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--check", action="store_true", help="only report pages that differ")
    args = parser.parse_args()
    wanted = pages()
    stale = sorted(name for name, text in wanted.items()
                   if not (FOLDER / name).exists() or (FOLDER / name).read_text(encoding="utf-8") != text)
    extra = sorted(p.name for p in FOLDER.glob("*.md") if p.name not in wanted) if FOLDER.exists() else []
    if args.check:
        for name in stale + extra:
            print(f"docs/rules/{name} is out of date; run scripts/gen_rule_docs.py", file=sys.stderr)
        return 1 if stale or extra else 0
    FOLDER.mkdir(parents=True, exist_ok=True)
    for name in stale:
        (FOLDER / name).write_text(wanted[name], encoding="utf-8")
    for name in extra:
        (FOLDER / name).unlink()
    print(f"{len(stale)} page(s) written, {len(extra)} removed, {len(wanted)} in docs/rules/")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
