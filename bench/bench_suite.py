"""How long the suite takes: `make test` and `make test-fast`, wall and CPU, against their targets.

    python bench/bench_suite.py [--only test|test-fast]

Run it on an idle machine. It prints each target's wall time, the CPU seconds it used (every process it
started and waited for, and every core's busy time meanwhile), the ratio to its target (6 and 2 minutes),
then a calibration: the seconds one core takes for a fixed pure-Python loop, before and after. The machines
this project runs on are not equally fast, and one machine's speed was seen to change by half within an
hour, and by more between two runs minutes apart, which a loop before and after does not catch. So a probe
also times a short loop every five seconds while each target runs (0.5% of one core) and prints the
median of its readings, scaled to the calibration's ten million additions: the speed the target actually
ran at, so two runs can be compared."""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import threading
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


PROBE_ADDITIONS = 1_000_000  # a reading: about 25 ms of one core
PROBE_EVERY = 5.0  # seconds between readings (0.5% of one core)


class Probe:
    """Times ``PROBE_ADDITIONS`` additions every ``PROBE_EVERY`` seconds on a thread of its own (the thread's
    own CPU time, so a core shared with the suite does not count as slowness), while a target runs."""

    def __init__(self) -> None:
        self.readings: list[float] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.wait(PROBE_EVERY):
            started = time.thread_time()
            total = 0
            for i in range(PROBE_ADDITIONS):
                total += i
            self.readings.append((time.thread_time() - started) * 10_000_000 / PROBE_ADDITIONS)

    def __enter__(self) -> Probe:
        self._thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def summary(self) -> str:
        if not self.readings:
            return "no probe reading"
        quartiles = statistics.quantiles(self.readings, n=4) if len(self.readings) > 1 else self.readings * 3
        return (f"probe during the run: median {statistics.median(self.readings):.2f} s "
                f"(quartiles {quartiles[0]:.2f}-{quartiles[2]:.2f} s, {len(self.readings)} readings)")


def machine_busy() -> float | None:
    """CPU seconds every core of the machine has spent busy since boot (Linux ``/proc/stat``), or None."""
    try:
        fields = Path("/proc/stat").read_text(encoding="ascii").split("\n", 1)[0].split()[1:]
    except OSError:
        return None
    user, nice, system, _idle, _iowait, irq, softirq = (int(f) for f in fields[:7])
    return (user + nice + system + irq + softirq) / os.sysconf("SC_CLK_TCK")


def timed(target: str, probe: Probe) -> tuple[float, float, float | None, int]:
    """Wall seconds, CPU seconds of the processes it started and waited for, CPU seconds of the whole machine
    meanwhile (None off Linux), and the exit status of ``make TARGET``. The two CPU figures differ by the
    processes nobody waits for: the render workers a registry starts from its fork server are reaped by
    the fork server, which is never waited for itself. On an idle machine the second is the suite's."""
    before, busy_before = resource.getrusage(resource.RUSAGE_CHILDREN), machine_busy()
    started = time.monotonic()
    with probe:
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
        probe = Probe()
        wall, cpu, busy, code = timed(target, probe)
        minutes, seconds = divmod(round(wall), 60)
        machine = "" if busy is None else f" ({busy:,.0f} s busy on the machine)"
        print(f"make {target:<9} {minutes} min {seconds:02d} s wall, {cpu:,.0f} s CPU{machine}, "
              f"{wall / TARGETS[target]:.2f}x its {TARGETS[target] / 60:g}-minute target"
              + ("" if code == 0 else f" (exit {code}: see `make {target}`)") + f"; {probe.summary()}", flush=True)
        status = status or code
    print(f"calibration after: {calibration():.2f} s")
    return status


if __name__ == "__main__":
    sys.exit(main())
