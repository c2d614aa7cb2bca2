"""How long the suite takes: `make test` and `make test-fast`, wall and CPU, against their targets.

    python bench/bench_suite.py [--only test|test-fast]

Run it on an idle machine. It prints each target's wall time, the CPU seconds it used (every process it
started and waited for, and every core's busy time meanwhile), the ratio to its target (6 and 2 minutes),
then a calibration: the seconds one core takes for a fixed pure-Python loop, before and after. The machines
this project runs on are not equally fast, and one machine's speed was seen to change by half within an
hour; the calibration says which speed the figures were measured at, so two runs can be compared."""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TARGETS = {"test-fast": 120.0, "test": 360.0}


def calibration() -> float:
    """Seconds of one core for ten million additions in a Python loop (median of three)."""
    times = []
    for _ in range(3):
        started = time.process_time()
        total = 0
        for i in range(10_000_000):
            total += i
        times.append(time.process_time() - started)
    return statistics.median(times)


def machine_busy() -> float | None:
    """CPU seconds every core of the machine has spent busy since boot (Linux ``/proc/stat``), or None."""
    try:
        fields = Path("/proc/stat").read_text(encoding="ascii").split("\n", 1)[0].split()[1:]
    except OSError:
        return None
    user, nice, system, _idle, _iowait, irq, softirq = (int(f) for f in fields[:7])
    return (user + nice + system + irq + softirq) / os.sysconf("SC_CLK_TCK")


def timed(target: str) -> tuple[float, float, float | None, int]:
    """Wall seconds, CPU seconds of the processes it started and waited for, CPU seconds of the whole machine
    meanwhile (None off Linux), and the exit status of ``make TARGET``. The two CPU figures differ by the
    processes nobody waits for: the render workers a registry starts from its fork server are reaped by
    the fork server, which is never waited for itself. On an idle machine the second is the suite's."""
    before, busy_before = resource.getrusage(resource.RUSAGE_CHILDREN), machine_busy()
    started = time.monotonic()
    done = subprocess.run(["make", target], cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT,
                          check=False)
    wall = time.monotonic() - started
    after, busy_after = resource.getrusage(resource.RUSAGE_CHILDREN), machine_busy()
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    busy = None if busy_before is None or busy_after is None else busy_after - busy_before
    return wall, cpu, busy, done.returncode


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", 1)[0])
    parser.add_argument("--only", choices=sorted(TARGETS), help="time one target (default: test-fast, then test)")
    args = parser.parse_args(argv)
    targets = [args.only] if args.only else ["test-fast", "test"]
    print(f"{os.cpu_count()} cores; calibration before: {calibration():.2f} s", flush=True)
    status = 0
    for target in targets:
        wall, cpu, busy, code = timed(target)
        minutes, seconds = divmod(round(wall), 60)
        machine = "" if busy is None else f" ({busy:,.0f} s busy on the machine)"
        print(f"make {target:<9} {minutes} min {seconds:02d} s wall, {cpu:,.0f} s CPU{machine}, "
              f"{wall / TARGETS[target]:.2f}x its {TARGETS[target] / 60:g}-minute target"
              + ("" if code == 0 else f" (exit {code}: see `make {target}`)"), flush=True)
        status = status or code
    print(f"calibration after: {calibration():.2f} s")
    return status


if __name__ == "__main__":
    sys.exit(main())
