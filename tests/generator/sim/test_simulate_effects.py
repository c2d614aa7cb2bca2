"""Side effects read from commands (generator/commands.py, shared with lint) and ownership: what a
kubectl/helm step creates and deletes, what is an output, and what goes away with the Workflow."""

from __future__ import annotations

import textwrap

from generator.sim.matrix import run_matrix
from generator.sim.report import render
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


# ------------------------------------------------------------------ intent by kind (generator/sim/intent.py)

ENGINES = ("cpu-hog", "pod-delete", "network-loss", "memory-hog", "disk-fill")


def _engine_template(name: str, action: str = "apply", api: str = "litmuschaos.io/v1alpha1",
                     kind: str = "ChaosEngine", indent: str = "") -> str:
    """A resource template ``{action}-{name}`` (``indent``: to sit in a test's indented YAML)."""
    text = (f"- name: {action}-{name}\n  resource:\n    action: {action}\n    manifest: |\n"
            f"      apiVersion: {api}\n      kind: {kind}\n      metadata: {{name: {name}}}\n")
    return textwrap.indent(text, indent).lstrip(" ")


def _five_engines_four_deleted() -> str:
    """Five ChaosEngines made by resource templates; the cleanup step deletes four of them by name."""
    steps = "".join(f"  - - {{name: {n}, template: apply-{n}}}\n" for n in ENGINES)
    steps += "".join(f"  - - {{name: drop-{n}, template: delete-{n}}}\n" for n in ENGINES[:4])
    templates = "".join(_engine_template(n) for n in ENGINES)
    templates += "".join(_engine_template(n, "delete") for n in ENGINES[:4])
    return f"templates:\n- name: main\n  steps:\n{steps}{templates}"


def test_a_fifth_object_of_a_kind_the_cleanup_deletes_by_name_is_orphaned_on_the_fault_free_run() -> None:
    """Intent by kind: the workflow deletes four ChaosEngines by name, so it cleans up that kind here; the
    one it forgets is a leak even when the workflow succeeds, and the output says why."""
    result = run(_five_engines_four_deleted())
    assert result.phase == "Succeeded" and not result.safe
    assert [r.ref for r in result.orphaned] == ["ChaosEngine/disk-fill"]
    why = ("no pipeforge.io annotation; the workflow deletes other ChaosEngine objects by name (delete-cpu-hog, "
           "delete-memory-hog, delete-network-loss, delete-pod-delete), so this one is temporary")
    assert f"apply ChaosEngine/disk-fill ({why})" in [e for event in result.events for e in event.effects]
    text = render(result)
    assert f"ORPHANED: ChaosEngine/disk-fill (apply-disk-fill: resource apply ChaosEngine/disk-fill; still present " \
           f"when the workflow ended; {why})" in text
    assert "apply ChaosEngine/cpu-hog (no pipeforge.io annotation; a step deletes it, so it is temporary)" in text


def test_an_annotation_keeps_an_object_of_a_cleaned_up_kind_an_output() -> None:
    """The rule is for undeclared creations: pipeforge.io/produces says the fifth engine is kept on purpose."""
    spec = _five_engines_four_deleted().replace(
        "- name: apply-disk-fill\n",
        "- name: apply-disk-fill\n  metadata: {annotations: {pipeforge.io/produces: ChaosEngine/disk-fill}}\n")
    result = run(spec)
    assert result.safe and result.ledger.resources["ChaosEngine/disk-fill"].verb == "produces"


def test_a_declared_delete_by_name_makes_the_other_objects_of_its_kind_temporary() -> None:
    """pipeforge.io/deletes counts like a resource delete or a kubectl delete."""
    result = run(f"""
    templates:
    - name: main
      steps: [[{{name: make, template: apply-report}}], [{{name: tidy, template: tidy}}]]
    {_engine_template("report", kind="ConfigMap", api="v1", indent="    ")}
    - name: tidy
      metadata: {{annotations: {{pipeforge.io/deletes: configmap/scratch}}}}
      container: {{image: busybox:1.36.1}}
    """)
    assert [r.ref for r in result.orphaned] == ["ConfigMap/report"]
    assert "deletes other ConfigMap objects by name (tidy)" in result.ledger.resources["ConfigMap/report"].why


def test_a_delete_by_name_in_another_api_group_says_nothing_of_a_kind_of_the_same_name() -> None:
    """Same kind means same API group when both are written: deleting an app.k8s.io Application does not
    make an Argo CD Application (argoproj.io) temporary; a kubectl delete (group not written) does."""
    def spec(delete: str) -> str:
        return (f"templates:\n- name: main\n  steps: [[{{name: make, template: apply-web}}], "
                f"[{{name: drop, template: {delete}}}]]\n"
                + _engine_template("web", api="argoproj.io/v1alpha1", kind="Application")
                + _engine_template("legacy", "delete", api="app.k8s.io/v1beta1", kind="Application")
                + f"- name: kubectl-delete\n  activeDeadlineSeconds: 60\n"
                  f"  container: {KUBECTL % 'kubectl delete application legacy --ignore-not-found'}\n")

    other_group = run(spec("delete-legacy"))
    assert other_group.safe and other_group.ledger.resources["Application/web"].verb == "produces"
    no_group = run(spec("kubectl-delete"))
    assert [r.ref for r in no_group.orphaned] == ["Application/web"]


def _commands(delete: str) -> str:
    objects = "\n".join(f"          ---\n          apiVersion: litmuschaos.io/v1alpha1\n          kind: ChaosEngine\n"
                        f"          metadata:\n            name: {n}" for n in ENGINES)
    return f"""
    onExit: cleanup
    templates:
    - name: main
      activeDeadlineSeconds: 60
      script:
        image: bitnami/kubectl:1.30
        command: [sh]
        source: |
          kubectl apply -f - <<EOF
{objects}
          EOF
    - name: cleanup
      activeDeadlineSeconds: 60
      container: {KUBECTL % delete}
    """


def test_the_same_through_kubectl_apply_and_kubectl_delete_commands() -> None:
    """Intent by kind on the command path: one rule for both (generator/sim/intent.py)."""
    result = run(_commands("kubectl delete chaosengines cpu-hog pod-delete network-loss memory-hog -n chaos"))
    assert result.phase == "Succeeded"
    assert [r.ref for r in result.orphaned] == ["chaosengine/disk-fill"]
    assert result.ledger.resources["chaosengine/disk-fill"].verb == "creates"
    notes = [e for event in result.events for e in event.effects if e.startswith("kubectl create chaosengine/disk")]
    assert notes and notes[0].endswith("no pipeforge.io annotation; the workflow deletes other chaosengine objects "
                                       "by name (cleanup), so this one is temporary)")


def test_an_object_of_a_kind_nothing_deletes_stays_an_output() -> None:
    """Today's rule where the workflow shows no cleanup of the kind: the workflow deletes a Secret by name,
    which says nothing of its ChaosEngines: kept on success, orphaned when the run fails."""
    spec = _commands("kubectl delete secret chaos-token --ignore-not-found")
    result = run(spec)
    assert result.safe and not result.orphaned
    assert {r.verb for ref, r in result.ledger.resources.items() if ref.startswith("chaosengine/")} == {"produces"}
    assert "nothing deletes it, nor any chaosengine by name, so it is an output" in (
        result.ledger.resources["chaosengine/disk-fill"].why or "")
    failed = run(spec, fail={"main": ("Failed", None)})
    assert failed.phase == "Failed" and len(failed.orphaned) == 5
    resource = run(f"""
    templates:
    - name: main
      steps: [[{{name: make, template: apply-web}}], [{{name: drop, template: delete-cfg}}]]
    {_engine_template("web", kind="Deployment", api="apps/v1", indent="    ")}
    {_engine_template("cfg", "delete", kind="ConfigMap", api="v1", indent="    ")}
    """)
    assert resource.safe and resource.ledger.resources["Deployment/web"].verb == "produces"


def test_a_delete_by_selector_over_the_kind_still_makes_all_of_it_temporary() -> None:
    """Existing behaviour kept: a selector over the kind removes every object of it, so each is temporary
    (the cleanup runs here: nothing is left); skipped, every one of them is orphaned, with the selector named."""
    cleaned = run(_commands("kubectl delete chaosengine -l app=sock-shop -n chaos"))
    assert cleaned.safe and not cleaned.orphaned
    assert {cleaned.ledger.resources[f"chaosengine/{n}"].verb for n in ENGINES} == {"creates"}
    skipped = run(f"""
    templates:
    - name: main
      steps: [[{{name: make, template: apply-web}}], [{{name: drop, template: drop, when: "1 == 2"}}]]
    {_engine_template("web", kind="ConfigMap", api="v1", indent="    ")}
    - name: drop
      activeDeadlineSeconds: 60
      container: {KUBECTL % "kubectl delete configmaps -l app=web"}
    """)
    assert [r.ref for r in skipped.orphaned] == ["ConfigMap/web"]
    assert "a step deletes ConfigMap objects by selector (-l app=web)" in (
        skipped.ledger.resources["ConfigMap/web"].why or "")


def test_a_deploy_command_release_stays_an_output_when_another_release_is_uninstalled() -> None:
    """The by-kind rule is for Kubernetes kinds: uninstalling a load-test release says nothing of the app
    release the pipeline deploys on purpose (nor does deleting one S3 prefix of another)."""
    result = run("""
    templates:
    - name: main
      activeDeadlineSeconds: 60
      script:
        image: alpine/helm:3.15.2
        command: [sh]
        source: |
          helm upgrade --install web ./chart
          helm install loadtest ./loadtest
          helm uninstall loadtest
          aws s3 cp report.html s3://reports/run/
          aws s3 rm s3://scratch/run/ --recursive
    """)
    assert result.safe and not result.orphaned
    assert result.ledger.resources["helm-release/web"].verb == "produces"
    assert result.ledger.resources["s3-prefix/s3://reports/run/"].verb == "produces"


def test_objects_applied_from_an_unread_file_are_temporary_when_a_step_deletes_that_file() -> None:
    """The setup applies ``-f /manifests/app.yaml`` without the simulator seeing the file; the teardown,
    which carries the file as a raw artifact, deletes ``-f`` it: what the setup applied is temporary, and
    the exit handler removes it, so nothing is left behind."""
    spec = f"""
onExit: teardown
templates:
- name: main
  steps: [[{{name: setup, template: setup}}]]
- name: setup
  activeDeadlineSeconds: 60
  container: {KUBECTL % "kubectl apply -f /manifests/app.yaml"}
- name: teardown
  activeDeadlineSeconds: 60
  inputs:
    artifacts:
    - name: app
      path: /manifests/app.yaml
      raw: {{data: "apiVersion: v1\\nkind: ConfigMap\\nmetadata: {{name: app-config}}\\n"}}
  container: {KUBECTL % "kubectl delete -f /manifests/app.yaml"}
"""
    result = run(spec)
    created = [effect for event in result.events for effect in event.effects if "kubectl create" in effect]
    assert created and all("a step deletes it, so it is temporary" in effect for effect in created), created
    assert result.orphaned == []
