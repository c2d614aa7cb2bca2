"""Golden files of every generated file, per template, for the defaults and one custom parameter set.

Regenerate after an intended template change with:  PIPEFORGE_UPDATE_GOLDEN=1 make test
and review the diff like any other change.
"""

from __future__ import annotations

import os

import pytest

from tests.conftest import CASES, ROOT, pipeline_for

GOLDEN = ROOT / "tests" / "golden"
UPDATE = bool(os.environ.get("PIPEFORGE_UPDATE_GOLDEN"))


@pytest.mark.parametrize(("template", "case"), CASES)
def test_generated_files_match_golden(template: str, case: str) -> None:
    files = pipeline_for(template, case).files
    folder = GOLDEN / template / case
    if UPDATE:
        folder.mkdir(parents=True, exist_ok=True)
        for old in folder.iterdir():
            old.unlink()
        for name, content in files.items():
            (folder / name).write_text(content, encoding="utf-8")
    expected = {p.name: p.read_text(encoding="utf-8") for p in folder.iterdir()} if folder.is_dir() else {}
    assert sorted(files) == sorted(expected), "set PIPEFORGE_UPDATE_GOLDEN=1 to create or refresh golden files"
    for name, content in files.items():
        assert content == expected[name], f"{template}/{case}/{name} differs from its golden file"
