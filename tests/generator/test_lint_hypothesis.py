"""Open-ended inputs: depends expressions against a reference evaluation, and lint on arbitrary documents."""

from __future__ import annotations

from typing import Any

import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from generator.depends import DependsSyntaxError, evaluate, parse_depends
from generator.harden import harden_text
from generator.lint import lint_text
from tests.hypokit import examples

TASKS = ("a", "b-2", "c_3")
RESULTS = ("Succeeded", "Failed", "Errored", "Skipped", "Omitted", "Daemoned")
PHASES = ("Succeeded", "Failed", "Error", "Skipped", "Omitted", "Daemoned")
HOLDS = {"Succeeded": "Succeeded", "Failed": "Failed", "Errored": "Error", "Skipped": "Skipped",
         "Omitted": "Omitted", "Daemoned": "Daemoned"}


def operand() -> st.SearchStrategy[tuple[str, str]]:
    """(depends text, Python reference text) for one operand."""
    def build(task: str, result: str | None) -> tuple[str, str]:
        if result is None:  # a bare name: Succeeded, Skipped or Daemoned
            return task, f"(p[{task!r}] in ('Succeeded', 'Skipped', 'Daemoned'))"
        return f"{task}.{result}", f"(p[{task!r}] == {HOLDS[result]!r})"
    return st.builds(build, st.sampled_from(TASKS), st.none() | st.sampled_from(RESULTS))


def combine(children: st.SearchStrategy[tuple[str, str]]) -> st.SearchStrategy[tuple[str, str]]:
    """Binary expressions are parenthesised, so the text means what the reference means; precedence has
    its own tests below."""
    binary = st.tuples(children, st.sampled_from(["&&", "||"]), children).map(
        lambda t: (f"({t[0][0]} {t[1]} {t[2][0]})", f"({t[0][1]} {'and' if t[1] == '&&' else 'or'} {t[2][1]})"))
    negated = children.map(lambda c: (f"!{c[0]}", f"(not {c[1]})"))
    return binary | negated


EXPRESSIONS = st.recursive(operand(), combine, max_leaves=8)


@settings(max_examples=examples(400), deadline=None)
@given(EXPRESSIONS, st.fixed_dictionaries({t: st.sampled_from(PHASES) for t in TASKS}))
def test_depends_evaluates_like_the_reference(expression: tuple[str, str], phases: dict[str, str]) -> None:
    text, reference = expression
    expected = eval(reference, {"p": phases})
    assert evaluate(parse_depends(text), phases.__getitem__) is expected


def test_and_binds_tighter_than_or_and_not_tighter_than_and() -> None:
    phases = {"a": "Succeeded", "b": "Failed", "c": "Failed"}.__getitem__
    assert evaluate(parse_depends("a || b && c"), phases) is True
    assert evaluate(parse_depends("(a || b) && c"), phases) is False
    assert evaluate(parse_depends("!a && b.Failed"), phases) is False
    assert evaluate(parse_depends("!(a && b)"), phases) is True


@given(st.text(alphabet="ab.&|!() ", max_size=20))
def test_depends_parser_either_parses_or_says_why(text: str) -> None:
    try:
        parse_depends(text)
    except DependsSyntaxError as exc:
        assert str(exc)


SCALARS = st.none() | st.booleans() | st.integers(-5, 5) | st.sampled_from(
    ["", "x", "{{inputs.parameters.a}}", "delete", "create", "apply", "Always", "10s", "busybox"])
KEYS = st.sampled_from(["name", "template", "dag", "tasks", "steps", "depends", "dependencies", "retryStrategy",
                        "limit", "resource", "action", "manifest", "container", "image", "onExit", "hooks", "exit",
                        "when", "suspend", "duration", "continueOn", "failed", "activeDeadlineSeconds", "x"])
VALUES: st.SearchStrategy[Any] = st.recursive(
    SCALARS, lambda inner: st.lists(inner, max_size=3) | st.dictionaries(KEYS, inner, max_size=4), max_leaves=12)


@settings(max_examples=examples(300), deadline=None)
@given(st.lists(st.dictionaries(KEYS, VALUES, max_size=5), max_size=4), VALUES)
def test_lint_and_harden_never_crash_on_odd_documents(templates: list[dict[str, Any]], extra: Any) -> None:
    doc = {"apiVersion": "argoproj.io/v1alpha1", "kind": "Workflow", "metadata": {"name": "w"},
           "spec": {"entrypoint": "name", "templates": templates, "onExit": extra}}
    text = yaml.safe_dump(doc)
    findings = lint_text(text, "odd.yaml")
    assert all(f.line >= 0 and f.rule.startswith("PF") for f in findings)
    once = harden_text(text, "odd.yaml")
    assert harden_text(once.text, "odd.yaml").text == once.text
