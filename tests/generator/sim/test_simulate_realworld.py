"""The simulator on every file of the real-world corpus (../shared/realworld), in process: the fault-free
run (what ``simulate --json`` prints) and the matrix (``--matrix --json``) run without a crash, and a file
is refused only with a clear message. Times and the agreement table are bench/bench_realworld.py's."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from generator.errors import PipeforgeError
from generator.sim.matrix import run_matrix
from generator.simulate import load, simulate
from tests.conftest import shared_path
from tests.hypokit import measured_first

pytestmark = pytest.mark.corpus
MEASURED = 50  # files that coverage traces (see measured_first)


def test_every_realworld_file_simulates_and_runs_its_matrix_without_a_crash() -> None:
    files = sorted(p for p in shared_path("realworld").rglob("*") if p.suffix in (".yaml", ".yml"))
    assert len(files) == 202
    refused, injected = [], 0
    with measured_first(MEASURED) as file_started:
        for path in files:
            file_started()
            injected += _simulate_one(path, refused)
    assert all(message.strip() for message in refused)
    assert len(files) - len(refused) > 150 and injected > 145


def _simulate_one(path: Path, refused: list[str]) -> bool:
    """Whether the matrix of ``path`` injects a fault; a refusal's message is appended to ``refused``."""
    try:
        target = load(path)
        target.validate()
    except PipeforgeError as exc:
        refused.append(exc.message)
        return False
    result = simulate(target)
    assert result.phase in ("Succeeded", "Failed", "Error", "Running"), path
    json.dumps(result.as_dict())
    matrix = run_matrix(target)
    json.dumps(matrix.as_dict())
    assert matrix.rows[0].scenario.kind == "baseline", path
    return matrix.injected > 0
