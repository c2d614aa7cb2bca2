"""How much `harden` rewrites, and how its time grows with the input.

Usage: PYTHONPATH=. .venv/bin/python bench/bench_harden.py [--scaling] [CORPUS...]

Over every YAML file of the corpora (default ../shared/realworld and ../shared/argo/examples) it prints
files changed, lines inserted, lines rewritten (input lines that do not come back unchanged, by a line
diff), comment lines lost and files whose second pass still changes something. With --scaling it
hardens one manifest repeated 1x, 10x and 100x and prints the seconds and the ratio per 10x (1.0x per
10x would be perfectly linear; the peer is the input size).
"""

from __future__ import annotations

import argparse
import difflib
import sys
import time
from collections import Counter
from pathlib import Path

from generator.errors import ManifestError
from generator.harden import harden_text

ROOT = Path(__file__).resolve().parent.parent
DEFAULT = [ROOT.parent / "shared" / "realworld", ROOT.parent / "shared" / "argo" / "examples"]


def _comments(lines: list[str]) -> Counter[str]:
    return Counter(line.strip() for line in lines if line.strip().startswith("#"))


def measure(paths: list[Path]) -> dict[str, int]:
    totals = Counter(files=0, changed=0, inserted=0, rewritten=0, comments_lost=0, not_idempotent=0, errors=0)
    for path in paths:
        text = path.read_text(encoding="utf-8")
        totals["files"] += 1
        try:
            once = harden_text(text, path.name).text
            twice = harden_text(once, path.name).text
        except ManifestError:
            totals["errors"] += 1
            continue
        if once == text:
            continue
        totals["changed"] += 1
        before, after = text.splitlines(), once.splitlines()
        matcher = difflib.SequenceMatcher(None, before, after, autojunk=False)
        for tag, i1, i2, j1, j2 in matcher.get_opcodes():
            if tag in ("replace", "delete"):
                totals["rewritten"] += i2 - i1
            if tag in ("replace", "insert"):
                totals["inserted"] += j2 - j1
        totals["comments_lost"] += sum((_comments(before) - _comments(after)).values())
        totals["not_idempotent"] += twice != once
    return dict(totals)


_UNIT = """\
apiVersion: argoproj.io/v1alpha1
kind: Workflow
metadata:
  generateName: scale-
spec:
  entrypoint: main
  templates:
  - name: main
    dag:
      tasks:
{tasks}
{templates}"""


def _scaled(n: int) -> str:
    tasks = "".join(f"      - name: t{i}\n        template: s{i}\n" for i in range(n))
    templates = "".join(
        f"  - name: s{i}   # step {i}\n    retryStrategy: {{}}\n    container:\n      image: busybox:1.36.1\n"
        f"      command: [sh, -c, 'echo {i}']\n" for i in range(n))
    return _UNIT.format(tasks=tasks.rstrip("\n"), templates=templates)


def scaling(sizes: tuple[int, ...] = (25, 250, 2500), runs: int = 2) -> None:
    previous = None
    for n in sizes:
        text = _scaled(n)
        best = min(_timed(text) for _ in range(runs))
        ratio = f"  x{best / previous:.1f} for 10x the input" if previous else ""
        print(f"{n:>6} templates  {len(text) / 1024:8.1f} KB  {best:7.3f} s{ratio}")
        previous = best


def _timed(text: str) -> float:
    start = time.perf_counter()
    harden_text(text, "scale.yaml")
    return time.perf_counter() - start


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("corpus", nargs="*", type=Path)
    parser.add_argument("--scaling", action="store_true")
    args = parser.parse_args()
    if args.scaling:
        scaling()
        return 0
    roots = args.corpus or DEFAULT
    paths = sorted(p for root in roots for p in root.rglob("*") if p.suffix in (".yaml", ".yml"))
    for key, value in measure(paths).items():
        print(f"{key:>15}: {value}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
