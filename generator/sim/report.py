"""Text output of ``pipeforge simulate``: the timeline, the resources and the verdict."""

from __future__ import annotations

from generator.simulate import SimulationResult


def clock(seconds: float) -> str:
    whole = int(seconds)
    hours, rest = divmod(whole, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}"


def timeline(result: SimulationResult) -> str:
    width = min(max((len(e.node) for e in result.events), default=4), 48)
    lines = [f"  {'time':>8}  {'node':<{width}}  {'phase':<10} {'try':>3}  side effect / message"]
    for event in result.events:
        attempt = "" if event.attempt is None else str(event.attempt)
        notes = [*event.effects, event.message] if event.message else list(event.effects)
        first = notes[0] if notes else ""
        line = f"  {clock(event.time):>8}  {event.node:<{width}}  {event.phase:<10} {attempt:>3}  {first}"
        lines.append(line.rstrip())
        pad = " " * (2 + 8 + 2 + width + 2 + 10 + 1 + 3 + 2)
        lines.extend(pad + note for note in notes[1:])
    return "\n".join(lines) + "\n"


def verdict(result: SimulationResult) -> str:
    lines = []
    handler = "no exit handler"
    if result.exit_handler is not None:
        handler = (f"exit handler {result.exit_handler} ran ({result.exit_phase})" if result.exit_ran
                   else f"exit handler {result.exit_handler} did not run")
    if result.phase == "Running":
        lines.append(f"Workflow: still Running: {result.halted}")
    else:
        lines.append(f"Workflow: {result.phase}; {handler}")
    created = list(dict.fromkeys(result.ledger.created))
    deleted = [r for r in dict.fromkeys(result.ledger.deleted)]
    lines.append("Created: " + (", ".join(created) or "nothing"))
    lines.append("Deleted: " + (", ".join(deleted) or "nothing"))
    inferred = [r for r in result.ledger.resources.values() if r.inferred]
    for resource in inferred:
        lines.append(f"Inferred from a command: {resource.ref} ({resource.declaration})")
    for ref, when in result.removed_with_workflow:
        lines.append(f"Owned by the Workflow: {ref}, {when}")
    for resource in result.orphaned:
        why = "still present when the workflow ended" if resource.verb != "produces" else (
            f"lasting output kept although the workflow ended {result.phase}")
        intent = f"; {resource.why}" if resource.why else ""
        lines.append(f"ORPHANED: {resource.ref} ({resource.declaration}; {why}{intent})")
    for declaration, names in result.duplicated:
        lines.append(f"DUPLICATED: {declaration} made {len(names)} objects: {', '.join(names)}")
    for step in result.unreached:
        lines.append(f"Note: {step} never ran, so the fault or decision naming it was not used")
    lines += _verdict_line(result)
    if result.assumptions:
        lines.append("Assumptions (not modelled offline):")
        lines.extend(f"  - {a}" for a in result.assumptions)
    return "\n".join(lines) + "\n"


def _verdict_line(result: SimulationResult) -> list[str]:
    if result.never_ends is not None:
        return [f"Verdict: UNSAFE: the workflow never ends ({result.never_ends}): no bound stops it, so "
                "nothing after it (exit handler, cleanup) ever runs"]
    if result.phase == "Running":
        return ["Verdict: nothing orphaned or duplicated so far, but the workflow has not ended"]
    if result.safe:
        return ["Verdict: SAFE: nothing orphaned, nothing duplicated"]
    if result.excused is not None:
        return [f"Verdict: known gap: {result.excused} (documented; the matrix judges it the same way)",
                *(f"  - {m}" for m in result.mitigations)]
    return ["Verdict: UNSAFE: the safety invariants are broken (see above)"]


def render(result: SimulationResult) -> str:
    header = f"Simulating {result.manifest} as workflow {result.workflow}\n"
    faults = result.faults.describe()
    if faults:
        header += "Faults: " + "; ".join(faults) + "\n"
    return header + "\n" + timeline(result) + "\n" + verdict(result)
