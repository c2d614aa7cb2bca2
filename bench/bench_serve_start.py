"""How long `pipeforge serve` takes to be ready: from the process start to the first 200 from ``/readyz``,
on a fresh SQLite catalog (so the migrations and the built-in templates' publication are included),
beside the same measurement for a bare FastAPI app under uvicorn (``bench/bare_app.py``), the floor any
FastAPI service on this machine pays.

    .venv/bin/python bench/bench_serve_start.py [--runs 5]

It prints the median and the fastest of each, and the ratio of the medians. A registry replica pays this on
every start and every roll-out of itself; the suite pays it for every `pipeforge serve` its tests start.
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from pathlib import Path

from bench_registry import free_port, served

ROOT = Path(__file__).resolve().parent.parent


def ready_seconds(args: list[str], env: dict[str, str], path: str) -> float:
    """Seconds from starting ``python -m ARGS --port P`` until ``path`` answers (an HTTP error does not count:
    ``/readyz`` says 503 until the catalog is open)."""
    started = time.perf_counter()
    with served(args, env, free_port(), path=path, poll=0.02):
        return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    registry, bare = [], []
    with tempfile.TemporaryDirectory() as scratch:
        payload = Path(scratch) / "payload.json"
        payload.write_text(json.dumps({"items": []}), encoding="utf-8")
        uvicorn = ["uvicorn", "--host", "127.0.0.1", "--log-level", "warning", "bare_app:app",
                   "--app-dir", str(ROOT / "bench")]
        for run in range(args.runs):  # alternated, so a change in the machine's speed hits both alike
            url = f"sqlite:///{Path(scratch) / f'catalog-{run}.db'}"
            registry.append(ready_seconds(["generator", "serve", "--log-level", "warning"],
                                          {"PIPEFORGE_DATABASE_URL": url}, "/readyz"))
            bare.append(ready_seconds(uvicorn, {"BENCH_PAYLOAD": str(payload)}, "/api/v1/templates"))
    for label, times in (("pipeforge serve", registry), ("bare FastAPI", bare)):
        print(f"{label:16} ready in {statistics.median(times):5.2f} s median, {min(times):5.2f} s fastest "
              f"({args.runs} starts)")
    print(f"ratio {statistics.median(registry) / statistics.median(bare):.1f}x the bare app's start")


if __name__ == "__main__":
    main()
