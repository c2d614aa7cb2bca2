"""Side effects and the ledger (issue 4; reference §8): created, deleted, orphaned, duplicated."""

from __future__ import annotations

import textwrap

from tests.simkit import node, run


def _one_step(template: str, retry: str = "{limit: 2}") -> str:
    body = textwrap.indent(textwrap.dedent(template).strip("\n"), "    ")
    return (
        "templates:\n  - name: main\n    steps: [[{name: work, template: work}]]\n"
        f"  - name: work\n    retryStrategy: {retry}\n{body}\n"
    )


def _resource(action: str, meta: str, extra: str = "") -> str:
    return _one_step(f"""
    {extra}
    resource:
      action: {action}
      manifest: |
        apiVersion: v1
        kind: ConfigMap
        metadata: {meta}
    """)


def test_retry_of_create_with_generate_name_is_reported_as_duplicate() -> None:
    """§8: with generateName, every retry creates another object (issue #6150)."""
    result = run(_resource("create", "{generateName: cfg-}"), fail={"work": ("Failed", 2)})
    ((declaration, names),) = result.duplicated
    assert len(names) == 3 and len(set(names)) == 3 and "work: resource create" in declaration
    assert not result.safe


def test_retry_of_create_with_a_fixed_name_fails_already_exists() -> None:
    """§8: create is not idempotent: with a fixed name a retry hits AlreadyExists and fails."""
    result = run(_resource("create", "{name: cfg}"), fail={"work": ("Failed", 1)})
    work = node(result, "work")
    assert work.phase == "Failed" and work.attempts == 3
    assert any("AlreadyExists" in e.message for e in result.events)
    assert not result.duplicated


def test_retry_of_apply_with_a_fixed_name_converges() -> None:
    """§8: apply with a fixed name converges on retry: one object, no duplicate."""
    result = run(_resource("apply", "{name: \"cfg-{{workflow.name}}\"}"), fail={"work": ("Failed", 2)})
    assert result.phase == "Succeeded" and not result.duplicated
    assert list(dict.fromkeys(result.ledger.created)) == [f"ConfigMap/cfg-{result.workflow}"]


def test_an_undeclared_creation_nothing_deletes_is_an_output_kept_on_success_only() -> None:
    """Intent: an undeclared resource-template creation that no step deletes is what the pipeline makes on
    purpose: kept when the workflow succeeds, orphaned when it does not (like pipeforge.io/produces)."""
    assert run(_resource("apply", "{name: cfg}")).orphaned == []
    failed = run(_resource("apply", "{name: cfg}"), fail={"work": ("Failed", None)})
    assert [r.ref for r in failed.orphaned] == ["ConfigMap/cfg"] and failed.phase == "Failed"


def test_an_undeclared_creation_a_step_deletes_is_temporary() -> None:
    """Issue 4: a temporary object still present when the workflow ends is orphaned, even on success."""
    spec = """
    templates:
    - name: main
      steps: [[{name: make, template: make}], [{name: drop, template: drop, when: "1 == 2"}]]
    - name: make
      resource: {action: apply, manifest: "apiVersion: v1\\nkind: ConfigMap\\nmetadata: {name: cfg}\\n"}
    - name: drop
      resource: {action: delete, manifest: "apiVersion: v1\\nkind: ConfigMap\\nmetadata: {name: cfg}\\n"}
    """
    result = run(spec)
    assert result.phase == "Succeeded" and [r.ref for r in result.orphaned] == ["ConfigMap/cfg"]


def test_delete_tolerates_absence() -> None:
    """§8: delete runs with --ignore-not-found: deleting what is absent is not a failure."""
    result = run(_resource("delete", "{name: never-made}"))
    assert result.phase == "Succeeded" and result.ledger.deleted == ["ConfigMap/never-made"]


def test_pod_name_and_retries_are_unique_per_attempt_workflow_name_is_stable() -> None:
    """Issue 4: workflow.name is stable per run; pod.name and retries differ per attempt."""
    per_pod = _one_step("""
    metadata: {annotations: {pipeforge.io/creates: "Lock/l-{{pod.name}}"}}
    container: {image: busybox:1.36.1}
    """)
    assert len(run(per_pod, fail={"work": ("Failed", 1)}).duplicated) == 1
    per_retry = per_pod.replace("{{pod.name}}", "{{retries}}")
    ((_, names),) = run(per_retry, fail={"work": ("Failed", 1)}).duplicated
    assert names == ["Lock/l-0", "Lock/l-1"]
    stable = per_pod.replace("{{pod.name}}", "{{workflow.name}}")
    assert not run(stable, fail={"work": ("Failed", 1)}).duplicated


def test_fan_out_items_with_their_own_names_are_not_duplicates() -> None:
    """Issue 4: a duplicate is one declaration under several names *for the same call*; items differ."""
    spec = textwrap.dedent("""
    templates:
      - name: main
        steps: [[{name: each, template: make, withItems: [a, b],
                  arguments: {parameters: [{name: x, value: "{{item}}"}]}}]]
      - name: make
        inputs: {parameters: [{name: x}]}
        metadata: {annotations: {pipeforge.io/creates: "Scratch/s-{{inputs.parameters.x}}"}}
        container: {image: busybox:1.36.1}
    """)
    result = run(spec)
    assert not result.duplicated
    assert sorted(r.ref for r in result.orphaned) == ["Scratch/s-a", "Scratch/s-b"]


def test_a_failing_attempt_has_created_but_not_deleted() -> None:
    """Issue 4: a failing attempt is taken to have performed its side effects (the worst case): what it
    creates exists, what it deletes is still there."""
    spec = textwrap.dedent("""
    templates:
      - name: main
        steps:
          - - {name: make, template: make}
          - - {name: drop, template: drop}
      - name: make
        metadata: {annotations: {pipeforge.io/creates: "Scratch/s"}}
        container: {image: busybox:1.36.1}
      - name: drop
        metadata: {annotations: {pipeforge.io/deletes: "Scratch/s"}}
        container: {image: busybox:1.36.1}
    """)
    assert run(spec).safe
    made = run(spec, fail={"make": ("Failed", None)})
    assert [r.ref for r in made.orphaned] == ["Scratch/s"]
    dropped = run(spec, fail={"drop": ("Failed", None)})
    assert [r.ref for r in dropped.orphaned] == ["Scratch/s"] and dropped.phase == "Failed"


def test_produces_is_kept_on_success_and_orphaned_on_failure() -> None:
    """Issue 4: a produces resource still present when the workflow did not succeed is orphaned."""
    spec = textwrap.dedent("""
    templates:
      - name: main
        steps:
          - - {name: publish, template: publish}
          - - {name: check, template: check}
      - name: publish
        metadata: {annotations: {pipeforge.io/produces: "Report/r-{{workflow.name}}"}}
        container: {image: busybox:1.36.1}
      - name: check
        container: {image: busybox:1.36.1}
    """)
    assert run(spec).safe
    failed = run(spec, fail={"check": ("Failed", None)})
    assert [r.ref for r in failed.orphaned] == [f"Report/r-{failed.workflow}"]
    assert failed.orphaned[0].verb == "produces"


def test_workflow_parameters_resolve_in_names_and_missing_ones_are_named_assumptions() -> None:
    """Issue 4: names resolve against workflow and input parameters; a value given at submission is a
    stable placeholder, named as an assumption."""
    spec = "arguments: {parameters: [{name: key}, {name: env, value: prod}]}\n" + _one_step("""
    metadata: {annotations: {pipeforge.io/creates: "Scratch/{{workflow.parameters.env}}-{{workflow.parameters.key}}"}}
    container: {image: busybox:1.36.1}
    """)
    result = run(spec)
    assert [r.ref for r in result.orphaned] == ["Scratch/prod-<key>"]
    assert any("key is given at submission" in a for a in result.assumptions)
