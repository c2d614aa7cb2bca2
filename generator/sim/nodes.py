"""The simulator's records, shared by the engine and the runs it delegates to (retries, DAGs and steps,
gates): a node, a timeline event, a template call, an activity on the clock, and the engine's limits.
Kept apart from ``generator.sim.engine`` so those runs import them without importing the engine."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from generator.model import Template, WorkflowSpec
from generator.sim.values import Scope

if TYPE_CHECKING:
    from generator.sim.engine import Engine

STEP_SECONDS = 10.0
MAX_ATTEMPTS = 100  # an unbounded retryStrategy over a permanent fault is cut here (and said so)
MAX_DEPTH = 16  # recursion over values not known offline would not end: cut here (and said so)
COMPLETED = ("Succeeded", "Failed", "Error")

Done = Callable[[str, str], None]


@dataclass(slots=True)
class SimNode:
    """One node of the run: a task or step (or the entry node, an exit handler, a hook)."""

    name: str
    template: str
    in_exit: bool
    step: str  # the task or step name before fan-out: what --fail and friends name
    phase: str = "Pending"
    attempts: int = 0
    message: str = ""
    started: float = 0.0
    finished: float | None = None
    outputs: dict[str, str] = field(default_factory=dict)
    children: list[str] | None = None  # phases of fan-out items (a TaskGroup)
    last: Event | None = None  # its latest timeline event


@dataclass(slots=True)
class Event:
    time: float
    node: str
    phase: str
    attempt: int | None = None
    effects: tuple[str, ...] = ()
    message: str = ""

    def as_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"time": self.time, "node": self.node, "phase": self.phase}
        if self.attempt is not None:
            out["attempt"] = self.attempt
        if self.effects:
            out["effects"] = list(self.effects)
        if self.message:
            out["message"] = self.message
        return out


@dataclass(slots=True)
class Call:
    """A template invoked for a node, with the variables it sees."""

    node: SimNode
    template: Template
    spec: WorkflowSpec
    scope: Scope
    in_exit: bool
    depth: int = 0  # how many templates deep (recursive templates are cut at MAX_DEPTH)


class Activity:
    """Something that holds a node open on the clock: a pod, a waiting gate, a retry backoff."""

    __slots__ = ("attempt", "call", "cancelled", "done", "hung", "id", "kind", "nth", "undecided")

    def __init__(self, engine: Engine, kind: str, call: Call, attempt: int, done: Done) -> None:
        self.id = next(engine.ids)
        self.kind = kind
        self.call = call
        self.attempt = attempt
        self.done = done
        self.cancelled = False
        self.hung = False
        self.undecided = False
        self.nth = 0  # the how-manieth attempt of this node name in the whole run (re-runs included)
