"""``pipeforge simulate`` as users run it: output, --json shape, exit codes, the matrix over the built-in
templates, the article's broken pipeline, and Argo's own examples."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from generator.errors import PipeforgeError
from generator.scaffold import MANIFEST_FILE, SIMULATION_END, SIMULATION_START
from generator.sim.matrix import run_matrix
from generator.simulate import Faults, check_faults, load, simulate
from tests.clikit import run
from tests.conftest import CASES, ROOT, pipeline_for, shared_path

BROKEN = ROOT / "tests" / "sim_fixtures" / "cleanup-as-last-dag-node.yaml"


@pytest.fixture
def provision(tmp_path: Path) -> Path:
    path = tmp_path / MANIFEST_FILE
    path.write_text(pipeline_for("provision-process-publish", "defaults").files[MANIFEST_FILE], encoding="utf-8")
    return path


def test_json_has_exactly_the_issue_shape(provision: Path) -> None:
    result = run("simulate", str(provision), "--fail", "process=error", "--json")
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert {"phase", "exit_handler", "nodes", "resources", "events"} <= set(data)
    assert data["phase"] == "Error"
    assert data["exit_handler"] == {"ran": True, "phase": "Succeeded"}
    assert set(data["resources"]) == {"created", "deleted", "orphaned", "duplicated", "removed_with_workflow",
                                      "inferred_from_commands"}
    process = next(n for n in data["nodes"] if n["name"] == "process")
    assert process == {"name": "process", "template": "process", "phase": "Error", "attempts": 4}
    assert data["resources"]["orphaned"] == [] and data["resources"]["duplicated"] == []
    assert data["resources"]["created"] == ["PersistentVolumeClaim/nightly-report-scratch-<run-key>"]
    assert all({"time", "node", "phase"} <= set(e) for e in data["events"])


def test_text_output_has_a_timeline_and_a_verdict(provision: Path) -> None:
    result = run("simulate", str(provision), "--hang", "publish")
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "Faults: publish hangs until a deadline kills it" in out
    assert "longer than the specified deadline" in out
    assert "Workflow: Failed; exit handler exit-handler ran (Succeeded)" in out
    assert "Verdict: SAFE" in out
    assert "Assumptions" in out and "run-key is given at submission" in out


def test_the_broken_pipeline_exits_1_and_names_the_orphaned_resource() -> None:
    result = run("simulate", str(BROKEN), "--fail", "crunch")
    assert result.returncode == 1
    assert "ORPHANED: PersistentVolumeClaim/scratch-nightly-batch-" in result.stdout
    assert "Verdict: UNSAFE" in result.stdout


def test_a_gate_with_no_decision_says_the_workflow_is_waiting(tmp_path: Path) -> None:
    path = tmp_path / "gate.yaml"
    path.write_text(pipeline_for("approval-gated-delete", "defaults").files[MANIFEST_FILE], encoding="utf-8")
    waiting = json.loads(run("simulate", str(path), "--json").stdout)
    assert waiting["phase"] == "Running" and "--resume approval" in waiting["waiting"]
    approved = json.loads(run("simulate", str(path), "--resume", "approval:approve=YES", "--json").stdout)
    assert approved["phase"] == "Succeeded"
    assert approved["resources"]["deleted"] == ["PersistentVolumeClaim/old-scratch-data"]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--fail", "nosuch"], "no step or task named 'nosuch'"),
        (["--fail", "process=sometimes"], "must be failed, error or unschedulable"),
        (["--fail", "process:0"], "N must be a whole number"),
        (["--resume", "process"], "not an approval gate"),
        (["--stop-at", "process", "--terminate-at", "publish"], "not allowed with argument"),
        (["--matrix", "--fail", "process"], "--matrix runs every single fault itself"),
    ],
)
def test_bad_flags_exit_2_with_a_clear_message(provision: Path, args: list[str], message: str) -> None:
    result = run("simulate", str(provision), *args)
    assert result.returncode == 2 and message in result.stderr
    assert "Traceback" not in result.stderr


def test_bad_files_exit_2(tmp_path: Path) -> None:
    missing = run("simulate", str(tmp_path / "nope.yaml"))
    assert missing.returncode == 2 and "no such file" in missing.stderr
    folder = run("simulate", str(tmp_path))
    assert folder.returncode == 2 and "is a folder" in folder.stderr
    (tmp_path / "bad.yaml").write_text("kind: [", encoding="utf-8")
    bad = run("simulate", str(tmp_path / "bad.yaml"))
    assert bad.returncode == 2 and "malformed YAML" in bad.stderr
    (tmp_path / "cm.yaml").write_text("kind: ConfigMap\napiVersion: v1\n", encoding="utf-8")
    other = run("simulate", str(tmp_path / "cm.yaml"))
    assert other.returncode == 2 and "no Argo Workflow" in other.stderr


def test_every_problem_with_the_flags_is_listed_at_once(provision: Path) -> None:
    target = load(provision)
    with pytest.raises(PipeforgeError) as caught:
        check_faults(target, Faults(fail={"a": ("Failed", None)}, hang=frozenset({"b"}), reject=frozenset({"c"})))
    assert caught.value.message.startswith("3 problems")


# --- the matrix -----------------------------------------------------------------------------------


@pytest.mark.parametrize(("template", "case"), CASES)
def test_each_builtin_template_passes_the_matrix(template: str, case: str) -> None:
    """Issue 4: the three built-in templates pass --matrix (terminate gaps are reported, not failed)."""
    pipeline = pipeline_for(template, case)
    matrix = pipeline.simulation
    assert matrix is not None and matrix.ok, matrix.summary() if matrix else ""
    labels = [row.scenario.label for row in matrix.rows]
    assert labels[0].startswith("fault-free")
    for row in matrix.rows:
        if row.scenario.kind == "terminate" and row.result.orphaned:
            assert row.excused and row.mitigations


def test_matrix_covers_every_single_fault_of_a_step_and_a_gate() -> None:
    matrix = pipeline_for("approval-gated-delete", "defaults").simulation
    assert matrix is not None
    kinds = {(row.scenario.step, row.scenario.kind) for row in matrix.rows}
    for kind in ("failed", "errored", "recovered", "hung", "stop", "terminate"):
        assert ("delete", kind) in kinds
    for kind in ("approved", "rejected", "hung", "stop", "terminate"):
        assert ("approval", kind) in kinds
    rejected = next(r for r in matrix.rows if r.scenario.kind == "rejected")
    assert rejected.result.phase == "Failed" and "delete" not in rejected.result.touched


def test_the_articles_broken_pipeline_fails_the_matrix_naming_the_orphan() -> None:
    """Cleanup as the last DAG node, no exit handler: any earlier failure leaves the volume behind."""
    result = run("simulate", str(BROKEN), "--matrix")
    assert result.returncode == 1
    assert "FAILED:" in result.stdout and "orphans PersistentVolumeClaim/scratch-nightly-batch-" in result.stdout
    matrix = run_matrix(load(BROKEN))
    violations = {row.scenario.label for row in matrix.violations}
    assert "crunch failed permanently" in violations and "argo stop while crunch runs" in violations


def test_a_failing_cleanup_step_is_allowed_only_when_the_workflow_fails_loudly() -> None:
    """Issue 4 exception: a cleanup step failing for good is tolerated when the workflow ends Failed/Error."""
    matrix = run_matrix(load(BROKEN))
    row = next(r for r in matrix.rows if r.scenario.label == "cleanup failed permanently")
    assert row.result.orphaned and row.result.phase == "Failed" and row.excused and not row.violation


def test_matrix_json(provision: Path) -> None:
    data = json.loads(run("simulate", str(provision), "--matrix", "--json").stdout)
    assert data["passed"] is True
    first = data["scenarios"][0]
    assert set(first) >= {"scenario", "phase", "exit_handler", "orphaned", "duplicated", "verdict"}


def test_new_prints_the_matrix_verdict_and_the_readme_carries_it(tmp_path: Path) -> None:
    result = run("new", "saga-compensation", "--no-input", "-o", "out", "--quiet", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "Simulated failures (pipeforge simulate --matrix): PASSED" in result.stdout
    readme = (tmp_path / "out" / "README.md").read_text(encoding="utf-8")
    section = readme[readme.index(SIMULATION_START):readme.index(SIMULATION_END)]
    assert "| Scenario | Workflow | Exit handler |" in section and "PASSED" in section
    assert "&lt;run-key&gt;" in section, "placeholders are escaped so that Markdown shows them"


# --- Argo's examples ------------------------------------------------------------------------------


@pytest.mark.corpus
def test_every_argo_example_simulates_fault_free_without_a_crash() -> None:
    """All 217 examples: each is simulated (or, for files with no runnable workflow, refused with a
    clear message); none raises anything else."""
    files = sorted(shared_path("argo", "examples").rglob("*.yaml"))
    assert len(files) == 217
    phases: dict[str, int] = {}
    refused = []
    for path in files:
        try:
            target = load(path)
        except PipeforgeError as exc:
            refused.append((path.name, exc.message))
            continue
        result = simulate(target)
        phases[result.phase] = phases.get(result.phase, 0) + 1
        assert result.phase in ("Succeeded", "Running"), (path.name, result.phase, result.halted)
        if result.phase == "Running":
            assert result.halted and "waiting at approval gate" in result.halted, path.name
    assert len(refused) == 5 and all("no Argo Workflow" in m for _, m in refused), refused
    assert phases == {"Succeeded": 209, "Running": 3}


def test_in_process_text_report_names_faults_effects_and_assumptions(provision: Path) -> None:
    """The library's text report (what the CLI prints), in process: faults, timeline, verdict."""
    import io

    from generator.cli import main

    buffer = io.StringIO()
    code = main(["simulate", str(provision), "--fail", "publish=failed:1", "--stop-at", "process"], out=buffer)
    text = buffer.getvalue()
    assert code == 0
    assert "Faults: publish ends Failed on its first 1 attempt; argo stop while process runs" in text
    assert "argo stop" in text and "Stopped with strategy 'Stop'" in text
    assert "delete PersistentVolumeClaim/nightly-report-scratch-<run-key>" in text
    assert "Note: publish never ran" in text


@pytest.mark.parametrize(
    ("text", "parsed"),
    [
        ("step", ("step", ("Failed", None))),
        ("step=error", ("step", ("Error", None))),
        ("step=Failed:2", ("step", ("Failed", 2))),
        ("a-b:3", ("a-b", ("Failed", 3))),
    ],
)
def test_fail_flag_grammar(text: str, parsed: tuple[str, tuple[str, int | None]]) -> None:
    from generator.sim.faults import parse_fail

    assert parse_fail(text) == parsed


def test_resume_flag_grammar() -> None:
    from generator.sim.faults import parse_resume

    assert parse_resume("approval:approve=YES, note=a=b") == ("approval", {"approve": "YES", "note": "a=b"})
    assert parse_resume("approval") == ("approval", {})
    with pytest.raises(ValueError, match="expected NAME=VALUE"):
        parse_resume("approval:approve")


@pytest.mark.parametrize("join", ["depends", "dependencies"])
def test_a_fan_in_of_thousands_of_tasks_is_simulated_not_refused(tmp_path: Path, join: str) -> None:
    """A generated DAG whose last task waits for 3,000 others: beyond Python's recursion limit if the
    expression were one operand deep per task; simulated, in order, with nothing refused."""
    names = [f"t{i}" for i in range(3_000)]
    wait = (f"depends: '{' && '.join(names)}'" if join == "depends" else f"dependencies: [{', '.join(names)}]")
    path = tmp_path / "fan-in.yaml"
    path.write_text("apiVersion: argoproj.io/v1alpha1\nkind: Workflow\nmetadata: {name: fan-in}\nspec:\n"
                    "  entrypoint: d\n  templates:\n    - name: work\n      container: {image: alpine:3.20}\n"
                    "    - name: d\n      dag:\n        tasks:\n"
                    + "".join(f"          - {{name: {n}, template: work}}\n" for n in names)
                    + f"          - {{name: last, template: work, {wait}}}\n", encoding="utf-8")
    result = run("simulate", str(path), "--json")
    assert result.returncode == 0, result.stderr
    run_ = json.loads(result.stdout)
    phases = {node["name"]: node["phase"] for node in run_["nodes"]}
    assert run_["phase"] == "Succeeded" and phases["last"] == "Succeeded"
    assert [n["name"] for n in run_["nodes"]][-1] == "last"
