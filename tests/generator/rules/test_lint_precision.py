"""Precision and recall cases of the lint rules, each on a small manifest of its own."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from generator.lint import Finding, lint_text
from generator.model import parse_manifest
from generator.yamlio import load_documents

KUBECTL = "'bitnami/kubectl:1.31'"


def wf(body: str, *, kind: str = "Workflow", spec: str = "") -> str:
    """A manifest: ``spec`` lines (already indented by two) and the templates (indented by two)."""
    head = f"apiVersion: argoproj.io/v1alpha1\nkind: {kind}\nmetadata:\n  name: case\nspec:\n  entrypoint: main\n"
    return head + spec + "  templates:\n" + textwrap.indent(textwrap.dedent(body), "  ")


def found(text: str, code: str, **options: str) -> list[Finding]:
    return [f for f in lint_text(text, "case.yaml", **options) if f.rule == code]  # type: ignore[arg-type]


# ---------------------------------------------------------------- spec.templateDefaults

DEFAULTS = """\
  templateDefaults:
    activeDeadlineSeconds: 300
    retryStrategy: {}
"""
TWO_STEPS = """\
- name: main
  steps:
  - - {name: a, template: fetch}
  - - {name: b, template: own-limit}
- name: fetch
  container: {image: 'curlimages/curl:8.8.0', command: [curl, 'https://example.org']}
- name: own-limit
  retryStrategy: {limit: 2}
  container: {image: 'curlimages/curl:8.8.0', command: [curl, 'https://example.org']}
"""


def test_template_defaults_bound_every_step_and_their_unbounded_retry_is_reported_once() -> None:
    text = wf(TWO_STEPS, spec=DEFAULTS)
    assert found(text, "PF103") == []
    [unbounded] = found(text, "PF201")
    assert unbounded.template is None and "templateDefaults" in unbounded.message
    assert unbounded.data["path"] == ["spec", "templateDefaults", "retryStrategy"]


def test_without_template_defaults_the_same_steps_have_no_deadline() -> None:
    assert {f.template for f in found(wf(TWO_STEPS), "PF103")} == {"fetch", "own-limit"}


def test_the_model_tells_an_inherited_value_from_a_templates_own() -> None:
    [document] = load_documents(wf(TWO_STEPS, spec=DEFAULTS))
    manifest = parse_manifest(document)
    assert manifest is not None
    fetch, own = manifest.spec.templates["fetch"], manifest.spec.templates["own-limit"]
    assert fetch.active_deadline_seconds == 300 and fetch.inherits("activeDeadlineSeconds")
    assert "activeDeadlineSeconds" not in fetch.written
    assert own.retry is not None and own.retry.limit == 2 and not own.inherits("retryStrategy")
    assert manifest.spec.templates["main"].kind == "steps" and "container" not in manifest.spec.templates["main"].raw


def test_a_container_default_does_not_turn_a_steps_template_into_a_container() -> None:
    spec = "  templateDefaults:\n    container: {imagePullPolicy: IfNotPresent}\n"
    [document] = load_documents(wf(TWO_STEPS, spec=spec))
    manifest = parse_manifest(document)
    assert manifest is not None
    assert manifest.spec.templates["main"].kind == "steps"
    assert manifest.spec.templates["fetch"].container["imagePullPolicy"] == "IfNotPresent"
    assert manifest.spec.templates["fetch"].container["image"] == "curlimages/curl:8.8.0"


# ---------------------------------------------------------------- what bounds a hang

FETCH = "- name: main\n  container: {image: 'curlimages/curl:8.8.0', command: [curl, 'https://example.org']}\n"


def test_a_workflow_deadline_makes_a_missing_step_deadline_a_warning() -> None:
    [bounded] = found(wf(FETCH, spec="  activeDeadlineSeconds: 3600\n"), "PF103")
    assert bounded.severity == "warning" and bounded.data["workflow_deadline"] is True
    [unbounded] = found(wf(FETCH), "PF103")
    assert unbounded.severity == "error"


def test_daemons_never_need_a_deadline() -> None:
    daemon = "- name: main\n  daemon: true\n  container: {image: 'redis:7.2', command: [redis-server]}\n"
    assert found(wf(daemon), "PF103") == []


@pytest.mark.parametrize("template", [
    "- name: main\n  suspend: {}\n",
    "- name: main\n  http: {url: 'https://example.org'}\n",
    "- name: main\n  plugin: {hello: {text: hi}}\n",
    "- name: main\n  steps: [[{name: x, template: main}]]\n",
])
def test_templates_that_run_no_pod_of_their_own_need_no_deadline(template: str) -> None:
    assert found(wf(template), "PF103") == []


def test_a_data_template_runs_a_pod_of_its_own_and_needs_a_deadline() -> None:
    data = "- name: main\n  data:\n    source: {artifactPaths: {s3: {key: x}}}\n    transformation: []\n"
    assert [f.template for f in found(wf(data), "PF103")] == ["main"]


@pytest.mark.parametrize(("command", "reported"), [
    ("[echo, done]", False),
    ("[sh, -c, 'echo start; sleep 10; cp /a /b']", False),
    ("[sh, -c, 'sleep $WAIT']", True),
    ("[sh, -c, 'echo start && ./migrate']", True),
])
def test_containers_that_only_run_terminating_commands_are_not_reported(command: str, reported: bool) -> None:
    text = wf(f"- name: main\n  container: {{image: 'busybox:1.36', command: {command}}}\n")
    assert bool(found(text, "PF103")) is reported


def test_a_resource_template_polls_only_with_conditions() -> None:
    resource = ("- name: main\n  resource:\n    action: apply\n    manifest: |\n      apiVersion: v1\n"
                "      kind: ConfigMap\n      metadata: {name: c}\n")
    assert found(wf(resource), "PF103") == []
    polling = resource.replace("    action: apply\n", "    action: apply\n    successCondition: status.ready\n")
    [finding] = found(wf(polling), "PF103")
    assert "timeout" in finding.message


# ---------------------------------------------------------------- irreversible actions and cleanup

def _chain(create: str, delete: str, *, exit_handler: bool = False) -> str:
    steps = "- name: main\n  steps:\n  - - {name: create, template: create}\n  - - {name: test, template: test}\n"
    if not exit_handler:
        steps += "  - - {name: undo, template: undo}\n"
    leaves = (f"- name: create\n  activeDeadlineSeconds: 60\n  container: {{image: {KUBECTL}, command: {create}}}\n"
              "- name: test\n  activeDeadlineSeconds: 60\n  container: {image: 'busybox:1.36', command: [./t]}\n"
              f"- name: undo\n  activeDeadlineSeconds: 60\n  container: {{image: {KUBECTL}, command: {delete}}}\n")
    return wf(steps + leaves, spec="  onExit: undo\n" if exit_handler else "")


@pytest.mark.parametrize(("create", "delete"), [
    ("[kubectl, apply, -f, /m/job.yaml]", "[kubectl, delete, -f, /m/job.yaml]"),
    ("[kubectl, create, namespace, scratch]", "[kubectl, delete, namespace, scratch]"),
    ("[sh, -c, 'helm upgrade --install web ./chart']", "[sh, -c, 'helm uninstall web']"),
    ("[sh, -c, 'helm install web ./chart']", "[sh, -c, 'helm rollback web 1']"),
    ("[argocd, app, create, web, --repo, r]", "[argocd, app, delete, web]"),
    ('[sh, -c, "kubectl apply -f - <<EOF\\nkind: ChaosEngine\\nmetadata:\\n  name: hog\\nEOF"]',
     "[kubectl, delete, chaosengine, -l, run=x]"),
])
def test_undoing_what_the_workflow_created_is_cleanup_not_an_irreversible_action(create: str, delete: str) -> None:
    ordinary = _chain(create, delete)
    assert found(ordinary, "PF301") == []
    [cleanup] = found(ordinary, "PF101")
    assert cleanup.data["step"] == "undo" and cleanup.data["path"] == ["spec", "templates", 0, "steps", 2, 0]
    in_exit_handler = _chain(create, delete, exit_handler=True)
    assert found(in_exit_handler, "PF301") == [] and found(in_exit_handler, "PF101") == []


def test_a_templateref_step_named_as_the_creator_makes_the_delete_a_compensation() -> None:
    body = """\
    - name: main
      dag:
        tasks:
        - {name: create-application, templateRef: {name: argocd, template: create-app}}
        - {name: smoke, template: smoke, depends: create-application}
        - {name: delete-application, template: delete-application, depends: smoke}
    - name: smoke
      activeDeadlineSeconds: 60
      container: {image: 'busybox:1.36', command: [./smoke]}
    - name: delete-application
      activeDeadlineSeconds: 60
      container: {image: 'argoproj/argocd:v2.11.0', command: [argocd, app, delete, '{{workflow.name}}']}
    """
    text = wf(body)
    assert found(text, "PF301") == []
    assert [f.data["task"] for f in found(text, "PF101")] == ["delete-application"]


def test_deleting_what_the_workflow_did_not_create_needs_a_gate_named_for_the_template_kind() -> None:
    leaf = (f"- name: drop\n  activeDeadlineSeconds: 60\n"
            f"  container: {{image: {KUBECTL}, command: [kubectl, delete, ns, prod]}}\n")
    in_steps = wf("- name: main\n  steps: [[{name: drop, template: drop}]]\n" + leaf)
    [steps_finding] = found(in_steps, "PF301")
    assert "steps.approve.outputs" in steps_finding.fix and steps_finding.data["step"] == "drop"
    in_dag = wf("- name: main\n  dag: {tasks: [{name: drop, template: drop}]}\n" + leaf)
    [dag_finding] = found(in_dag, "PF301")
    assert "tasks.approve.outputs" in dag_finding.fix and dag_finding.data["task"] == "drop"


def test_a_cleanup_named_step_deleting_a_handed_over_object_is_still_irreversible() -> None:
    body = ("- name: main\n  steps: [[{name: cleanup, template: cleanup}]]\n- name: cleanup\n"
            f"  activeDeadlineSeconds: 60\n"
            f"  container: {{image: {KUBECTL}, command: [kubectl, delete, cm, handed-over]}}\n")
    [finding] = found(wf(body), "PF301")
    assert "configmap/handed-over" in finding.message


def test_a_timed_suspend_before_an_irreversible_step_is_named_even_when_nobody_reads_it() -> None:
    body = f"""\
    - name: main
      steps:
      - - {{name: wait, template: pause}}
      - - {{name: drop, template: drop}}
    - name: pause
      suspend: {{duration: 10m}}
    - name: drop
      activeDeadlineSeconds: 60
      container: {{image: {KUBECTL}, command: [kubectl, delete, ns, prod]}}
    """
    [gate] = found(wf(body), "PF302")
    assert gate.template == "pause" and "'drop'" in gate.message
    assert gate.data["path"] == ["spec", "templates", 1, "suspend", "duration"]
    assert found(wf(body), "PF301")


# ---------------------------------------------------------------- cleanup by name

@pytest.mark.parametrize("name", ["revert-chaos", "delete-loadtest", "teardown-env", "rollback-release",
                                  "cleanup-scratch", "remove-fixtures"])
def test_cleanup_is_recognised_by_a_documented_name(name: str) -> None:
    body = (f"- name: main\n  steps:\n  - - {{name: work, template: work}}\n  - - {{name: {name}, template: undo}}\n"
            "- name: work\n  activeDeadlineSeconds: 60\n  container: {image: 'busybox:1.36', command: [./w]}\n"
            "- name: undo\n  activeDeadlineSeconds: 60\n  container: {image: 'example/undo:1', command: [./undo]}\n")
    [finding] = found(wf(body), "PF101")
    assert finding.data["step"] == name and finding.data["by_name"] is True


def test_a_chaos_experiment_named_pod_delete_is_not_cleanup() -> None:
    body = ("- name: main\n  steps:\n  - - {name: work, template: work}\n  - - {name: pod-delete, template: undo}\n"
            "- name: work\n  activeDeadlineSeconds: 60\n  container: {image: 'busybox:1.36', command: [./w]}\n"
            "- name: undo\n  activeDeadlineSeconds: 60\n  container: {image: 'example/chaos:1', command: [./x]}\n")
    assert found(wf(body), "PF101") == []


# ---------------------------------------------------------------- YAML merge keys

def test_a_merge_key_override_is_not_a_duplicate_but_a_real_duplicate_is() -> None:
    body = """\
    - name: main
      activeDeadlineSeconds: 60
      container:
        <<: &base {image: 'busybox:1.36', command: [./a]}
        command: [./b]
    """
    assert found(wf(body), "PF002") == []
    twice = body.replace("        command: [./b]\n", "        command: [./b]\n        command: [./c]\n")
    [duplicate] = found(wf(twice), "PF002")
    assert duplicate.data["path"] == ["spec", "templates", 0, "container", "command"]


# ---------------------------------------------------------------- parameters in scripts

SPLICE = """\
- name: main
  inputs: {parameters: [{name: who, value: world}]}
  activeDeadlineSeconds: 60
  script: {image: 'python:3.12', command: [python], source: 'print("{{inputs.parameters.who}}")'}
"""


def test_a_runner_reading_all_parameters_as_data_is_not_injection() -> None:
    runner = """\
    - name: main
      inputs: {parameters: [{name: who}]}
      activeDeadlineSeconds: 60
      script:
        image: 'python:3.12'
        command: [python]
        args: [-m, hera.workflows.runner, -e, 'app:main']
        source: '{{inputs.parameters}}'
    """
    assert found(wf(runner), "PF401") == []


def test_splicing_is_a_warning_in_a_plain_workflow_and_an_error_in_a_template_kind() -> None:
    [plain] = found(wf(SPLICE), "PF401")
    assert plain.severity == "warning"
    [library] = found(wf(SPLICE, kind="WorkflowTemplate"), "PF401")
    assert library.severity == "error"


def test_splicing_a_value_from_another_steps_output_is_an_error_in_a_plain_workflow() -> None:
    body = ("- name: main\n  steps:\n  - - {name: read, template: read}\n  - - name: greet\n      template: greet\n"
            "      arguments: {parameters: [{name: who, value: '{{steps.read.outputs.result}}'}]}\n"
            "- name: read\n  activeDeadlineSeconds: 60\n  container: {image: 'busybox:1.36', command: [cat, /x]}\n"
            + SPLICE.replace("name: main", "name: greet").replace(", value: world", ""))
    [finding] = found(wf(body), "PF401")
    assert finding.severity == "error" and finding.template == "greet"


# ---------------------------------------------------------------- new rules

def test_duplicate_template_names_are_an_error_at_the_second_one() -> None:
    body = FETCH + FETCH.replace("curl, ", "curl, -s, ")
    [finding] = found(wf(body), "PF008")
    assert finding.severity == "error" and finding.data["path"] == ["spec", "templates", 1, "name"]


@pytest.mark.parametrize(("value", "reported"), [("three", True), ("'3'", False), ("3", False), ("'+3'", False),
                                                 ("'{{inputs.parameters.n}}'", False), ("' 3 '", True),
                                                 ("'3.5'", True), ("'1e3'", True)])
def test_a_retry_limit_must_be_a_number_strconv_atoi_reads_or_an_expression(value: str, reported: bool) -> None:
    body = FETCH.replace("  container", f"  retryStrategy: {{limit: {value}}}\n  container")
    assert bool(found(wf(body), "PF009")) is reported


def test_a_non_numeric_template_deadline_is_reported_with_its_line() -> None:
    body = FETCH.replace("  container", "  activeDeadlineSeconds: ten minutes\n  container")
    [finding] = found(wf(body), "PF009")
    assert finding.line == 9 and finding.data["field"] == "activeDeadlineSeconds"


PVC = """\
- name: main
  timeout: 60s
  resource:
    action: apply
    manifest: |
      apiVersion: v1
      kind: PersistentVolumeClaim
      metadata:
        name: scratch-{{workflow.name}}
      spec:
        accesModes: [ReadWriteOnce]
        resources: {requests: {storage: '{{inputs.parameters.size}}'}}
"""


def test_a_typo_inside_a_resource_manifest_is_reported_at_its_line() -> None:
    [finding] = found(wf(PVC), "PF010")
    assert "spec.accesModes" in finding.message and finding.line == 18  # the line of accesModes itself
    assert finding.data["object"] == {"kind": "PersistentVolumeClaim", "name": "scratch-{{workflow.name}}"}
    assert found(wf(PVC.replace("accesModes", "accessModes")), "PF010") == []


def test_a_wrong_type_inside_a_resource_manifest_is_reported_but_templated_values_are_not() -> None:
    deployment = PVC.replace("PersistentVolumeClaim", "ConfigMap").replace(
        "      spec:\n        accesModes: [ReadWriteOnce]\n"
        "        resources: {requests: {storage: '{{inputs.parameters.size}}'}}\n",
        "      data: {retries: 3, name: '{{inputs.parameters.n}}'}\n")
    [finding] = found(wf(deployment), "PF010")
    assert "data.retries" in finding.message


def test_custom_resources_and_unparsable_manifests_are_not_checked() -> None:
    crd = PVC.replace("apiVersion: v1\n      kind: PersistentVolumeClaim", "apiVersion: litmuschaos.io/v1alpha1\n"
                      "      kind: ChaosEngine")
    assert found(wf(crd), "PF010") == []
    broken = PVC.replace("accesModes: [ReadWriteOnce]", "accesModes: [ReadWriteOnce")
    assert found(wf(broken), "PF010") == []


def test_the_kubernetes_version_chooses_the_schemas() -> None:
    policy = """\
    - name: main
      timeout: 60s
      resource:
        action: apply
        manifest: |
          apiVersion: admissionregistration.k8s.io/v1
          kind: ValidatingAdmissionPolicy
          metadata: {name: p}
          spec: {failurPolicy: Fail}
    """
    assert found(wf(policy), "PF010")
    assert found(wf(policy), "PF010", kubernetes_version="1.20") == []  # no such kind in 1.20: not checked


def test_a_sub_graph_that_creates_and_removes_its_own_object_is_not_cleanup_for_its_caller() -> None:
    body = f"""\
    - name: main
      steps:
      - - {{name: prepare, template: work}}
      - - {{name: chaos, template: chaos}}
    - name: chaos
      steps:
      - - {{name: inject, template: inject}}
      - - {{name: revert-chaos, template: revert}}
    - name: work
      activeDeadlineSeconds: 60
      container: {{image: 'busybox:1.36', command: [./w]}}
    - name: inject
      activeDeadlineSeconds: 60
      container: {{image: {KUBECTL}, command: [kubectl, create, configmap, engine]}}
    - name: revert
      activeDeadlineSeconds: 60
      container: {{image: {KUBECTL}, command: [kubectl, delete, configmap, engine]}}
    """
    assert [(f.template, f.data["step"]) for f in found(wf(body), "PF101")] == [("chaos", "revert-chaos")]


def test_after_harden_moves_a_kubectl_cleanup_into_the_exit_handler_nothing_asks_for_a_gate() -> None:
    from generator.harden import harden_text

    text = _chain("[kubectl, create, namespace, scratch]", "[kubectl, delete, namespace, scratch]")
    hardened = harden_text(text, "case.yaml").text
    assert "onExit" in hardened
    assert found(hardened, "PF101") == [] and found(hardened, "PF301") == []


def test_the_configuration_file_chooses_the_kubernetes_version(tmp_path: Path) -> None:
    from generator.lint import lint_paths

    policy = ("- name: main\n  timeout: 60s\n  resource:\n    action: apply\n    manifest: |\n"
              "      apiVersion: admissionregistration.k8s.io/v1\n      kind: ValidatingAdmissionPolicy\n"
              "      metadata: {name: p}\n      spec: {failurPolicy: Fail}\n")
    (tmp_path / "wf.yaml").write_text(wf(policy), encoding="utf-8")
    assert [f for f in lint_paths([tmp_path]).findings if f.rule == "PF010"]
    (tmp_path / ".pipeforge.toml").write_text('[lint]\nkubernetes-version = "1.20"\n', encoding="utf-8")
    assert [f for f in lint_paths([tmp_path]).findings if f.rule == "PF010"] == []


def test_kubernetes_schemas_are_cached_pruned_per_kind(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from generator.rules import kubernetes

    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    kubernetes._schema.cache_clear()
    try:
        [finding] = found(wf(PVC), "PF010")
        [cached] = (tmp_path / "pipeforge").glob("k8s-*-persistentvolumeclaim-v1.json")
        text = cached.read_text(encoding="utf-8")
        assert '"description"' not in text and "PersistentVolumeClaimSpec" in text
        kubernetes._schema.cache_clear()
        assert [f.message for f in found(wf(PVC), "PF010")] == [finding.message]  # read back from the cache
    finally:
        kubernetes._schema.cache_clear()
