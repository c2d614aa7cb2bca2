"""Per-rule finding counts over a corpus, and the share of its files that fail lint at default settings.

    .venv/bin/python scripts/lint_counts.py [FOLDER ...]     (default: ../shared/realworld)

For each rule: how many findings, and in how many files; then how many files fail (at least one error).
This is how a rule's precision is reviewed on manifests nobody here wrote: a rule that fires on most of
them is read finding by finding before anyone believes it.
"""

from __future__ import annotations

import argparse
import sys
from collections import Counter
from pathlib import Path

from generator.lint import collect_files, lint_file
from generator.rules import RULES
from generator.severity import Severity

ROOT = Path(__file__).resolve().parent.parent
DEFAULT = ROOT.parent / "shared" / "realworld"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("folders", nargs="*", type=Path, default=[DEFAULT])
    args = parser.parse_args()
    missing = [folder for folder in args.folders if not folder.exists()]
    if missing:
        print(f"no such folder: {', '.join(map(str, missing))}", file=sys.stderr)
        return 2
    files = collect_files(args.folders)
    findings: Counter[str] = Counter()
    files_with: Counter[str] = Counter()
    failing = 0
    for path in files:
        found = lint_file(path)
        findings.update(f.rule for f in found)
        files_with.update({f.rule for f in found})
        failing += any(f.severity == Severity.ERROR for f in found)
    print(f"{'rule':<6}  {'name':<32} {'severity':<8} {'findings':>8} {'files':>6}")
    for code in sorted(set(RULES) | set(findings)):
        rule = RULES.get(code)
        name, severity = (rule.name, rule.severity) if rule else ("?", "?")
        print(f"{code:<6}  {name:<32} {severity:<8} {findings[code]:>8} {files_with[code]:>6}")
    share = failing / len(files) if files else 0.0
    print(f"{failing} of {len(files)} files fail lint at default settings ({share:.0%})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
