"""Every generated manifest, for every template and parameter set, has every safe default.

Each test names the default it checks; the reasons are in ../shared/reference/argo-failure-semantics.md.
"""

from __future__ import annotations

import json
import re
from typing import Any

import pytest

from generator.model import CREATES, DELETES, Template
from generator.yamlio import load_documents
from tests.conftest import CASES, manifest_doc, manifest_for

pytestmark = pytest.mark.parametrize(("template", "case"), CASES)

POLICIES = {"Always", "OnFailure", "OnError", "OnTransientError"}


def pod_templates(template: str, case: str) -> list[Template]:
    return [t for t in manifest_for(template, case).spec.templates.values() if t.runs_pod]


def test_manifest_validates_against_argo_schema(template: str, case: str, argo_validator: Any) -> None:
    doc = json.loads(json.dumps(manifest_doc(template, case)))
    errors = [f"{list(e.absolute_path)}: {e.message[:200]}" for e in argo_validator.iter_errors(doc)]
    assert errors == []


def test_every_pod_template_has_a_bounded_retry_with_explicit_policy_and_backoff(template: str, case: str) -> None:
    for t in pod_templates(template, case):
        assert t.retry is not None, t.name
        # IntOrString, written as Argo's schema types it: a quoted number
        assert isinstance(t.retry.limit, str) and t.retry.limit.isdigit() and int(t.retry.limit) <= 10, t.name
        assert t.retry.policy in POLICIES, t.name
        assert t.retry.backoff is not None and t.retry.backoff.max_duration, t.name


def test_always_is_used_only_where_the_step_is_idempotent(template: str, case: str) -> None:
    for t in pod_templates(template, case):
        if t.retry and t.retry.policy == "Always":
            idempotent = t.effects("deletes") or t.effects("produces") or (t.resource and t.resource.action == "apply")
            assert idempotent or t.name == "verify-deleted", t.name


def test_no_retry_on_steps_dag_templates_or_spec(template: str, case: str) -> None:
    spec = manifest_for(template, case).spec
    assert spec.retry is None
    for t in spec.templates.values():
        if t.kind in ("steps", "dag"):
            assert t.retry is None, t.name


def test_every_container_and_script_template_has_active_deadline(template: str, case: str) -> None:
    for t in pod_templates(template, case):
        if t.kind in ("container", "script"):
            deadline = t.active_deadline_seconds
            assert isinstance(deadline, str) and deadline.isdigit() and int(deadline) > 0, t.name


def test_every_resource_template_has_a_timeout(template: str, case: str) -> None:
    for t in pod_templates(template, case):
        if t.kind == "resource":
            assert t.timeout, t.name


def test_workflow_has_an_active_deadline(template: str, case: str) -> None:
    assert (manifest_for(template, case).spec.active_deadline_seconds or 0) > 0


def test_exit_handler_steps_have_deadlines_of_their_own(template: str, case: str) -> None:
    spec = manifest_for(template, case).spec
    for name in spec.exit_templates():
        t = spec.templates[name]
        if t.runs_pod:
            assert t.has_deadline, name


def test_no_generate_name_and_no_create_for_side_effects(template: str, case: str) -> None:
    doc = manifest_doc(template, case)
    assert "generateName" not in json.dumps(doc)
    for t in pod_templates(template, case):
        if t.resource:
            assert t.resource.action in ("apply", "delete"), t.name
            assert t.resource.generate_name is None


def test_names_never_use_pod_names_retries_or_time(template: str, case: str) -> None:
    text = json.dumps(manifest_doc(template, case))
    for forbidden in ("pod.name", "{{retries}}", "creationTimestamp", "workflow.uid", "workflow.name"):
        assert forbidden not in text


def test_created_resources_are_owner_referenced_and_declared(template: str, case: str) -> None:
    for t in pod_templates(template, case):
        if t.resource and t.resource.action == "apply":
            assert t.resource.set_owner_reference, t.name
            assert t.effects("creates") or t.effects("produces"), t.name


def test_side_effects_are_declared_and_cleaned_up(template: str, case: str) -> None:
    spec = manifest_for(template, case).spec
    declared = [e for t in spec.templates.values() for e in t.side_effects]
    assert declared, "every template declares its side effects"
    deleted = {(e.kind, e.name) for e in declared if e.verb == "deletes"}
    for effect in declared:
        if effect.verb in ("creates", "produces"):
            assert (effect.kind, effect.name) in deleted, effect.ref
            assert "{{workflow.parameters.run-key}}" in effect.name, "keyed on the run key"


def test_pod_gc_and_ttl_cover_error_workflows(template: str, case: str) -> None:
    spec = manifest_for(template, case).spec
    assert spec.pod_gc_strategy in ("OnPodSuccess", "OnPodCompletion", "OnWorkflowSuccess", "OnWorkflowCompletion")
    assert spec.ttl is not None and spec.ttl.get("secondsAfterCompletion", 0) > 0


def test_service_account_is_set_and_not_default(template: str, case: str) -> None:
    account = manifest_for(template, case).spec.service_account
    assert account and account != "default"


def test_pods_run_as_non_root(template: str, case: str) -> None:
    assert manifest_for(template, case).spec.security_context.get("runAsNonRoot") is True


def test_containers_have_requests_and_limits(template: str, case: str) -> None:
    for t in pod_templates(template, case):
        if t.container:
            resources = t.container["resources"]
            assert resources["requests"] and resources["limits"], t.name


def test_images_are_pinned_and_never_latest(template: str, case: str) -> None:
    for t in pod_templates(template, case):
        if t.container:
            image = t.container["image"]
            assert re.search(r":[\w][\w.-]*$|@sha256:[a-f0-9]{64}$", image), image
            assert not image.endswith(":latest")


def test_parameters_never_reach_shell_or_script_source(template: str, case: str) -> None:
    for t in pod_templates(template, case):
        container = t.container
        if not container:
            continue
        sources = [container.get("source") or ""]
        if container.get("command", [])[-1:] == ["-c"] or container.get("command") == ["sh", "-c"]:
            sources.extend(container.get("args", []))
        for source in sources:
            assert "{{" not in source, f"{t.name}: parameter spliced into shell source"


def test_description_annotation_and_labels(template: str, case: str) -> None:
    manifest = manifest_for(template, case)
    assert manifest.annotations["workflows.argoproj.io/description"]
    assert manifest.raw["metadata"]["labels"]["pipeforge.io/template"] == template


def test_kustomization_lists_the_manifest(template: str, case: str) -> None:
    from tests.conftest import pipeline_for

    (kustomization,) = load_documents(pipeline_for(template, case).files["kustomization.yaml"])
    assert kustomization["resources"] == ["workflowtemplate.yaml"]
    assert kustomization["namespace"] == manifest_doc(template, case)["metadata"]["namespace"]


def test_answers_record_template_version_digest_and_parameters(template: str, case: str) -> None:
    from tests.conftest import pipeline_for

    pipeline = pipeline_for(template, case)
    (answers,) = load_documents(pipeline.files[".pipeforge-answers.yaml"])
    assert answers == {
        "template": template,
        "version": "1.0.0",
        "digest": pipeline.digest,
        "parameters": pipeline.values,
    }


def test_readme_holds_the_failure_mode_table(template: str, case: str) -> None:
    from tests.conftest import pipeline_for

    readme = pipeline_for(template, case).files["README.md"]
    assert "| Step | Stage | Retries |" in readme
    for row in pipeline_for(template, case).modes:
        assert f"`{row.step}`" in readme


def test_creates_annotation_is_used_only_for_temporary_resources(template: str, case: str) -> None:
    spec = manifest_for(template, case).spec
    exit_templates = spec.exit_templates()
    for t in spec.templates.values():
        if t.annotations.get(CREATES):
            deleters = [d for d in spec.templates.values() if d.annotations.get(DELETES) == t.annotations[CREATES]]
            assert deleters and all(d.name in exit_templates for d in deleters), t.name
