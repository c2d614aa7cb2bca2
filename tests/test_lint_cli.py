"""`pipeforge lint` and `pipeforge harden` as users run them: real processes, real files, exit codes,
every output format, the built-in templates and Argo's own example corpus."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest

from generator.harden import FIXES, harden_text
from generator.lint import lint_paths, lint_text
from generator.rules import RULES
from generator.scaffold import MANIFEST_FILE
from tests.conftest import CASES, pipeline_for, shared_path
from tests.test_cli import run

ARTICLE = """\
# The article's pipeline: cleanup as the last DAG node.
apiVersion: argoproj.io/v1alpha1
kind: Workflow
metadata:
  generateName: nightly-
spec:
  entrypoint: main
  templates:
  - name: main
    dag:
      tasks:
      - name: provision
        template: make-pvc
      - name: process
        template: process
        depends: provision
      - name: cleanup
        template: delete-pvc
        depends: process   # runs only when process succeeded
  - name: make-pvc   # scratch space for process
    resource:
      action: apply
      manifest: |
        apiVersion: v1
        kind: PersistentVolumeClaim
        metadata:
          name: scratch-{{workflow.name}}
  - name: process
    retryStrategy: {}
    container:
      image: busybox:1.36.1
      command: [sh, -c, "process-data --input {{workflow.parameters.input}}"]
  - name: delete-pvc
    resource:
      action: delete
      manifest: |
        apiVersion: v1
        kind: PersistentVolumeClaim
        metadata:
          name: scratch-{{workflow.name}}
"""
TEXT_LINE = re.compile(r"^(?P<file>[^:]+):(?P<line>\d+): (?P<rule>PF\d{3}) (?P<severity>error|warning|info)\b")


@pytest.mark.parametrize(("template", "case"), CASES)
def test_built_in_templates_lint_without_errors_or_warnings(template: str, case: str) -> None:
    findings = lint_text(pipeline_for(template, case).files[MANIFEST_FILE], f"{template}.yaml")
    assert [f for f in findings if f.severity in ("error", "warning")] == []


def test_the_whole_argo_example_corpus_lints_without_a_crash() -> None:
    examples = shared_path("argo", "examples")
    expected = sorted(p for p in examples.rglob("*") if p.suffix in (".yaml", ".yml"))
    result = run("lint", "--format", "json", str(examples))
    assert result.returncode in (0, 1), result.stderr
    assert "Traceback" not in result.stderr
    report = json.loads(result.stdout)
    assert report["files"] == len(expected) == 217
    assert report["findings"], "Argo's examples are not written for failure-safety: there must be findings"
    for finding in report["findings"]:
        assert set(finding) == {"rule", "severity", "file", "line", "template", "message", "fix", "data"}
        assert finding["data"]["template"] == finding["template"] and isinstance(finding["data"]["path"], list)
        assert finding["rule"] in RULES and finding["line"] >= 1 and finding["fix"]
    assert result.returncode == 1 and any(f["severity"] == "error" for f in report["findings"])


def test_text_format_is_one_ruff_like_line_per_finding(tmp_path: Path) -> None:
    path = tmp_path / "article.yaml"
    path.write_text(ARTICLE, encoding="utf-8")
    result = run("lint", str(path))
    assert result.returncode == 1
    heads = [line for line in result.stdout.splitlines() if TEXT_LINE.match(line)]
    assert any(" PF101 error [main] step 'cleanup'" in line for line in heads)
    assert all(TEXT_LINE.match(line).group("file") == str(path) for line in heads)  # type: ignore[union-attr]
    assert result.stdout.rstrip().endswith("in 1 file")


def test_sarif_output_is_sarif_2_1_0_with_rules_and_locations(tmp_path: Path) -> None:
    path = tmp_path / "article.yaml"
    path.write_text(ARTICLE, encoding="utf-8")
    result = run("lint", "--format", "sarif", str(path))
    assert result.returncode == 1
    sarif = json.loads(result.stdout)
    assert sarif["version"] == "2.1.0"
    [run_] = sarif["runs"]
    rules = run_["tool"]["driver"]["rules"]
    assert {r["id"] for r in rules} == set(RULES)
    assert run_["results"]
    for res in run_["results"]:
        assert rules[res["ruleIndex"]]["id"] == res["ruleId"]
        assert res["level"] in ("error", "warning", "note")
        location = res["locations"][0]["physicalLocation"]
        assert location["artifactLocation"]["uri"].endswith("article.yaml")
        assert location["region"]["startLine"] >= 1


def test_folders_are_read_recursively_and_non_argo_documents_skipped(tmp_path: Path) -> None:
    (tmp_path / "a" / "b").mkdir(parents=True)
    (tmp_path / "a" / "b" / "wf.yml").write_text(ARTICLE, encoding="utf-8")
    (tmp_path / "config.yaml").write_text("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\n", encoding="utf-8")
    (tmp_path / ".git").mkdir()
    (tmp_path / ".git" / "wf.yaml").write_text(ARTICLE, encoding="utf-8")
    (tmp_path / "notes.txt").write_text("onexit: nope\n", encoding="utf-8")
    report = lint_paths([tmp_path])
    assert report.files == 2
    assert {Path(f.file).name for f in report.findings} == {"wf.yml"}


def test_malformed_yaml_is_a_finding_not_a_crash(tmp_path: Path) -> None:
    (tmp_path / "bad.yaml").write_text("kind: Workflow\nspec:\n  templates: [\n    - name: x\n", encoding="utf-8")
    (tmp_path / "latin1.yaml").write_bytes(b"kind: Workflow\nmetadata: {name: caf\xe9}\n")
    result = run("lint", "--format", "json", str(tmp_path))
    assert result.returncode == 1 and "Traceback" not in result.stderr
    report = json.loads(result.stdout)
    assert report["files"] == 2
    assert sorted((Path(f["file"]).name, f["rule"]) for f in report["findings"]) == [
        ("bad.yaml", "PF001"), ("latin1.yaml", "PF001")]


def test_clean_file_exits_0_and_warnings_alone_do_not_fail(tmp_path: Path) -> None:
    path = tmp_path / "wf.yaml"
    path.write_text(pipeline_for("saga-compensation", "defaults").files[MANIFEST_FILE], encoding="utf-8")
    assert run("lint", str(path)).returncode == 0
    path.write_text(path.read_text(encoding="utf-8").replace("  podGC:\n    strategy: OnPodSuccess\n", ""),
                    encoding="utf-8")
    result = run("lint", str(path))
    assert result.returncode == 0 and "PF502 warning" in result.stdout


@pytest.mark.parametrize("args", [["lint"], ["lint", "does-not-exist.yaml"], ["lint", "--ignore", "PF999", "."],
                                  ["lint", "--format", "xml", "."]])
def test_usage_errors_exit_2_without_traceback(args: list[str], tmp_path: Path) -> None:
    result = run(*args, cwd=tmp_path)
    assert result.returncode == 2
    assert "Traceback" not in result.stderr and "error" in result.stderr


def test_ignore_and_list_rules(tmp_path: Path) -> None:
    path = tmp_path / "wf.yaml"
    path.write_text(ARTICLE, encoding="utf-8")
    listed = run("lint", "--list-rules")
    assert listed.returncode == 0 and all(code in listed.stdout for code in RULES)
    ignored = run("lint", "--format", "json", "--ignore", "PF101", "--ignore", "no-retry", str(path))
    rules = {f["rule"] for f in json.loads(ignored.stdout)["findings"]}
    assert "PF101" not in rules and "PF205" not in rules and "PF103" in rules


def test_pre_commit_hook_runs_pipeforge_lint() -> None:
    import yaml

    hooks = yaml.safe_load((Path(__file__).parent.parent / ".pre-commit-hooks.yaml").read_text(encoding="utf-8"))
    [hook] = [h for h in hooks if h["id"] == "pipeforge-lint"]
    assert hook["entry"].split()[:2] == ["pipeforge", "lint"]
    assert re.search(hook["files"], "deploy/workflows/nightly.yaml")


# ---------------------------------------------------------------- harden


def test_harden_fixes_the_article_pipeline_and_keeps_comments() -> None:
    result = harden_text(ARTICLE, "article.yaml")
    assert {c.rule for c in result.changes} >= {"PF101", "PF103", "PF201", "PF205", "PF502", "PF503"}
    assert "# The article's pipeline" in result.text and "# scratch space for process" in result.text
    remaining = {f.rule for f in lint_text(result.text, "article.yaml")}
    assert not remaining & {c.rule for c in result.changes}
    assert {f.rule for f in result.needs_human} == {"PF401", "PF504", "PF505"}
    assert "onExit: exit-handler" in result.text


def test_harden_twice_equals_harden_once() -> None:
    once = harden_text(ARTICLE, "a.yaml")
    twice = harden_text(once.text, "a.yaml")
    assert twice.text == once.text and twice.changes == []


def test_harden_returns_an_already_safe_file_byte_for_byte() -> None:
    text = pipeline_for("provision-process-publish", "defaults").files[MANIFEST_FILE]
    result = harden_text(text, "wf.yaml")
    assert result.text == text and not result.changes and not result.needs_human


def test_harden_renames_keys_misspelt_only_in_case() -> None:
    text = ARTICLE.replace("  entrypoint: main\n", "  entrypoint: main\n  onexit: main\n").replace(
        "retryStrategy: {}", "retrystrategy: {limit: 2}")
    result = harden_text(text, "a.yaml")
    assert "onExit: main" in result.text and "retryStrategy:" in result.text
    assert "PF003" not in {f.rule for f in lint_text(result.text, "a.yaml")}


def test_harden_over_the_corpus_is_idempotent_and_fixes_what_it_claims() -> None:
    examples = shared_path("argo", "examples")
    changed = 0
    for path in sorted(examples.rglob("*.y*ml")):
        text = path.read_text(encoding="utf-8")
        once = harden_text(text, path.name)
        if not once.changes:
            assert once.text == text, path.name
            continue
        changed += 1
        after = {(f.rule, f.template) for f in lint_text(once.text, path.name)}
        claimed = {(c.rule, c.template) for c in once.changes if c.rule != "PF101"}
        assert not after & claimed, (path.name, after & claimed)
        assert all(c.rule in FIXES for c in once.changes)
        twice = harden_text(once.text, path.name)
        assert twice.text == once.text, path.name
    assert changed > 150


def test_harden_cli_in_place_and_output(tmp_path: Path) -> None:
    source = tmp_path / "wf.yaml"
    source.write_text(ARTICLE, encoding="utf-8")
    out = tmp_path / "hardened.yaml"
    result = run("harden", str(source), "-o", str(out))
    assert result.returncode == 0  # PF401 needs a human, but is a warning in a plain Workflow with in-file values
    assert "moved cleanup step 'cleanup'" in result.stderr and "needs a human" in result.stderr
    assert source.read_text(encoding="utf-8") == ARTICLE
    assert run("harden", "--in-place", str(source)).returncode == 0
    assert source.read_text(encoding="utf-8") == out.read_text(encoding="utf-8")
    stdout = run("harden", str(source))
    assert stdout.stdout == out.read_text(encoding="utf-8") and "nothing to harden" in stdout.stderr


def test_harden_refuses_malformed_yaml_and_writes_nothing(tmp_path: Path) -> None:
    source = tmp_path / "bad.yaml"
    source.write_text("spec:\n  templates: [\n", encoding="utf-8")
    result = run("harden", "--in-place", str(source))
    assert result.returncode == 2 and "bad.yaml" in result.stderr and "Traceback" not in result.stderr
    assert source.read_text(encoding="utf-8") == "spec:\n  templates: [\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bad.yaml"]
    missing = run("harden", str(tmp_path / "nope.yaml"))
    assert missing.returncode == 2


def test_harden_keeps_a_copy_of_the_corpus_untouched(tmp_path: Path) -> None:
    example = shared_path("argo", "examples", "retry-container-to-completion.yaml")
    copy = tmp_path / example.name
    shutil.copy(example, copy)
    result = run("harden", "-o", str(tmp_path / "out.yaml"), str(copy))
    assert result.returncode in (0, 1) and copy.read_bytes() == example.read_bytes()
    assert "bounded the retries" in result.stderr


def test_readme_documents_every_rule() -> None:
    readme = (Path(__file__).parent.parent / "README.md").read_text(encoding="utf-8")
    for rule in RULES.values():
        assert f"| {rule.code} | `{rule.name}` | {rule.severity} |" in readme, rule.code


def test_explain_shows_that_a_dag_cleanup_does_not_run_after_a_failure(tmp_path: Path) -> None:
    path = tmp_path / "article.yaml"
    path.write_text(ARTICLE, encoding="utf-8")
    result = run("explain", "--format", "json", str(path))
    assert result.returncode == 0
    [manifest] = json.loads(result.stdout)
    rows = {row["step"]: row for row in manifest["steps"]}
    assert rows["process"]["retries"].startswith("UNBOUNDED")
    assert rows["process"]["deadline"] == "NONE"
    [cleanup] = rows["provision"]["cleaned_up_by"]
    assert "ordinary step cleanup" in cleanup and "not after a failure" in cleanup
    hardened = tmp_path / "hardened.yaml"
    run("harden", str(path), "-o", str(hardened))
    after = {r["step"]: r for r in json.loads(run("explain", "--format", "json", str(hardened)).stdout)[0]["steps"]}
    assert after["provision"]["cleaned_up_by"] == [
        "PersistentVolumeClaim/scratch-{{workflow.name}}: exit handler cleanup (always)"]
    assert after["process"]["retries"].startswith("3 \N{MULTIPLICATION SIGN} OnFailure")
