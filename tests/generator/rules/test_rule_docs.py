"""The rule pages: generated from the units, committed, and printed by `pipeforge lint --explain`."""

from __future__ import annotations

import pytest

from generator.rules import RULES
from generator.rules.docs import pages
from tests.conftest import ROOT
from tests.generator.test_lint_cli import run

FOLDER = ROOT / "docs" / "rules"


def test_the_committed_rule_pages_equal_the_generated_ones() -> None:
    wanted = pages()
    committed = {p.name: p.read_text(encoding="utf-8") for p in FOLDER.glob("*.md")}
    assert sorted(committed) == sorted(wanted), "run scripts/gen_rule_docs.py"
    for name, text in wanted.items():
        assert committed[name] == text, f"docs/rules/{name} is out of date: run scripts/gen_rule_docs.py"


def test_every_rule_has_a_page_with_its_examples_and_limits() -> None:
    for code, unit in RULES.items():
        page = (FOLDER / f"{code}.md").read_text(encoding="utf-8")
        assert page.startswith(f"# {code} {unit.name}\n")
        assert unit.bad.strip() in page and unit.good.strip() in page
        assert "## What it is confident about" in page and unit.leaves in page


@pytest.mark.parametrize("name", ["PF101", "cleanup-not-in-exit-handler", "pf101"])
def test_explain_prints_the_page_and_its_link(name: str) -> None:
    result = run("lint", "--explain", name)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("# PF101 cleanup-not-in-exit-handler\n")
    assert (FOLDER / "PF101.md").read_text(encoding="utf-8") in result.stdout
    assert result.stdout.rstrip().endswith("/rules/PF101/")


def test_explain_of_an_unknown_rule_is_a_usage_error() -> None:
    result = run("lint", "--explain", "PF999")
    assert result.returncode == 2 and "no such rule" in result.stderr and "Traceback" not in result.stderr


def test_every_fact_a_rule_cites_from_docs_argo_semantics_exists() -> None:
    import re

    titles = set(re.findall(r"^## (.+)$", (FOLDER.parent / "argo-semantics.md").read_text(encoding="utf-8"), re.M))
    cited = [(code, title.strip()) for code, unit in RULES.items()
             for title in re.findall(r"docs/argo-semantics\.md, ([^;]+)", unit.source)]
    assert cited
    for code, title in cited:
        assert title in titles, (code, title)
