"""Reference §4 (DAG) and §5 (steps): each test names the fact it checks."""

from __future__ import annotations

import textwrap

from tests.simkit import node, phases, run

LEAVES = """
  - name: ok
    container: {image: busybox:1.36.1}
  - name: fails
    container: {image: busybox:1.36.1}
"""


def dag(tasks: str, extra: str = "") -> str:
    """A workflow whose main template is a DAG of ``tasks`` (YAML list items) over the leaves ok/fails."""
    body = textwrap.indent(textwrap.dedent(tasks).strip("\n"), " " * 8)
    options = f"\n      {extra}" if extra else ""
    return f"templates:\n  - name: main\n    dag:{options}\n      tasks:\n{body}\n" + LEAVES


def test_depends_false_gives_omitted_and_an_omitted_leaf_fails_the_dag() -> None:
    """§4: A fails and leaf B has depends: A → B Omitted → DAG Failed (Omitted inherits the branch)."""
    result = run(dag("""
            - {name: A, template: ok}
            - {name: B, template: ok, depends: A}
    """), fail={"A": ("Failed", None)})
    assert node(result, "B").phase == "Omitted"
    assert node(result, "B").message == "omitted: depends condition not met"
    assert result.phase == "Failed"


def test_a_failure_handler_leaf_makes_the_dag_succeed() -> None:
    """§4: A fails and leaf C has depends: A.Failed and succeeds → DAG Succeeded."""
    result = run(dag("""
            - {name: A, template: ok}
            - {name: C, template: ok, depends: A.Failed}
    """), fail={"A": ("Failed", None)})
    assert phases(result)["C"] == "Succeeded" and result.phase == "Succeeded"


def test_another_leaf_inheriting_the_failure_still_fails_the_dag() -> None:
    """§4: ... unless another leaf inherits A's failure (Failed/Error win over Succeeded)."""
    result = run(dag("""
            - {name: A, template: ok}
            - {name: C, template: ok, depends: A.Failed}
            - {name: D, template: ok, depends: A}
    """), fail={"A": ("Failed", None)})
    assert phases(result)["C"] == "Succeeded" and phases(result)["D"] == "Omitted"
    assert result.phase == "Failed"


def test_errored_operand_and_error_phase_propagate() -> None:
    """§4: .Errored is any other error; an inherited Error makes the DAG (and workflow) Error."""
    result = run(dag("""
            - {name: A, template: ok}
            - {name: E, template: ok, depends: A.Errored}
            - {name: F, template: ok, depends: A}
    """), fail={"A": ("Error", None)})
    assert phases(result)["E"] == "Succeeded" and phases(result)["F"] == "Omitted"
    assert result.phase == "Error"


def test_bare_dependency_means_succeeded_or_skipped_or_daemoned() -> None:
    """§4: a bare name A means (A.Succeeded || A.Skipped || A.Daemoned): a Skipped A lets B run."""
    result = run(dag("""
            - {name: A, template: ok, when: "1 == 2"}
            - {name: B, template: ok, depends: A}
    """))
    assert (phases(result)["A"], phases(result)["B"]) == ("Skipped", "Succeeded")
    assert result.phase == "Succeeded"


def test_dependencies_with_continue_on_failed_adds_or_failed() -> None:
    """§4: dependencies: [A] with A.continueOn.failed means (A || A.Failed), and the failed target
    with a matching continueOn does not fail the DAG."""
    result = run(dag("""
            - {name: A, template: fails, continueOn: {failed: true}}
            - {name: B, template: ok, dependencies: [A]}
    """), fail={"A": ("Failed", None)})
    assert phases(result)["B"] == "Succeeded" and result.phase == "Succeeded"
    errored = run(dag("""
            - {name: A, template: fails, continueOn: {failed: true}}
            - {name: B, template: ok, dependencies: [A]}
    """), fail={"A": ("Error", None)})
    assert phases(errored)["B"] == "Omitted" and errored.phase == "Error"


def test_a_failed_target_with_matching_continue_on_does_not_fail_the_dag() -> None:
    """§4: a failed target task with a matching continueOn does not fail the DAG."""
    result = run(dag("""
            - {name: A, template: fails, continueOn: {error: true}}
    """), fail={"A": ("Error", None)})
    assert phases(result)["A"] == "Error" and result.phase == "Succeeded"


def test_depends_operators_and_parentheses() -> None:
    """§4: depends uses && || ! and parentheses over task results."""
    result = run(dag("""
            - {name: A, template: ok}
            - {name: B, template: fails}
            - {name: C, template: ok, depends: "(A.Succeeded && !B.Succeeded) || B.Skipped"}
            - {name: D, template: ok, depends: "A.Succeeded && B.Succeeded"}
    """, "failFast: false"), fail={"B": ("Failed", None)})
    assert phases(result)["C"] == "Succeeded" and phases(result)["D"] == "Omitted"


def test_hyphenated_task_names_work_in_depends() -> None:
    """§4: task names containing - are rewritten to _ for evaluation (both spellings resolve)."""
    result = run(dag("""
            - {name: make-it, template: ok}
            - {name: use-it, template: ok, depends: make-it.Succeeded}
            - {name: also, template: ok, depends: make_it}
    """))
    assert phases(result)["use-it"] == "Succeeded" and phases(result)["also"] == "Succeeded"


def test_dag_phase_is_judged_over_dag_target_only() -> None:
    """§4: the DAG phase is computed over target tasks: dag.target when given."""
    result = run(dag("""
            - {name: A, template: ok}
            - {name: B, template: ok, depends: A}
            - {name: C, template: ok, depends: A}
    """, "target: C"), fail={"B": ("Failed", None)})
    assert phases(result)["B"] == "Failed" and result.phase == "Succeeded"


def test_mixing_depends_and_dependencies_is_an_error() -> None:
    """§4: you cannot mix dependencies and depends in one DAG."""
    result = run(dag("""
            - {name: A, template: ok}
            - {name: B, template: ok, depends: A}
            - {name: C, template: ok, dependencies: [A]}
    """))
    assert result.phase == "Error"


def test_a_bad_depends_expression_gives_an_error_node() -> None:
    """§4: a depends evaluation error gives an Error node."""
    result = run(dag("""
            - {name: A, template: ok}
            - {name: B, template: ok, depends: "A && (A.Failed"}
    """))
    assert phases(result)["B"] == "Error" and result.phase == "Error"


def test_fail_fast_starts_no_new_task_after_an_unhandled_failure() -> None:
    """§4: failFast (default true): after a task fails no new tasks start, running ones finish, then
    the DAG is Failed."""
    tasks = """
            - {name: A, template: fails}
            - {name: slow1, template: ok}
            - {name: slow2, template: ok, depends: slow1}
    """
    fast = run(dag(tasks), fail={"A": ("Failed", None)})
    assert "slow2" not in phases(fast) and phases(fast)["slow1"] == "Succeeded"
    assert fast.phase == "Failed"
    full = run(dag(tasks, "failFast: false"), fail={"A": ("Failed", None)})
    assert phases(full)["slow2"] == "Succeeded" and full.phase == "Failed"


def test_fan_out_any_succeeded_and_all_failed() -> None:
    """§4: AnySucceeded = at least one child Succeeded; AllFailed = every child Failed."""
    spec = dag("""
            - {name: each, template: ok, withItems: [a, b]}
            - {name: some, template: ok, depends: each.AnySucceeded}
            - {name: none, template: ok, depends: each.AllFailed}
    """, "failFast: false")
    ok = run(spec)
    assert phases(ok)["some"] == "Succeeded" and phases(ok)["none"] == "Omitted"
    assert [n.name for n in ok.nodes if n.name.startswith("each(")] == ["each(0:a)", "each(1:b)"]
    bad = run(spec, fail={"each": ("Failed", None)})
    assert phases(bad)["some"] == "Omitted" and phases(bad)["none"] == "Succeeded"


def test_empty_with_param_gives_a_skipped_task_group() -> None:
    """§4: a withParam with an empty list gives a Skipped TaskGroup."""
    result = run(dag("""
            - {name: each, template: ok, withParam: "[]"}
    """))
    assert phases(result)["each"] == "Skipped" and result.phase == "Succeeded"


def test_when_false_gives_skipped_and_bare_words_are_strings() -> None:
    """§4: a false when gives Skipped; when uses govaluate after substitution, bare words are strings."""
    spec = textwrap.dedent("""
    arguments: {parameters: [{name: coin, value: heads}]}
    templates:
      - name: main
        steps:
          - - {name: heads, template: ok, when: "{{workflow.parameters.coin}} == heads"}
            - {name: tails, template: ok, when: "{{workflow.parameters.coin}} == tails"}
            - {name: big, template: ok, when: "10 > 9"}
    """) + LEAVES
    found = phases(run(spec))
    assert (found["heads"], found["tails"], found["big"]) == ("Succeeded", "Skipped", "Succeeded")


def test_a_when_that_cannot_be_evaluated_gives_error() -> None:
    """§4/§5: a bad when gives Error for the step and the group (the steps node then fails)."""
    result = run(textwrap.dedent("""
    templates:
      - name: main
        steps:
          - - {name: odd, template: ok, when: "a == (b"}
    """) + LEAVES)
    assert phases(result)["odd"] == "Error" and result.phase == "Failed"


# --- §5 steps -------------------------------------------------------------------------------------

STEPS = textwrap.dedent("""
templates:
  - name: main
    steps:
      - - {name: one, template: ok}
        - {name: two, template: fails}
      - - {name: three, template: ok}
""") + LEAVES


def test_a_failed_group_stops_later_groups_and_siblings_are_not_cancelled() -> None:
    """§5: siblings are not cancelled when one fails; a failed group stops the template."""
    result = run(STEPS, fail={"two": ("Failed", None)})
    assert phases(result)["one"] == "Succeeded" and "three" not in phases(result)
    assert result.phase == "Failed"


def test_steps_node_is_failed_even_when_the_child_was_error() -> None:
    """§5: the steps template turns Error into Failed."""
    result = run(STEPS, fail={"two": ("Error", None)})
    assert phases(result)["two"] == "Error" and result.phase == "Failed"


def test_continue_on_lets_the_next_group_run() -> None:
    """§5: the group is Failed only without a matching continueOn.failed/error."""
    spec = STEPS.replace("template: fails}", "template: fails, continueOn: {failed: true}}")
    assert phases(run(spec, fail={"two": ("Failed", None)}))["three"] == "Succeeded"
    assert "three" not in phases(run(spec, fail={"two": ("Error", None)}))


def test_steps_run_groups_in_order_and_a_group_in_parallel() -> None:
    """§5: the outer list runs sequentially, each inner list in parallel."""
    result = run(STEPS)
    started = {e.node: e.time for e in result.events if e.phase == "Running" and e.attempt == 0}
    assert started["one"] == started["two"] == 0 and started["three"] == 10


def test_step_outputs_of_a_suspend_gate_drive_when() -> None:
    """§4/§6: when over steps.<gate>.outputs.parameters (intermediate parameters)."""
    spec = textwrap.dedent("""
    templates:
      - name: main
        steps:
          - - {name: ask, template: ask}
          - - {name: act, template: ok, when: "{{steps.ask.outputs.parameters.go}} == YES"}
      - name: ask
        suspend: {}
        inputs: {parameters: [{name: go, default: "NO", enum: ["YES", "NO"]}]}
        outputs: {parameters: [{name: go, valueFrom: {supplied: {}}}]}
    """) + LEAVES
    assert phases(run(spec, resume={"ask": {"go": "YES"}}))["act"] == "Succeeded"
    assert phases(run(spec, resume={"ask": {}}))["act"] == "Skipped"  # the default, NO


def test_nested_templates_and_template_ref_within_the_file() -> None:
    """Nested steps/DAG templates and templateRef to a WorkflowTemplate of the same file run."""
    from generator.model import parse_documents
    from generator.simulate import Target, simulate
    from generator.yamlio import load_documents

    text = """
apiVersion: argoproj.io/v1alpha1
kind: WorkflowTemplate
metadata: {name: lib}
spec:
  templates:
    - name: leaf
      container: {image: busybox:1.36.1}
---
apiVersion: argoproj.io/v1alpha1
kind: Workflow
metadata: {name: uses-lib}
spec:
  entrypoint: main
  templates:
    - name: main
      steps: [[{name: outer, template: inner}]]
    - name: inner
      dag:
        tasks: [{name: remote, templateRef: {name: lib, template: leaf}}]
"""
    manifests = parse_documents(load_documents(text), file="t.yaml")
    result = simulate(Target(manifests[1], manifests))
    assert phases(result) == {"uses-lib": "Succeeded", "outer": "Succeeded", "remote": "Succeeded"}
    assert node(result, "remote").template == "leaf"
