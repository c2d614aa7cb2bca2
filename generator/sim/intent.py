"""The intent of a creation no ``pipeforge.io`` annotation declares: temporary, or an output.

One rule for resource templates (``generator/sim/effects.py``) and for the objects read from commands
(``generator/sim/inferred.py``). An undeclared object is *temporary* (it must be gone when the workflow
ends, else it is orphaned, even when the workflow succeeds) when the workflow shows it is cleaned up:

1. a step deletes it by name, or deletes what the ``-f FILE`` it was applied from holds;
2. a step deletes its kind by selector (or, by selector, the objects of a file whose kinds are unknown);
3. a step deletes *other* objects of its kind by name (kind compared case-insensitively, API group too
   when both sides write one): the workflow has shown that objects of that kind are cleaned up here, so
   one its cleanup forgets is a leak (the chaos-charts sock-shop experiment creates five ChaosEngines and
   deletes four of them by name).

Otherwise it is an *output*, what the pipeline makes on purpose: kept when the workflow succeeds, orphaned
when it does not (like ``pipeforge.io/produces``). An annotation always wins over this rule:
``pipeforge.io/produces`` keeps an object of a cleaned-up kind an output. A "step" is a template the
workflow calls (``deleted_somewhere`` in ``inferred.py`` reads them).

Rule 3 is for Kubernetes kinds (written in a resource template or an annotation, or read from a command:
``kubectl``, the Litmus checker's ChaosEngine). It leaves out the pseudo-kinds the command recogniser gives
to what is not one object of a kind: a whole application a deploy command installs (``helm-release``,
``argocd-application``, ``litmus-application``: uninstalling a load-test release says nothing of the app
release the pipeline deploys on purpose) and a place (``s3-prefix``, ``terraform-stack``, the objects of a
file whose kinds are unknown): deleting one S3 prefix or one Terraform stack says nothing of another.
"""

from __future__ import annotations

from dataclasses import dataclass

FROM_FILE = "objects"  # the kind of what ``-f FILE`` applied when the command does not show the file
#: pseudo-kinds rule 3 leaves out: applications deployed as a whole, and places
NOT_KINDS = frozenset({"helm-release", "argocd-application", "litmus-application", "s3-prefix", "terraform-stack",
                       FROM_FILE})


@dataclass(frozen=True)
class Deletions:
    """What the templates a workflow calls delete."""

    #: (lower-case kind, raw name): a name, ``-l SELECTOR``, ``-f FILE`` or ``*`` (terraform's working directory)
    names: frozenset[tuple[str, str]] = frozenset()
    #: (lower-case kind, API group or None when not written, template): objects of that kind deleted by name
    kinds: frozenset[tuple[str, str | None, str]] = frozenset()


@dataclass(frozen=True)
class Intent:
    temporary: bool
    why: str  # "a step deletes it, so it is temporary"

    @property
    def note(self) -> str:
        """What the timeline and the verdict say of an undeclared creation."""
        return f"no pipeforge.io annotation; {self.why}"


def intent(deleted: Deletions, kind: str, name: str | None, *, group: str | None = None,
           file: str | None = None) -> Intent:
    """Temporary or output, for an undeclared creation of ``kind``/``name`` (raw, before substitution),
    of API ``group`` when known, applied from ``file`` when a command applied it from one."""
    lowered = kind.lower()
    if name and (lowered, name) in deleted.names:
        return Intent(True, "a step deletes it, so it is temporary")
    if file and (FROM_FILE, f"-f {file}") in deleted.names:
        return Intent(True, f"a step deletes what -f {file} applied, so it is temporary")
    selectors = sorted(n for k, n in deleted.names if k == lowered and n.startswith("-l "))
    if selectors:
        return Intent(True, f"a step deletes {kind} objects by selector ({selectors[0]}), so it is temporary")
    if any(k == FROM_FILE and n.startswith("-l ") for k, n in deleted.names):
        return Intent(True, "a step deletes by selector the objects of a file whose kinds are unknown, so it "
                            "is temporary")
    if lowered not in NOT_KINDS:
        steps = sorted({t for k, g, t in deleted.kinds if k == lowered and (g is None or group is None or g == group)})
        if steps:
            return Intent(True, f"the workflow deletes other {kind} objects by name ({', '.join(steps)}), so this "
                                "one is temporary")
        return Intent(False, f"nothing deletes it, nor any {kind} by name, so it is an output")
    return Intent(False, "nothing deletes it, so it is an output")
