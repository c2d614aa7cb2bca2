from __future__ import annotations

from pathlib import Path

import pytest

from generator.errors import ManifestError
from generator.yamlio import LineDict, LineList, load_documents, read_documents


def test_lines_of_mappings_keys_and_items_are_one_based() -> None:
    docs = load_documents("a: 1\nb:\n  - x\n  - y: 2\n---\nc: 3\n")
    first, second = docs
    assert isinstance(first, LineDict) and first.line == 1
    assert first.line_of("b") == 2
    assert isinstance(first["b"], LineList)
    assert first["b"].line_of(1) == 4
    assert second.line_of("c") == 6


def test_scalars_resolve_like_kubernetes_yaml_1_1() -> None:
    (doc,) = load_documents("a: yes\nb: 'yes'\nc: 10\nd: ~\ne: 1.5\nf: 2026-11-24\n")
    assert doc == {"a": True, "b": "yes", "c": 10, "d": None, "e": 1.5, "f": "2026-11-24"}


def test_malformed_yaml_is_an_error_with_its_line_not_a_traceback() -> None:
    with pytest.raises(ManifestError) as info:
        load_documents("a: 1\nb: [unclosed\nc: 2\n", file="broken.yaml")
    assert info.value.file == "broken.yaml"
    assert info.value.line is not None and info.value.line >= 2
    assert "broken.yaml:" in info.value.message


def test_duplicate_keys_are_recorded() -> None:
    (doc,) = load_documents("a: 1\na: 2\n")
    assert doc["a"] == 2
    assert doc.duplicate_keys == [("a", 2)]


def test_anchors_and_merge_keys_are_expanded() -> None:
    (doc,) = load_documents("base: &b {x: 1}\nchild:\n  <<: *b\n  y: 2\n")
    assert doc["child"] == {"x": 1, "y": 2}


def test_unreadable_and_non_utf8_files_are_manifest_errors(tmp_path: Path) -> None:
    with pytest.raises(ManifestError, match="cannot read"):
        read_documents(tmp_path / "missing.yaml")
    binary = tmp_path / "latin1.yaml"
    binary.write_bytes(b"a: \xe9\n")
    with pytest.raises(ManifestError, match="not UTF-8"):
        read_documents(binary)
