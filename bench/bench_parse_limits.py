"""Worst inputs per parser entry point, after the reading limits: wall time and peak memory of each run.

Each case runs in its own process (so peak RSS is that run's alone, from getrusage of the child). The
inputs are the worst this script knows for each limit: bombs that must be refused, and inputs just under
the caps that must be read. The peer is PyYAML's C safe loader (``yaml.load(..., CSafeLoader)``, then a
``json.dumps`` of the result as any consumer that walks it would do) on the same text, run with a
wall-clock cap and a 2 GB address-space cap; "killed" means it hit one.

    .venv/bin/python bench/bench_parse_limits.py [--runs 1] [--peer-timeout 20]
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
HEAD = "apiVersion: argoproj.io/v1alpha1\nkind: Workflow\nmetadata: {name: w}\nspec:\n  entrypoint: main\n"
TAIL = "  templates:\n    - name: main\n      container: {image: alpine:3.20, command: [true]}\n"


def laughs(levels: int, fanout: int, indent: str = "    ") -> str:
    lines = [f'{indent}l0: &l0 ["lol"]']
    lines += [f"{indent}l{i}: &l{i} [{', '.join([f'*l{i - 1}'] * fanout)}]" for i in range(1, levels + 1)]
    return "\n".join(lines) + "\n"


def cases() -> dict[str, str]:
    budget, tasks = 4 * 1024 * 1024 - 1024, []
    while budget > 0:
        tasks.append(f"          - {{name: t{len(tasks)}, template: main}}\n")
        budget -= len(tasks[-1])
    big_task = "".join(tasks[:-1])
    return {
        "recursive alias (refused)": HEAD + "  templates: &t\n    - name: main\n      steps: [*t]\n",
        "billion laughs 9x9 (refused)": HEAD + "  arguments:\n" + laughs(9, 9) + TAIL,
        "fan-out just under the alias cap (read)": HEAD + "  arguments:\n" + laughs(4, 17) + TAIL,
        "depth 100, the cap (read)": HEAD + "  arguments: {x: " + "[" * 96 + "]" * 96 + "}\n" + TAIL,
        "depth 999 flow (refused)": HEAD + "  arguments: {x: " + "[" * 995 + "]" * 995 + "}\n" + TAIL,
        "4 MB DAG, under the size cap (read)": HEAD.replace("entrypoint: main", "entrypoint: d") + TAIL
        + "    - name: d\n      dag:\n        tasks:\n" + big_task,
    }


def measure(command: list[str], *, timeout: float, memory: int | None = None,
            env: dict[str, str] | None = None) -> tuple[float, float, str]:
    """(seconds, peak MB, outcome) of one child process, its own rusage read with os.wait4."""

    def limits() -> None:
        if memory:
            resource.setrlimit(resource.RLIMIT_AS, (memory, memory))

    started = time.perf_counter()
    child = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, preexec_fn=limits,
                             env={**os.environ, "PYTHONPATH": str(ROOT), **(env or {})})
    timer = threading.Timer(timeout, child.kill)
    timer.start()
    assert child.stderr is not None
    err = child.stderr.read().decode(errors="replace")
    _, status, usage = os.wait4(child.pid, 0)
    child.returncode = os.waitstatus_to_exitcode(status)
    killed = not timer.is_alive()
    timer.cancel()
    elapsed = time.perf_counter() - started
    if killed:
        outcome = "killed (time)"
    elif "MemoryError" in err:
        outcome = "killed (memory)"
    else:
        outcome = f"exit {child.returncode}"
    return elapsed, usage.ru_maxrss / 1024, outcome


def publish_cases() -> dict[str, str]:
    """Blocks put under ``parameters:`` of a template.yaml."""
    return {
        "template.yaml billion laughs 9x9 (refused)": "  x-lol:\n" + laughs(9, 9, "    "),
        "template.yaml recursive alias (refused)": "  x-loop: &loop\n    - *loop\n",
        "template.yaml 200 KB schema (refused, MAX_SCHEMA_BYTES)": "  description: '" + "d" * 200_000 + "'\n",
    }


def answers_cases() -> dict[str, str]:
    head = "template: saga-compensation\nversion: 1.0.0\nparameters:\n"
    return {
        "answers billion laughs 9x10 (refused)": head + laughs(9, 10, "  ") + "  namespace: *l9\n",
        "answers 4,096 aliases of 60 long strings (read, echoed bounded)": head + "  x-w: &w ["
        + ", ".join(["'" + "w" * 60 + "'"] * 64) + "]\n  namespace: [" + ", ".join(["*w"] * 64) + "]\n",
    }


def run_cli(label: str, command: list[str], runs: int, env: dict[str, str] | None = None) -> None:
    results = [measure(command, timeout=300, env=env) for _ in range(runs)]
    seconds = statistics.median(r[0] for r in results)
    print(f"{label:60} {seconds:8.2f} s {max(r[1] for r in results):6.0f} MB  {results[0][2]}")


def other_entry_points(scratch: Path, runs: int) -> None:
    print()
    print("catalog publish / upgrade (one process each)")
    env = {"PIPEFORGE_DATABASE_URL": f"sqlite:///{scratch}/bench.db"}
    for index, (label, block) in enumerate(publish_cases().items()):
        folder = scratch / f"tpl{index}"
        shutil.copytree(ROOT / "templates" / "saga-compensation", folder)
        meta = folder / "template.yaml"
        meta.write_text(meta.read_text(encoding="utf-8").replace("\nparameters:\n", "\nparameters:\n" + block, 1),
                        encoding="utf-8")
        run_cli(label, [sys.executable, "-m", "generator", "catalog", "publish", str(folder)], runs, env)
    for index, (label, text) in enumerate(answers_cases().items()):
        folder = scratch / f"pipeline{index}"
        folder.mkdir()
        (folder / ".pipeforge-answers.yaml").write_text(text, encoding="utf-8")
        run_cli(label, [sys.executable, "-m", "generator", "upgrade", str(folder), "--dry-run"], runs)


PEER = ("import json, sys, yaml; text = open(sys.argv[1]).read(); "
        "[json.dumps(d, default=str) for d in yaml.load_all(text, Loader=yaml.CSafeLoader)]")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=1)
    parser.add_argument("--peer-timeout", type=float, default=20)
    parser.add_argument("--only-others", action="store_true", help="only catalog publish and upgrade")
    args = parser.parse_args()
    print(f"{'input':42} {'command':9} {'seconds':>8} {'peak MB':>8}  outcome      | PyYAML peer")
    with tempfile.TemporaryDirectory() as scratch:
        for label, text in ({} if args.only_others else cases()).items():
            path = Path(scratch, "case.yaml")
            path.write_text(text, encoding="utf-8")
            peer = measure([sys.executable, "-c", PEER, str(path)], timeout=args.peer_timeout, memory=2 << 30)
            for command in ("lint", "explain", "simulate", "harden"):
                runs = [measure([sys.executable, "-m", "generator", command, str(path)], timeout=300)
                        for _ in range(args.runs)]
                seconds = statistics.median(r[0] for r in runs)
                peak = max(r[1] for r in runs)
                print(f"{label:42} {command:9} {seconds:8.2f} {peak:8.0f}  {runs[0][2]:12} | "
                      f"{peer[0]:.2f} s, {peer[1]:.0f} MB, {peer[2]}")
        other_entry_points(Path(scratch), args.runs)


if __name__ == "__main__":
    main()
