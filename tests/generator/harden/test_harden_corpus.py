"""`harden` over every real-world manifest and every Argo example: minimal, faithful, idempotent edits.

For each file: every input line harden did not report as rewritten or removed comes back unchanged and
in order; no comment line is lost; a second pass changes nothing; and the output validates against
Argo's published JSON schema (IntOrString typed as a string, as editors read it) whenever the input did.
"""

from __future__ import annotations

import json
from collections import Counter
from functools import cache
from pathlib import Path
from typing import Any

import pytest

from generator.harden import HardenResult, harden_text
from generator.yamlio import load_documents
from tests.conftest import shared_path
from tests.hypokit import measured_first

# One worker takes the module, so the figures test reads the results the corpus tests computed.
MEASURED = 50  # files of each corpus that coverage traces (see measured_first)
pytestmark = [pytest.mark.corpus, pytest.mark.xdist_group("harden-corpus")]


@cache
def _harden(text: str, name: str) -> HardenResult:
    """harden_text, once per input: each corpus file is hardened (and hardened again) by several tests."""
    return harden_text(text, name)


@cache
def _strict_validator() -> Any:
    import jsonschema

    schema = json.loads(shared_path("argo", "schema.json").read_text(encoding="utf-8"))
    return jsonschema.validators.validator_for(schema)(schema)


def _valid(text: str) -> bool:
    documents = [d for d in load_documents(text) if isinstance(d, dict)]
    return bool(documents) and all(_strict_validator().is_valid(d) for d in documents)


def _comments(text: str) -> Counter[str]:
    return Counter(line.strip() for line in text.splitlines() if line.strip().startswith("#"))


def _corpus(*parts: str) -> list[Path]:
    root = shared_path(*parts)
    return sorted(p for p in root.rglob("*") if p.suffix in (".yaml", ".yml"))


def _problems(path: Path) -> list[str]:
    text = path.read_text(encoding="utf-8")
    once = _harden(text, path.name)
    problems = []
    if any(h.rule == "harden" for h in once.held):
        problems.append("its edits were refused as invalid YAML")
    output = once.text.splitlines()
    position = 0
    for number, line in enumerate(text.splitlines(), 1):
        if number in once.touched:
            continue
        try:
            position = output.index(line, position) + 1
        except ValueError:
            problems.append(f"line {number} not kept: {line!r}")
            break
    lost = _comments(text) - _comments(once.text)
    if lost:
        problems.append(f"comment lines lost: {sorted(lost)[:3]}")
    if _harden(once.text, path.name).text != once.text:
        problems.append("a second pass changes it")
    if once.changed and _valid(text) and not _valid(once.text):
        problems.append("the input validates against Argo's schema and the output does not")
    return problems


@pytest.mark.parametrize("corpus", [("realworld",), ("argo", "examples")], ids=["realworld", "argo-examples"])
def test_harden_keeps_every_untouched_line_and_comment_and_reaches_a_fixed_point(corpus: tuple[str, ...]) -> None:
    paths = _corpus(*corpus)
    assert len(paths) > 150
    failures = {}
    with measured_first(MEASURED) as file_started:
        for path in paths:
            file_started()
            if problems := _problems(path):
                failures[str(path)] = problems
    assert not failures, failures


def test_harden_output_of_a_schema_valid_input_stays_valid_on_enough_files() -> None:
    """The schema check above is not vacuous: many inputs validate and are changed."""
    checked = 0
    for path in _corpus("argo", "examples")[:80]:
        text = path.read_text(encoding="utf-8")
        if _valid(text):
            result = harden_text(text, path.name)
            checked += result.changed
            assert _valid(result.text), path.name
    assert checked >= 10


def test_the_readme_and_the_harden_page_state_the_figures_bench_harden_prints(monkeypatch: pytest.MonkeyPatch) -> None:
    """The figures are measured, not remembered: what ``bench/bench_harden.py`` prints over both corpora
    is what the README and docs/harden.md say."""
    import importlib.util

    root = Path(__file__).resolve().parents[3]
    spec = importlib.util.spec_from_file_location("bench_harden", root / "bench" / "bench_harden.py")
    assert spec is not None and spec.loader is not None
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    monkeypatch.setattr(bench, "harden_text", _harden)
    with measured_first(0) as untraced:  # the corpus tests above traced harden; this counts what it did
        untraced()
        figures = bench.measure(_corpus("realworld") + _corpus("argo", "examples"))
    readme = " ".join((root / "README.md").read_text(encoding="utf-8").split())
    page = (root / "docs" / "harden.md").read_text(encoding="utf-8")
    stated = {"files changed": figures["changed"], "lines inserted": figures["inserted"],
              "lines rewritten": figures["rewritten"], "comment lines lost": figures["comments_lost"],
              "files a second pass changes": figures["not_idempotent"]}
    for label, value in stated.items():
        assert f"{value:,} {label}" in readme, (label, value)
    assert f"Over the {figures['files']} files" in page and f"{figures['files']} files" in readme
    for value in (figures["changed"], figures["inserted"], figures["rewritten"]):
        assert f"| {value:,} |" in page, value
