"""Time whole-process `pipeforge new --no-input` against `cookiecutter --no-input` on the same template.

Runs alternate (pipeforge, cookiecutter, pipeforge, ...) so that machine noise hits both alike, each into
a fresh folder. Prints both medians and the ratio; the issue's target is a ratio of at most 0.7.

    .venv/bin/python bench/bench_new.py [--runs 21] [--template provision-process-publish]
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def timed(command: list[str], cwd: Path) -> float:
    start = time.perf_counter()
    subprocess.run(command, cwd=cwd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                   stdin=subprocess.DEVNULL)
    return time.perf_counter() - start


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=21)
    parser.add_argument("--template", default="provision-process-publish")
    args = parser.parse_args()
    bin_dir = Path(sys.executable).parent
    pipeforge, cookiecutter = bin_dir / "pipeforge", bin_dir / "cookiecutter"
    template_dir = ROOT / "templates" / args.template
    ours: list[float] = []
    theirs: list[float] = []
    with tempfile.TemporaryDirectory() as scratch:
        work = Path(scratch)
        # One warm-up each: first runs pay for .pyc compilation and the field-table cache.
        timed([str(pipeforge), "new", args.template, "--no-input", "-o", "warm"], work)
        timed([str(cookiecutter), "--no-input", "-o", "warm-cc", str(template_dir)], work)
        for run in range(args.runs):
            ours.append(timed([str(pipeforge), "new", args.template, "--no-input", "-o", f"p{run}", "--quiet"], work))
            theirs.append(timed([str(cookiecutter), "--no-input", "-o", f"c{run}", str(template_dir)], work))
            shutil.rmtree(work / f"p{run}")
            shutil.rmtree(work / f"c{run}")
    ours_median, theirs_median = statistics.median(ours), statistics.median(theirs)
    print(f"template: {args.template}, {args.runs} alternating runs each")
    print(f"pipeforge new --no-input     median {ours_median * 1000:7.1f} ms")
    print(f"cookiecutter --no-input      median {theirs_median * 1000:7.1f} ms")
    print(f"ratio pipeforge/cookiecutter        {ours_median / theirs_median:7.2f}  (target <= 0.70)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
