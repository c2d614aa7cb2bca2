"""Time whole-process `pipeforge lint` against checkov on Argo's example corpus and on the real-world
corpus, and on synthetic DAGs.

checkov runs from its own virtualenv (bench/.venv-checkov, created with `pip install checkov` on first use)
with `--framework argo_workflows --skip-download`. Runs alternate (pipeforge, pipeforge --jobs 1, checkov,
...) so machine noise hits all alike; for each corpus the script prints the medians and the ratios of
pipeforge by default (one process per CPU) and in one process (target: pipeforge at least 15x faster while
running every rule), then lints synthetic DAGs of 10,000 and 20,000 tasks (targets: at
most 1 s, and at most 2.2x that).

    .venv/bin/python bench/bench_lint.py [--runs 7] [--corpus DIR ...] [--no-checkov]
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CHECKOV_ENV = ROOT / "bench" / ".venv-checkov"


CPU: list[float] = []  # CPU seconds (user + system) of each timed child, in order
# Children may write .pyc files (the warm-up run does), as every installed copy has them: without them each
# run would time compiling pipeforge's sources, not linting.
CHILD_ENV = {key: value for key, value in os.environ.items() if key != "PYTHONDONTWRITEBYTECODE"}


def timed(command: list[str]) -> float:
    """Wall-clock seconds of one whole-process run; its CPU seconds are appended to CPU."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    result = subprocess.run(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, stdin=subprocess.DEVNULL,
                            env=CHILD_ENV)
    elapsed = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    CPU.append(after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime)
    if result.returncode not in (0, 1):
        raise SystemExit(f"{' '.join(command)} exited {result.returncode}")
    return elapsed


def checkov() -> Path:
    binary = CHECKOV_ENV / "bin" / "checkov"
    if not binary.exists():
        print(f"installing checkov into {CHECKOV_ENV} (first run only)...", flush=True)
        venv.create(CHECKOV_ENV, with_pip=True)
        pip = subprocess.run([str(CHECKOV_ENV / "bin" / "pip"), "install", "--quiet", "checkov"],
                             capture_output=True, text=True, check=False)
        if pip.returncode != 0:
            raise SystemExit(f"pip install checkov failed:\n{pip.stderr}")
    return binary


def synthetic_dag(tasks: int) -> str:
    """One DAG of `tasks` tasks in a binary tree, each calling a pinned, bounded, deadlined template."""
    lines = [
        "apiVersion: argoproj.io/v1alpha1", "kind: Workflow", "metadata:", "  generateName: big-dag-",
        "spec:", "  entrypoint: main", "  onExit: cleanup", "  templates:", "    - name: main", "      dag:",
        "        tasks:",
    ]
    for i in range(tasks):
        lines += [f"          - name: t{i}", "            template: work"]
        if i:
            lines.append(f"            depends: t{(i - 1) // 2}")
    lines += [
        "    - name: work", "      activeDeadlineSeconds: 600",
        "      retryStrategy: {limit: 2, retryPolicy: OnError, backoff: {duration: 5s, factor: 2}}",
        "      container: {image: 'busybox:1.36.1', command: [echo, hi]}",
        "    - name: cleanup", "      activeDeadlineSeconds: 300",
        "      retryStrategy: {limit: 2, retryPolicy: Always, backoff: {duration: 5s, factor: 2}}",
        "      container: {image: 'busybox:1.36.1', command: [echo, bye]}",
    ]
    return "\n".join(lines) + "\n"


def compare(corpus: Path, runs: int, with_checkov: bool, pipeforge: str) -> None:
    """Alternate whole-process runs of both linters on one folder and print the medians and the ratios:
    pipeforge as it runs by default (--jobs auto: one process per CPU) and in one process (--jobs 1)."""
    files = sum(1 for p in corpus.rglob("*") if p.suffix in (".yaml", ".yml"))
    commands = {
        "pipeforge lint (all rules)": [pipeforge, "lint", "--format", "json", str(corpus)],
        "pipeforge lint --jobs 1": [pipeforge, "lint", "--format", "json", "--jobs", "1", str(corpus)],
    }
    if with_checkov:
        commands["checkov argo_workflows"] = [str(checkov()), "-d", str(corpus), "--framework", "argo_workflows",
                                              "--skip-download", "--quiet", "--compact", "-o", "json"]
    for command in commands.values():
        timed(command)  # warm-up: .pyc files and the field-table cache
    wall: dict[str, list[float]] = {name: [] for name in commands}
    cpu: dict[str, list[float]] = {name: [] for name in commands}
    for _ in range(runs):
        for name, command in commands.items():
            wall[name].append(timed(command))
            cpu[name].append(CPU[-1])
    print(f"corpus: {corpus} ({files} files), {runs} alternating whole-process runs each, {os.cpu_count()} CPUs, "
          f"load average {os.getloadavg()[0]:.1f}")
    for name in commands:
        print(f"{name:<28} median {statistics.median(wall[name]) * 1000:8.1f} ms wall, "
              f"{statistics.median(cpu[name]) * 1000:8.1f} ms CPU")
    if with_checkov:
        theirs_wall = statistics.median(wall["checkov argo_workflows"])
        theirs_cpu = statistics.median(cpu["checkov argo_workflows"])
        for name in list(commands)[:2]:
            print(f"{name}: {theirs_wall / statistics.median(wall[name]):.1f}x faster than checkov wall-clock, "
                  f"{theirs_cpu / statistics.median(cpu[name]):.1f}x in CPU time (target >= 15x)")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--corpus", type=Path, action="append",
                        help="folder to lint (repeatable; default: ../shared/argo/examples and ../shared/realworld)")
    parser.add_argument("--no-checkov", action="store_true", help="skip the checkov comparison")
    args = parser.parse_args()
    pipeforge = str(Path(sys.executable).parent / "pipeforge")
    corpora = args.corpus or [ROOT.parent / "shared" / "argo" / "examples", ROOT.parent / "shared" / "realworld"]
    for corpus in corpora:
        if not corpus.is_dir():
            raise SystemExit(f"{corpus}: no such folder")
        compare(corpus, args.runs, not args.no_checkov, pipeforge)
    with tempfile.TemporaryDirectory() as scratch:
        medians = {}
        for tasks in (10_000, 20_000):
            path = Path(scratch, f"dag-{tasks}.yaml")
            path.write_text(synthetic_dag(tasks), encoding="utf-8")
            medians[tasks] = statistics.median(timed([pipeforge, "lint", str(path)]) for _ in range(args.runs))
            print(f"synthetic DAG, {tasks:6,} tasks    median {medians[tasks] * 1000:8.1f} ms (whole process)")
        print(f"20,000 / 10,000 tasks              {medians[20_000] / medians[10_000]:8.2f}  (target <= 2.2; "
              f"10,000 tasks target <= 1000 ms)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
