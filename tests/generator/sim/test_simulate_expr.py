"""depends (generator.depends, the one home shared with lint) and when expressions: parsing and
evaluation checked against a reference evaluation (hypothesis generates the expressions), plus the
error paths."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from generator.depends import (
    MAX_NESTING,
    DependsSyntaxError,
    evaluate,
    from_dependencies,
    handles_failure,
    operands,
    ordered_operands,
    parse_depends,
)
from generator.sim.expr import ExpressionError, evaluate_when
from tests.hypokit import examples

TASKS = ["A", "b-c", "D_1", "extract-data"]
RESULTS = ["Succeeded", "Failed", "Errored", "Skipped", "Omitted", "Daemoned"]
PHASES = ["Succeeded", "Failed", "Error", "Skipped", "Omitted"]

Tree = tuple[Any, ...]

operand = st.tuples(st.just("op"), st.sampled_from(TASKS), st.sampled_from([None, *RESULTS]))
trees: st.SearchStrategy[Tree] = st.recursive(
    operand,
    lambda inner: st.one_of(
        st.tuples(st.just("not"), inner),
        st.tuples(st.sampled_from(["and", "or"]), inner, inner),
    ),
    max_leaves=12,
)


def render(tree: Tree, spaced: bool) -> str:
    sep = " " if spaced else ""
    if tree[0] == "op":
        return tree[1] + (f".{tree[2]}" if tree[2] else "")
    if tree[0] == "not":
        return f"!{sep}({render(tree[1], spaced)})"
    op = "&&" if tree[0] == "and" else "||"
    return f"({render(tree[1], spaced)}){sep}{op}{sep}({render(tree[2], spaced)})"


def reference(tree: Tree, phases: dict[str, str]) -> bool:
    """Argo's meaning, written independently: a bare name is Succeeded || Skipped || Daemoned."""
    if tree[0] == "op":
        phase = phases[tree[1]]
        if tree[2] is None:
            return phase in ("Succeeded", "Skipped")
        return {"Errored": phase == "Error", "Daemoned": False}.get(tree[2], phase == tree[2])
    if tree[0] == "not":
        return not reference(tree[1], phases)
    left, right = reference(tree[1], phases), reference(tree[2], phases)
    return left and right if tree[0] == "and" else left or right


@settings(max_examples=examples(400), deadline=None)
@given(trees, st.fixed_dictionaries({name: st.sampled_from(PHASES) for name in TASKS}), st.booleans())
def test_depends_evaluation_matches_the_reference(tree: Tree, phases: dict[str, str], spaced: bool) -> None:
    """§4: depends operands, && || ! and parentheses, hyphenated names, evaluated as Argo does."""
    got = evaluate(parse_depends(render(tree, spaced)), phases.__getitem__)
    assert got == reference(tree, phases)


@settings(max_examples=examples(200), deadline=None)
@given(st.lists(st.sampled_from(TASKS), min_size=1, max_size=4, unique=True),
       st.fixed_dictionaries({name: st.sampled_from(PHASES) for name in TASKS}),
       st.sets(st.sampled_from(TASKS)))
def test_dependencies_with_continue_on_match_their_expansion(names: list[str], phases: dict[str, str],
                                                              continuing: set[str]) -> None:
    """§4: dependencies [A, B] = A && B, each A widened by its continueOn.failed (|| A.Failed)."""
    depends = from_dependencies(tuple(names), lambda n: (n in continuing, False))
    assert depends is not None
    expected = all(
        phases[n] in ("Succeeded", "Skipped") or (n in continuing and phases[n] == "Failed") for n in names
    )
    assert evaluate(depends, phases.__getitem__) == expected
    assert handles_failure(depends) == frozenset(continuing & set(names))


@settings(max_examples=examples(300), deadline=None)
@given(st.one_of(st.integers(-1000, 1000), st.from_regex(r"[a-z][a-z0-9-]{0,8}", fullmatch=True)),
       st.one_of(st.integers(-1000, 1000), st.from_regex(r"[a-z][a-z0-9-]{0,8}", fullmatch=True)),
       st.sampled_from(["==", "!=", "<", ">", "<=", ">="]))
def test_when_comparisons_match_python(left: int | str, right: int | str, op: str) -> None:
    """§4: when compares numbers as numbers and bare words as strings."""
    if isinstance(left, int) != isinstance(right, int):
        left, right = str(left), str(right)
    if isinstance(left, str) and op in ("<", ">", "<=", ">="):
        op = "=="
    expected = {"==": left == right, "!=": left != right, "<": left < right, ">": left > right,
                "<=": left <= right, ">=": left >= right}[op]  # type: ignore[operator]
    assert evaluate_when(f"{left} {op} {right}") is expected


def test_when_supports_boolean_operators_quotes_and_regex() -> None:
    assert evaluate_when("'a b' == 'a b' && !(1 > 2)")
    assert evaluate_when("true || false")
    assert evaluate_when("release-2026 =~ '^release-'")


@pytest.mark.parametrize("text", ["", "A &&", "(A", "A B", "A == ", "A.Failed )"])
def test_malformed_depends_is_an_expression_error(text: str) -> None:
    """§4: a depends that cannot be evaluated gives an Error node: the parser raises, never crashes."""
    with pytest.raises(DependsSyntaxError):
        parse_depends(text)


def test_depends_allows_only_task_results() -> None:
    with pytest.raises(DependsSyntaxError, match="unexpected"):
        parse_depends("A == B")


def test_any_succeeded_and_all_failed_read_the_items_of_an_expanded_task() -> None:
    """§4: AnySucceeded = at least one child Succeeded; AllFailed = every child Failed (not Errored)."""
    phase = {"fan": "Failed"}.__getitem__
    assert evaluate(parse_depends("fan.AnySucceeded"), phase, {"fan": ["Failed", "Succeeded"]}.get)
    assert not evaluate(parse_depends("fan.AllFailed"), phase, {"fan": ["Failed", "Error"]}.get)
    assert evaluate(parse_depends("fan.AllFailed"), phase, {"fan": ["Failed", "Failed"]}.get)


@pytest.mark.parametrize("text", ["heads", "1 +", "'open"])
def test_a_when_that_is_not_a_boolean_is_an_expression_error(text: str) -> None:
    with pytest.raises(ExpressionError):
        evaluate_when(text)


def test_depends_tasks_reads_operands_and_tolerates_a_malformed_expression() -> None:
    """§4: the registry's DAG drawing reads its edges from the one depends parser."""
    from generator.depends import depends_tasks

    assert depends_tasks("(a-b.Succeeded || c) && !a-b.Failed") == ("a-b", "c")
    assert depends_tasks("a &&") == () and depends_tasks(None) == ()


WIDE = 5_000  # a generated fan-in: far more operands than Python's recursion limit of 1,000 frames


@pytest.mark.parametrize("op", ["&&", "||"])
def test_a_chain_of_thousands_of_operands_is_read_walked_and_evaluated_in_order(op: str) -> None:
    names = [f"t{i}" for i in range(WIDE)]
    expr = parse_depends(f" {op} ".join(names))
    assert ordered_operands(expr) == tuple(names) and operands(expr) == set(names)
    phases = {name: "Succeeded" for name in names} | {names[-1]: "Failed"}
    assert evaluate(expr, phases.__getitem__) is (op == "||")
    assert handles_failure(parse_depends(" && ".join(f"{n}.Failed" for n in names))) == frozenset(names)


def test_a_dependencies_list_of_thousands_of_tasks_is_evaluated() -> None:
    names = tuple(f"t{i}" for i in range(WIDE))
    expr = from_dependencies(names, lambda n: (n == "t7", False))
    assert expr is not None and ordered_operands(expr) == names
    assert evaluate(expr, lambda n: "Failed" if n == "t7" else "Succeeded") is True
    assert evaluate(expr, lambda n: "Failed" if n == "t8" else "Succeeded") is False


@pytest.mark.parametrize("text", ["(" * (MAX_NESTING + 1) + "a" + ")" * (MAX_NESTING + 1), "!" * 20_000 + "a",
                                  "(!" * 3_000 + "a" + ")" * 3_000])
def test_nesting_beyond_the_limit_is_a_syntax_error_naming_it(text: str) -> None:
    with pytest.raises(DependsSyntaxError, match="MAX_NESTING"):
        parse_depends(text)


def test_nesting_at_the_limit_is_read() -> None:
    expr = parse_depends("(" * (MAX_NESTING - 1) + "!a" + ")" * (MAX_NESTING - 1))
    assert evaluate(expr, {"a": "Failed"}.__getitem__) is True
