"""Render alone against render plus its verdict (lint + fault matrix), in process, one at a time.

Each render gets another ``namespace`` so the verdict cache misses; a last pass repeats one rendered
content so it hits. Prints the p50 of each and the ratio; the targets are p50 <= 5 ms for the render and
<= 20 ms with the verdict (the registry adds its HTTP and worker hop on top: bench/bench_registry.py).

    .venv/bin/python bench/bench_render_split.py [--renders 200] [--template provision-process-publish]
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable

from generator.scaffold import build
from generator.template_spec import find_template
from generator.verdict import verdict_of


def p50(samples: list[float]) -> float:
    return statistics.median(samples) * 1000


def timed(count: int, step: Callable[[int], object]) -> list[float]:
    samples = []
    for i in range(count):
        start = time.perf_counter()
        step(i)
        samples.append(time.perf_counter() - start)
    return samples


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--renders", type=int, default=200)
    parser.add_argument("--template", default="provision-process-publish")
    args = parser.parse_args()
    template = find_template(args.template)
    build(template, {})  # warm-up: compiles the template
    render = timed(args.renders, lambda i: build(template, {"namespace": f"render-{i}"}))
    judged = timed(args.renders, lambda i: verdict_of(build(template, {"namespace": f"judged-{i}"})))
    cached = timed(args.renders, lambda _: verdict_of(build(template, {"namespace": "judged-0"})))
    print(f"template: {args.template}, {args.renders} renders each")
    print(f"render only                      p50 {p50(render):7.2f} ms  (target <= 5)")
    print(f"render + verdict (cache miss)    p50 {p50(judged):7.2f} ms  (target <= 20)")
    print(f"render + verdict (cache hit)     p50 {p50(cached):7.2f} ms")
    print(f"ratio verdict-miss / render-only     {p50(judged) / p50(render):7.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
