"""The simulator on the real-world corpus (../shared/realworld): for every file, ``simulate --json`` (the
fault-free run) and ``--matrix``, in process, timed per file; then the table the simulator is judged by:

- files whose matrix injects at least one fault (a matrix with none does not pass);
- files where lint's PF101 (cleanup as an ordinary last step) and the matrix agree: PF101 and a failing
  matrix, or neither;
- fault-free runs that orphan something, each listed with its orphans;
- fault-free runs that leave something that is not an orphan: an output kept on success (``produces``, or
  an undeclared creation no step deletes, nor other objects of its kind by name) or an object owned by the
  Workflow (removed with it).

    .venv/bin/python bench/bench_realworld.py [--list] [--corpus DIR]

The 5 s per-file bound is a figure printed here, not a timed test assertion. The machine may be shared:
per-file times are wall-clock.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from generator.errors import PipeforgeError  # noqa: E402
from generator.lint import lint_file  # noqa: E402
from generator.sim.matrix import run_matrix  # noqa: E402
from generator.simulate import load, simulate  # noqa: E402

CORPUS = ROOT.parent / "shared" / "realworld"
BOUND_SECONDS = 5.0


@dataclass
class Outcome:
    file: str
    refused: str | None = None  # not simulated: no runnable workflow, or invalid (Argo rejects it)
    seconds: float = 0.0  # the slower of the two commands: simulate --json, simulate --matrix
    cpu: float = 0.0  # the same in CPU time (what other jobs on a shared machine do not inflate)
    injected: int = 0
    failed: bool = False
    leaks: bool = False  # some scenario orphans or duplicates (not only "never ends")
    pf101: bool = False
    orphans: list[str] = field(default_factory=list)
    kept: list[str] = field(default_factory=list)  # left by the fault-free run, not orphans: outputs, owned objects
    failing: list[str] = field(default_factory=list)


def examine(path: Path, corpus: Path = CORPUS) -> Outcome:
    outcome = Outcome(str(path.relative_to(corpus)))
    outcome.pf101 = any(f.rule == "PF101" for f in lint_file(path))
    start, cpu = time.perf_counter(), time.process_time()
    try:
        target = load(path)
        target.validate()
    except PipeforgeError as exc:
        outcome.refused = exc.message.splitlines()[0]
        return outcome
    baseline = simulate(target)
    json.dumps(baseline.as_dict())
    middle, cpu_middle = time.perf_counter(), time.process_time()
    matrix = run_matrix(load(path))
    json.dumps(matrix.as_dict())
    outcome.seconds = max(middle - start, time.perf_counter() - middle)
    outcome.cpu = max(cpu_middle - cpu, time.process_time() - cpu_middle)
    outcome.injected = matrix.injected
    outcome.failed = not matrix.ok
    outcome.leaks = any(row.result.never_ends is None for row in matrix.violations)
    outcome.orphans = [r.ref for r in baseline.orphaned]
    orphaned = {r.ref for r in baseline.orphaned}
    outcome.kept = [f"{r.ref} ({'owned by the Workflow' if r.owned else 'output'}"
                    f"{', inferred from a command' if r.inferred else ''})"
                    for r in baseline.ledger.resources.values() if r.present and r.ref not in orphaned]
    outcome.failing = [row.title for row in matrix.violations][:3]
    return outcome


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--list", action="store_true", help="list every file's outcome")
    parser.add_argument("--corpus", type=Path, default=CORPUS,
                        help="the real-world corpus folder (default: ../shared/realworld beside the repository)")
    args = parser.parse_args()
    corpus = args.corpus.resolve()
    if not corpus.is_dir():
        print(f"{corpus} is absent: the corpus lives in ../shared beside the repository (or pass --corpus DIR)")
        return 2
    files = sorted(p for p in corpus.rglob("*") if p.suffix in (".yaml", ".yml"))
    outcomes = [examine(p, corpus) for p in files]
    ran = [o for o in outcomes if o.refused is None]
    slow = [o for o in ran if o.seconds > BOUND_SECONDS]
    pf101 = [o for o in ran if o.pf101]
    print(f"files: {len(files)}; simulated: {len(ran)}; refused: {len(outcomes) - len(ran)} "
          "(no runnable workflow, or invalid as Argo would reject it)")
    print(f"slowest command (simulate --json or --matrix, file read included): {max(o.seconds for o in ran):.2f} s "
          f"({max(ran, key=lambda o: o.seconds).file}); over {BOUND_SECONDS:g} s: {len(slow)}; "
          f"in CPU time: {max(o.cpu for o in ran):.2f} s, over {BOUND_SECONDS:g} s: "
          f"{sum(1 for o in ran if o.cpu > BOUND_SECONDS)}")
    print(f"matrices injecting at least one fault: {sum(1 for o in ran if o.injected)} of {len(ran)}")
    for o in ran:
        if not o.injected:
            print(f"  no fault injected: {o.file}")
    print(f"matrices failing: {sum(1 for o in ran if o.failed)} of {len(ran)}")
    print(f"matrices failing on an orphan or duplicate (not only on a run that never ends): "
          f"{sum(1 for o in ran if o.leaks)} of {len(ran)}")
    agree = [o for o in ran if o.pf101 == o.leaks]
    print(f"PF101 and the matrix agree (PF101 and a leak, or neither): {len(agree)} of {len(ran)} "
          f"(PF101 files: {len(pf101)}, of which the matrix finds a leak in {sum(1 for o in pf101 if o.leaks)})")
    for o in pf101:
        if not o.leaks:
            print(f"  PF101 but no leak in the matrix: {o.file}")
    for o in ran:
        if o.leaks and not o.pf101:
            print(f"  a leak without PF101: {o.file}")
    orphaning = [o for o in ran if o.orphans]
    print(f"fault-free runs that orphan something: {len(orphaning)}")
    for o in orphaning:
        print(f"  {o.file}: {', '.join(o.orphans)}")
    keeping = [o for o in ran if o.kept]
    print(f"fault-free runs that leave something that is not an orphan (an output kept on success, or owned by "
          f"the Workflow): {len(keeping)}")
    for o in keeping:
        print(f"  {o.file}: {', '.join(o.kept)}")
    if args.list:
        for o in outcomes:
            state = o.refused or (f"{'FAILED' if o.failed else 'passed'}, {o.injected} faults, {o.seconds:.2f} s"
                                  + (f" ({'; '.join(o.failing)})" if o.failing else ""))
            print(f"{o.file}: {'PF101 ' if o.pf101 else ''}{state}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
