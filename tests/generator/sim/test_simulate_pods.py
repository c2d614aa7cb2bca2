"""Every pod is faultable: a leaf entrypoint, a leaf exit handler and step hooks, with Argo's node names,
the unschedulable fault and Argo's entry- and exit-template error paths, containerSet retries, fan-out
item names, resume values, unknown ``when`` values, validation and the verdicts. Each test names the Argo
fact it checks (docs/argo-semantics.md, or a section of ../shared/reference/argo-failure-semantics.md)."""

from __future__ import annotations

import io
import json
import textwrap
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from generator.cli import main
from generator.model import Template
from generator.sim.faults import UNSCHEDULABLE, parse_resume
from generator.sim.matrix import run_matrix
from generator.simulate import Faults, check_faults, simulate
from tests.hypokit import examples
from tests.simkit import node, run, target

LEAF = """\
onExit: cleanup
templates:
- name: main
  container: {image: busybox:1.36.1}
- name: cleanup
  container: {image: busybox:1.36.1}
"""


def cli(tmp_path: Path, spec_yaml: str, *args: str) -> tuple[int, str]:
    path = tmp_path / "wf.yaml"
    body = textwrap.indent(textwrap.dedent(spec_yaml).strip("\n"), "  ")
    path.write_text("apiVersion: argoproj.io/v1alpha1\nkind: Workflow\nmetadata:\n  name: demo\nspec:\n"
                    f"  entrypoint: main\n{body}\n", encoding="utf-8")
    out = io.StringIO()
    code = main(["simulate", str(path), *args], out=out)
    return code, out.getvalue()


def test_a_leaf_entrypoint_is_faultable_by_template_name_and_by_workflow_name(tmp_path: Path) -> None:
    """Leaf entry pods: Argo runs a leaf entrypoint as one pod, the node named after the workflow."""
    for name in ("main", "demo"):
        code, out = cli(tmp_path, LEAF, "--fail", name, "--json")
        result = json.loads(out)
        assert code == 0 and result["phase"] == "Failed"
        assert [n["name"] for n in result["nodes"]] == ["demo", "demo.onExit"]
        assert result["exit_handler"] == {"ran": True, "phase": "Succeeded"}


@pytest.mark.parametrize("name", ["cleanup", "onExit", "demo.onExit"])
def test_a_leaf_exit_handler_is_faultable_by_every_name(tmp_path: Path, name: str) -> None:
    """Leaf entry and exit pods: the exit handler's node is <workflow>.onExit; a Failed exit handler after
    a Succeeded main run makes the workflow Failed (reference §3)."""
    code, out = cli(tmp_path, LEAF, "--fail", name, "--json")
    result = json.loads(out)
    assert code == 0 and result["phase"] == "Failed"
    assert result["exit_handler"] == {"ran": True, "phase": "Failed"}


def test_a_leaf_exit_handler_that_errors_after_success_leaves_the_workflow_error() -> None:
    """Reference §3 / operator.go operate: main Succeeded + exit node Error → markWorkflowError, not Failed."""
    result = run(LEAF, fail={"onExit": ("Error", None)})
    assert result.phase == "Error" and result.exit_phase == "Error"


def test_an_entry_pod_that_cannot_be_created_errors_the_workflow_and_skips_the_exit_handler() -> None:
    """Entry and exit template errors: a pod creation error in the entry template returns from
    executeTemplate; operate marks the workflow Error and returns before the exit handler."""
    result = run(LEAF, fail={"main": (UNSCHEDULABLE, None)})
    assert result.phase == "Error" and not result.exit_ran
    assert "error in entry template execution" in result.events[-1].message


def test_an_exit_pod_that_cannot_be_created_errors_the_workflow_even_after_a_failure() -> None:
    """Entry and exit template errors: an error in the exit template marks the workflow Error."""
    result = run(LEAF, fail={"main": ("Failed", None), "cleanup": (UNSCHEDULABLE, None)})
    assert result.phase == "Error" and result.exit_phase == "Error"


def test_an_unschedulable_step_fails_its_steps_template_whatever_continue_on_says() -> None:
    """Entry and exit template errors: executeStepGroup marks the step group Error ("step group deemed
    errored due to child") when a child returns an error, whatever continueOn says; executeSteps then
    marks the steps node Failed and returns no error, so the workflow ends Failed, the exit handler runs
    and later groups do not run."""
    result = run("""
    onExit: bye
    templates:
    - name: main
      steps:
      - - {name: a, template: work, continueOn: {error: true}}
      - - {name: b, template: work}
    - name: work
      container: {image: busybox:1.36.1}
    - name: bye
      container: {image: busybox:1.36.1}
    """, fail={"a": (UNSCHEDULABLE, None)})
    assert result.phase == "Failed" and node(result, result.workflow).phase == "Failed"
    assert "step group deemed errored due to child a error" in node(result, result.workflow).message
    assert result.exit_ran and result.exit_phase == "Succeeded"
    assert "b" not in result.touched


def test_an_unschedulable_pod_is_retried_by_a_policy_that_retries_errors() -> None:
    """Entry and exit template errors: under Always/OnError the error is not returned; the retry node
    retries it (reference §1 policy table)."""
    result = run("""
    templates:
    - name: main
      retryStrategy: {limit: 2, retryPolicy: OnError}
      container: {image: busybox:1.36.1}
    """, fail={"main": (UNSCHEDULABLE, 1)})
    assert result.phase == "Succeeded" and node(result, result.workflow).attempts == 2


def test_unschedulable_names_a_step_with_a_pod_of_its_own() -> None:
    """Template kinds: a suspend template has no pod, so it cannot be unschedulable."""
    gate = target("""
    templates:
    - name: main
      steps: [[{name: wait, template: gate}]]
    - name: gate
      suspend: {duration: "10"}
    """)
    with pytest.raises(Exception, match="runs the suspend template"):
        check_faults(gate, Faults(fail={"wait": (UNSCHEDULABLE, None)}))


def test_pod_kinds_follow_argo_is_pod_type() -> None:
    """Template kinds: IsPodType is container, containerSet, script, resource, data; http and plugin run
    in the agent pod; suspend, steps and dag run none."""
    kinds = {"container": {}, "containerSet": {}, "script": {}, "resource": {}, "data": {}, "http": {},
             "plugin": {}, "suspend": {}, "steps": [], "dag": {}}
    pods = {k for k in kinds if Template.parse({"name": "t", k: kinds[k]}, 0).runs_pod}
    faultable = {k for k in kinds if Template.parse({"name": "t", k: kinds[k]}, 0).faultable}
    assert pods == {"container", "containerSet", "script", "resource", "data"}
    assert faultable == pods | {"http", "plugin"}


def test_the_matrix_fails_a_leaf_exit_handler_and_labels_the_row() -> None:
    """Leaf entry and exit pods: the matrix gets "cleanup failed" rows for a single-container onExit."""
    matrix = run_matrix(target(LEAF))
    labels = [row.title for row in matrix.rows]
    assert "cleanup failed permanently" in labels
    assert "main could not be scheduled (its pod is never created)" in labels
    assert "cleanup failed once, not retried: it has no retryStrategy" in labels
    assert matrix.injected > 0


def test_failed_once_rows_say_what_the_policy_did() -> None:
    """Reference §1: OnError does not retry Failed; the row says so instead of "then recovered"."""
    matrix = run_matrix(target("""
    templates:
    - name: main
      steps: [[{name: a, template: work}, {name: b, template: safe}]]
    - name: work
      retryStrategy: {limit: 2, retryPolicy: OnError}
      activeDeadlineSeconds: 60
      container: {image: busybox:1.36.1}
    - name: safe
      retryStrategy: {limit: 2}
      activeDeadlineSeconds: 60
      container: {image: busybox:1.36.1}
    """))
    labels = {row.scenario.label: row.title for row in matrix.rows}
    assert labels["a failed once"] == "a failed once, not retried: OnError does not retry failures"
    assert labels["b failed once"] == "b failed once, then recovered (retried)"


def test_a_matrix_that_injects_no_fault_says_so_instead_of_passed() -> None:
    """Verdicts: a workflow whose steps are all templateRefs outside the file has no pod to fault."""
    matrix = run_matrix(target("""
    templates:
    - name: main
      steps: [[{name: a, templateRef: {name: elsewhere, template: x}}]]
    """))
    assert matrix.injected == 0 and not matrix.passed
    assert matrix.summary().startswith("NO FAULT INJECTED") and "PASSED" not in matrix.summary()


def test_a_retry_without_limit_over_a_permanent_fault_is_unsafe(tmp_path: Path) -> None:
    """Reference §1: retryStrategy without a limit retries until it succeeds; a permanent fault never ends."""
    code, out = cli(tmp_path, """
    templates:
    - name: main
      retryStrategy: {}
      container: {image: busybox:1.36.1}
    """, "--fail", "main")
    assert code == 1 and "UNSAFE: the workflow never ends (retries forever)" in out


def test_a_hang_no_deadline_reaches_is_unsafe_in_a_run_and_in_the_matrix(tmp_path: Path) -> None:
    """Reference §2: with no pod, template or workflow deadline nothing kills a hung pod."""
    code, out = cli(tmp_path, LEAF, "--hang", "main")
    assert code == 1 and "never ends (hangs with no deadline)" in out
    row = next(r for r in run_matrix(target(LEAF)).rows if r.scenario.label == "main hung")
    assert row.violation and row.verdict() == "UNSAFE: never ends (hangs with no deadline)"


def test_terminate_at_reports_the_known_gap_the_matrix_reports(tmp_path: Path) -> None:
    """Reference §3: argo terminate runs no exit handler; one verdict for a run and the matrix."""
    spec = """
    onExit: cleanup
    templates:
    - name: main
      steps: [[{name: make, template: make}], [{name: use, template: use}]]
    - name: make
      metadata: {annotations: {pipeforge.io/creates: "ConfigMap/scratch"}}
      container: {image: busybox:1.36.1}
    - name: use
      container: {image: busybox:1.36.1}
    - name: cleanup
      metadata: {annotations: {pipeforge.io/deletes: "ConfigMap/scratch"}}
      container: {image: busybox:1.36.1}
    """
    code, out = cli(tmp_path, spec, "--terminate-at", "use")
    assert code == 0 and "known gap: argo terminate runs no exit handler" in out
    row = next(r for r in run_matrix(target(spec)).rows if r.scenario.label == "argo terminate while use runs")
    assert row.excused == "argo terminate runs no exit handler" and not row.violation


def test_containerset_retries_rerun_a_failing_container_inside_the_pod() -> None:
    """containerSet retries: the executor re-runs a failing container in its pod (retries = backoff Steps)."""
    spec = """
    templates:
    - name: main
      containerSet:
        retryStrategy: {retries: 2}
        containers: [{name: a, image: busybox:1.36.1}]
    """
    recovered = run(spec, fail={"main": ("Failed", 1)})
    assert recovered.phase == "Succeeded" and any("containerSet" in a for a in recovered.assumptions)
    assert run(spec, fail={"main": ("Failed", 2)}).phase == "Failed"
    assert run(spec, fail={"main": ("Error", 1)}).phase == "Error"


def test_fan_out_items_carry_argo_node_names() -> None:
    """Map-item node names: generateNodeName(name, i, sorted "key:value" pairs), strings unquoted, lists
    printed as [a b], parentheses dropped."""
    result = run("""
    templates:
    - name: main
      steps:
      - - name: fst
          template: work
          withItems: [{name: first, type: ""}, "plain (x)", 3, [a, b], {b: 1, a: {z: true}}]
    - name: work
      container: {image: busybox:1.36.1}
    """)
    names = [n.name for n in result.nodes if n.name.startswith("fst(")]
    assert names == ["fst(0:name:first,type:)", "fst(1:plain x)", "fst(2:3)", "fst(3:[a b])",
                     'fst(4:a:{"z":true},b:1)']


def test_resume_values_may_carry_commas() -> None:
    """Reference §6: a supplied value is any string; a JSON string or object carries commas."""
    assert parse_resume('approve:msg="Hello, World!",ok=YES') == ("approve", {"msg": "Hello, World!", "ok": "YES"})
    assert parse_resume('approve:{"msg": "Hello, World!"}') == ("approve", {"msg": "Hello, World!"})
    with pytest.raises(ValueError, match="not a JSON object"):
        parse_resume("approve:{msg")


def test_an_unknown_when_names_the_branch_taken() -> None:
    """Reference §4: when is govaluate after substitution; an output not known offline is named."""
    result = run("""
    templates:
    - name: main
      steps:
      - - {name: flip, template: work}
      - - {name: heads, template: work, when: "{{steps.flip.outputs.result}} == heads"}
    - name: work
      container: {image: busybox:1.36.1}
    """)
    assert any("depends on a value not known offline: the step is skipped" in a for a in result.assumptions)


def test_an_invalid_workflow_exits_2_listing_every_problem(tmp_path: Path, capsys: pytest.CaptureFixture[str]
                                                           ) -> None:
    """Argo's validation (workflow/validate): missing templates, an invalid onExit and a cycle reject the
    workflow before any pod runs."""
    code, out = cli(tmp_path, """
    onExit: nothere
    templates:
    - name: main
      dag:
        tasks:
        - {name: a, template: work, depends: b}
        - {name: b, template: work, depends: a}
        - {name: c, template: missing}
    - name: work
      container: {image: busybox:1.36.1}
    """, "--matrix")
    err = capsys.readouterr().err
    assert code == 2 and out == ""
    assert "3 problems" in err and "spec.onExit 'nothere'" in err and "'missing'" in err
    assert "dependency cycle a -> b -> a" in err and "nothing was simulated" in err


def test_the_default_faults_are_unchanged_for_nested_steps() -> None:
    """Reference §5: a failing step without continueOn fails the steps node Failed (Error turned Failed)."""
    result = simulate(target("""
    templates:
    - name: main
      steps: [[{name: a, template: work}]]
    - name: work
      container: {image: busybox:1.36.1}
    """), Faults(fail={"a": ("Error", None)}))
    assert result.phase == "Failed"


@pytest.mark.parametrize("template", ["provision-process-publish", "saga-compensation", "approval-gated-delete"])
def test_builtin_templates_pass_the_matrix_including_their_exit_handlers_own_failures(template: str) -> None:
    """Reference §3: an exit handler's pods are faulted like any step; the built-in templates stay safe."""
    from generator.scaffold import MANIFEST_FILE
    from generator.simulate import load_text
    from tests.conftest import pipeline_for

    built = load_text(pipeline_for(template, "defaults").files[MANIFEST_FILE])
    matrix = run_matrix(built)
    assert matrix.passed, matrix.summary()
    exit_steps = {name for name, info in built.steps().items() if info.stage == "exit handler" and info.runs}
    faulted = {row.scenario.step for row in matrix.rows if row.scenario.kind == "failed"}
    if built.manifest.spec.exit_handler:
        assert exit_steps and exit_steps <= faulted


@settings(max_examples=examples(200), deadline=None)
@given(st.dictionaries(st.from_regex(r"[a-z][a-z0-9_]{0,8}", fullmatch=True), st.text(max_size=30), max_size=4))
def test_any_resume_value_round_trips_through_the_json_string_form(values: dict[str, str]) -> None:
    """Reference §6: a supplied value is any string: commas, quotes, equals signs and newlines included."""
    text = "gate:" + ",".join(f"{k}={json.dumps(v)}" for k, v in values.items())
    assert parse_resume(text) == ("gate", values)
    assert parse_resume("gate:" + json.dumps(values)) == ("gate", values)


def test_a_leaf_step_hook_is_faultable_by_its_template_name() -> None:
    """Reference §3: a step's exit hook runs as its own pod, <step>.onExit, after the step completes."""
    hooked = target("""
    templates:
    - name: main
      steps: [[{name: work, template: work, hooks: {exit: {template: notify}}}]]
    - name: work
      container: {image: busybox:1.36.1}
    - name: notify
      container: {image: busybox:1.36.1}
    """)
    assert hooked.aliases["notify"] == "work.onExit"
    result = simulate(hooked, Faults(fail={"notify": ("Failed", None)}))
    assert node(result, "work.onExit").phase == "Failed" and result.phase == "Succeeded"


def test_explain_gives_a_leaf_entrypoint_and_exit_handler_their_rows() -> None:
    """Leaf entry and exit pods: a single-container workflow has one row per pod."""
    from generator.explain import failure_modes

    rows = failure_modes(target(LEAF).manifest)
    assert [(r.step, r.stage) for r in rows] == [("main", "main"), ("cleanup", "exit handler")]
    assert "no exit handler runs" in rows[0].on_failure


def test_stop_and_terminate_at_a_leaf_entrypoint() -> None:
    """Reference §3: argo stop still runs the exit handler; argo terminate does not."""
    stopped = run(LEAF, stop_at="main")
    assert stopped.phase == "Failed" and stopped.exit_ran
    terminated = run(LEAF, terminate_at="main")
    assert terminated.phase == "Failed" and not terminated.exit_ran


@pytest.mark.parametrize("name", ["bye", "onExit", "t.onExit"])
def test_a_leaf_workflow_exit_hook_is_faultable_by_every_name(name: str) -> None:
    """Reference §3 / Leaf entry and exit pods: spec.hooks.exit (without onExit) is the exit handler, run
    as the pod <workflow>.onExit; a Failed exit handler after a Succeeded main run makes the workflow Failed."""
    hooked = target("""
    hooks: {exit: {template: bye}}
    templates:
    - name: main
      steps: [[{name: work, template: work}]]
    - name: work
      container: {image: busybox:1.36.1}
    - name: bye
      container: {image: busybox:1.36.1}
    """)
    result = simulate(hooked, Faults(fail={name: ("Failed", None)}))
    assert node(result, f"{result.workflow}.onExit").phase == "Failed"
    assert result.phase == "Failed" and result.exit_phase == "Failed"
    rows = [r.scenario.label for r in run_matrix(hooked).rows]
    assert "bye failed permanently" in rows and "bye could not be scheduled (its pod is never created)" in rows
