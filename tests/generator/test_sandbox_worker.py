"""``run_bounded``: untrusted work in a worker process, stopped at its budget, the pool still serving.

The functions below run in the workers, so they live at module level (the worker imports them by name).
"""

from __future__ import annotations

import os
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from generator.errors import BudgetExceeded, InvalidParametersError, ManifestError, ParameterProblem
from generator.sandbox_worker import run_bounded


def spin() -> None:
    while True:
        pass


def huge_power() -> int:
    return 3 ** (10**9)  # one long C call: no signal handler runs until it returns


def hoard() -> int:
    return len(bytearray(3 * 1024**3))


def invalid() -> None:
    raise InvalidParametersError([ParameterProblem("retry_limit", 99, "must be between 0 and 10")])


def unreadable() -> None:
    raise ManifestError("mapping values are not allowed here", file="wf.yaml", line=7)


def render_forever(folder: str) -> None:
    """Many short renders, each with its own budget: together they must still stop at the task's."""
    from generator.render import render
    from generator.template_spec import load_template

    template = load_template(Path(folder))
    while True:
        render(template, template.defaults())


def pid_after(seconds: float) -> int:
    time.sleep(seconds)
    return os.getpid()


def test_the_result_comes_back_from_another_process() -> None:
    assert run_bounded(pid_after, 0) != os.getpid()


def test_errors_come_back_with_their_details() -> None:
    with pytest.raises(InvalidParametersError) as raised:
        run_bounded(invalid)
    assert [(p.field, p.value, p.rule) for p in raised.value.problems] == [("retry_limit", 99,
                                                                             "must be between 0 and 10")]
    with pytest.raises(ManifestError) as unread:
        run_bounded(unreadable)
    assert (unread.value.file, unread.value.line, unread.value.message) == (
        "wf.yaml", 7, "wf.yaml:7: mapping values are not allowed here")


def test_a_busy_loop_is_stopped_at_its_wall_clock_budget_and_the_worker_serves_again() -> None:
    with pytest.raises(BudgetExceeded) as raised:
        run_bounded(spin, timeout=0.5)
    assert raised.value.budget == "worker-seconds"
    assert "stopped" in raised.value.message
    assert run_bounded(pid_after, 0) > 0


def test_renders_inside_a_task_do_not_stretch_the_task_budget(tmp_path: Path) -> None:
    from tests.conftest import template_variant

    folder = template_variant(tmp_path, name="again")
    (folder / "[[cookiecutter.pipeline_name]][#{{}}#]" / "notes.md").write_text(  # a tenth of a second or so per render
        "[% for i in range(100000) %][[ i ]][% endfor %]\n", encoding="utf-8")
    with pytest.raises(BudgetExceeded) as raised:
        run_bounded(render_forever, str(folder), timeout=1)
    assert raised.value.budget == "worker-seconds"
    assert "wall-clock budget" in raised.value.message  # the worker's own alarm, not the kill from outside


def test_a_call_that_never_returns_to_python_is_killed_and_its_worker_replaced() -> None:
    with pytest.raises(BudgetExceeded) as raised:
        run_bounded(huge_power, timeout=0.5)
    assert raised.value.budget in ("worker-seconds", "worker-crashed")
    assert "stopped" in raised.value.message or "died" in raised.value.message
    assert run_bounded(pid_after, 0) > 0


def test_memory_past_the_limit_is_a_budget_error_not_a_dead_server() -> None:
    with pytest.raises(BudgetExceeded) as raised:
        run_bounded(hoard, memory_mb=512)
    assert raised.value.budget == "worker-memory" and "512 MB" in raised.value.message
    assert run_bounded(pid_after, 0, memory_mb=512) > 0


def test_other_work_is_served_while_one_worker_is_busy_with_a_runaway() -> None:
    with ThreadPoolExecutor(max_workers=2) as threads:
        runaway = threads.submit(run_bounded, spin, timeout=3)
        time.sleep(0.3)
        assert run_bounded(pid_after, 0) > 0
        assert not runaway.done()  # answered while the runaway still runs: not queued behind it
        with pytest.raises(BudgetExceeded):
            runaway.result()


def test_an_upgrade_to_a_bomb_costs_its_budget_in_the_worker(tmp_path: Path) -> None:
    """What the registry's upgrade jobs do (``build_with=build_bounded``): the new version's render is a
    budget error from the worker, and nothing of it is planned."""
    from generator.scaffold import build, build_bounded, write
    from generator.template_spec import load_template
    from generator.upgrade import Answers, plan_from
    from tests.conftest import template_variant

    old = load_template(template_variant(tmp_path / "old", name="fleet", version="1.0.0"))
    bomb_folder = template_variant(tmp_path / "new", name="fleet", version="1.1.0")
    (bomb_folder / "[[cookiecutter.pipeline_name]][#{{}}#]" / "notes.md").write_text(
        "[% for i in range(100000) %][% for j in range(100000) %][% endfor %][% endfor %]\n", encoding="utf-8")
    new = load_template(bomb_folder)
    folder = write(build(old, {}), tmp_path / "pipeline")
    versions = {"1.0.0": old, "1.1.0": new, "latest": new}

    def resolve(_name: str, spec: str) -> tuple[Any, str | None]:
        return versions[spec], None

    with pytest.raises(BudgetExceeded) as raised:
        plan_from(folder, Answers.read(folder), lambda p: (folder / p).read_text(encoding="utf-8"), "1.1.0", resolve,
                  build_with=build_bounded)
    assert raised.value.budget == "render-seconds" and "notes.md" in raised.value.message
