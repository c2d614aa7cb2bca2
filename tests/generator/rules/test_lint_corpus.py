"""The real-world development corpus (../shared/realworld, manifests nobody here wrote): every file lints
without a crash, and every finding carries structured data whose path leads to a node of its document."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from generator.lint import collect_files, lint_file
from generator.rules import RULES
from generator.yamlio import load_documents
from tests.conftest import shared_path

pytestmark = pytest.mark.corpus


def _resolve(documents: list[Any], path: list[str | int]) -> bool:
    """Whether some document of the file has a node at ``path`` (the last key may be a missing one to add)."""
    for document in documents:
        node = document
        for depth, part in enumerate(path):
            in_map = isinstance(node, dict) and isinstance(part, str) and part in node
            in_list = isinstance(node, list) and isinstance(part, int) and 0 <= part < len(node)
            if in_map or in_list:
                node = node[part]  # type: ignore[index]
            elif depth == len(path) - 1 and isinstance(node, dict):
                node = None  # a field the fix adds
            else:
                break
        else:
            return True
    return False


def test_every_realworld_file_lints_and_every_finding_has_its_structured_data() -> None:
    corpus = shared_path("realworld")
    files = collect_files([corpus])
    assert len(files) >= 200
    seen: set[str] = set()
    for path in files:
        findings = lint_file(path)
        documents = load_documents(path.read_text(encoding="utf-8")) if findings else []
        for finding in findings:
            assert finding.rule in RULES and finding.line >= 1 and finding.fix, (path, finding)
            data = finding.data
            assert data["template"] == finding.template, (path, finding)
            assert isinstance(data["path"], list), (path, finding)
            assert finding.rule == "PF001" or _resolve(documents, data["path"]), (Path(path).name, finding)
            seen.add(finding.rule)
    assert {"PF101", "PF103", "PF401", "PF502"} <= seen
