"""What a newcomer hits first at the terminal: Ctrl-D at a prompt, tables at the terminal's width, each
subcommand's own exit codes, the MCP tools in `mcp --help`."""

from __future__ import annotations

import os
import pty
import select
import subprocess
import sys
from pathlib import Path

import pytest

from generator.exit_codes import BY_COMMAND, MEANINGS
from tests.clikit import run


def run_wide(*args: str, columns: int, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONWARNINGS": "error", "COLUMNS": str(columns)}
    return subprocess.run([sys.executable, "-m", "generator", *args], capture_output=True, text=True, cwd=cwd,
                          env=env, stdin=subprocess.DEVNULL, check=False)


def _read_all(fd: int) -> bytes:
    chunks = []
    while True:
        ready, _, _ = select.select([fd], [], [], 30)
        if not ready:
            break
        try:
            chunk = os.read(fd, 4096)
        except OSError:  # the child closed the terminal
            break
        if not chunk:
            break
        chunks.append(chunk)
    return b"".join(chunks)


def test_ctrl_d_at_a_prompt_exits_130_with_one_line_and_writes_nothing(tmp_path: Path) -> None:
    leader, follower = pty.openpty()
    process = subprocess.Popen([sys.executable, "-m", "generator", "new", "saga-compensation", "-o", "out"],
                               stdin=follower, stdout=follower, stderr=follower, cwd=tmp_path, close_fds=True)
    os.close(follower)
    try:
        buffer = b""
        while b"]: " not in buffer:
            ready, _, _ = select.select([leader], [], [], 30)
            assert ready, f"no prompt; got {buffer!r}"
            buffer += os.read(leader, 4096)
        os.write(leader, b"\x04")  # Ctrl-D: end of input
        rest = _read_all(leader).decode()
        assert process.wait(timeout=30) == 130
    finally:
        if process.poll() is None:
            process.kill()
        os.close(leader)
    assert "Traceback" not in rest and "EOFError" not in rest
    assert "pipeforge: cancelled (end of input at a prompt); nothing was written" in rest
    assert not (tmp_path / "out").exists()


def test_new_prints_aligned_tables_within_the_terminal_width_and_the_gaps_table(tmp_path: Path) -> None:
    result = run_wide("new", "provision-process-publish", "--no-input", "-o", "out", columns=90, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    tables = result.stdout.split("Failure modes:", 1)[1]
    assert max(len(line) for line in tables.splitlines()) <= 90
    assert "| Step |" not in result.stdout
    flat = " ".join(tables.split())
    assert "known gaps (see the table)" in flat
    matrix = tables.split("Simulated failures", 1)[1]
    assert "Scenario" in matrix and "terminate" in matrix, "the table the summary points at is printed"


def test_new_format_markdown_keeps_the_markdown_table(tmp_path: Path) -> None:
    result = run("new", "provision-process-publish", "--no-input", "-o", "out", "--format", "markdown",
                 cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "| Step | Stage | Retries |" in result.stdout


def test_explain_text_fits_the_terminal_and_markdown_is_opt_in(tmp_path: Path) -> None:
    assert run("new", "approval-gated-delete", "--no-input", "-o", "p", "--quiet", cwd=tmp_path).returncode == 0
    manifest = str(tmp_path / "p" / "workflowtemplate.yaml")
    wide = run_wide("explain", manifest, columns=160)
    assert wide.returncode == 0
    lines = wide.stdout.splitlines()
    assert max(len(line) for line in lines) <= 160
    header = next(line for line in lines if "Step" in line)
    assert header.index("Stage") < header.index("Retries") < header.index("Deadline"), "one aligned header"
    assert "|" not in wide.stdout
    narrow = run_wide("explain", manifest, columns=70)
    assert max(len(line) for line in narrow.stdout.splitlines()) <= 70
    assert "Step:            plan" in narrow.stdout, "too narrow for nine columns: one block per step"
    assert "| Step |" in run("explain", manifest, "--format", "markdown").stdout


@pytest.mark.parametrize("command", sorted(BY_COMMAND))
def test_each_subcommand_help_lists_only_its_exit_codes(command: str) -> None:
    result = run_wide(command, "--help", columns=200)
    assert result.returncode == 0, result.stderr
    block = result.stdout.split("exit codes:\n", 1)[1]
    listed = {int(line.split()[0]) for line in block.splitlines() if line.strip()[:1].isdigit()}
    assert listed == set(BY_COMMAND[command])


def test_lint_help_does_not_claim_the_remote_or_conflict_codes() -> None:
    block = run("lint", "--help").stdout.split("exit codes:\n", 1)[1]
    assert MEANINGS[4] not in block and MEANINGS[3] not in block


def test_mcp_help_lists_every_registered_tool_from_the_server() -> None:
    import asyncio

    from generator.mcp_server import build_server

    registered = {t.name for t in asyncio.run(build_server().list_tools())}
    result = run_wide("mcp", "--help", columns=120)
    assert result.returncode == 0, result.stderr
    assert "simulate_manifest" in registered
    for name in registered:
        assert f"  {name} " in result.stdout
    assert "review-argo-pipeline" in result.stdout


def test_templates_name_shows_each_parameter_with_type_default_and_rule() -> None:
    from generator.template_spec import find_template

    result = run_wide("templates", "provision-process-publish", columns=140)
    assert result.returncode == 0, result.stderr
    for spec in find_template("provision-process-publish").parameters:
        assert spec.name in result.stdout
    row = next(line for line in result.stdout.splitlines() if line.strip().startswith("retry_limit"))
    assert "integer" in row and "3" in row
    assert "pipeforge new provision-process-publish --set NAME=VALUE" in result.stdout
    assert max(len(line) for line in result.stdout.splitlines()) <= 140



@pytest.mark.parametrize("columns", [80, 100])
def test_templates_name_keeps_each_parameter_name_whole_on_an_ordinary_terminal(columns: int) -> None:
    """The name is what ``--set NAME=VALUE`` needs: it is never cut mid-word, even where the long texts of
    the other columns leave little room."""
    from generator.template_spec import find_template

    for template in ("saga-compensation", "approval-gated-delete"):
        result = run_wide("templates", template, columns=columns)
        assert result.returncode == 0, result.stderr
        starts = {line.split()[0] for line in result.stdout.splitlines() if line.startswith("  ") and line.split()}
        for spec in find_template(template).parameters:
            assert spec.name in starts, (spec.name, result.stdout)
        assert max(len(line) for line in result.stdout.splitlines()) <= columns


def test_templates_name_says_what_a_boolean_number_or_object_takes_not_any_text() -> None:
    from tests.conftest import ROOT

    result = run_wide("templates", str(ROOT / "tests" / "fixtures" / "plain-cookiecutter"), columns=160)
    assert result.returncode == 0, result.stderr
    rows = {line.split()[0]: line for line in result.stdout.splitlines() if line.startswith("  ") and line.split()}
    assert "true or false" in rows["verbose"] and "any whole number" in rows["retries"]
    assert "a JSON object" in rows["labels"] and "any text" in rows["namespace"]

def test_templates_name_of_an_unknown_template_is_exit_2_with_the_choices() -> None:
    result = run("templates", "no-such")
    assert result.returncode == 2
    assert "no template named 'no-such'" in result.stderr and "saga-compensation" in result.stderr
    assert "Traceback" not in result.stderr
