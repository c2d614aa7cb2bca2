"""`harden`'s judgement, each on a small manifest of its own: a change only where it is safe for that
template, the rest listed as needing a human; and edits that leave every other line as written."""

from __future__ import annotations

import random
import string
from typing import Any

import pytest

import generator.harden as harden_module
from generator.harden import harden_text
from generator.lint import lint_text
from generator.rules import Hit
from generator.sim.faults import Faults
from generator.simulate import load_text, simulate
from generator.yamlio import load_documents
from tests.generator.test_lint_cli import ARTICLE

HEAD = """\
apiVersion: argoproj.io/v1alpha1
kind: Workflow
metadata:
  generateName: t-
spec:
  entrypoint: main
"""


def _template(result_text: str, name: str) -> dict[str, Any]:
    [doc] = [d for d in load_documents(result_text) if d and d.get("kind") == "Workflow"]
    return next(t for t in doc["spec"]["templates"] if t["name"] == name)


def _held(result: Any, rule: str, template: str | None) -> list[str]:
    return [h.reason for h in result.held if h.rule == rule and h.template == template]


# ---------------------------------------------------------------- deadlines


def test_a_daemon_step_gets_no_deadline_and_is_listed_for_a_human() -> None:
    text = HEAD + """\
  templates:
  - name: main
    steps:
    - - name: scheduler
        template: dask
  - name: dask
    daemon: true
    container:
      image: daskdev/dask:2024.1.0
"""
    result = harden_text(text, "daemon.yaml")
    assert "activeDeadlineSeconds" not in _template(result.text, "dask")
    reported = any(f.rule == "PF103" and f.template == "dask" for f in lint_text(text, "daemon.yaml"))
    # where the linter asks for a deadline, harden says why it did not add one
    assert not reported or any("daemon" in reason for reason in _held(result, "PF103", "dask"))


def test_a_stricter_template_default_deadline_and_retry_limit_are_not_loosened() -> None:
    text = HEAD + """\
  templateDefaults:
    activeDeadlineSeconds: 600
    retryStrategy:
      limit: 2
  templates:
  - name: main
    container:
      image: busybox:1.36.1
"""
    result = harden_text(text, "defaults.yaml", deadline=3600)
    main = _template(result.text, "main")
    assert "activeDeadlineSeconds" not in main and "retryStrategy" not in main
    assert result.text.count("activeDeadlineSeconds") == 1 and "limit: 2" in result.text


def test_a_looser_template_default_deadline_is_not_repeated_on_each_template() -> None:
    text = HEAD + """\
  templateDefaults:
    activeDeadlineSeconds: 86400
  templates:
  - name: main
    container:
      image: busybox:1.36.1
  - name: other
    script:
      image: python:3.12
      source: print(1)
"""
    result = harden_text(text, "defaults.yaml")
    assert "activeDeadlineSeconds" not in _template(result.text, "main")
    assert "activeDeadlineSeconds" not in _template(result.text, "other")
    assert result.text.count("activeDeadlineSeconds") == 1


def test_a_workflow_deadline_lower_than_the_default_caps_the_step_deadline() -> None:
    text = HEAD + """\
  activeDeadlineSeconds: 600
  templates:
  - name: main
    container:
      image: busybox:1.36.1
"""
    result = harden_text(text, "short.yaml")
    assert _template(result.text, "main")["activeDeadlineSeconds"] == "600"
    assert any("workflow's own" in c.description for c in result.changes if c.rule == "PF103")


def test_the_default_deadline_is_named_as_a_default_to_review_and_an_explicit_one_is_not() -> None:
    text = HEAD + "  templates:\n  - name: main\n    container:\n      image: busybox:1.36.1\n"
    [default] = [c for c in harden_text(text, "d.yaml").changes if c.rule == "PF103"]
    [chosen] = [c for c in harden_text(text, "d.yaml", deadline=900).changes if c.rule == "PF103"]
    assert "default" in default.description and "review" in default.description
    assert "900" in chosen.description and "default" not in chosen.description


def test_a_kubeflow_compiled_file_gets_no_deadline_or_retry() -> None:
    text = HEAD.replace("metadata:\n", "metadata:\n  annotations:\n    pipelines.kubeflow.org/kfp_sdk_version: 1.8.22\n"
                        ) + "  templates:\n  - name: main\n    container:\n      image: python:3.12\n"
    result = harden_text(text, "kfp.yaml")
    main = _template(result.text, "main")
    assert "activeDeadlineSeconds" not in main and "retryStrategy" not in main
    assert any("Kubeflow Pipelines" in h.reason for h in result.held)


def test_a_workflow_deadline_is_added_only_when_asked() -> None:
    text = HEAD + "  templates:\n  - name: main\n    suspend: {}\n"
    assert "activeDeadlineSeconds" not in harden_text(text, "w.yaml").text
    asked = harden_text(text, "w.yaml", workflow_deadline=7200)
    [doc] = load_documents(asked.text)
    assert doc["spec"]["activeDeadlineSeconds"] == 7200  # an integer in Argo's schema, unlike the template field


# ---------------------------------------------------------------- retries


def test_a_step_with_an_unknown_external_call_gets_no_retry() -> None:
    text = HEAD + """\
  templates:
  - name: main
    container:
      image: alpine/curl:8.5.0
      command: [sh, -c]
      args: ["curl -X POST https://example.service-now.com/api/now/table/change_request -d @cr.json"]
"""
    result = harden_text(text, "snow.yaml")
    assert "retryStrategy" not in _template(result.text, "main")
    [reason] = _held(result, "PF205", "main")
    assert "external call" in reason
    assert any("pipeforge.io/idempotent" in h.suggestion for h in result.held)


@pytest.mark.parametrize("command", [
    "jira issue edit OPS-1 --status Done", "k6 run load.js", "litmusctl create chaos-experiment x",
    "terraform apply -auto-approve", "helm install app ./chart", "kubectl create job seed --image=seed:1",
    "kubectl scale deployment web --replicas=0",
])
def test_saas_chaos_load_and_infrastructure_clis_are_external_calls(command: str) -> None:
    text = HEAD + f"""\
  templates:
  - name: main
    script:
      image: tools:1.0
      command: [bash]
      source: |
        set -e
        {command}
"""
    result = harden_text(text, "ext.yaml")
    assert "retryStrategy" not in _template(result.text, "main")
    assert _held(result, "PF205", "main")


@pytest.mark.parametrize("source", [
    'import requests\nrequests.post("https://example.service-now.com/api/now/table/change_request", json=cr)',
    'import httpx\nhttpx.patch(f"https://jira.example.com/rest/api/2/issue/{key}", json=body)',
    'from urllib.request import Request, urlopen\nurlopen(Request(url, data=body, method="PUT"))',
    'from slack_sdk import WebClient\nWebClient(token=token).chat_postMessage(channel="#ops", text="done")',
    'const res = await fetch("https://api.pagerduty.com/incidents", {method: "POST", body})',
])
def test_a_script_making_a_mutating_http_call_or_using_a_saas_client_gets_no_retry(source: str) -> None:
    body = "\n".join("        " + line for line in source.splitlines())
    text = HEAD + f"""\
  templates:
  - name: main
    script:
      image: python:3.12
      command: [python]
      source: |
{body}
"""
    result = harden_text(text, "script.yaml")
    assert "retryStrategy" not in _template(result.text, "main")
    [reason] = _held(result, "PF205", "main")
    assert "external call" in reason


def test_a_script_reading_over_http_or_calling_a_service_in_the_cluster_is_retried() -> None:
    text = HEAD + """\
  templates:
  - name: main
    script:
      image: python:3.12
      command: [python]
      source: |
        import requests
        rows = requests.get("https://data.example.com/daily.csv").text
        requests.post("http://scorer.ml.svc.cluster.local/score", data=rows)
"""
    assert _template(harden_text(text, "read.yaml").text, "main")["retryStrategy"]["retryPolicy"] == "OnError"


@pytest.mark.parametrize("command", [
    "kubectl apply -f /manifests/deploy.yaml", "helm upgrade --install web ./chart --wait",
    "kubectl delete configmap settings --ignore-not-found", "aws s3 sync /out s3://reports/daily",
    "kubectl get pods -o wide",
])
def test_cluster_changes_that_converge_are_retried_on_error(command: str) -> None:
    text = HEAD + f"""\
  templates:
  - name: main
    container:
      image: tools:1.0
      command: [sh, -c, "{command}"]
"""
    result = harden_text(text, "converge.yaml")
    assert _template(result.text, "main")["retryStrategy"]["retryPolicy"] == "OnError"
    assert not _held(result, "PF205", "main")


def test_a_step_without_side_effects_is_retried_on_error_never_always() -> None:
    text = HEAD + """\
  templates:
  - name: main
    container:
      image: python:3.12
      command: [python, -c, "print(sum(range(10)))"]
      env:
      - name: URL
        value: http://model-server.ml.svc.cluster.local/predict
"""
    retry = _template(harden_text(text, "pure.yaml").text, "main")["retryStrategy"]
    assert retry == {"limit": "3", "retryPolicy": "OnError",
                     "backoff": {"duration": "10s", "factor": "2", "maxDuration": "5m"}}


def test_an_in_cluster_http_call_is_no_external_call() -> None:
    text = HEAD + """\
  templates:
  - name: main
    container:
      image: curlimages/curl:8.5.0
      command: [curl, -fsS, "http://inventory.shop.svc.cluster.local/health"]
"""
    assert "retryStrategy" in _template(harden_text(text, "in.yaml").text, "main")


def test_the_idempotency_annotation_allows_a_retry_and_false_forbids_it_silently() -> None:
    step = HEAD + """\
  templates:
  - name: main
    metadata:
      annotations:
        pipeforge.io/idempotent: "{value}"
    container:
      image: alpine/curl:8.5.0
      command: [curl, -X, PUT, "https://api.example.com/orders/42"]
"""
    declared = harden_text(step.replace("{value}", "PUT of the same order id converges"), "a.yaml")
    assert _template(declared.text, "main")["retryStrategy"]["retryPolicy"] == "OnError"
    refused = harden_text(step.replace("{value}", "false"), "a.yaml")
    assert "retryStrategy" not in _template(refused.text, "main") and not _held(refused, "PF205", "main")


def test_a_resource_apply_of_a_fixed_name_is_retried_always() -> None:
    text = HEAD + """\
  templates:
  - name: main
    resource:
      action: apply
      manifest: |
        apiVersion: v1
        kind: ConfigMap
        metadata:
          name: settings-{{workflow.name}}
"""
    result = harden_text(text, "apply.yaml")
    assert _template(result.text, "main")["retryStrategy"]["retryPolicy"] == "Always"


# ---------------------------------------------------------------- cleanup

LIBRARY = """\
apiVersion: argoproj.io/v1alpha1
kind: WorkflowTemplate
metadata:
  name: scratch-lib
spec:
  entrypoint: main
  templates:
  - name: main
    steps:
    - - name: provision
        template: make-cm
    - - name: work
        template: work
    - - name: cleanup
        template: delete-cm
  - name: make-cm
    resource:
      action: apply
      manifest: |
        apiVersion: v1
        kind: ConfigMap
        metadata:
          name: scratch-{{workflow.name}}
  - name: work
    container:
      image: busybox:1.36.1
  - name: delete-cm
    resource:
      action: delete
      manifest: |
        apiVersion: v1
        kind: ConfigMap
        metadata:
          name: scratch-{{workflow.name}}
---
apiVersion: argoproj.io/v1alpha1
kind: Workflow
metadata:
  generateName: caller-
spec:
  entrypoint: run
  templates:
  - name: run
    steps:
    - - name: use-library
        templateRef:
          name: scratch-lib
          template: main
"""


def _run(text: str, faults: Faults | None = None) -> Any:
    return simulate(load_text(text, "lib.yaml"), faults)


def test_a_workflow_template_used_through_template_ref_still_cleans_up_after_harden() -> None:
    assert _run(LIBRARY).safe  # before: the happy path cleans up
    assert not _run(LIBRARY, Faults(fail={"work": ("Failed", None)})).safe  # and a failure orphans
    result = harden_text(LIBRARY, "lib.yaml")
    assert "spec.onExit" not in " ".join(c.description for c in result.changes)
    happy = _run(result.text)
    failed = _run(result.text, Faults(fail={"work": ("Failed", None)}))
    assert happy.phase == "Succeeded" and happy.safe, happy.orphaned
    assert failed.phase == "Failed" and failed.safe, failed.orphaned
    assert "PF101" not in {f.rule for f in lint_text(result.text, "lib.yaml")}
    [wrap] = [c for c in result.changes if c.rule == "PF101" and "hooks.exit" in c.description]
    assert "templateRef" in wrap.description


def test_two_sibling_cleanup_steps_are_both_moved() -> None:
    text = HEAD + """\
  templates:
  - name: main
    dag:
      tasks:
      - name: make
        template: work
      - name: cleanup-tmp
        template: work
        depends: make
      # keep this note
      - name: teardown
        template: work
        depends: cleanup-tmp
  - name: work
    container:
      image: busybox:1.36.1
"""
    result = harden_text(text, "two.yaml")
    moved = [c.description for c in result.changes if c.description.startswith("moved cleanup")]
    assert len(moved) == 2, result.held
    handler = _template(result.text, "exit-handler")
    assert [s["name"] for group in handler["steps"] for s in group] == ["cleanup-tmp", "teardown"]
    assert "# keep this note" in result.text


# ---------------------------------------------------------------- text edits


def test_untouched_layout_survives_byte_for_byte() -> None:
    text = """\
---
# header comment
apiVersion: argoproj.io/v1alpha1
kind: Workflow
metadata:
  generateName: layout-
spec:
  entrypoint: main
  templates:
  - name: main
    steps:
    - - name: a
        template: work
      - name: b
        template: work
  # a commented-out step:
  # - - name: c
  #     template: work
  - name: work
    inputs:
      parameters: [
        {name: x, value: "1"},
      ]
    container:
      image: busybox:1.36.1
      args: >
        folded text that
        spans lines
"""
    result = harden_text(text, "layout.yaml")
    assert result.changed
    output = result.text.splitlines()
    position = 0
    for number, line in enumerate(text.splitlines(), 1):
        if number in result.touched:
            continue
        position = output.index(line, position) + 1
    assert harden_text(result.text, "layout.yaml").text == result.text


def test_an_inserted_key_follows_the_comments_under_the_previous_key_and_precedes_the_next_block() -> None:
    text = HEAD + """\
  templates:
  - name: main
    inputs:
      parameters:
      - name: x
      # - name: y   (commented out, belongs to inputs)

    # the container
    container:
      image: busybox:1.36.1
"""
    lines = harden_text(text, "c.yaml", deadline=60).text.splitlines()
    at, comment = lines.index('    activeDeadlineSeconds: "60"'), lines.index("    # the container")
    assert lines[at - 1].strip().startswith("# - name: y") and at < comment
    assert lines[comment - 1] == "" and lines[comment + 1] == "    container:"


def test_a_case_typo_inside_a_case_typo_is_fixed_in_one_run() -> None:
    text = ARTICLE.replace("retryStrategy: {}", "retrystrategy:\n      Limit: 2")
    once = harden_text(text, "typo.yaml")
    assert "retryStrategy:" in once.text and "limit: 2" in once.text
    assert harden_text(once.text, "typo.yaml").text == once.text


def test_harden_never_parses_message_text(monkeypatch: pytest.MonkeyPatch) -> None:
    """Fixes read a finding's data: with every message and fix replaced by noise, the output is identical
    (the renames of misspelt keys included: they are PF003 findings too)."""
    texts = [ARTICLE, LIBRARY, ARTICLE.replace("  entrypoint: main\n", "  entrypoint: main\n  onexit: main\n")]
    expected = [harden_text(t, "m.yaml") for t in texts]
    noise = random.Random(7)

    def scramble() -> str:
        return "".join(noise.choice(string.printable) for _ in range(30))

    real_check = harden_module.check_manifest
    scrambled: list[str] = []

    def noisy_hits(manifest: Any, *args: Any, **kwargs: Any) -> list[Hit]:
        hits = real_check(manifest, *args, **kwargs)
        scrambled.extend(h.code for h in hits)
        return [Hit(h.code, h.line, h.template, scramble(), scramble(), h.severity, h.data) for h in hits]

    monkeypatch.setattr(harden_module, "check_manifest", noisy_hits)
    for text, before in zip(texts, expected, strict=True):
        after = harden_text(text, "m.yaml")
        assert after.text == before.text and [c.rule for c in after.changes] == [c.rule for c in before.changes]
    assert "PF003" in scrambled and "PF201" in scrambled


def test_a_cleanup_opening_a_step_group_moves_and_the_next_step_takes_the_groups_dash() -> None:
    text = HEAD + """\
  templates:
  - name: main
    steps:
    - - name: make
        template: work
    - - name: cleanup-scratch
        template: work
    #  - name: old-step
    #    template: work
      - name: report
        template: work
  - name: work
    container:
      image: busybox:1.36.1
"""
    result = harden_text(text, "group.yaml")
    main = _template(result.text, "main")
    assert [[s["name"] for s in group] for group in main["steps"]] == [["make"], ["report"]]
    assert "    #  - name: old-step\n    #    template: work\n    - - name: report\n" in result.text
    assert [s["name"] for g in _template(result.text, "exit-handler")["steps"] for s in g] == ["cleanup-scratch"]


def test_an_empty_flow_retry_strategy_becomes_a_block_under_its_key() -> None:
    text = HEAD + """\
  templates:
  - name: main
    retryStrategy: {}   # retry everything
    container:
      image: busybox:1.36.1
"""
    result = harden_text(text, "flow.yaml")
    assert ('    retryStrategy:   # retry everything\n      limit: "3"\n      retryPolicy: OnFailure\n'
            '      backoff:\n') in result.text
    assert result.touched == (9,)  # the one line whose {} moved into the block


def test_windows_line_endings_and_a_missing_final_newline_are_kept() -> None:
    crlf = harden_text(ARTICLE.replace("\n", "\r\n"), "crlf.yaml")
    assert crlf.changes and all(line.endswith("\r") for line in crlf.text.split("\n")[:-1])
    assert harden_text(crlf.text, "crlf.yaml").text == crlf.text
    bare = harden_text(ARTICLE.rstrip("\n"), "bare.yaml")
    assert bare.changes and load_documents(bare.text) and harden_text(bare.text, "bare.yaml").text == bare.text


def test_sibling_cleanups_in_one_step_group_move_together() -> None:
    text = HEAD + """\
  templates:
  - name: main
    steps:
    - - name: make
        template: work
    - - name: cleanup-a
        template: work
      # between the two
      - name: teardown-b
        template: work
    - - name: make-more
        template: work
    - - name: cleanup-c
        template: work
      - name: report
        template: work
  - name: work
    container:
      image: busybox:1.36.1
"""
    result = harden_text(text, "siblings.yaml")
    assert not [h for h in result.held if h.rule in ("PF101", "harden")], result.held
    main = _template(result.text, "main")
    assert [[s["name"] for s in group] for group in main["steps"]] == [["make"], ["make-more"], ["report"]]
    moved = [s["name"] for g in _template(result.text, "exit-handler")["steps"] for s in g]
    assert moved == ["cleanup-a", "teardown-b", "cleanup-c"] and "# between the two" in result.text
    assert harden_text(result.text, "siblings.yaml").text == result.text


def test_the_mcp_tool_lists_at_most_the_cap_and_says_how_many_there_are() -> None:
    from generator.mcp_tools import HARDEN_LIST_CAP, harden_manifest

    templates = "".join(f"  - name: s{i}\n    container:\n      image: busybox:1.36.1\n" for i in range(150))
    tasks = "".join(f"      - name: t{i}\n        template: s{i}\n" for i in range(150))
    text = HEAD + "  templates:\n  - name: main\n    dag:\n      tasks:\n" + tasks + templates
    answer = harden_manifest(text)
    assert answer.totals["changes"] == len(harden_text(text, "manifest.yaml").changes) > HARDEN_LIST_CAP
    assert len(answer.changes) == answer.listed == HARDEN_LIST_CAP
    assert load_documents(answer.yaml)  # the YAML itself is whole
