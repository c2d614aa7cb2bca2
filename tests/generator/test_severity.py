"""Severity: the order ``--fail-on`` uses, and a member that prints, serializes and compares as its word."""

from __future__ import annotations

import json

import pytest

from generator.severity import SEVERITIES, Severity


@pytest.mark.parametrize(("severity", "threshold", "fails"), [
    ("error", "error", True), ("error", "info", True), ("warning", "error", False), ("warning", "warning", True),
    ("info", "warning", False), ("info", "info", True),
])
def test_at_least_orders_error_above_warning_above_info(severity: str, threshold: str, fails: bool) -> None:
    assert Severity(severity).at_least(threshold) is fails


def test_members_are_listed_most_severe_first_and_ranked_in_that_order() -> None:
    assert SEVERITIES == (Severity.ERROR, Severity.WARNING, Severity.INFO)
    assert sorted([Severity.INFO, Severity.ERROR, Severity.WARNING], key=lambda s: s.rank) == list(SEVERITIES)


def test_a_severity_is_its_word_in_text_json_and_dictionary_lookups() -> None:
    assert f"{Severity.WARNING} {Severity.INFO:<7}|" == "warning info   |"
    assert json.dumps({"severity": Severity.ERROR}) == '{"severity": "error"}'
    assert {"error": 1}[Severity.ERROR] == 1 and Severity.ERROR == "error"


def test_an_unknown_threshold_is_refused() -> None:
    with pytest.raises(ValueError, match="'fatal' is not a valid Severity"):
        Severity.ERROR.at_least("fatal")
