"""The pipeforge command as a user runs it: a real process, real files, exit codes, no tracebacks."""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

import pytest

from generator import __version__
from generator.cli import build_parser
from generator.yamlio import load_documents
from tests.clikit import run_process as run
from tests.conftest import ROOT


def test_help_teaches_commands_and_exit_codes() -> None:
    result = run("--help")
    assert result.returncode == 0
    for word in ("templates", "new", "explain", "exit codes", "3  conflict"):
        assert word in result.stdout


def _subcommands(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    action = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    return dict(action.choices)


def test_a_command_line_builds_only_its_command_with_the_same_options_and_help() -> None:
    whole = _subcommands(build_parser())
    assert len(whole) >= 13
    for name, full in whole.items():
        alone = _subcommands(build_parser([name, "--help"]))
        assert list(alone) == [name] or (name in {"serve", "token"} and set(alone) == {"serve", "token"})
        assert alone[name].format_help() == full.format_help()


def test_version() -> None:
    result = run("--version")
    assert (result.returncode, result.stdout.strip()) == (0, f"pipeforge {__version__}")


def test_no_command_prints_help_and_exits_2() -> None:
    result = run()
    assert result.returncode == 2 and "usage:" in result.stdout


def test_templates_lists_the_three_builtins() -> None:
    result = run("templates")
    assert result.returncode == 0
    names = [line.split()[0] for line in result.stdout.splitlines()]
    assert names == ["approval-gated-delete", "provision-process-publish", "saga-compensation"]


def test_templates_json_has_versions_and_parameter_schemas() -> None:
    result = run("templates", "--json")
    data = json.loads(result.stdout)
    assert {t["name"]: t["version"] for t in data} == {
        "approval-gated-delete": "1.0.0", "provision-process-publish": "1.0.0", "saga-compensation": "1.0.0",
    }
    for template in data:
        assert template["parameters"]["properties"]["namespace"]["pattern"]


def test_new_writes_the_pipeline_folder_and_prints_the_table(tmp_path: Path) -> None:
    result = run("new", "provision-process-publish", "--no-input", "-o", "out", "--set", "namespace=batch",
                 cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    files = sorted(p.name for p in (tmp_path / "out").iterdir())
    assert files == [".pipeforge-answers.yaml", "README.md", "kustomization.yaml", "workflowtemplate.yaml"]
    assert "| Step |" not in result.stdout, "Markdown only with --format markdown"
    assert "Step" in result.stdout and "Cleaned up" in result.stdout
    (answers,) = load_documents((tmp_path / "out" / ".pipeforge-answers.yaml").read_text())
    assert answers["parameters"]["namespace"] == "batch"
    assert answers["digest"].startswith("sha256:")
    assert [p.name for p in tmp_path.iterdir()] == ["out"], "no staging folder left behind"


def test_new_defaults_to_a_folder_named_after_the_pipeline(tmp_path: Path) -> None:
    result = run("new", "saga-compensation", "--no-input", "--quiet", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "order-fulfilment" / "workflowtemplate.yaml").is_file()
    assert "| Step |" not in result.stdout


def test_invalid_parameters_are_all_reported_exit_2_and_nothing_is_written(tmp_path: Path) -> None:
    result = run(
        "new", "saga-compensation", "--no-input", "-o", "out",
        "--set", "namespace=Not_A_Label", "--set", "retry_limit=eleven", "--set", "image=busybox",
        "--set", "service_account=default", "--set", "step_1=same", "--set", "step_2=same",
        "--set", "description=hi {{workflow.name}}", "--set", "colour=blue",
        cwd=tmp_path,
    )
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    for fragment in (
        "namespace='Not_A_Label': must be a DNS-1123 label",
        "retry_limit='eleven': must be a whole number",
        "image='busybox': must be an image pinned by tag or digest",
        "service_account='default': must not be 'default'",
        "step_2='same': must differ from step_1",
        "description='hi {{workflow.name}}': must not contain '{{' or '}}'",
        "colour='blue': is not a parameter of saga-compensation",
    ):
        assert fragment in result.stderr
    assert list(tmp_path.iterdir()) == []


def test_existing_folder_is_a_conflict_exit_3_and_is_left_untouched(tmp_path: Path) -> None:
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "mine.txt").write_text("keep me")
    result = run("new", "provision-process-publish", "--no-input", "-o", "out", cwd=tmp_path)
    assert result.returncode == 3
    assert "already exists" in result.stderr and "--force" in result.stderr
    assert [p.name for p in (tmp_path / "out").iterdir()] == ["mine.txt"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]


def test_force_replaces_the_folder_only_with_a_complete_one(tmp_path: Path) -> None:
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "stale.yaml").write_text("old")
    result = run("new", "provision-process-publish", "--no-input", "-o", "out", "--force", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert not (tmp_path / "out" / "stale.yaml").exists()
    assert (tmp_path / "out" / "workflowtemplate.yaml").is_file()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]


def test_unknown_template_lists_the_known_ones(tmp_path: Path) -> None:
    result = run("new", "does-not-exist", "--no-input", cwd=tmp_path)
    assert result.returncode == 2
    assert "no template named 'does-not-exist'" in result.stderr and "saga-compensation" in result.stderr


@pytest.mark.parametrize("bad", ["novalue", "=x"])
def test_malformed_set_is_a_usage_error(bad: str, tmp_path: Path) -> None:
    result = run("new", "saga-compensation", "--no-input", "--set", bad, cwd=tmp_path)
    assert result.returncode == 2 and "expected KEY=VALUE" in result.stderr
    assert list(tmp_path.iterdir()) == []


def test_explain_prints_markdown_and_json(tmp_path: Path) -> None:
    assert run("new", "provision-process-publish", "--no-input", "-o", "p", "--quiet", cwd=tmp_path).returncode == 0
    manifest = str(tmp_path / "p" / "workflowtemplate.yaml")
    markdown = run("explain", manifest, "--format", "markdown")
    assert markdown.returncode == 0 and "## WorkflowTemplate/nightly-report" in markdown.stdout
    data = json.loads(run("explain", manifest, "--format", "json").stdout)
    steps = {row["step"]: row for row in data[0]["steps"]}
    assert steps["release-scratch"]["stage"] == "exit handler"
    assert steps["process"]["retries"].startswith("3 × OnError")


def test_explain_of_malformed_yaml_names_file_and_line(tmp_path: Path) -> None:
    broken = tmp_path / "broken.yaml"
    broken.write_text("kind: Workflow\nspec:\n  templates: [\n")
    result = run("explain", str(broken))
    assert result.returncode == 2
    assert f"{broken}:" in result.stderr and "malformed YAML" in result.stderr and "Traceback" not in result.stderr



@pytest.mark.parametrize("command", ["explain", "simulate", "harden"])
def test_a_value_its_tag_cannot_read_is_malformed_yaml_naming_file_and_line(tmp_path: Path, command: str) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("kind: Workflow\nspec:\n  parallelism: !!int abc\n")
    result = run(command, str(bad))
    assert result.returncode == 2
    assert f"{bad}:3: malformed YAML: 'abc' is not a valid !!int" in result.stderr
    assert "Traceback" not in result.stderr and bad.read_text().endswith("!!int abc\n")

def test_explain_of_missing_file_or_non_argo_file_exits_2(tmp_path: Path) -> None:
    assert run("explain", str(tmp_path / "nope.yaml")).returncode == 2
    other = tmp_path / "cm.yaml"
    other.write_text("apiVersion: v1\nkind: ConfigMap\n")
    result = run("explain", str(other))
    assert result.returncode == 2 and "no Argo Workflow" in result.stderr


HEAVY_LIBRARIES = ("sqlalchemy", "fastapi", "uvicorn", "mcp", "httpx", "git", "ssl")
LOADED = """\
import json, runpy, sys
sys.argv = ["pipeforge", *json.loads(sys.argv[1])]
try:
    runpy.run_module("generator", run_name="__main__")
except SystemExit as exit:
    code = exit.code
with open({report!r}, "w") as report:
    json.dump({{"code": code, "modules": sorted(sys.modules)}}, report)
"""


@pytest.mark.parametrize("words", [
    ["lint", "templates/saga-compensation"],
    ["new", "saga-compensation", "--no-input", "--quiet", "-o", "{tmp}/orders"],
    ["simulate", "tests/sim_fixtures/cleanup-as-last-dag-node.yaml"],
    ["--help"],
], ids=["lint", "new", "simulate", "help"])
def test_the_everyday_commands_load_no_database_web_git_or_mcp_library(words: list[str], tmp_path: Path) -> None:
    report = tmp_path / "loaded.json"
    argv = json.dumps([w.format(tmp=tmp_path) for w in words])
    root = ROOT
    done = subprocess.run([sys.executable, "-c", LOADED.format(report=str(report)), argv], cwd=root,
                          capture_output=True, text=True, stdin=subprocess.DEVNULL, check=False)
    assert "Traceback" not in done.stderr, done.stderr
    loaded = json.loads(report.read_text(encoding="utf-8"))
    assert loaded["code"] in (0, 1)
    assert [m for m in loaded["modules"] if m.split(".")[0] in HEAVY_LIBRARIES] == []


def _subclasses(cls: type) -> list[type]:
    return [cls, *(sub for direct in cls.__subclasses__() for sub in _subclasses(direct))]


def test_every_error_ends_a_command_with_one_of_the_documented_exit_codes() -> None:
    import importlib

    from catalog.errors import LintFailedError, VersionConflictError
    from generator.cli.common import exit_code_for
    from generator.errors import ConflictError, PipeforgeError, RemoteError, UsageError
    from generator.exit_codes import MEANINGS, ExitCode

    for module in ("catalog.tokens", "generator.cli.registry_client", "generator.gitops.git", "generator.lintconfig",
                   "generator.paths", "generator.upgrade", "generator.gitops.forges"):  # each defines errors of its own
        importlib.import_module(module)
    assert [exit_code_for(e) for e in (UsageError("x"), ConflictError("x"), RemoteError("x"))] == [
        ExitCode.USAGE, ExitCode.CONFLICT, ExitCode.REMOTE]
    assert exit_code_for(LintFailedError("x")) == ExitCode.FINDINGS
    assert exit_code_for(VersionConflictError("x")) == ExitCode.CONFLICT
    assert {cls.__name__: cls.exit_code for cls in _subclasses(PipeforgeError)
            if not isinstance(cls.exit_code, ExitCode) or cls.exit_code not in MEANINGS
            or cls.exit_code == ExitCode.INTERRUPTED} == {}  # a typed member, never a bare int
