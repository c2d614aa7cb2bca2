"""Suspend nodes: approval gates and timed waits (reference §6).

No duration waits for ``argo resume`` (``--resume``) or ``argo stop`` on the node (``--reject``, Failed).
A duration auto-resumes Succeeded when it passes, so a timed gate approves by default. On resume each
``valueFrom.supplied`` output not set gets its ``valueFrom.default``, else the same-named input's value;
with neither the resume fails with an error. Stop, Terminate and the workflow deadline fail a waiting gate.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

from generator.sim.nodes import Activity, Call, Done
from generator.sim.values import text, wait_seconds

if TYPE_CHECKING:
    from generator.sim.engine import Engine


def run_gate(engine: Engine, call: Call, done: Done) -> None:
    node = call.node
    name = node.step
    engine.touched.add(name)
    activity = Activity(engine, "gate", call, 0, done)
    engine.active[activity.id] = activity
    engine.record(node, "Running", 0, message="suspended")
    faults = engine.faults
    if name in faults.reject:
        engine.schedule(0.0, _decide, engine, activity, None, "rejected: argo stop on the node")
    elif name in faults.resume:
        engine.schedule(0.0, _decide, engine, activity, faults.resume[name], "resumed")
    else:
        template = call.template
        duration = wait_seconds(engine.subst(template.suspend_duration, call.scope)) \
            if template.suspend_duration is not None else None
        if template.suspend_duration is not None and duration is None:
            engine.assume(f"suspend duration {template.suspend_duration!r} of {template.name} is not a duration: "
                          "taken as no duration")
        if duration is not None:
            engine.schedule(duration, _decide, engine, activity, {}, f"auto-resumed after {template.suspend_duration}")
        elif name in faults.hang:
            activity.hung = True
        else:
            activity.undecided = True


def _decide(engine: Engine, activity: object, values: Mapping[str, str] | None, how: str) -> None:
    assert isinstance(activity, Activity)
    if activity.cancelled:
        return
    activity.cancelled = True
    del engine.active[activity.id]
    node = activity.call.node
    if values is None:
        engine.record(node, "Failed", 0, message=how)
        activity.done("Failed", how)
        return
    outputs, missing = supplied_outputs(activity.call, values)
    if missing:
        message = f"{how}, but output parameter {missing} has no value and no default"
        engine.record(node, "Error", 0, message=message)
        activity.done("Error", message)
        return
    node.outputs.update({f"outputs.parameters.{k}": v for k, v in outputs.items()})
    for param in activity.call.template.outputs:
        if param.global_name and param.name in outputs:
            engine.globals.values[f"workflow.outputs.parameters.{param.global_name}"] = outputs[param.name]
    shown = ", ".join(f"{k}={v}" for k, v in outputs.items())
    engine.record(node, "Succeeded", 0, message=how + (f" ({shown})" if shown else ""))
    activity.done("Succeeded", "")


def supplied_outputs(call: Call, values: Mapping[str, str]) -> tuple[dict[str, str], str | None]:
    outputs: dict[str, str] = {}
    for param in call.template.outputs:
        if not param.supplied:
            continue
        value = values.get(param.name)
        if value is None and param.value_from is not None and param.value_from.get("default") is not None:
            value = text(param.value_from["default"])
        if value is None:
            value = call.scope.get(f"inputs.parameters.{param.name}")
        if value is None:
            return outputs, param.name
        outputs[param.name] = value
    return outputs, None
