"""containerSet ``retryStrategy``: the executor re-runs a failing container inside the same pod
(docs/argo-semantics.md "containerSet retries"). ``retries: N`` becomes the executor's backoff ``Steps``,
so a container runs at most N times in all (once when unset). A retry node's retryStrategy, if any, then
retries the whole pod as usual. Only a process failure (an injected Failed) is re-run in the pod; an
injected Error or an unschedulable pod is pod-level and is not.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from generator.sim.expr import ExpressionError
from generator.sim.values import to_int

if TYPE_CHECKING:
    from generator.sim.engine import Engine
    from generator.sim.nodes import Call


def runs_in_pod(engine: Engine, call: Call) -> int:
    """How many times a container of this pod may run (1 without a containerSet retryStrategy)."""
    template = call.template
    if template.kind != "containerSet":
        return 1
    strategy = (template.raw.get("containerSet") or {}).get("retryStrategy")
    if not isinstance(strategy, dict) or strategy.get("retries") is None:
        return 1
    try:
        runs = to_int(engine.subst(str(strategy["retries"]), call.scope))
    except ExpressionError:
        engine.assume(f"containerSet retryStrategy.retries of {template.name} is not a number: one run")
        return 1
    engine.assume(f"containerSet retryStrategy of {template.name}: a failing container is re-run inside its pod, "
                  f"{max(runs, 1)} run(s) in all (the executor's backoff Steps), before the pod fails")
    return max(runs, 1)


def recovers_in_pod(engine: Engine, call: Call, first: int) -> int | None:
    """After run ``first`` of the step failed: the in-pod re-run that succeeds, counted from 1, or None.
    Advances the step's run counter past every run the pod used."""
    node = call.node
    allowed = runs_in_pod(engine, call)
    for extra in range(1, allowed):
        engine.runs[node.name] = first + extra + 1
        if engine.faults.injected(node.step, first + extra) is None:
            return extra
    return None
