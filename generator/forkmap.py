"""One function over many items in forked worker processes, the results in order, as a loop gives them.

``pipeforge lint`` of a folder is CPU work per file with nothing shared between files, so it splits
across cores as flake8's ``--jobs`` and ruff do. The workers are forks of the caller: they start with
everything it has imported, read and cached (nothing to start, nothing sent to them), and send back only
their results, through a pipe. Only the command line asks for workers: forking a process that runs threads
(the MCP server, the registry) is unsafe, so library callers get one process unless they ask.

What the caller sees does not depend on the split: results come back in item order, and an item no worker
finished (its work raised, or the worker died) is done again here, in order, so that the first failure
raises exactly as the loop would raise it.
"""

from __future__ import annotations

import marshal
import os
import sys
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

T = TypeVar("T")
R = TypeVar("R")

#: Fewer items than this per worker and a fork costs more than it saves.
MIN_ITEMS_PER_WORKER = 16
_MISSING: Any = object()


def can_fork() -> bool:
    """Linux and the BSDs; macOS's system libraries are not safe to use in a forked child, Windows has no fork."""
    return hasattr(os, "fork") and sys.platform != "darwin"


def usable_cpus() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not Linux
        return os.cpu_count() or 1


def worker_count(items: int, jobs: int | None) -> int:
    """How many processes (the caller's included) ``jobs`` means for ``items`` items; None is automatic:
    one per usable CPU, as long as each gets at least MIN_ITEMS_PER_WORKER items."""
    if not can_fork():
        return 1
    if jobs is None:
        jobs = min(usable_cpus(), items // MIN_ITEMS_PER_WORKER)
    return max(1, min(jobs, items))


def forked_map(work: Callable[[T], R], items: Sequence[T], *, workers: int,
               encode: Callable[[R], Any] = lambda r: r, decode: Callable[[Any], R] = lambda v: v) -> list[R]:
    """``[work(item) for item in items]`` over ``workers`` processes, this one included.

    The first item is done here before any fork, so that the workers inherit whatever it warmed up (lazy
    imports, caches); the rest are dealt out in turn (worker k of n takes every n-th item), which shares
    out small and large files alike. What a worker sends back is ``encode(result)``, which marshal (or else
    pickle) must be able to write; ``decode`` turns it back.
    """
    if workers <= 1 or len(items) < 3:
        return [work(item) for item in items]
    results: list[R] = [work(items[0])]
    results += [_MISSING] * (len(items) - 1)
    sys.stdout.flush()
    sys.stderr.flush()
    children: list[tuple[int, int, range]] = []
    try:
        for k in range(1, workers):
            share = range(k, len(items), workers)
            children.append((*_fork(work, items, share, encode), share))
        _fill(results, work, items, range(workers, len(items), workers))
        while children:
            pid, fd, share = children.pop(0)
            for index, value in zip(share, _collect(pid, fd), strict=False):  # a worker may stop early
                results[index] = decode(value)
    finally:
        for pid, fd, _ in children:  # interrupted: the workers go too
            _stop(pid, fd)
    for index, result in enumerate(results):
        if result is _MISSING:
            results[index] = work(items[index])  # raises as the loop would, or fills what a worker left
    return results


def _fill(results: list[Any], work: Callable[[T], Any], items: Sequence[T], share: range) -> None:
    """Results of the items in ``share`` until one raises (the in-order pass after the workers raises it)."""
    for index in share:
        try:
            results[index] = work(items[index])
        except Exception:  # done again, in order, where the caller sees it
            return


def _fork(work: Callable[[T], Any], items: Sequence[T], share: range,
          encode: Callable[[Any], Any]) -> tuple[int, int]:
    read_fd, write_fd = os.pipe()
    pid = os.fork()
    if pid:
        os.close(write_fd)
        return pid, read_fd
    status = 1
    try:  # the worker: its results until one raises, then out without running the caller's exit handlers
        os.close(read_fd)
        done: list[Any] = []
        for index in share:
            try:
                done.append(encode(work(items[index])))
            except Exception:  # the caller does this item again and raises there
                break
        with os.fdopen(write_fd, "wb") as pipe:
            pipe.write(_dumps(done))
        status = 0
    finally:
        os._exit(status)


def _dumps(values: list[Any]) -> bytes:
    try:
        return b"m" + marshal.dumps(values)
    except ValueError:  # not plain data: pickle writes what marshal cannot
        import pickle  # lazy: only results marshal refuses need it

        return b"p" + pickle.dumps(values, protocol=pickle.HIGHEST_PROTOCOL)


def _collect(pid: int, fd: int) -> list[Any]:
    """A worker's results (none if it died before sending them)."""
    with os.fdopen(fd, "rb") as pipe:
        data = pipe.read()
    _, status = os.waitpid(pid, 0)
    if status != 0 or not data:
        return []
    if data[:1] == b"m":
        return marshal.loads(data[1:])  # type: ignore[no-any-return]
    import pickle  # lazy: only results marshal refuses need it

    return pickle.loads(data[1:])  # type: ignore[no-any-return]


def _stop(pid: int, fd: int) -> None:
    import signal  # lazy: only an interrupted run stops its workers

    try:
        os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
    except ProcessLookupError:  # pragma: no cover - already gone
        pass
    os.close(fd)
