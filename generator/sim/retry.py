"""Retry nodes (reference §1): attempts of a template under its retryStrategy.

``limit`` counts retries (at most limit+1 attempts; no limit retries until it succeeds). The policy and
the expression are re-evaluated after every attempt and combined with AND. Backoff waits
``duration * factor^attempt`` capped at ``cap``; ``maxDuration`` counts from the first attempt's start,
fails the node once passed or once the next backoff would pass it, and clamps each attempt's pod deadline.
No retry once the workflow deadline has passed or the workflow is stopped (exit handlers exempt).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from generator.argo_values import int32_of
from generator.model import RetryStrategy
from generator.sim.expr import ExpressionError, evaluate_expr, truth
from generator.sim.nodes import MAX_ATTEMPTS, Activity, Call, Done
from generator.sim.values import wait_seconds

if TYPE_CHECKING:
    from generator.sim.engine import Engine

#: Which attempt phases each policy retries (§1 table). OnTransientError retries only transient errors;
#: an injected fault is never transient.
RETRIED = {"Always": ("Failed", "Error"), "OnFailure": ("Failed",), "OnError": ("Error",), "OnTransientError": ()}


class RetryRun:
    def __init__(self, engine: Engine, call: Call, retry: RetryStrategy, done: Done) -> None:
        self.engine = engine
        self.call = call
        self.retry = retry
        self.done = done
        self.index = 0
        self.first = engine.now
        self.last_start = engine.now
        self.policy = retry.effective_policy
        backoff = retry.backoff
        self.duration = self._seconds(backoff.duration if backoff else None, "backoff.duration") or 0.0
        self.cap = self._seconds(backoff.cap if backoff else None, "backoff.cap")
        self.max_duration = self._seconds(backoff.max_duration if backoff else None, "backoff.maxDuration")
        self.factor = self._factor(backoff.factor if backoff else None)

    def _seconds(self, value: str | None, what: str) -> float | None:
        if value is None:
            return None
        seconds = wait_seconds(self.engine.subst(value, self.call.scope))
        if seconds is None:
            self.engine.assume(f"{what} {value!r} of {self.call.template.name} is not a duration: ignored")
        return seconds

    def _factor(self, value: int | str | None) -> float:
        """Argo reads the factor as an int32 and ignores one that is not positive."""
        if value is None:
            return 1.0
        factor = int32_of(self.engine.subst(str(value), self.call.scope))
        if factor is None:
            self.engine.assume(f"backoff.factor {value!r} of {self.call.template.name} is not a number: taken as 1")
            return 1.0
        return float(factor) if factor > 0 else 1.0

    def _limit(self) -> int | str | None:
        limit = self.retry.limit
        if limit is None:
            return None
        number = int32_of(self.engine.subst(str(limit), self.call.scope))
        return f"retryStrategy.limit {limit!r} is not a number" if number is None else number

    def start(self) -> None:
        limit = self._limit()
        if isinstance(limit, str):
            self.engine.record(self.call.node, "Error", message=limit)
            self.done("Error", limit)
            return
        self.limit = limit
        if self.policy not in RETRIED:
            self.engine.assume(f"retryPolicy {self.policy!r} of {self.call.template.name} is not one of Argo's four: "
                               "nothing is retried")
        elif self.policy == "OnTransientError":
            self.engine.assume("OnTransientError: injected failures and errors are not transient, so not retried")
        self._attempt()

    def _attempt(self) -> None:
        self.call.node.attempts += 1
        self.last_start = self.engine.now
        clamp = None
        if self.max_duration is not None:
            clamp = max(self.max_duration - (self.engine.now - self.first), 0.0)
        self.engine.attempt(self.call, self.index, self._after, clamp)

    def _after(self, phase: str, message: str) -> None:
        if phase == "Succeeded":
            self.done(phase, message)
            return
        reason = self._why_not(phase, message)
        if reason is not None:
            self.done(phase, reason)
            return
        wait = self.duration * self.factor ** self.index if self.duration else 0.0
        if self.cap is not None:
            wait = min(wait, self.cap)
        if self.max_duration is not None:
            elapsed = self.engine.now - self.first
            if elapsed >= self.max_duration:
                self.done(phase, "Max duration limit exceeded")
                return
            if elapsed + wait > self.max_duration:
                self.done(phase, "Backoff would exceed max duration limit")
                return
        self.index += 1
        if self.limit is None and self.index >= MAX_ATTEMPTS:
            self.engine.never_ends = "retries forever"
            self.engine.halted = (f"{self.call.node.name} retries forever: its retryStrategy has no limit and the "
                                  f"fault is permanent (stopped after {self.index} attempts)")
            return
        self._wait(wait)

    def _wait(self, wait: float) -> None:
        activity = Activity(self.engine, "backoff", self.call, self.index, self._interrupted)
        self.engine.active[activity.id] = activity
        self.engine.schedule(wait, self._wake, activity)

    def _wake(self, activity: object) -> None:
        assert isinstance(activity, Activity)
        if activity.cancelled:
            return
        activity.cancelled = True
        del self.engine.active[activity.id]
        self._attempt()

    def _interrupted(self, phase: str, message: str) -> None:
        self.done(phase, message)

    def _why_not(self, phase: str, message: str) -> str | None:
        blocked = self.engine.blocked(self.call.in_exit)
        if blocked is not None:
            return "retry exceeded workflow deadline" if self.engine.deadline_passed else message
        if self.limit is not None and self.index >= self.limit:
            return f"No more retries left ({message})" if message else "No more retries left"
        if phase not in RETRIED.get(self.policy, ()):
            return message or f"{self.policy} does not retry {phase}"
        if self.retry.expression and not self._expression(phase, message):
            return f"retry expression {self.retry.expression!r} is false"
        return None

    def _expression(self, phase: str, message: str) -> bool:
        variables = {
            "lastRetry.status": phase,
            "lastRetry.exitCode": "1" if phase == "Failed" else "-1",
            "lastRetry.duration": str(int(self.engine.now - self.last_start)),
            "lastRetry.message": message,
        }
        try:
            return truth(evaluate_expr(self.retry.expression or "true", variables))
        except ExpressionError as exc:
            self.engine.assume(f"retry expression of {self.call.template.name} not evaluated ({exc}): taken as true")
            return True

