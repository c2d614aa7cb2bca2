"""Untrusted work in a worker process with CPU, memory and wall-clock limits: ``run_bounded``.

A render of a catalog template, an MCP tool call or an upgrade job runs code paths whose cost the caller
chooses. In a server's own process a runaway would hold the interpreter lock (stalling the event loop and
every other request) or its memory. ``run_bounded(fn, *args, timeout=..., memory_mb=...)`` runs
``fn(*args)`` in a small pool of warm worker processes instead (pebble's ``ProcessPool``, which kills
and replaces a worker whose task overruns its time): each worker has an address-space limit
(``RLIMIT_AS``), each task a CPU-time limit (``RLIMIT_CPU``, raised again after the task), and the
caller waits at most ``timeout`` seconds plus a grace period before the worker is killed. Whatever goes
wrong comes back as the error ``fn`` raised, or as a ``BudgetExceeded`` that names the limit.

Workers start from a fork server that has already imported the rendering and linting code, so a task
pays for pickling its arguments and result, not for imports; templates stay compiled in each worker.
``PIPEFORGE_WORKERS`` sets the pool's size (default 2).
"""

from __future__ import annotations

import concurrent.futures
import multiprocessing
import os
import resource
import signal
import threading
from collections.abc import Callable
from types import FrameType
from typing import Any, TypeVar

from generator.errors import BudgetExceeded

WORKER_SECONDS = 10.0  # wall clock (and CPU time) of one task
WORKER_MEMORY_MB = 1024  # address space of one worker process
GRACE_SECONDS = 2.0  # past the task's own CPU limit, before its worker is killed from outside
WORKERS_ENV = "PIPEFORGE_WORKERS"
# What every worker needs, imported once in the fork server rather than in each new worker (a worker killed
# for overrunning its budget is replaced by a fresh one): pebble runs the task, jsonschema checks every
# render's parameters (generator.params imports it lazily to keep the CLI's start fast).
_PRELOAD = ["generator.sandbox_worker", "pebble", "jsonschema", "generator.scaffold", "generator.lint",
            "generator.harden", "generator.mcp_tools", "catalog.publication"]

R = TypeVar("R")

_pools: dict[int, Any] = {}
_pools_lock = threading.Lock()


def _workers() -> int:
    raw = os.environ.get(WORKERS_ENV, "2")
    return int(raw) if raw.isdigit() and int(raw) > 0 else 2


def _initialise(memory_mb: int) -> None:
    """In each new worker: its memory limit, and SIGXCPU turned into an error rather than death."""
    _, hard = resource.getrlimit(resource.RLIMIT_AS)
    resource.setrlimit(resource.RLIMIT_AS, (_capped(memory_mb * 1024 * 1024, hard), hard))
    signal.signal(signal.SIGXCPU, _on_cpu_limit)


def _capped(limit: int, hard: int) -> int:
    return limit if hard == resource.RLIM_INFINITY else min(limit, hard)


def _on_cpu_limit(_signum: int, _frame: FrameType | None) -> None:
    raise BudgetExceeded("the work used more CPU time than its budget and was stopped", budget="worker-seconds")


def _on_alarm(_signum: int, _frame: FrameType | None) -> None:
    raise BudgetExceeded("the work ran for longer than its wall-clock budget and was stopped",
                         budget="worker-seconds")


def _cpu_used() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _task(fn: Callable[..., R], args: tuple[Any, ...], kwargs: dict[str, Any], seconds: float,
          memory_mb: int) -> R:
    """Runs in the worker: ``fn`` with an alarm after ``seconds`` and a CPU limit a second later."""
    _, hard = resource.getrlimit(resource.RLIMIT_CPU)
    resource.setrlimit(resource.RLIMIT_CPU, (_capped(int(_cpu_used() + seconds) + 2, hard), hard))
    signal.signal(signal.SIGALRM, _on_alarm)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        return fn(*args, **kwargs)
    except MemoryError:
        raise BudgetExceeded(f"the work needed more than {memory_mb} MB of memory and was stopped",
                             budget="worker-memory") from None
    except RecursionError:
        raise BudgetExceeded("the work nested too deeply and was stopped", budget="worker-recursion") from None
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        resource.setrlimit(resource.RLIMIT_CPU, (hard, hard))


def _pool(memory_mb: int) -> Any:
    from pebble import ProcessPool  # lazy: pebble only when untrusted work runs in a worker process

    with _pools_lock:
        pool = _pools.get(memory_mb)
        if pool is None or not pool.active:
            context = multiprocessing.get_context("forkserver")
            context.set_forkserver_preload(_PRELOAD)
            pool = ProcessPool(max_workers=_workers(), initializer=_initialise, initargs=(memory_mb,),
                               context=context)
            _pools[memory_mb] = pool
        return pool


def run_bounded(fn: Callable[..., R], *args: Any, timeout: float = WORKER_SECONDS,
                memory_mb: int = WORKER_MEMORY_MB, **kwargs: Any) -> R:
    """``fn(*args, **kwargs)`` in a worker process, within ``timeout`` seconds (wall clock and CPU) and
    ``memory_mb`` of address space. ``fn`` and its arguments and result must pickle (a module-level
    function). Errors ``fn`` raises are raised here; an overrun is a BudgetExceeded naming the limit."""
    from pebble import ProcessExpired  # lazy: pebble only when untrusted work runs in a worker process

    future = _pool(memory_mb).schedule(_task, args=(fn, args, kwargs, timeout, memory_mb),
                                       timeout=timeout + GRACE_SECONDS)
    try:
        return future.result()  # type: ignore[no-any-return]
    except concurrent.futures.TimeoutError:
        raise BudgetExceeded(f"the work ran for more than {timeout:g} s and its worker process was stopped",
                             budget="worker-seconds") from None
    except ProcessExpired as exc:
        raise BudgetExceeded(f"the worker process died while doing the work (exit code {exc.exitcode}): it went "
                             f"past its memory ({memory_mb} MB) or CPU budget", budget="worker-crashed") from None


_users = 0


def warm_up() -> None:
    """Start the worker processes now rather than on the first request: a server calls it when it starts,
    and ``shutdown`` when it stops (the workers stop when the last server in the process stops)."""
    global _users
    with _pools_lock:
        _users += 1
    run_bounded(os.getpid)


def shutdown() -> None:
    """One user fewer; the last one stops every worker process (a later call starts new ones)."""
    global _users
    with _pools_lock:
        _users = max(_users - 1, 0)
        if _users:
            return
        pools = list(_pools.values())
        _pools.clear()
    for pool in pools:
        pool.stop()
        pool.join(timeout=10)


__all__ = ["GRACE_SECONDS", "WORKER_MEMORY_MB", "WORKER_SECONDS", "BudgetExceeded", "run_bounded", "shutdown",
           "warm_up"]
