"""harden reads a task's ``depends`` with the one parser (generator/depends.py), as lint and simulate do:
whether a cleanup can move into the exit handler depends on the task names the expression reads
(reference §4: operands are task names), not on the text containing the cleanup's name."""

from __future__ import annotations

from generator.harden import harden_text
from generator.yamlio import load_documents

WORKFLOW = """\
apiVersion: argoproj.io/v1alpha1
kind: Workflow
metadata:
  generateName: t-
spec:
  entrypoint: main
  templates:
  - name: main
    dag:
      tasks:
      - {name: make, template: work}
      - {name: precleanup-snapshot, template: work, depends: make}
      - {name: report, template: work, depends: %s}
      - {name: cleanup, template: work, depends: report}
  - name: work
    container:
      image: busybox:1.36.1
"""


def test_a_depends_naming_a_longer_task_does_not_pin_the_cleanup() -> None:
    """Reference §4: 'precleanup-snapshot' is one operand; it does not name the task 'cleanup'."""
    result = harden_text(WORKFLOW % "precleanup-snapshot", "wf.yaml")
    assert not [h.reason for h in result.held if h.rule == "PF101"]
    [doc] = [d for d in load_documents(result.text) if d and d.get("kind") == "Workflow"]
    assert doc["spec"]["onExit"] == "exit-handler"
    handler = next(t for t in doc["spec"]["templates"] if t["name"] == "exit-handler")
    assert [s["name"] for group in handler["steps"] for s in group] == ["cleanup"]


def test_a_depends_reading_the_cleanup_keeps_it_in_place() -> None:
    """Reference §4: 'cleanup.Succeeded' reads the task cleanup, so report depends on it."""
    text = (WORKFLOW % '"precleanup-snapshot && cleanup.Succeeded"').replace("depends: report}", "depends: make}")
    result = harden_text(text, "wf.yaml")
    assert "cleanup step 'cleanup' was not moved: 'report' depends on it" in [h.reason for h in result.held]
