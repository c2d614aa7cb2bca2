"""The discrete-event engine: a virtual clock over Argo's controller semantics (no containers run).

Facts follow ../shared/reference/argo-failure-semantics.md (section numbers below). Time only moves
through the event heap, so a run costs O(events · log events): DAG bookkeeping lives in
``generator.sim.composite`` (dependency counters and reverse edges, never a scan of every node).

- Each leaf attempt (container, script, resource) runs ``STEP_SECONDS`` of virtual time, or half its own
  deadline when that is shorter; a hung attempt runs until a deadline, a stop or a terminate kills it.
- A failing attempt is taken to have performed its side effects before failing (the worst case): what it
  creates or produces exists; what it deletes is not deleted.
- §1 retries: ``limit`` counts retries; policy and expression are re-evaluated after every attempt;
  backoff ``duration * factor^attempt`` capped at ``cap``; ``maxDuration`` from the first attempt's start.
- §2 deadlines: template ``activeDeadlineSeconds`` (container/script) and ``timeout`` kill the pod
  (Failed, retried under OnFailure/Always); the workflow deadline fails running and suspended nodes
  outside the exit handler, stops retries and new nodes; exit-handler pods ignore it.
- §3 exit handlers: run after the entry node, under Stop and after the deadline, never under Terminate;
  an exit handler failure turns a Succeeded workflow Failed/Error.
- §6 gates: no duration waits for a decision; a duration auto-resumes Succeeded; supplied outputs take
  their defaults; with neither value nor default the resume errors.
"""

from __future__ import annotations

import functools
import gc
import heapq
import itertools
import json
from collections.abc import Callable
from typing import Any

from generator.model import AGENT_KINDS, Manifest, RetryStrategy, Task, Template
from generator.sim.composite import DagRun, StepsRun
from generator.sim.containerset import recovers_in_pod
from generator.sim.effects import perform
from generator.sim.expr import ExpressionError
from generator.sim.faults import UNSCHEDULABLE, Faults
from generator.sim.gate import run_gate
from generator.sim.inferred import deleted_somewhere
from generator.sim.intent import Deletions
from generator.sim.ledger import Ledger
from generator.sim.nodes import MAX_DEPTH, STEP_SECONDS, Activity, Call, Done, Event, SimNode
from generator.sim.retry import RetryRun
from generator.sim.values import Scope, suffix, to_int, wait_seconds
from generator.sim.variables import Variables


class Engine(Variables):
    def __init__(self, manifest: Manifest, library: list[Manifest], faults: Faults,
                 roots: dict[str, str] | None = None) -> None:
        self.manifest = manifest
        self.roots = roots or {}  # the step names of a leaf entrypoint ("entry") and exit handler ("exit")
        self.library = library
        self.faults = faults
        self.now = 0.0
        self.ids = itertools.count(1)
        self._heap: list[tuple[float, int, Callable[..., None], tuple[Any, ...]]] = []
        self.nodes: list[SimNode] = []
        self.events: list[Event] = []
        self.ledger = Ledger()
        self.assumptions: dict[str, None] = {}
        self.active: dict[int, Activity] = {}
        self.shutdown: str | None = None
        self.deadline_passed = False
        self.halted: str | None = None
        self.never_ends: str | None = None  # why the run cannot end (no bound reaches it), if it cannot
        self.creation_failed: set[str] = set()  # nodes whose pod could not be created, the error bubbling up
        self.finished = False
        self.main_done = False
        self.phase = "Running"
        self.exit_ran = False
        self.exit_phase: str | None = None
        self.touched: set[str] = set()  # step names that ran (for faults that never applied)
        self.runs: dict[str, int] = {}  # attempts per node name, across re-runs of a retried parent
        self.spec = manifest.spec
        self.plans: dict[int, Any] = {}
        self._shutdown_pending = False
        self.workflow_name = workflow_name(manifest)
        self.globals = Scope(self._global_values())
        deadline = self.spec.active_deadline_seconds
        self.deadline_at: float | None = float(deadline) if deadline is not None else None

    # --- clock -------------------------------------------------------------------------------------

    def schedule(self, delay: float, fn: Callable[..., None], *args: Any) -> None:
        heapq.heappush(self._heap, (self.now + delay, next(self.ids), fn, args))

    def run(self) -> None:
        # A run allocates an object per node and event and frees none before it ends: the cyclic
        # collector's passes over that growing heap would cost more than the run itself.
        enabled = gc.isenabled()
        gc.disable()
        try:
            self._run()
        finally:
            if enabled:
                gc.enable()

    def _run(self) -> None:
        self._start()
        while not self.finished and self.halted is None:
            if self._heap:
                when = self._heap[0][0]
                if self._deadline_armed() and when >= self.deadline_at:  # type: ignore[operator]
                    self.now = self.deadline_at  # type: ignore[assignment]
                    self._workflow_deadline()
                    continue
                when, _, fn, args = heapq.heappop(self._heap)
                self.now = when
                fn(*args)
            elif not self._idle():
                break

    def _deadline_armed(self) -> bool:
        return self.deadline_at is not None and not self.deadline_passed and not self.main_done

    def _idle(self) -> bool:
        """Nothing is scheduled: let the deadline fire, or say why the workflow is still running."""
        undecided = [a.call.node.step for a in self.active.values() if a.undecided]
        if undecided:
            gates = ", ".join(dict.fromkeys(undecided))
            self.halted = (
                f"waiting at approval gate {gates}: decide with --resume {undecided[0]} or --reject "
                f"{undecided[0]} (or --hang {undecided[0]} to let the deadline decide)"
            )
            return False
        if self.active and self._deadline_armed() and any(not a.call.in_exit for a in self.active.values()):
            self.now = max(self.now, self.deadline_at or 0.0)
            self._workflow_deadline()
            return True
        hung = [a.call.node.name for a in self.active.values()]
        if hung:
            where = "an exit handler (exit pods ignore the workflow deadline)" if any(
                a.call.in_exit for a in self.active.values()) else "no deadline"
            self.halted = f"{', '.join(dict.fromkeys(hung))} hangs forever: {where} kills it"
            self.never_ends = "hangs with no deadline"
            return False
        self.halted = "nothing left to run, yet the workflow did not complete"
        return False

    # --- records -----------------------------------------------------------------------------------

    def record(self, node: SimNode, phase: str, attempt: int | None = None, effects: tuple[str, ...] = (),
               message: str = "") -> None:
        event = Event(self.now, node.name, phase, attempt, effects, message)
        node.last = event
        self.events.append(event)

    def new_node(self, name: str, template: str, in_exit: bool, step: str = "") -> SimNode:
        node = SimNode(name, template, in_exit, step or name, started=self.now)
        self.nodes.append(node)
        return node

    def finish_node(self, node: SimNode, phase: str, message: str = "") -> None:
        node.phase = phase
        node.message = message
        node.finished = self.now
        last = node.last
        if last is not None and last.time == self.now and last.phase == phase and last.message in ("", message):
            return  # its last attempt just said so
        self.record(node, phase, None, (), message)

    # --- start and end -----------------------------------------------------------------------------

    def _start(self) -> None:
        spec = self.spec
        root = self.new_node(self.workflow_name, spec.entrypoint or "?", False, self.roots.get("entry", ""))
        self.record(root, "Running")
        inputs = {f"inputs.parameters.{p.name}": v for p, v in self._workflow_arguments()}
        self._run_root(root, spec.entrypoint, inputs, False, self._main_finished)

    def _run_root(self, node: SimNode, name: str | None, inputs: dict[str, str], in_exit: bool,
                  done: Callable[[str], None]) -> None:
        """Run the entry template or the exit handler as ``node``; ``done`` gets its phase."""
        found = self.resolve(self.spec, name, None)
        if isinstance(found, str):
            self.finish_node(node, "Error", found)
            done("Error")
            return

        def finished(phase: str, message: str) -> None:
            self.finish_node(node, phase, message)
            if node.name in self.creation_failed:
                self._root_error(node, in_exit)
                return
            done(phase)

        template, tspec = found
        self.execute(Call(node, template, tspec, self.globals.child(inputs), in_exit), finished)

    def _main_finished(self, phase: str) -> None:
        self.main_done = True
        status = {"Skipped": "Succeeded", "Omitted": "Succeeded"}.get(phase, phase)
        if self.shutdown or (self.deadline_passed and status == "Succeeded"):
            status = "Failed"
        self.phase = status
        self.globals.values["workflow.status"] = status
        self.globals.values["workflow.failures"] = self._failures()
        handler = self.spec.exit_handler
        if handler is None or self.shutdown == "Terminate":
            self._complete()
            return
        node = self.new_node(f"{self.workflow_name}.onExit", handler, True, self.roots.get("exit", ""))
        self.record(node, "Running", message=f"workflow.status={status}")
        self._run_root(node, handler, {}, True, self._exit_done)

    def _root_error(self, node: SimNode, in_exit: bool) -> None:
        """The entry or exit template returned an error (its pod could not be created, and its retry
        policy does not retry errors): Argo marks the workflow Error at once, and after an entry error no
        exit handler runs (docs/argo-semantics.md "Entry and exit template errors")."""
        where = "exit" if in_exit else "entry"
        self.main_done = True
        self.phase = "Error"
        if in_exit:
            self.exit_ran, self.exit_phase = True, "Error"
        self.events.append(Event(self.now, self.workflow_name, "Error",
                                 message=f"error in {where} template execution: {node.message}"))
        self._complete()

    def _exit_done(self, phase: str) -> None:
        self.exit_ran = True
        self.exit_phase = phase
        if self.phase == "Succeeded" and phase in ("Failed", "Error"):
            self.phase = phase
        self._complete()

    def _complete(self) -> None:
        self.finished = True

    def _failures(self) -> str:
        failed = [
            {"displayName": n.name, "message": n.message, "templateName": n.template, "phase": n.phase,
             "podName": n.name, "finishedAt": n.finished}
            for n in self.nodes
            if n.phase in ("Failed", "Error")
        ]
        return json.dumps(failed, separators=(",", ":"))

    # --- execution ----------------------------------------------------------------------------------

    def note_hooks(self, task: Task) -> None:
        for name in task.hooks:
            if name != "exit":
                self.assume(f"lifecycle hook {name!r} of {task.name} is not simulated (only exit hooks are)")

    def blocked(self, in_exit: bool) -> str | None:
        """Why no new node may start now, if none may (§2, §3)."""
        if self.shutdown == "Terminate":
            return "Stopped with strategy 'Terminate'"
        if in_exit:
            return None
        if self.shutdown == "Stop":
            return "Stopped with strategy 'Stop'"
        if self.deadline_passed:
            return "Step exceeded its deadline"
        return None

    def execute(self, call: Call, done: Done) -> None:
        """Run a template for a node: with its retryStrategy (or spec.retryStrategy) if it has one."""
        self._arm_shutdown(call)
        retry: RetryStrategy | None = call.template.retry or self.spec.retry
        if retry is None or call.template.kind == "suspend":
            call.node.attempts += 1
            self.attempt(call, 0, done, None)
        else:
            RetryRun(self, call, retry, done).start()

    def attempt(self, call: Call, index: int, done: Done, clamp: float | None) -> None:
        """One attempt of a template; ``clamp`` is what maxDuration leaves of the pod deadline."""
        kind = call.template.kind
        reason = self.blocked(call.in_exit)
        if reason is not None:
            done("Failed", reason)
            return
        attempt_scope = call.scope.child({"retries": str(index)})
        attempt_call = Call(call.node, call.template, call.spec, attempt_scope, call.in_exit, call.depth)
        if call.depth > MAX_DEPTH and kind in ("dag", "steps"):
            self.assume(f"templates nested deeper than {MAX_DEPTH} levels (recursion over values not known "
                        "offline) are cut: the deepest is taken to succeed")
            done("Succeeded", "recursion cut by the simulator")
            return
        if call.template.faultable:
            if kind in AGENT_KINDS:
                self.assume(f"{kind} templates run in the workflow's agent pod: simulated as a step that takes "
                            f"{STEP_SECONDS:g} s")
            elif kind == "data":
                self.assume(f"data templates are simulated as a pod that takes {STEP_SECONDS:g} s")
            self._run_pod(attempt_call, index, done, clamp)
        elif kind == "suspend":
            run_gate(self, attempt_call, done)
        elif kind == "dag":
            DagRun(self, attempt_call, done).start()
        elif kind == "steps":
            StepsRun(self, attempt_call, done).start()
        else:
            done("Error", f"template {call.template.name!r} has no container, script, resource, suspend, "
                 "dag or steps")

    def _arm_shutdown(self, call: Call) -> None:
        faults = self.faults
        target = faults.stop_at or faults.terminate_at
        if target is None or self._shutdown_pending or call.node.step != target:
            return
        self._shutdown_pending = True
        delay = STEP_SECONDS / 2 if call.template.faultable else 0.0
        self.schedule(delay, self.issue_shutdown, "Stop" if faults.stop_at else "Terminate")

    # --- pods -----------------------------------------------------------------------------------------

    def _pod_deadline(self, template: Template, scope: Scope, clamp: float | None) -> float | None:
        limits = []
        if template.active_deadline_seconds is not None and template.kind in ("container", "script"):
            try:
                limits.append(float(to_int(self.subst(str(template.active_deadline_seconds), scope))))
            except ExpressionError:
                self.assume(f"activeDeadlineSeconds of {template.name} is not a number: ignored")
        if template.timeout is not None:
            seconds = wait_seconds(self.subst(template.timeout, scope))
            if seconds is None:
                self.assume(f"timeout {template.timeout!r} of {template.name} is not a duration: ignored")
            else:
                limits.append(seconds)
        if clamp is not None:
            limits.append(clamp)
        return min(limits) if limits else None

    def _run_pod(self, call: Call, index: int, done: Done, clamp: float | None) -> None:
        node = call.node
        self.touched.add(node.step)
        if self.faults.injected(node.step, self.runs.get(node.name, 0)) == UNSCHEDULABLE:
            self._not_created(call, index, done)
            return
        deadline = self._pod_deadline(call.template, call.scope, clamp)
        activity = Activity(self, "pod", call, index, done)
        activity.nth = self.runs.get(node.name, 0)
        self.runs[node.name] = activity.nth + 1
        self.active[activity.id] = activity
        self.record(node, "Running", index)
        if node.step in self.faults.hang:
            activity.hung = True
            if deadline is not None:
                self.schedule(deadline, self._pod_killed, activity, "Failed",
                              "Pod was active on the node longer than the specified deadline")
            return
        run = STEP_SECONDS if deadline is None else min(STEP_SECONDS, deadline / 2)
        self.schedule(run, self._pod_end, activity)

    def _not_created(self, call: Call, index: int, done: Done) -> None:
        """The pod cannot be created: the node is Error at once, nothing ran. Unless the retry policy
        retries errors, Argo returns the error up the call chain (see ``_root_error``, ``StepsRun``)."""
        node = call.node
        self.runs[node.name] = self.runs.get(node.name, 0) + 1
        message = "injected: the pod could not be created"
        retry = call.template.retry or self.spec.retry
        if retry is None or retry.effective_policy not in ("Always", "OnError", "OnTransientError"):
            self.creation_failed.add(node.name)
        self.record(node, "Error", index, (), message)
        done("Error", message)

    def _pod_end(self, activity: Activity) -> None:
        if activity.cancelled:
            return
        del self.active[activity.id]
        call = activity.call
        injected = self.faults.injected(call.node.step, activity.nth)
        rerun = recovers_in_pod(self, call, activity.nth) if injected == "Failed" else None
        if rerun is not None:
            injected = None
            self.record(call.node, "Running", activity.attempt,
                        message=f"the container failed and was re-run in its pod {rerun} time(s) (containerSet)")
        effects, error = self.perform_effects(call, failing=injected is not None)
        phase, message = "Succeeded", ""
        if injected is not None:
            phase = injected
            message = "injected: main container exited 1" if phase == "Failed" else "injected: pod error"
        elif error:
            phase, message = "Failed", error
        self.record(call.node, phase, activity.attempt, effects, message)
        activity.done(phase, message)

    def _pod_killed(self, activity: Activity, phase: str, message: str) -> None:
        if activity.cancelled:
            return
        self.kill(activity, phase, message)

    def kill(self, activity: Activity, phase: str, message: str) -> None:
        activity.cancelled = True
        self.active.pop(activity.id, None)
        effects: tuple[str, ...] = ()
        if activity.kind == "pod":
            effects, _ = self.perform_effects(activity.call, failing=True)
        if activity.kind != "backoff":
            self.record(activity.call.node, phase, activity.attempt, effects, message)
        activity.done(phase, message)

    def perform_effects(self, call: Call, *, failing: bool) -> tuple[tuple[str, ...], str | None]:
        return perform(self, call, failing=failing)

    @functools.cached_property
    def temporary(self) -> Deletions:
        """What the steps of the workflow delete: the evidence ``generator.sim.intent`` judges an undeclared
        creation by (temporary or an output)."""
        return deleted_somewhere(self.spec)

    # --- stop, terminate, deadline --------------------------------------------------------------------

    def issue_shutdown(self, strategy: str) -> None:
        if self.finished or self.shutdown:
            return
        self.shutdown = strategy
        if self.main_done:
            self.phase = "Failed"  # Stopped with strategy ...: the workflow ends Failed (§3)
        self.events.append(Event(self.now, self.workflow_name, f"argo {strategy.lower()}"))
        for activity in list(self.active.values()):
            if activity.cancelled or (activity.call.in_exit and strategy == "Stop"):
                continue
            self.kill(activity, "Failed", f"Stopped with strategy '{strategy}'")

    def _workflow_deadline(self) -> None:
        self.deadline_passed = True
        self.events.append(Event(self.now, self.workflow_name, "deadline", message="workflow activeDeadlineSeconds"))
        for activity in list(self.active.values()):
            if activity.cancelled or activity.call.in_exit:
                continue
            message = "retry exceeded workflow deadline" if activity.kind == "backoff" else "Step exceeded its deadline"
            self.kill(activity, "Failed", message)


def workflow_name(manifest: Manifest) -> str:
    metadata = manifest.raw.get("metadata") or {}
    if manifest.kind == "Workflow" and isinstance(metadata.get("name"), str):
        return str(metadata["name"])
    prefix = metadata.get("generateName") if manifest.kind == "Workflow" else None
    if not isinstance(prefix, str):
        prefix = f"{manifest.name.rstrip('*')}-"
    return f"{prefix}{suffix(0)}"
