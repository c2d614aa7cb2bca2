from __future__ import annotations

from pathlib import Path

import pytest

from generator import fields


def test_table_is_derived_from_the_sdk_with_the_overlay_applied() -> None:
    table = fields.derive_table()
    template = table["IoArgoprojWorkflowV1alpha1Template"]
    assert template["retryStrategy"] == {"model": "IoArgoprojWorkflowV1alpha1RetryStrategy"}
    assert template["pendingTimeout"] == "str"  # added by Argo after the SDK was generated
    assert "mutex" not in table["IoArgoprojWorkflowV1alpha1Synchronization"]  # removed by Argo
    # ParallelSteps is a wrapper model: steps are a list of lists of WorkflowStep.
    assert template["steps"] == {"list": {"list": {"model": "IoArgoprojWorkflowV1alpha1WorkflowStep"}}}


def test_cached_table_equals_a_fresh_derivation(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    fields.field_table.cache_clear()
    try:
        first = fields.field_table()
        (cached,) = (tmp_path / "pipeforge").glob("argo-fields-*.json")
        fields.field_table.cache_clear()
        assert fields.field_table() == first == fields.derive_table()
        assert cached.stat().st_size > 0
    finally:
        fields.field_table.cache_clear()


def test_unwritable_cache_still_gives_the_table(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    monkeypatch.setenv("XDG_CACHE_HOME", str(blocker))
    fields.field_table.cache_clear()
    try:
        assert "IoArgoprojWorkflowV1alpha1Workflow" in fields.field_table()
    finally:
        fields.field_table.cache_clear()
