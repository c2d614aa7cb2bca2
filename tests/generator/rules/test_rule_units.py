"""Every rule unit: its bad example is reported, its good example is not, and its metadata is complete."""

from __future__ import annotations

import pytest

from generator.lint import lint_text
from generator.rules import RULES, Rule, resolve_rule, rule_unit, rule_url
from generator.rules import base as rules_base


@pytest.mark.parametrize("code", sorted(RULES))
def test_the_bad_example_is_reported_with_structured_data(code: str) -> None:
    unit = RULES[code]
    found = [f for f in lint_text(unit.bad, f"{code}-bad.yaml") if f.rule == code]
    assert found, f"{code}'s bad example is not reported"
    for finding in found:
        assert finding.data["template"] == finding.template
        assert isinstance(finding.data["path"], list)
        assert all(isinstance(part, str | int) for part in finding.data["path"])


@pytest.mark.parametrize("code", sorted(RULES))
def test_the_good_example_is_not_reported(code: str) -> None:
    unit = RULES[code]
    assert [f.message for f in lint_text(unit.good, f"{code}-good.yaml") if f.rule == code] == []


@pytest.mark.parametrize("code", sorted(RULES))
def test_every_unit_documents_itself(code: str) -> None:
    unit = RULES[code]
    for text in (unit.summary, unit.why, unit.source, unit.confident, unit.leaves):
        assert text.strip(), code
    assert unit.severity in ("error", "warning", "info")
    assert unit.bad != unit.good
    assert unit.fix is None or callable(unit.fix)


def test_rules_are_found_by_code_or_name() -> None:
    unit = rule_unit("PF201")
    assert isinstance(unit, Rule) and unit is rule_unit("unbounded-retry") is rule_unit("pf201")
    assert resolve_rule("no-retry") == "PF205" and resolve_rule("nope") is None
    with pytest.raises(KeyError, match="no pipeforge rule 'PF999'"):
        rule_unit("PF999")


def test_rule_url_is_overridable_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    assert rule_url("PF101") == f"{rules_base.DOCS_BASE_URL}/rules/PF101/"
    monkeypatch.setenv("PIPEFORGE_DOCS_URL", "https://docs.example.org/pf/")
    assert rule_url("PF101") == "https://docs.example.org/pf/rules/PF101/"
    assert rule_unit("PF101").url == "https://docs.example.org/pf/rules/PF101/"


def test_a_rule_cannot_be_registered_twice() -> None:
    with pytest.raises(ValueError, match="registered twice"):
        rules_base.register(RULES["PF201"])
