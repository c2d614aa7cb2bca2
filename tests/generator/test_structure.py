from __future__ import annotations

import pytest

from generator.structure import check_document
from generator.yamlio import load_documents, read_documents
from tests.conftest import shared_path

WORKFLOW = """\
apiVersion: argoproj.io/v1alpha1
kind: Workflow
metadata: {{generateName: x-}}
spec:
  entrypoint: main
{spec}
  templates:
    - name: main
{template}
      container: {{image: "busybox:1.36.1"}}
"""


def problems(spec: str = "", template: str = "") -> list[tuple[str, int, str | None]]:
    (doc,) = load_documents(WORKFLOW.format(spec=spec, template=template))
    return [(p.path, p.line, p.suggestion) for p in check_document(doc)]


@pytest.mark.parametrize(
    ("spec", "template", "path", "suggestion"),
    [
        ("  onexit: cleanup", "", "spec.onexit", "onExit"),
        ("", "      retrystrategy: {limit: 2}", "spec.templates[0].retrystrategy", "retryStrategy"),
        ("", "      activeDeadLineSeconds: 30", "spec.templates[0].activeDeadLineSeconds", "activeDeadlineSeconds"),
        ("  ttlStrategy: {secondsAfterFailur: 5}", "", "spec.ttlStrategy.secondsAfterFailur", "secondsAfterFailure"),
        ("", "      retryStrategy: {limit: 2, retrypolicy: OnError}", "spec.templates[0].retryStrategy.retrypolicy",
         "retryPolicy"),
    ],
)
def test_misspelt_key_is_reported_with_the_nearest_valid_one(spec: str, template: str, path: str,
                                                              suggestion: str) -> None:
    found = problems(spec, template)
    assert [(p, s) for p, _, s in found] == [(path, suggestion)]


def test_unknown_key_is_reported_at_its_own_line() -> None:
    found = problems("  onexit: cleanup")
    assert found[0][1] == 6


def test_removed_singular_mutex_is_unknown_and_points_at_mutexes() -> None:
    found = problems("  synchronization: {mutex: {name: m}}")
    assert found == [("spec.synchronization.mutex", 6, "mutexes")]


def test_fields_newer_than_the_sdk_are_known() -> None:
    assert problems("", "      pendingTimeout: 5m") == []


def test_wrong_shapes_are_reported() -> None:
    (doc,) = load_documents(
        "kind: Workflow\nspec:\n  activeDeadlineSeconds: soon\n  templates: {main: {}}\n  podGC: OnPodSuccess\n"
    )
    messages = [p.message for p in check_document(doc)]
    assert "spec.activeDeadlineSeconds must be an integer, not 'soon'" in messages
    assert "spec.templates must be a list, not a mapping" in messages
    assert "spec.podGC must be a mapping, not 'OnPodSuccess'" in messages


def test_argo_expressions_are_accepted_where_a_number_is_expected() -> None:
    assert problems("", "      activeDeadlineSeconds: '{{inputs.parameters.deadline}}'") == []


def test_non_argo_documents_are_not_checked() -> None:
    (doc,) = load_documents("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\nbogus: 1\n")
    assert check_document(doc) == []


def test_cron_workflow_spec_is_checked() -> None:
    (doc,) = load_documents(
        "kind: CronWorkflow\nspec:\n  schedules: ['* * * * *']\n  workflowSpec:\n    onexit: x\n"
    )
    assert [p.suggestion for p in check_document(doc)] == ["onExit"]


@pytest.mark.corpus
def test_every_argo_example_is_structurally_clean() -> None:
    root = shared_path("argo", "examples")
    files = sorted(root.rglob("*.yaml"))
    assert len(files) == 217
    found = [(path.name, p.message) for path in files for doc in read_documents(path) for p in check_document(doc)]
    assert found == []


def test_a_typo_planted_in_a_real_example_is_found() -> None:
    source = shared_path("argo", "examples", "exit-handlers.yaml").read_text(encoding="utf-8")
    assert "onExit:" in source
    (doc,) = load_documents(source.replace("onExit:", "onexit:", 1))
    assert [p.suggestion for p in check_document(doc)] == ["onExit"]
