"""Validation before a simulation, as Argo's workflow/validate rejects a workflow before any pod runs:
each problem on a manifest of its own, every problem listed, and a valid workflow untouched."""

from __future__ import annotations

import dataclasses

import pytest

from generator.errors import InvalidWorkflowError
from generator.sim.validate import problems_of
from tests.simkit import target

WORK = "- name: work\n  container: {image: busybox:1.36.1}\n"


@pytest.mark.parametrize(
    ("spec", "problem"),
    [
        ("templates:\n" + WORK, "spec.entrypoint 'main' names no template"),
        ("onExit: gone\ntemplates:\n- name: main\n  container: {image: busybox:1.36.1}\n",
         "spec.onExit 'gone' names no template"),
        ("hooks: {exit: {template: gone}}\ntemplates:\n- name: main\n  container: {image: busybox:1.36.1}\n",
         "spec.hooks.exit 'gone' names no template"),
        ("templates:\n- name: main\n  steps: [[{name: a, template: nope}]]\n",
         "template 'main' step 'a' names template 'nope', which is not defined"),
        ("templates:\n- name: main\n  steps: [[{name: a, template: work, hooks: {exit: {template: nope}}}]]\n" + WORK,
         "its exit hook names template 'nope'"),
        ("templates:\n- name: main\n  dag: {tasks: [{name: a, template: work}, {name: a, template: work}]}\n" + WORK,
         "task name 'a' is used more than once"),
        ("templates:\n- name: main\n  dag: {tasks: [{name: a, template: work},"
         " {name: b, template: work, depends: a}, {name: c, template: work, dependencies: [a]}]}\n" + WORK,
         "a DAG cannot mix depends and dependencies"),
        ("templates:\n- name: main\n  dag: {tasks: [{name: a, template: work, depends: 'a &&'}]}\n" + WORK,
         "depends 'a &&' is malformed"),
        ("templates:\n- name: main\n  dag: {tasks: [{name: a, template: work, dependencies: [z]}]}\n" + WORK,
         "depends on 'z', which is not a task of this DAG"),
        ("templates:\n- name: main\n  dag: {tasks: [{name: a, template: work, depends: c},"
         " {name: b, template: work, depends: a}, {name: c, template: work, depends: b}]}\n" + WORK,
         "dependency cycle a -> c -> b -> a"),
        ("templates:\n- name: main\n  steps: [[{name: a, template: empty}]]\n- name: empty\n  inputs: {}\n",
         "template 'empty' has no container"),
    ],
)
def test_each_problem_argo_rejects_is_named(spec: str, problem: str) -> None:
    """Argo's validation (workflow/validate ValidateWorkflow): no pod runs for an invalid workflow."""
    found = problems_of(target(spec).manifest, [])
    assert any(problem in p for p in found), found


def test_a_dag_written_dependents_first_is_no_cycle() -> None:
    """Tasks listed before what they depend on (``b`` then ``a``, a diamond after them): the search meets
    finished tasks again and reports nothing; a cycle behind them is still found."""
    diamond = ("templates:\n- name: main\n  dag: {tasks: [{name: d, template: work, depends: b && c},"
               " {name: b, template: work, depends: a}, {name: c, template: work, depends: a},"
               " {name: a, template: work}]}\n" + WORK)
    assert problems_of(target(diamond).manifest, []) == []
    looped = diamond.replace("{name: a, template: work}", "{name: a, template: work, depends: e},"
                             " {name: e, template: work, depends: a}")
    assert any("dependency cycle a -> e -> a" in p for p in problems_of(target(looped).manifest, []))


def test_every_problem_is_listed_and_a_valid_workflow_passes() -> None:
    """STYLE: validation collects every problem, not just the first."""
    bad = target("onExit: gone\ntemplates:\n- name: main\n"
                 "  steps: [[{name: a, template: x}, {name: b, template: y}]]\n")
    with pytest.raises(InvalidWorkflowError) as caught:
        bad.validate()
    assert len(caught.value.problems) == 3 and "nothing was simulated" in caught.value.message
    target("templates:\n- name: main\n  steps: [[{name: a, template: work}]]\n" + WORK).validate()


def test_a_template_ref_outside_the_file_is_assumed_to_exist() -> None:
    """The simulator resolves templateRefs within the file only; others are named assumptions, not errors."""
    spec = "templates:\n- name: main\n  steps: [[{name: a, templateRef: {name: elsewhere, template: x}}]]\n"
    assert problems_of(target(spec).manifest, []) == []


class _CountedName(str):
    """A task name that counts how often it is compared for equality."""

    comparisons = 0

    def __eq__(self, other: object) -> bool:
        _CountedName.comparisons += 1
        return str.__eq__(self, other)

    __hash__ = str.__hash__


def test_repeated_task_names_are_found_in_a_number_of_comparisons_linear_in_the_dag() -> None:
    """A DAG of thousands of tasks (a manifest under the 4 MiB reading cap holds about 100,000): finding
    repeated names compares each name a bounded number of times, never once per other task."""
    tasks = 2_000
    spec = target("templates:\n- name: main\n  dag:\n    tasks:\n"
                  + "".join(f"    - {{name: t{i}, template: work}}\n" for i in range(tasks - 1))
                  + "    - {name: t0, template: work}\n" + WORK)
    (main,) = [t for t in spec.manifest.spec.templates.values() if t.name == "main"]
    counted = tuple(dataclasses.replace(task, name=_CountedName(task.name)) for task in main.dag_tasks)
    templates = {**spec.manifest.spec.templates, "main": dataclasses.replace(main, dag_tasks=counted)}
    manifest = dataclasses.replace(spec.manifest, spec=dataclasses.replace(spec.manifest.spec, templates=templates))
    _CountedName.comparisons = 0
    found = problems_of(manifest, [])
    assert [p for p in found if "more than once" in p] == ["template 'main': task name 't0' is used more than once"]
    assert _CountedName.comparisons < 20 * tasks, _CountedName.comparisons


def test_a_huge_malformed_depends_is_echoed_bounded() -> None:
    depends = "(" * 3_000 + "a" + ")" * 3_000
    (problem,) = problems_of(target("templates:\n- name: main\n  dag: {tasks: [{name: a, template: work},"
                                    f" {{name: b, template: work, depends: '{depends}'}}]}}\n" + WORK).manifest, [])
    assert "is malformed" in problem and "MAX_NESTING" in problem and len(problem) < 500, len(problem)
