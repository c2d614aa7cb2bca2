"""Side effects read from commands (generator/commands.py, shared with lint) and ownership: what a
kubectl/helm step creates and deletes, what is an output, and what goes away with the Workflow."""

from __future__ import annotations

from generator.sim.matrix import run_matrix
from tests.simkit import run, target

KUBECTL = "{image: bitnami/kubectl:1.30, command: [sh, -c], args: ['%s']}"
TERRAFORM = "{image: hashicorp/terraform:1.9, command: [sh, -c], args: ['%s']}"


def _pipeline(cleanup_in_exit: bool) -> str:
    steps = "[[{name: setup, template: setup}], [{name: test, template: test}]]"
    if not cleanup_in_exit:
        steps = steps[:-1] + ", [{name: teardown, template: teardown}]]"
    exit_line = "onExit: teardown\n" if cleanup_in_exit else ""
    return f"""
{exit_line}templates:
- name: main
  steps: {steps}
- name: setup
  activeDeadlineSeconds: 60
  container: {KUBECTL % "kubectl create namespace chaos-{{workflow.name}}"}
- name: test
  activeDeadlineSeconds: 60
  container: {{image: busybox:1.36.1}}
- name: teardown
  activeDeadlineSeconds: 60
  container: {KUBECTL % "kubectl delete namespace chaos-{{workflow.name}} --ignore-not-found"}
"""


def test_a_last_step_kubectl_delete_fails_the_matrix_naming_the_object() -> None:
    """Reference §5: a failed step stops the steps template, so a later cleanup step never runs."""
    matrix = run_matrix(target(_pipeline(cleanup_in_exit=False)))
    assert not matrix.ok
    row = next(r for r in matrix.rows if r.scenario.label == "test failed permanently")
    assert [r.ref for r in row.result.orphaned] == ["namespace/chaos-t-vfbbb"]
    assert "namespace/chaos-t-vfbbb" in matrix.summary()


def test_the_same_delete_in_an_exit_handler_passes_and_is_marked_as_inferred() -> None:
    """Reference §3: the exit handler runs after success, failure and error alike."""
    matrix = run_matrix(target(_pipeline(cleanup_in_exit=True)))
    assert matrix.passed, matrix.summary()
    baseline = matrix.rows[0].result
    data = baseline.as_dict()["resources"]
    command = "kubectl create namespace chaos-{{workflow.name}}"
    assert data["inferred_from_commands"] == {"namespace/chaos-t-vfbbb": command}
    assert any("inferred from command" in effect for e in baseline.events for effect in e.effects)


def test_a_deployed_release_is_an_output_kept_on_success() -> None:
    """Intent: nothing in the workflow deletes the release, so it is what the pipeline deploys."""
    result = run(f"""
    templates:
    - name: main
      activeDeadlineSeconds: 60
      container: {KUBECTL % "helm upgrade --install web ./chart"}
    """)
    assert result.safe and result.ledger.resources["helm-release/web"].verb == "produces"


def _owned(ttl: str) -> str:
    return f"""
    {ttl}
    templates:
    - name: main
      resource:
        action: create
        setOwnerReference: true
        manifest: |
          apiVersion: v1
          kind: ConfigMap
          metadata:
            name: scratch
    """


def test_an_object_owned_by_the_workflow_goes_with_its_ttl() -> None:
    """Reference §7-8: setOwnerReference ties the object to the Workflow; ttlStrategy deletes the Workflow."""
    result = run(_owned("ttlStrategy: {secondsAfterCompletion: 300}"))
    assert result.safe and not result.orphaned
    assert result.removed_with_workflow == (
        ("ConfigMap/scratch", "removed with the Workflow, which ttlStrategy.secondsAfterCompletion deletes 300s "
                              "after it ends"),)


def test_an_owned_object_without_ttl_is_reported_removed_with_the_workflow_not_orphaned() -> None:
    """Reference §7: secondsAfterFailure matches Failed only; without a matching TTL the Workflow stays."""
    result = run(_owned("ttlStrategy: {secondsAfterFailure: 60}"), fail={"main": ("Error", None)})
    assert not result.orphaned
    assert result.removed_with_workflow[0][1].startswith("removed with the Workflow when it is deleted")


def test_a_terraform_stack_without_chdir_is_the_working_directory_stack_created_and_destroyed() -> None:
    """Intent: terraform apply without -chdir creates the stack of its working directory, which a later
    terraform destroy removes; it has no file, so it is named as lint names it (terraform-stack/*)."""
    result = run(f"""
    onExit: teardown
    templates:
    - name: main
      activeDeadlineSeconds: 60
      container: {TERRAFORM % "terraform apply -auto-approve"}
    - name: teardown
      activeDeadlineSeconds: 60
      container: {TERRAFORM % "terraform destroy -auto-approve"}
    """)
    assert result.safe and list(dict.fromkeys(result.ledger.created)) == ["terraform-stack/*"]
    assert result.ledger.deleted == ["terraform-stack/*"]
    assert result.ledger.resources["terraform-stack/*"].verb == "creates"
    failed = run_matrix(target(f"""
    templates:
    - name: main
      steps: [[{{name: up, template: up}}], [{{name: down, template: down}}]]
    - name: up
      activeDeadlineSeconds: 60
      container: {TERRAFORM % "terraform apply -auto-approve"}
    - name: down
      activeDeadlineSeconds: 60
      container: {TERRAFORM % "terraform destroy -auto-approve"}
    """))
    row = next(r for r in failed.rows if r.scenario.label == "up failed permanently")
    assert [r.ref for r in row.result.orphaned] == ["terraform-stack/*"]
