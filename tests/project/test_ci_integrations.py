"""The CI integrations a user copies: the composite GitHub Action (action.yml), the GitLab CI job in
docs/ci.md and the pre-commit hook. Each is parsed as its CI system would, and every pipeforge command in
them is checked against the real argument parser, so an option renamed in the CLI breaks these tests."""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
from pathlib import Path
from typing import Any

import yaml

from generator.cli import build_parser
from generator.cli.lint import FORMATS, LEVELS
from tests.conftest import ROOT

GOOD = """\
apiVersion: argoproj.io/v1alpha1
kind: Workflow
metadata: {generateName: ok-}
spec:
  entrypoint: main
  activeDeadlineSeconds: 600
  templates:
    - name: main
      container: {image: alpine:3.20, command: [echo, hi]}
"""


def _action() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load((ROOT / "action.yml").read_text(encoding="utf-8"))
    return loaded


def _step(name_part: str) -> dict[str, Any]:
    return next(s for s in _action()["runs"]["steps"] if name_part in s.get("name", ""))


def _parses(command: str) -> Any:
    """The pipeforge command line ``command`` as the real parser reads it (SystemExit on an unknown option)."""
    words = shlex.split(command)
    assert words[0] == "pipeforge"
    return build_parser().parse_args(words[1:])


def test_action_is_composite_with_setup_install_lint_and_sarif_upload() -> None:
    action = _action()
    assert action["runs"]["using"] == "composite"
    uses = [s.get("uses", "") for s in action["runs"]["steps"]]
    assert any(u.startswith("actions/setup-python@") for u in uses)
    assert any(u.startswith("github/codeql-action/upload-sarif@") for u in uses)
    assert "pip install" in _step("Install")["run"]
    assert _step("Upload")["with"]["sarif_file"] == "${{ steps.lint.outputs.sarif-file }}"
    assert all(s.get("shell") == "bash" for s in action["runs"]["steps"] if "run" in s)


def test_action_inputs_are_paths_format_and_fail_on_with_valid_defaults() -> None:
    inputs = _action()["inputs"]
    assert {"paths", "format", "fail-on"} <= set(inputs)
    assert inputs["format"]["default"] in FORMATS
    assert inputs["fail-on"]["default"] in LEVELS
    assert all(not spec["required"] for spec in inputs.values())


def test_action_never_splices_an_input_into_a_script() -> None:
    for step in _action()["runs"]["steps"]:
        assert "${{" not in step.get("run", ""), step["name"]


def test_every_pipeforge_command_in_the_action_parses() -> None:
    script = _step("pipeforge lint")["run"]
    commands = re.findall(r"^\s*(pipeforge lint .*?)(?: >| \|\||$)", script, flags=re.MULTILINE)
    filled = [c.replace('"${paths[@]}"', ".").replace('"$PIPEFORGE_FAIL_ON"', "warning") for c in commands]
    parsed = [_parses(c) for c in filled]
    assert {p.format for p in parsed} == {"sarif", "github"}
    assert {p.fail_on for p in parsed} == {"warning"}


def _run_lint_step(tmp_path: Path, manifest: str, fmt: str,
                   paths: str = "wf") -> tuple[subprocess.CompletedProcess[str], str]:
    """The lint step's script run by bash as the runner would, with the runner's variables."""
    (tmp_path / "wf").mkdir()
    (tmp_path / "wf" / "w.yaml").write_text(manifest, encoding="utf-8")
    output = tmp_path / "github_output"
    output.touch()
    env = {**os.environ, "PIPEFORGE_PATHS": paths, "PIPEFORGE_FORMAT": fmt, "PIPEFORGE_FAIL_ON": "error",
           "GITHUB_OUTPUT": str(output), "RUNNER_TEMP": str(tmp_path),
           "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
           "PYTHONPATH": str(ROOT)}
    done = subprocess.run(["bash", "-e", "-c", _step("pipeforge lint")["run"]], cwd=tmp_path, env=env,
                          capture_output=True, text=True, check=False, timeout=120)
    return done, output.read_text(encoding="utf-8")


def test_action_lint_step_writes_sarif_and_defers_the_failure_to_after_the_upload(tmp_path: Path) -> None:
    bad = GOOD.replace("  activeDeadlineSeconds: 600\n", "").replace("command: [echo, hi]",
                                                                       "command: [kubectl, delete, ns, x]")
    done, outputs = _run_lint_step(tmp_path, bad, "sarif")
    assert done.returncode == 0, done.stderr
    assert "status=1" in outputs
    report = tmp_path / "pipeforge.sarif"
    assert f"sarif-file={report}" in outputs
    assert '"version": "2.1.0"' in report.read_text(encoding="utf-8")


def test_action_lint_step_rejects_an_unknown_format(tmp_path: Path) -> None:
    done, _ = _run_lint_step(tmp_path, GOOD, "junit")
    assert done.returncode == 2
    assert "format must be sarif or github" in done.stdout




def test_action_uploads_only_a_report_lint_wrote(tmp_path: Path) -> None:
    """Bad input (exit 2) leaves an empty report: the step fails with lint's message, and the upload, which
    would fail again on the empty file with a JSON error, is skipped."""
    done, outputs = _run_lint_step(tmp_path, GOOD, "sarif", paths="no-such-folder")
    assert done.returncode == 2 and "status=2" in outputs
    condition = _step("Upload")["if"]
    assert "steps.lint.outputs.status == '0' || steps.lint.outputs.status == '1'" in condition, condition

def _gitlab_job() -> dict[str, Any]:
    text = (ROOT / "docs" / "ci.md").read_text(encoding="utf-8")
    gitlab = text.split("## GitLab CI", 1)[1].split("\n## ", 1)[0]
    block = re.search(r"```yaml\n(.*?)```", gitlab, flags=re.DOTALL)
    assert block, "docs/ci.md has no YAML block under GitLab CI"
    loaded: dict[str, Any] = yaml.safe_load(block.group(1))
    return loaded


def test_gitlab_snippet_is_a_job_whose_commands_use_existing_options() -> None:
    job = _gitlab_job()["pipeforge-lint"]
    assert job["image"].startswith("python:")
    commands = [c.split(" > ")[0] for c in job["script"]]
    formats = {_parses(c).format for c in commands}
    assert formats <= set(FORMATS)
    assert "sarif" in formats
    assert _parses(commands[-1]).exit_zero is False  # the last command decides the job's status
    assert set(job["artifacts"]["paths"]) == {"pipeforge-lint.json", "pipeforge-lint.sarif"}


def test_docs_github_workflow_uses_the_action_inputs_that_exist() -> None:
    text = (ROOT / "docs" / "ci.md").read_text(encoding="utf-8")
    github = text.split("## GitHub Actions", 1)[1].split("\n## ", 1)[0]
    workflow = yaml.safe_load(re.search(r"```yaml\n(.*?)```", github, flags=re.DOTALL).group(1))  # type: ignore[union-attr]
    step = workflow["jobs"]["lint"]["steps"][1]
    assert set(step["with"]) <= set(_action()["inputs"])


def test_pre_commit_hook_is_kept_and_its_entry_parses() -> None:
    hooks = yaml.safe_load((ROOT / ".pre-commit-hooks.yaml").read_text(encoding="utf-8"))
    hook = next(h for h in hooks if h["id"] == "pipeforge-lint")
    assert _parses(hook["entry"] + " x.yaml").force_exclude is True
