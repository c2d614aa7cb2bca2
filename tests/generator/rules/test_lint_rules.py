"""Each lint rule, positive and negative, on small manifests built from one safe baseline.

The baseline is a workflow a reviewer would accept: it lints with no finding at all. Each test changes one
thing and checks that exactly the rule about that thing fires (or, for the negatives, that it does not).
"""

from __future__ import annotations

import copy
from typing import Any

import pytest
import yaml

from generator.lint import Finding, lint_text

PVC = "PersistentVolumeClaim"
SCRATCH = "scratch-{{workflow.parameters.run-key}}"
RETRY = {"limit": 3, "retryPolicy": "OnError", "backoff": {"duration": "10s", "factor": 2, "maxDuration": "5m"}}
SAFE_CONTAINER = {"image": "busybox:1.36.1", "command": ["wget", "-q", "https://example.org/data"]}  # can hang


def pvc_manifest(name: str = SCRATCH, kind: str = PVC) -> str:
    return f"apiVersion: v1\nkind: {kind}\nmetadata:\n  name: \"{name}\"\n"


def baseline() -> dict[str, Any]:
    return {
        "apiVersion": "argoproj.io/v1alpha1",
        "kind": "Workflow",
        "metadata": {"generateName": "safe-"},
        "spec": {
            "entrypoint": "main",
            "onExit": "exit-handler",
            "serviceAccountName": "runner",
            "activeDeadlineSeconds": 3600,
            "podGC": {"strategy": "OnPodSuccess"},
            "ttlStrategy": {"secondsAfterSuccess": 60, "secondsAfterFailure": 600, "secondsAfterCompletion": 600},
            "securityContext": {"runAsNonRoot": True},
            "arguments": {"parameters": [{"name": "run-key", "value": "r1"}]},
            "templates": [
                {"name": "main", "dag": {"tasks": [
                    {"name": "provision", "template": "provision"},
                    {"name": "process", "template": "process", "depends": "provision"},
                ]}},
                {"name": "provision", "timeout": "300s", "retryStrategy": copy.deepcopy(RETRY),
                 "resource": {"action": "apply", "setOwnerReference": True, "manifest": pvc_manifest()}},
                {"name": "process", "activeDeadlineSeconds": 600, "retryStrategy": copy.deepcopy(RETRY),
                 "container": copy.deepcopy(SAFE_CONTAINER)},
                {"name": "exit-handler", "steps": [[{"name": "release", "template": "release"}]]},
                {"name": "release", "timeout": "300s", "retryStrategy": copy.deepcopy(RETRY),
                 "resource": {"action": "delete", "manifest": pvc_manifest()}},
            ],
        },
    }


def template(doc: dict[str, Any], name: str) -> dict[str, Any]:
    return next(t for t in doc["spec"]["templates"] if t["name"] == name)


def lint(doc: dict[str, Any] | str) -> list[Finding]:
    text = doc if isinstance(doc, str) else yaml.safe_dump(doc, sort_keys=False)
    return lint_text(text, "wf.yaml")


def codes(doc: dict[str, Any] | str) -> set[str]:
    return {f.rule for f in lint(doc)}


def only(doc: dict[str, Any] | str, code: str) -> list[Finding]:
    return [f for f in lint(doc) if f.rule == code]


def test_the_baseline_is_clean() -> None:
    assert lint(baseline()) == []


# ---------------------------------------------------------------- PF101 cleanup outside the exit handler


def broken_article_pipeline() -> dict[str, Any]:
    """The article's bug: cleanup as the last DAG node and no exit handler."""
    doc = baseline()
    del doc["spec"]["onExit"]
    template(doc, "main")["dag"]["tasks"].append({"name": "cleanup", "template": "release", "depends": "process"})
    doc["spec"]["templates"] = [t for t in doc["spec"]["templates"] if t["name"] != "exit-handler"]
    return doc


def test_cleanup_as_last_dag_node_without_exit_handler_is_an_error() -> None:
    [finding] = only(broken_article_pipeline(), "PF101")
    assert finding.severity == "error"
    assert finding.template == "main"
    assert "persistentvolumeclaim/scratch-{{workflow.parameters.run-key}}" in finding.message
    assert "no exit handler" in finding.message


def test_cleanup_recognised_by_what_it_deletes_whatever_its_name() -> None:
    doc = broken_article_pipeline()
    template(doc, "main")["dag"]["tasks"][-1]["name"] = "step-three"
    assert [f.message.split("'")[1] for f in only(doc, "PF101")] == ["step-three"]


def test_cleanup_recognised_through_the_pipeforge_deletes_annotation() -> None:
    doc = broken_article_pipeline()
    release = template(doc, "release")
    release.pop("resource")
    release.pop("timeout")
    release["activeDeadlineSeconds"] = 60
    release["container"] = copy.deepcopy(SAFE_CONTAINER)
    release["metadata"] = {"annotations": {"pipeforge.io/deletes": f"{PVC}/{SCRATCH}"}}
    assert len(only(doc, "PF101")) == 1


def test_cleanup_recognised_by_name_as_a_fallback() -> None:
    doc = baseline()
    del doc["spec"]["onExit"]
    doc["spec"]["templates"].append({"name": "teardown", "activeDeadlineSeconds": 60,
                                     "retryStrategy": copy.deepcopy(RETRY), "container": copy.deepcopy(SAFE_CONTAINER)})
    template(doc, "main")["dag"]["tasks"].append({"name": "teardown", "template": "teardown", "depends": "process"})
    assert "by its name 'teardown'" in only(doc, "PF101")[0].message


def test_cleanup_of_an_object_named_by_a_creators_output_is_cleanup() -> None:
    doc = broken_article_pipeline()
    template(doc, "provision")["resource"] = {"action": "create", "manifest": pvc_manifest(kind="Job")}
    output = {"name": "job", "valueFrom": {"jsonPath": "{.metadata.name}"}}
    template(doc, "provision")["outputs"] = {"parameters": [output]}
    release = template(doc, "release")
    release["inputs"] = {"parameters": [{"name": "job"}]}
    release["resource"]["manifest"] = pvc_manifest("{{inputs.parameters.job}}", kind="Job")
    template(doc, "main")["dag"]["tasks"][-1]["arguments"] = {
        "parameters": [{"name": "job", "value": "{{tasks.provision.outputs.parameters.job}}"}]}
    found = codes(doc)
    assert "PF101" in found
    assert "PF301" not in found  # deleting what the workflow created is cleanup, not irreversible


def test_cleanup_in_the_exit_handler_is_fine() -> None:
    assert "PF101" not in codes(baseline())


def test_dag_cleanup_that_runs_on_failure_is_fine() -> None:
    doc = broken_article_pipeline()
    template(doc, "main")["dag"]["tasks"][-1]["depends"] = (
        "process.Succeeded || process.Failed || process.Errored || process.Omitted")
    assert "PF101" not in codes(doc)


def test_dag_cleanup_that_misses_errors_is_still_flagged() -> None:
    doc = broken_article_pipeline()
    template(doc, "main")["dag"]["tasks"][-1]["depends"] = "process.Succeeded || process.Failed"
    assert "PF101" in codes(doc)


def test_dependencies_with_continue_on_upstream_is_failure_safe() -> None:
    doc = broken_article_pipeline()
    tasks = template(doc, "main")["dag"]["tasks"]
    for task in tasks:
        task.pop("depends", None)
    tasks[1]["dependencies"] = ["provision"]
    tasks[2]["dependencies"] = ["process"]
    tasks[0]["continueOn"] = {"failed": True, "error": True}
    tasks[1]["continueOn"] = {"failed": True, "error": True}
    assert "PF101" not in codes(doc)
    del tasks[0]["continueOn"]
    assert "PF101" in codes(doc)


def test_saga_compensation_guarded_by_continue_on_is_not_flagged() -> None:
    doc = baseline()
    del doc["spec"]["onExit"]
    doc["spec"]["templates"] = [t for t in doc["spec"]["templates"] if t["name"] != "exit-handler"]
    template(doc, "main").pop("dag")
    template(doc, "main")["steps"] = [
        [{"name": "provision", "template": "provision", "continueOn": {"failed": True, "error": True}}],
        [{"name": "process", "template": "process", "when": "{{steps.provision.status}} == Succeeded",
          "continueOn": {"failed": True, "error": True}}],
        [{"name": "undo", "template": "release", "when": "{{steps.process.status}} != Succeeded"}],
    ]
    assert "PF101" not in codes(doc)
    del template(doc, "main")["steps"][1][0]["continueOn"]
    assert "PF101" in codes(doc)


def test_exit_handler_that_cleans_something_else_does_not_excuse_a_dag_cleanup() -> None:
    doc = broken_article_pipeline()
    doc["spec"]["onExit"] = "notify"
    doc["spec"]["templates"].append({"name": "notify", "activeDeadlineSeconds": 60,
                                     "retryStrategy": copy.deepcopy(RETRY), "container": copy.deepcopy(SAFE_CONTAINER)})
    assert "the exit handler does not clean it up" in only(doc, "PF101")[0].message


# ---------------------------------------------------------------- deadlines


def test_container_without_deadline_is_an_error_without_workflow_deadline() -> None:
    doc = baseline()
    del template(doc, "process")["activeDeadlineSeconds"]
    del doc["spec"]["activeDeadlineSeconds"]
    [finding] = only(doc, "PF103")
    assert (finding.severity, finding.template) == ("error", "process")


def test_container_without_deadline_is_a_warning_under_a_workflow_deadline() -> None:
    doc = baseline()
    del template(doc, "process")["activeDeadlineSeconds"]
    assert [f.severity for f in only(doc, "PF103")] == ["warning"]


def test_polling_resource_template_needs_timeout_not_active_deadline() -> None:
    doc = baseline()
    provision = template(doc, "provision")
    del provision["timeout"]
    provision["activeDeadlineSeconds"] = 300
    provision["resource"]["successCondition"] = "status.phase == Bound"
    [finding] = only(doc, "PF103")
    assert "timeout" in finding.message and finding.template == "provision"


def test_resource_template_without_conditions_needs_no_deadline() -> None:
    doc = baseline()
    del template(doc, "provision")["timeout"]
    assert "PF103" not in codes(doc)


def test_exit_handler_step_needs_its_own_deadline_even_under_a_workflow_deadline() -> None:
    doc = baseline()
    del template(doc, "release")["timeout"]
    template(doc, "release")["resource"]["successCondition"] = "status.phase == Bound"
    [finding] = only(doc, "PF102")
    assert (finding.severity, finding.template) == ("error", "release")
    assert "PF103" not in codes(doc)


def test_step_level_exit_hook_needs_its_own_deadline() -> None:
    doc = baseline()
    template(doc, "main")["dag"]["tasks"][1]["hooks"] = {"exit": {"template": "notify"}}
    doc["spec"]["templates"].append({"name": "notify", "retryStrategy": copy.deepcopy(RETRY),
                                     "container": copy.deepcopy(SAFE_CONTAINER)})
    assert [f.template for f in only(doc, "PF102")] == ["notify"]


# ---------------------------------------------------------------- retries


def test_empty_retry_strategy_retries_forever() -> None:
    doc = baseline()
    template(doc, "process")["retryStrategy"] = {}
    [finding] = only(doc, "PF201")
    assert finding.template == "process" and finding.severity == "error"


def test_retry_without_limit_but_with_policy_is_unbounded() -> None:
    doc = baseline()
    del template(doc, "process")["retryStrategy"]["limit"]
    assert "PF201" in codes(doc)


def test_generate_name_under_retry_is_non_idempotent() -> None:
    doc = baseline()
    template(doc, "provision")["resource"] = {"action": "create", "manifest": (
        "apiVersion: batch/v1\nkind: Job\nmetadata:\n  generateName: work-\n")}
    [finding] = only(doc, "PF202")
    assert "generateName" in finding.message


@pytest.mark.parametrize("name", ["work-{{pod.name}}", "work-{{retries}}", "work-{{=now()}}",
                                  "work-{{workflow.creationTimestamp.s}}"])
def test_name_built_per_attempt_under_retry_is_non_idempotent(name: str) -> None:
    doc = baseline()
    template(doc, "provision")["resource"]["manifest"] = pvc_manifest(name)
    assert "PF202" in codes(doc)


def test_name_keyed_on_a_workflow_parameter_is_idempotent() -> None:
    assert "PF202" not in codes(baseline())


def test_create_with_fixed_name_under_retry_is_a_warning() -> None:
    doc = baseline()
    template(doc, "provision")["resource"]["action"] = "create"
    [finding] = only(doc, "PF203")
    assert finding.severity == "warning" and "apply" in finding.fix


def test_spec_level_retry_over_side_effects_is_an_error() -> None:
    doc = baseline()
    doc["spec"]["retryStrategy"] = copy.deepcopy(RETRY)
    [finding] = only(doc, "PF204")
    assert finding.severity == "error" and finding.template is None


def test_retry_on_a_dag_without_side_effects_is_a_warning() -> None:
    doc = baseline()
    template(doc, "main")["dag"]["tasks"] = [{"name": "process", "template": "process"}]
    template(doc, "main")["retryStrategy"] = copy.deepcopy(RETRY)
    assert [(f.severity, f.template) for f in only(doc, "PF204")] == [("warning", "main")]


def test_retry_on_a_dag_with_side_effects_is_an_error() -> None:
    doc = baseline()
    template(doc, "main")["retryStrategy"] = copy.deepcopy(RETRY)
    assert [f.severity for f in only(doc, "PF204")] == ["error"]


def test_leaf_without_retry_warns_and_spec_retry_counts() -> None:
    doc = baseline()
    del template(doc, "process")["retryStrategy"]
    assert [f.template for f in only(doc, "PF205")] == ["process"]


def test_retry_without_backoff_and_implicit_policy_warn() -> None:
    doc = baseline()
    template(doc, "process")["retryStrategy"] = {"limit": 2}
    found = {f.rule: f for f in lint(doc)}
    assert "PF206" in found
    assert "OnFailure" in found["PF207"].message


def test_always_on_a_non_idempotent_step_warns() -> None:
    doc = baseline()
    template(doc, "provision")["resource"]["action"] = "create"
    template(doc, "provision")["retryStrategy"]["retryPolicy"] = "Always"
    assert "PF208" in codes(doc)
    template(doc, "provision")["resource"]["action"] = "apply"
    assert "PF208" not in codes(doc)


# ---------------------------------------------------------------- irreversible actions and gates


def gated(gate_duration: str | None = None, when: str | None = "{{steps.approval.outputs.parameters.approve}} == YES",
          action: str = "delete") -> dict[str, Any]:
    doc = baseline()
    suspend: dict[str, Any] = {} if gate_duration is None else {"duration": gate_duration}
    doc["spec"]["templates"] += [
        {"name": "approval", "suspend": suspend,
         "inputs": {"parameters": [{"name": "approve", "default": "NO", "enum": ["YES", "NO"]}]},
         "outputs": {"parameters": [{"name": "approve", "valueFrom": {"supplied": {}}}]}},
        {"name": "drop-db", "timeout": "300s", "retryStrategy": copy.deepcopy(RETRY),
         "resource": {"action": action, "manifest": pvc_manifest("production-db", kind="Database")}},
        {"name": "gated-delete", "steps": [
            [{"name": "approval", "template": "approval"}],
            [{"name": "drop", "template": "drop-db", **({"when": when} if when else {})}],
        ]},
    ]
    template(doc, "main")["dag"]["tasks"].append({"name": "gated", "template": "gated-delete", "depends": "process"})
    return doc


def test_gated_delete_of_a_foreign_object_is_fine() -> None:
    assert lint(gated()) == []


def test_delete_without_gate_is_an_error() -> None:
    [finding] = only(gated(when=None), "PF301")
    assert "Database/production-db".lower() in finding.message.lower()
    assert finding.template == "gated-delete"


def test_replace_without_gate_is_an_error() -> None:
    assert "PF301" in codes(gated(when=None, action="replace"))


def test_gate_must_be_checked_with_when_on_its_output() -> None:
    assert "PF301" in codes(gated(when="{{workflow.parameters.run-key}} == r1"))


def test_gate_with_duration_auto_approves() -> None:
    found = only(gated(gate_duration="1h"), "PF302")
    assert [f.template for f in found] == ["approval"]
    assert "PF301" in codes(gated(gate_duration="1h"))


@pytest.mark.parametrize("script", [
    "kubectl delete namespace prod", "helm uninstall payments", "terraform destroy -auto-approve",
    "psql -c 'DROP TABLE orders'", "aws s3 rm --recursive s3://bucket/prefix",
])
def test_destructive_commands_need_a_gate(script: str) -> None:
    doc = baseline()
    template(doc, "process")["container"] = {"image": "busybox:1.36.1", "command": ["sh", "-c"], "args": [script]}
    assert "PF301" in codes(doc)


def test_kubectl_wait_for_delete_is_not_destructive() -> None:
    doc = baseline()
    template(doc, "process")["container"] = {"image": "k:1", "command": ["kubectl"],
                                             "args": ["wait", "--for=delete", "pvc/x"]}
    assert "PF301" not in codes(doc)


def test_deleting_what_the_workflow_created_is_cleanup_not_irreversible() -> None:
    assert "PF301" not in codes(baseline())


# ---------------------------------------------------------------- injection, structure, values, references


def test_parameter_in_script_source_is_an_error() -> None:
    doc = baseline()
    process = template(doc, "process")
    process.pop("container")
    process["script"] = {"image": "python:3.12", "command": ["python"],
                         "source": "print('{{inputs.parameters.message}}')"}
    [finding] = only(doc, "PF401")
    assert "script source" in finding.message and "env" in finding.fix


def test_parameter_in_shell_dash_c_string_is_an_error() -> None:
    doc = baseline()
    template(doc, "process")["container"] = {"image": "busybox:1.36.1", "command": ["sh", "-c"],
                                             "args": ["echo {{workflow.parameters.run-key}}"]}
    assert "shell -c string" in only(doc, "PF401")[0].message


def test_parameter_as_a_separate_argument_is_safe() -> None:
    doc = baseline()
    template(doc, "process")["container"] = {"image": "busybox:1.36.1", "command": ["echo"],
                                             "args": ["{{workflow.parameters.run-key}}"]}
    assert "PF401" not in codes(doc)


@pytest.mark.parametrize(("typo", "fix"), [("onexit", "onExit"), ("retrystrategy", None),
                                           ("activeDeadLineSeconds", "activeDeadlineSeconds")])
def test_misspelt_keys_are_errors_with_the_nearest_field(typo: str, fix: str | None) -> None:
    doc = baseline()
    if typo == "onexit":
        doc["spec"]["onexit"] = doc["spec"].pop("onExit")
    elif typo == "retrystrategy":
        template(doc, "process")["retrystrategy"] = template(doc, "process").pop("retryStrategy")
        fix = "retryStrategy"
    else:
        template(doc, "process")[typo] = template(doc, "process").pop("activeDeadlineSeconds")
    found = [f for f in only(doc, "PF003") if typo in f.message]
    assert found and f"'{fix}'" in found[0].fix


@pytest.mark.parametrize(("where", "value"), [("retryPolicy", "OnFailures"), ("podGC", "OnSuccess"),
                                              ("action", "upsert"), ("mergeStrategy", "replace")])
def test_values_the_schema_does_not_constrain(where: str, value: str) -> None:
    doc = baseline()
    if where == "retryPolicy":
        template(doc, "process")["retryStrategy"]["retryPolicy"] = value
    elif where == "podGC":
        doc["spec"]["podGC"]["strategy"] = value
    elif where == "action":
        template(doc, "provision")["resource"]["action"] = value
    else:
        template(doc, "provision")["resource"]["mergeStrategy"] = value
    [finding] = only(doc, "PF005")
    assert value in finding.message


def test_on_exit_naming_a_missing_template_is_an_error() -> None:
    doc = baseline()
    doc["spec"]["onExit"] = "exit-handlr"
    [finding] = only(doc, "PF006")
    assert "exit-handlr" in finding.message and "exit-handler" in finding.fix


def test_task_hook_naming_a_missing_template_is_an_error() -> None:
    doc = baseline()
    template(doc, "main")["dag"]["tasks"][0]["hooks"] = {"exit": {"template": "nope"}}
    assert "PF006" in codes(doc)


def test_duplicate_keys_are_errors() -> None:
    text = yaml.safe_dump(baseline(), sort_keys=False).replace("  entrypoint: main\n",
                                                              "  entrypoint: main\n  entrypoint: other\n")
    assert "PF002" in codes(text)


def test_malformed_yaml_is_a_finding_with_its_line() -> None:
    [finding] = lint("apiVersion: argoproj.io/v1alpha1\nkind: Workflow\nspec: {templates: [\n")
    assert finding.rule == "PF001" and finding.line >= 3


# ---------------------------------------------------------------- hygiene warnings


def test_unpinned_and_latest_images_warn() -> None:
    for image in ("busybox", "busybox:latest", "registry.local:5000/busybox"):
        doc = baseline()
        template(doc, "process")["container"]["image"] = image
        assert "PF501" in codes(doc), image
    doc = baseline()
    template(doc, "process")["container"]["image"] = "busybox@sha256:" + "a" * 64
    assert "PF501" not in codes(doc)


def test_workflow_hygiene_warnings() -> None:
    doc = baseline()
    for key in ("podGC", "serviceAccountName", "securityContext"):
        del doc["spec"][key]
    doc["spec"]["ttlStrategy"] = {"secondsAfterFailure": 600}
    assert {"PF502", "PF503", "PF504", "PF505"} <= codes(doc)
    assert "Error" in only(doc, "PF503")[0].message


def test_default_service_account_and_missing_ttl_warn() -> None:
    doc = baseline()
    doc["spec"]["serviceAccountName"] = "default"
    del doc["spec"]["ttlStrategy"]
    assert {"PF503", "PF504"} <= codes(doc)


def test_fail_fast_off_warns() -> None:
    doc = baseline()
    template(doc, "main")["dag"]["failFast"] = False
    assert [f.template for f in only(doc, "PF506")] == ["main"]


def test_missing_workflow_deadline_is_info() -> None:
    doc = baseline()
    del doc["spec"]["activeDeadlineSeconds"]
    assert [f.severity for f in only(doc, "PF507")] == ["info"]


def test_library_workflow_template_skips_workflow_level_settings() -> None:
    doc = baseline()
    doc["kind"] = "WorkflowTemplate"
    doc["metadata"] = {"name": "lib"}
    for key in ("entrypoint", "onExit", "podGC", "ttlStrategy", "serviceAccountName"):
        del doc["spec"][key]
    assert not codes(doc) & {"PF502", "PF503", "PF504"}


# ---------------------------------------------------------------- suppression


def test_template_annotation_suppresses_a_rule_with_a_reason() -> None:
    doc = baseline()
    del template(doc, "process")["retryStrategy"]
    template(doc, "process")["metadata"] = {"annotations": {"pipeforge.io/lint-ignore": "PF205: one-shot report"}}
    assert lint(doc) == []


def test_document_annotation_suppresses_by_rule_name() -> None:
    doc = baseline()
    del doc["spec"]["podGC"]
    doc["metadata"]["annotations"] = {"pipeforge.io/lint-ignore": "no-pod-gc: pods are kept for audit"}
    assert lint(doc) == []


def test_suppression_without_reason_is_not_honoured() -> None:
    doc = baseline()
    del doc["spec"]["podGC"]
    doc["metadata"]["annotations"] = {"pipeforge.io/lint-ignore": "PF502\nPF999: whatever"}
    assert codes(doc) == {"PF502", "PF007"}
    assert len(only(doc, "PF007")) == 2


def test_suppression_of_one_template_does_not_cover_another() -> None:
    doc = baseline()
    del template(doc, "process")["retryStrategy"]
    template(doc, "provision")["metadata"] = {"annotations": {"pipeforge.io/lint-ignore": "PF205: elsewhere"}}
    assert codes(doc) == {"PF205"}


# ---------------------------------------------------------------- kinds and documents


def test_every_argo_kind_and_every_document_is_checked() -> None:
    workflow = baseline()
    del template(workflow, "process")["retryStrategy"]
    cron = {"apiVersion": "argoproj.io/v1alpha1", "kind": "CronWorkflow", "metadata": {"name": "nightly"},
            "spec": {"schedule": "0 1 * * *", "workflowSpec": copy.deepcopy(workflow["spec"])}}
    cluster = copy.deepcopy(workflow)
    cluster.update(kind="ClusterWorkflowTemplate", metadata={"name": "c"})
    config = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "x"}, "data": {"onexit": "y"}}
    text = yaml.safe_dump_all([config, workflow, cron, cluster], sort_keys=False)
    found = only(text, "PF205")
    assert len(found) == 3
    assert len({f.line for f in found}) == 3


def test_findings_carry_lines_of_the_offending_key() -> None:
    doc = baseline()
    template(doc, "process")["retryStrategy"] = {}
    text = yaml.safe_dump(doc, sort_keys=False)
    [finding] = only(text, "PF201")
    assert text.splitlines()[finding.line - 1].strip().startswith("retryStrategy")


def test_wrong_shapes_are_errors() -> None:
    doc = baseline()
    doc["spec"]["activeDeadlineSeconds"] = "an hour"
    template(doc, "main")["dag"]["tasks"] = {"provision": "provision"}
    found = only(doc, "PF004")
    assert len(found) == 2
    assert any("activeDeadlineSeconds" in f.message and "integer" in f.message for f in found)


def test_entrypoint_naming_a_missing_template_is_an_error() -> None:
    doc = baseline()
    doc["spec"]["entrypoint"] = "mian"
    [finding] = only(doc, "PF006")
    assert "spec.entrypoint" in finding.message and "main" in finding.fix
