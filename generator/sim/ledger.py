"""The side-effect ledger of one simulated run: what was created, deleted, orphaned and duplicated.

Rules: a ``creates`` resource, or a temporary creation no annotation declares (``generator.sim.intent``:
a step deletes it, its kind by selector, or other objects of its kind by name), still present when the
workflow ends is orphaned; a ``produces`` resource (or an undeclared output) still present when the
workflow did not succeed is orphaned; one declaration creating its resource under more than one name
(``{{retries}}``, ``{{pod.name}}``, ``generateName``) is duplicated.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class Resource:
    ref: str
    verb: str  # "creates", "produces" or "undeclared"
    declaration: str  # the template and annotation (or resource action) that made it
    owned: bool  # carries an ownerReference to the Workflow (setOwnerReference / ownerReferences)
    present: bool = True
    creations: int = 0
    inferred: str | None = None  # the command line it was inferred from (None: declared)
    file: str | None = None  # the -f file a command applied it from
    why: str | None = None  # for an undeclared creation: why it is temporary or an output (generator.sim.intent)


@dataclass
class Ledger:
    resources: dict[str, Resource] = field(default_factory=dict)
    created: list[str] = field(default_factory=list)
    deleted: list[str] = field(default_factory=list)
    #: declaration key → every actual name it created, to find duplicates.
    names: dict[tuple[str, str], dict[str, None]] = field(default_factory=dict)

    def exists(self, ref: str) -> bool:
        resource = self.resources.get(ref)
        return resource is not None and resource.present

    def create(self, ref: str, *, verb: str, declaration: str, logical: str, owned: bool,
               inferred: str | None = None, file: str | None = None, why: str | None = None) -> None:
        """Record a creation; ``logical`` is the name with its per-attempt parts left symbolic."""
        resource = self.resources.get(ref)
        if resource is None:
            resource = self.resources[ref] = Resource(ref, verb, declaration, owned, inferred=inferred, file=file,
                                                          why=why)
        resource.present = True
        resource.creations += 1
        resource.owned = resource.owned or owned
        self.created.append(ref)
        self.names.setdefault((declaration, logical), {})[ref] = None

    def delete(self, ref: str) -> bool:
        """Record a delete; deleting what is absent is not an error (``--ignore-not-found``)."""
        self.deleted.append(ref)
        resource = self.resources.get(ref)
        if resource is None or not resource.present:
            return False
        resource.present = False
        return True

    def orphaned(self, workflow_phase: str) -> list[Resource]:
        """Left behind: present at the end, not owned by the Workflow (its garbage collection removes
        those), and not a lasting output of a run that succeeded."""
        return [
            r
            for r in self.resources.values()
            if r.present and not r.owned and (r.verb != "produces" or workflow_phase != "Succeeded")
        ]

    def owned_left(self) -> list[Resource]:
        """Present at the end but owned by the Workflow: removed with it."""
        return [r for r in self.resources.values() if r.present and r.owned]

    def duplicated(self) -> list[tuple[str, list[str]]]:
        """(declaration, names) for each declaration that made its resource under several names."""
        return [(decl, list(names)) for (decl, _), names in self.names.items() if len(names) > 1]
