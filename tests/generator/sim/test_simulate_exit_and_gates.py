"""Reference §3 (exit handlers, stop, terminate) and §6 (suspend gates): each test names its fact."""

from __future__ import annotations

import textwrap

from generator.sim.matrix import run_matrix
from tests.simkit import node, phases, run, target

EXIT = textwrap.dedent("""
onExit: bye
templates:
  - name: main
    steps:
      - - {name: work, template: leaf}
      - - {name: after, template: leaf}
  - name: bye
    steps:
      - - {name: always, template: leaf}
        - {name: on-failure, template: leaf, when: "{{workflow.status}} != Succeeded"}
  - name: leaf
    container: {image: busybox:1.36.1}
""")


def test_exit_handler_runs_irrespective_of_success_failure_or_error_and_sees_workflow_status() -> None:
    """§3: onExit runs after the entry node completes, whatever its phase; workflow.status is set."""
    ok = run(EXIT)
    assert ok.phase == "Succeeded" and ok.exit_ran and phases(ok)["on-failure"] == "Skipped"
    for fault in ("Failed", "Error"):
        bad = run(EXIT, fail={"work": (fault, None)})
        assert bad.exit_ran and phases(bad)["on-failure"] == "Succeeded"
        assert bad.phase == "Failed"  # a steps template turns Error into Failed (§5)


def test_an_exit_handler_failure_turns_a_succeeded_workflow_failed() -> None:
    """§3: if the main workflow Succeeded but the exit handler Failed, the workflow becomes Failed."""
    result = run(EXIT, fail={"always": ("Failed", None)})
    assert result.exit_phase == "Failed" and result.phase == "Failed"


def test_an_exit_handler_failure_never_turns_a_failed_workflow_succeeded() -> None:
    """§3: an exit-handler failure never turns a Failed workflow into Succeeded (or anything else)."""
    result = run(EXIT, fail={"work": ("Failed", None), "always": ("Error", None)})
    assert result.phase == "Failed"


def test_argo_stop_runs_the_exit_handler_and_ends_failed() -> None:
    """§3: argo stop still runs exit handlers; the workflow ends Failed ("Stopped with strategy 'Stop'")."""
    result = run(EXIT, stop_at="work")
    assert result.exit_ran and result.phase == "Failed"
    assert node(result, "work").message == "Stopped with strategy 'Stop'"
    assert "after" not in phases(result)


def test_argo_terminate_runs_no_exit_handler() -> None:
    """§3: argo terminate kills every pod, exit pods included, and runs no exit handler."""
    result = run(EXIT, terminate_at="work")
    assert not result.exit_ran and result.phase == "Failed"
    assert node(result, "work").message == "Stopped with strategy 'Terminate'"


def test_terminate_during_the_exit_handler_kills_its_pods() -> None:
    """§3: under terminate all pods, exit pods included, are killed."""
    result = run(EXIT, fail={"work": ("Failed", None)}, terminate_at="always")
    assert node(result, "always").phase == "Failed" and result.exit_phase == "Failed"


def test_the_workflow_deadline_runs_the_exit_handler() -> None:
    """§3: when activeDeadlineSeconds is exceeded the exit handler still runs."""
    result = run("activeDeadlineSeconds: 60\n" + EXIT, hang=frozenset({"work"}))
    assert result.exit_ran and result.phase == "Failed"


def test_on_exit_wins_over_hooks_exit() -> None:
    """§3: onExit wins if both onExit and hooks.exit are set."""
    spec = EXIT.replace("onExit: bye", "onExit: bye\nhooks: {exit: {template: leaf}}")
    result = run(spec)
    assert result.exit_ran and "always" in phases(result)
    hooks_only = run(EXIT.replace("onExit: bye", "hooks: {exit: {template: bye}}"))
    assert hooks_only.exit_ran and "always" in phases(hooks_only)


def test_a_missing_exit_handler_template_gives_workflow_error() -> None:
    """§3 / #5835: an exit handler that cannot be resolved gives workflow Error."""
    result = run(EXIT.replace("onExit: bye", "onExit: nowhere"))
    assert result.exit_phase == "Error" and result.phase == "Error"


STEP_HOOK = textwrap.dedent("""
templates:
  - name: main
    steps:
      - - name: work
          template: leaf
          hooks:
            exit: {template: tidy, arguments: {parameters: [{name: s, value: "{{steps.work.status}}"}]}}
      - - {name: after, template: leaf}
  - name: leaf
    container: {image: busybox:1.36.1}
  - name: tidy
    inputs: {parameters: [{name: s}]}
    container: {image: busybox:1.36.1}
""")


def test_a_step_exit_hook_runs_after_the_step_and_does_not_change_its_phase() -> None:
    """§3: hooks.exit on a step runs after the step completes; its result does not change the step's
    phase; the step group waits for it."""
    result = run(STEP_HOOK, fail={"work.onExit": ("Failed", None)})
    assert phases(result)["work.onExit"] == "Failed" and phases(result)["work"] == "Succeeded"
    assert phases(result)["after"] == "Succeeded" and result.phase == "Succeeded"
    times = {e.node: e.time for e in result.events if e.phase == "Running" and e.attempt == 0}
    assert times["work.onExit"] == 10 and times["after"] == 20


def test_step_exit_hooks_run_under_stop_but_not_under_terminate() -> None:
    """§3 table: step/task exit hooks run under argo stop, not under argo terminate."""
    assert phases(run(STEP_HOOK, stop_at="work"))["work.onExit"] == "Succeeded"
    assert "work.onExit" not in phases(run(STEP_HOOK, terminate_at="work"))


# --- §6 suspend -----------------------------------------------------------------------------------

GATE = textwrap.dedent("""
activeDeadlineSeconds: 3600
templates:
  - name: main
    steps:
      - - {name: approval, template: approval}
      - - {name: act, template: leaf, when: "{{steps.approval.outputs.parameters.approve}} == YES"}
  - name: approval
    suspend: {}
    inputs: {parameters: [{name: approve, default: "NO"}]}
    outputs: {parameters: [{name: approve, valueFrom: {supplied: {}}}]}
  - name: leaf
    container: {image: busybox:1.36.1}
""")


def test_a_gate_with_no_decision_and_no_duration_leaves_the_workflow_waiting() -> None:
    """§6: suspend: {} waits until argo resume; the result says so (phase Running)."""
    result = run(GATE)
    assert result.phase == "Running"
    assert result.halted is not None and "waiting at approval gate approval" in result.halted
    assert "--resume approval" in result.halted


def test_resume_supplies_outputs_and_unset_ones_get_their_default() -> None:
    """§6: on resume each supplied output not set gets valueFrom.default, else the input's default."""
    assert phases(run(GATE, resume={"approval": {"approve": "YES"}}))["act"] == "Succeeded"
    assert phases(run(GATE, resume={"approval": {}}))["act"] == "Skipped"


def test_resume_with_no_value_and_no_default_errors() -> None:
    """§6: with neither a value nor a default the resume fails with an error."""
    result = run(GATE.replace('default: "NO"', "description: no default"), resume={"approval": {}})
    assert phases(result)["approval"] == "Error" and result.phase == "Failed"


def test_reject_fails_the_gate_and_nothing_after_it_runs() -> None:
    """§6: argo stop --node-field-selector marks the suspend node Failed (the rejection path)."""
    result = run(GATE, reject=frozenset({"approval"}))
    assert phases(result)["approval"] == "Failed" and "act" not in phases(result)
    assert result.phase == "Failed"


def test_a_timed_suspend_auto_resumes_succeeded_when_the_duration_passes() -> None:
    """§6: suspend with a duration auto-resumes as Succeeded (a timed gate approves by default)."""
    result = run(GATE.replace("suspend: {}", 'suspend: {duration: "2m"}'))
    gate = node(result, "approval")
    assert gate.phase == "Succeeded" and gate.finished == 120
    assert phases(result)["act"] == "Skipped"  # the default NO
    assert result.phase == "Succeeded"


def test_the_workflow_deadline_fails_a_gate_nobody_decides() -> None:
    """§2/§6: pending and active suspend nodes are failed by the workflow deadline."""
    result = run(GATE, hang=frozenset({"approval"}))
    assert node(result, "approval").message == "Step exceeded its deadline"
    assert node(result, "approval").finished == 3600 and result.phase == "Failed"


def test_stop_fails_a_waiting_gate() -> None:
    """§6: suspend nodes are failed by Stop/Terminate."""
    result = run(GATE, stop_at="approval")
    assert phases(result)["approval"] == "Failed" and result.phase == "Failed"


def test_a_gate_without_parameters_and_a_step_that_runs_no_pod_get_the_scenarios_that_apply() -> None:
    """§6: a plain ``suspend: {}`` gate is approved or rejected, with no defaults to name; an HTTP template
    runs in the controller, so it can fail or hang but there is no pod that could go unscheduled."""
    matrix = run_matrix(target("""
templates:
  - name: main
    steps:
      - - {name: gate, template: gate}
      - - {name: ping, template: ping}
  - name: gate
    suspend: {}
  - name: ping
    http: {url: "https://example.com/ping"}
"""))
    labels = [row.scenario.label for row in matrix.rows]
    assert {"gate approved", "gate rejected", "ping failed permanently", "ping hung"} <= set(labels)
    assert not any(label.startswith("ping could not be scheduled") for label in labels)
    assert not any("approved with the defaults" in label for label in labels if label.startswith("gate"))
