"""Work split across forked processes gives what a loop gives: the results in order, the first failure raised."""

from __future__ import annotations

import os

import pytest

from generator.forkmap import MIN_ITEMS_PER_WORKER, can_fork, forked_map, worker_count

pytestmark = pytest.mark.skipif(not can_fork(), reason="workers are forks (Linux, the BSDs)")


def _square_with_pid(n: int) -> tuple[int, int]:
    return n * n, os.getpid()


def test_results_come_back_in_item_order_from_every_worker() -> None:
    results = forked_map(_square_with_pid, list(range(50)), workers=3)
    assert [value for value, _ in results] == [n * n for n in range(50)]
    assert len({pid for _, pid in results}) == 3  # this process and two workers did the work


def test_the_first_failure_in_item_order_is_raised_as_the_loop_raises_it() -> None:
    def work(n: int) -> int:
        if n == 7:
            raise KeyError("seven")  # in a worker's share (items are dealt in turn)
        if n == 9:
            raise ValueError("nine")  # in this process's share, later in order
        return n

    with pytest.raises(KeyError, match="seven"):
        forked_map(work, list(range(20)), workers=3)


def test_what_a_dead_worker_left_is_done_here() -> None:
    parent = os.getpid()

    def work(n: int) -> int:
        if os.getpid() != parent and n > 10:
            os._exit(3)  # the worker dies without sending anything
        return -n

    assert forked_map(work, list(range(30)), workers=2) == [-n for n in range(30)]


def test_results_that_marshal_refuses_go_through_pickle() -> None:
    results = forked_map(lambda n: {frozenset({n})}, list(range(10)), workers=2)
    assert results == [{frozenset({n})} for n in range(10)]


def test_automatic_jobs_use_every_cpu_only_with_enough_items_each() -> None:
    assert worker_count(MIN_ITEMS_PER_WORKER - 1, None) == 1
    assert worker_count(1000, None) == len(os.sched_getaffinity(0))
    assert worker_count(3, 8) == 3 and worker_count(100, 1) == 1
