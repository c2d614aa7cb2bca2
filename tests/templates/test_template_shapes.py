"""What each template promises about its own shape: cleanup in onExit, compensation order, the gate."""

from __future__ import annotations

import pytest

from tests.conftest import manifest_for

CASES = ("defaults", "custom")


@pytest.mark.parametrize("case", CASES)
def test_provision_cleanup_runs_in_the_exit_handler_never_as_a_dag_node(case: str) -> None:
    spec = manifest_for("provision-process-publish", case).spec
    assert spec.on_exit == "exit-handler"
    main = spec.templates[spec.entrypoint or ""]
    assert main.kind == "dag"
    dag_templates = {task.template for task in main.dag_tasks}
    deleting = {t.name for t in spec.templates.values() if t.effects("deletes")}
    assert deleting and not deleting & dag_templates
    assert deleting <= spec.exit_templates()


@pytest.mark.parametrize("case", CASES)
def test_provision_exit_handler_removes_partial_output_only_on_failure(case: str) -> None:
    spec = manifest_for("provision-process-publish", case).spec
    (group,) = spec.templates["exit-handler"].steps
    whens = {task.template: task.when for task in group}
    assert whens["release-scratch"] is None
    assert whens["remove-partial-output"] == "{{workflow.status}} != Succeeded"
    produced = {e.ref for e in spec.templates["publish"].effects("produces")}
    removed = {e.ref for e in spec.templates["remove-partial-output"].effects("deletes")}
    assert produced and produced == removed


@pytest.mark.parametrize("case", CASES)
def test_saga_compensates_every_step_in_reverse_in_the_exit_handler(case: str) -> None:
    """Compensation lives in onExit, so a stop or the workflow deadline runs it too (reference §3)."""
    from tests.conftest import case_params

    spec = manifest_for("saga-compensation", case).spec
    params = {"step_1": "reserve-inventory", "step_2": "charge-payment", "step_3": "ship-order"}
    params.update({k: v for k, v in case_params("saga-compensation", case).items() if k.startswith("step_")})
    forward = [params["step_1"], params["step_2"], params["step_3"]]
    main = spec.templates["main"].steps
    assert all(len(g) == 1 for g in main), "one step per group: strictly sequential"
    assert [g[0].name for g in main] == forward
    assert not any(g[0].continue_on_failed or g[0].continue_on_error for g in main), "a failed step stops the saga"
    assert spec.exit_handler == "compensate"
    undo = spec.templates["compensate"].steps
    assert [g[0].name for g in undo] == [f"undo-{s}" for s in reversed(forward)]
    for group in undo:
        assert group[0].when == "{{workflow.status}} != Succeeded"
        assert group[0].continue_on_failed and group[0].continue_on_error, "one failed undo must not stop the rest"
    for step in forward:
        produced = spec.templates[step].effects("produces")
        undone = spec.templates[f"undo-{step}"].effects("deletes")
        assert produced and produced[0].ref == undone[0].ref
        assert spec.templates[step].retry.policy == "OnError"  # type: ignore[union-attr]
        assert spec.templates[f"undo-{step}"].retry.policy == "Always"  # type: ignore[union-attr]


@pytest.mark.parametrize("case", CASES)
def test_approval_gate_waits_for_yes_and_delete_checks_it(case: str) -> None:
    spec = manifest_for("approval-gated-delete", case).spec
    gate = spec.templates["approval"]
    assert gate.kind == "suspend" and gate.suspend_duration is None and gate.raw["suspend"] == {}
    (approve_in,) = gate.inputs
    assert (approve_in.name, approve_in.default, approve_in.enum) == ("approve", "NO", ("YES", "NO"))
    (approve_out,) = gate.outputs
    assert approve_out.name == "approve" and approve_out.supplied
    steps = [g[0] for g in spec.templates["main"].steps]
    assert [s.name for s in steps] == ["plan", "approval", "delete", "verify"]
    for step in steps[2:]:
        assert step.when == "{{steps.approval.outputs.parameters.approve}} == YES"
    delete = spec.templates["delete-target"]
    assert delete.resource is not None and delete.resource.action == "delete"
    assert delete.effects("deletes")
