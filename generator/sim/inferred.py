"""Side effects inferred from the commands a pod runs (``generator.commands``, the recogniser lint uses):
``kubectl apply/create/delete``, ``helm install/upgrade/uninstall/rollback``, ``argocd app create/delete``,
``aws s3 cp/sync/rm``, ``terraform apply/destroy``. Each is marked in the output as inferred from a command.

Intent: an object a command creates is temporary (``creates``: it must be gone when the workflow ends) or
an output (``produces``: kept on success) by the rule ``generator.sim.intent`` states for every undeclared
creation: temporary when a step deletes it (by name, by its ``-f`` file, by a selector over its kind) or
deletes other objects of its kind by name. A delete by selector removes every object of its kind (and
every object applied from a file whose kinds the command does not show); a delete ``-f FILE`` removes what
``-f FILE`` applied. Names keep their ``{{...}}`` expressions until the attempt substitutes them.
"""

from __future__ import annotations

from collections import OrderedDict
from typing import TYPE_CHECKING

from generator.commands import CREATE, CommandEffect, effects_of_template
from generator.sim.intent import FROM_FILE, NOT_KINDS, Deletions, intent

if TYPE_CHECKING:
    from generator.model import Template, WorkflowSpec
    from generator.sim.engine import Engine
    from generator.sim.ledger import Ledger
    from generator.sim.nodes import Call
    from generator.sim.values import Scope

#: id(raw template) → (raw, effects): templates hold dicts, which cannot be hashed, and a matrix asks for
#: the same template hundreds of times; the raw dict is kept so its id cannot be reused while cached.
_CACHE: OrderedDict[int, tuple[object, tuple[CommandEffect, ...]]] = OrderedDict()
_CACHE_SIZE = 4096


def command_effects(template: Template) -> tuple[CommandEffect, ...]:
    """What the template's commands create and delete (computed once per template)."""
    if not template.runs_pod:
        return ()
    raw = template.raw
    hit = _CACHE.get(id(raw))
    if hit is not None and hit[0] is raw:
        _CACHE.move_to_end(id(raw))
        return hit[1]
    effects = tuple(effects_of_template(raw))
    _CACHE[id(raw)] = (raw, effects)
    if len(_CACHE) > _CACHE_SIZE:
        _CACHE.popitem(last=False)
    return effects


def command_deletes(template: Template) -> bool:
    return any(e.action != CREATE for e in command_effects(template))


def name_of(effect: CommandEffect) -> str:
    """The object's name, else its selector or file; ``*`` when the command names none of them (terraform
    without -chdir: the stack of the working directory), as lint writes it."""
    if effect.name:
        return effect.name
    if effect.selector:
        return f"-l {effect.selector}"
    return f"-f {effect.file}" if effect.file else "*"


def deleted_somewhere(spec: WorkflowSpec) -> Deletions:
    """What the templates the workflow calls delete: each object by name, selector or file, and the kinds
    deleted by name (a template no step calls, a step commented out, says nothing of intent)."""
    names: set[tuple[str, str]] = set()
    kinds: set[tuple[str, str | None, str]] = set()
    called = set().union(*(spec.reachable(root) for root in (spec.entrypoint, spec.exit_handler) if root))
    for template in (spec.templates[name] for name in sorted(called)):
        for declared in template.effects("deletes"):
            names.add((declared.kind.lower(), declared.name))
            kinds.add((declared.kind.lower(), None, template.name))
        resource = template.resource
        if resource is not None and resource.action == "delete" and resource.kind and resource.name:
            names.add((resource.kind.lower(), resource.name))
            kinds.add((resource.kind.lower(), resource.api_group, template.name))
        for effect in command_effects(template):
            if effect.action == CREATE:
                continue
            names.add((effect.kind or FROM_FILE, name_of(effect)))
            if effect.file:
                names.add((FROM_FILE, f"-f {effect.file}"))
            if effect.name and effect.kind and effect.kind not in NOT_KINDS:
                kinds.add((effect.kind, None, template.name))
    return Deletions(frozenset(names), frozenset(kinds))


def perform_commands(engine: Engine, call: Call, scope: Scope, *, failing: bool, handled: set[str]) -> list[str]:
    """Apply the inferred effects of one attempt to the ledger; returns what it did, for the timeline.
    The worst case for a failing attempt, as for declared effects: it created, but deleted nothing."""
    done: list[str] = []
    for effect in command_effects(call.template):
        raw = name_of(effect)
        name = engine.subst(raw, scope)
        kind = effect.kind or FROM_FILE
        note = f" (inferred from command: {effect.command})"
        if effect.action == CREATE:
            ref = _existing(engine.ledger, kind, name) or f"{kind}/{name}"
            if ref in handled:
                continue
            why = intent(engine.temporary, kind, raw, file=effect.file)
            engine.ledger.create(ref, verb="creates" if why.temporary else "produces",
                                 declaration=f"{call.template.name}: {effect.command}", logical=f"{kind}/{raw}",
                                 owned=False, inferred=effect.command, file=effect.file, why=why.note)
            done.append(f"{effect.tool} {effect.action} {ref} (inferred from command: {effect.command}; {why.note})")
        elif not failing:
            for ref in _matching(engine.ledger, effect, kind, name):
                engine.ledger.delete(ref)
                done.append(f"{effect.tool} delete {ref}{note}")
    return done


def _existing(ledger: Ledger, kind: str, name: str) -> str | None:
    """The ledger's ref for this object, whatever case its kind was written in (``PersistentVolumeClaim``)."""
    wanted = f"{kind}/{name}".lower()
    return next((ref for ref in ledger.resources if ref.lower() == wanted), None)


def _matching(ledger: Ledger, effect: CommandEffect, kind: str, name: str) -> list[str]:
    """What a delete removes: the named object; what ``-f FILE`` applied; every object of its kind (or
    applied from a file of unknown kinds) for a selector."""
    if effect.name:
        return [_existing(ledger, kind, name) or f"{kind}/{name}"]
    present = [(ref, r) for ref, r in ledger.resources.items() if r.present]
    if effect.file and not effect.selector:
        found = [ref for ref, r in present if r.file == effect.file]
    else:
        found = [ref for ref, r in present if ref.split("/", 1)[0].lower() in (kind, FROM_FILE)]
    return found or [f"{kind}/{name}"]
