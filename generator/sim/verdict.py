"""The documented exceptions to the safety invariants, judged the same way for one run and for the matrix.

- terminate: Argo runs no exit handler (reference §3), so what it leaves is a known gap; the verdict
  names the mitigation, an ownerReference to the Workflow, and which resources lack one;
- a cleanup or compensation step that itself fails for good (its retries, if any, did not save it):
  allowed only when the workflow then ends Failed or Error, so the leak is loud.

A run that never ends is never excused: no bound reaches it, so nothing ever cleans up.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from generator.sim.catalogue import StepInfo
    from generator.simulate import SimulationResult

TERMINATE_GAP = "argo terminate runs no exit handler"


def excuse(result: SimulationResult, steps: dict[str, StepInfo]) -> tuple[str | None, list[str]]:
    """(the exception that covers the broken invariants, mitigations), or (None, []) when none does."""
    if result.safe or result.never_ends is not None:
        return None, []
    faults = result.faults
    if faults.terminate_at and faults.terminate_at in result.touched and not result.duplicated:
        return TERMINATE_GAP, [_mitigation(r.ref, r.owned) for r in result.orphaned]
    ended = {n.step: n.phase for n in result.nodes if n.children is None}
    faulted = [*faults.fail, *faults.hang]
    cleanups = [s for s in faulted if s in steps and steps[s].cleanup and ended.get(s) in ("Failed", "Error")]
    if cleanups and result.phase in ("Failed", "Error"):
        return f"the cleanup step fails for good and the workflow ends {result.phase}", []
    return None, []


def _mitigation(ref: str, owned: bool) -> str:
    if owned:
        return f"{ref}: owned by the Workflow, garbage-collected when it is deleted"
    return f"{ref}: no ownerReference; add one to the Workflow (setOwnerReference: true) or sweep it by label"
