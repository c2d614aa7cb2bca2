"""Side effects of one attempt: ``pipeforge.io/creates|produces|deletes`` annotations and resource templates.

Names resolve against the attempt's values (``pod.name`` and ``generateName`` suffixes are new per
attempt, ``retries`` is the attempt index). The *logical* name keeps those per-attempt parts symbolic:
one declaration reaching two actual names for the same logical name is a duplicate (reference §8:
``generateName`` + retry, issue #12009). ``create`` of a name that exists fails the attempt (AlreadyExists).
A resource-template creation no annotation declares is temporary or an output by ``generator.sim.intent``
(the rule shared with objects read from commands), and the timeline says which and why.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from generator.sim.inferred import command_effects, perform_commands
from generator.sim.intent import intent
from generator.sim.values import suffix

if TYPE_CHECKING:
    from generator.model import ResourceAction
    from generator.sim.engine import Engine
    from generator.sim.nodes import Call

_SYMBOLIC = {"retries": "<retries>", "pod.name": "<pod.name>"}


def perform(engine: Engine, call: Call, *, failing: bool) -> tuple[tuple[str, ...], str | None]:
    """Apply an attempt's side effects to the ledger; returns what it did and an AlreadyExists error.

    The worst case for a failing attempt: it created and produced what it declares, but deleted nothing."""
    template = call.template
    resource = template.resource
    if not template.side_effects and (resource is None or not resource.kind) and not command_effects(template):
        return (), None
    seed = next(engine.ids)
    names = [e.name for e in template.side_effects] + [resource.name or "" if resource else ""]
    pod_name = f"{engine.workflow_name}-{template.name}-{suffix(seed, 10)}" if any(
        "pod.name" in n for n in names) else ""
    scope = call.scope.child({"pod.name": pod_name} if pod_name else {})
    logical_scope = scope.child(dict(_SYMBOLIC))
    declared = {}
    for effect in template.side_effects:
        ref = f"{effect.kind}/{engine.subst(effect.name, scope)}"
        declared[ref] = effect
    done: list[str] = []
    error = None
    handled: set[str] = set()
    if resource is not None and resource.kind:
        owned = resource.set_owner_reference or resource.has_owner_references
        if resource.name:
            name = engine.subst(resource.name, scope)
            logical = engine.subst(resource.name, logical_scope)
        else:
            prefix = engine.subst(resource.generate_name or "", scope)
            name, logical = prefix + suffix(seed), prefix + "<generateName>"
        ref = f"{resource.kind}/{name}"
        action = resource.action or "?"
        declared_as = declared.get(ref)
        if action in ("create", "apply", "replace"):
            if action == "create" and engine.ledger.exists(ref):
                error = f"{ref} AlreadyExists: create of a fixed name is not idempotent"
                done.append(f"create {ref}: AlreadyExists")
            else:
                label = f"{template.name}: resource {action} {resource.target}"
                verb = declared_as.verb if declared_as is not None and declared_as.verb != "deletes" else None
                done.append(f"{action} {ref}" + _create(engine, resource, ref, verb, label, logical, owned=owned))
        elif action == "delete" and not failing:
            engine.ledger.delete(ref)
            done.append(f"delete {ref}")
        handled.add(ref)
    for ref, effect in declared.items():
        if ref in handled:
            continue
        if effect.verb == "deletes":
            if failing:
                continue
            engine.ledger.delete(ref)
        else:
            logical = f"{effect.kind}/{engine.subst(effect.name, logical_scope)}"
            label = f"{template.name}: {effect.verb} {effect.ref}"
            engine.ledger.create(ref, verb=effect.verb, declaration=label, logical=logical, owned=False)
        done.append(f"{effect.verb} {ref}")
    handled.update(declared)
    done += perform_commands(engine, call, scope, failing=failing, handled=handled)
    return tuple(done), error


def _create(engine: Engine, resource: ResourceAction, ref: str, verb: str | None, label: str, logical: str, *,
            owned: bool) -> str:
    """Record a resource template's creation under its declared ``verb``, else as its intent says
    (temporary or an output); returns the timeline's note on an undeclared creation."""
    if verb is not None:
        engine.ledger.create(ref, verb=verb, declaration=label, logical=logical, owned=owned)
        return ""
    why = intent(engine.temporary, resource.kind or "", resource.name, group=resource.api_group)
    engine.ledger.create(ref, verb="undeclared" if why.temporary else "produces", declaration=label,
                         logical=logical, owned=owned, why=why.note)
    return f" ({why.note})"
