"""The request guard's JSON check and the version bounds, as properties: every JSON document within the
limits passes, and one offending value put anywhere in it is found and named by its path; a spec's SQL
bounds never exceed what the catalog stores and never leave out a version the spec admits."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from generator.semver import MAX_NUMBER, InvalidVersionError, Version, parse_spec
from registry_api.guard import MAX_JSON_DEPTH, MAX_JSON_INTEGER, MAX_JSON_MEMBERS, json_body_problem
from tests.hypokit import examples

KEYS = st.text(alphabet=st.characters(exclude_categories=("Cs",)), max_size=8)
FINE = st.recursive(
    st.none() | st.booleans() | st.floats(allow_nan=False, allow_infinity=False)
    | st.integers(min_value=-MAX_JSON_INTEGER, max_value=MAX_JSON_INTEGER) | KEYS,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(KEYS, inner, max_size=4), max_leaves=20)
OFFENDERS = st.sampled_from([("1e400", "too large for a 64-bit float"), ("-1E+999", "too large for a 64-bit float"),
                             (str(MAX_JSON_INTEGER + 1), "outside the 64-bit range"),
                             (str(-MAX_JSON_INTEGER - 1) + "0", "outside the 64-bit range")])


@settings(max_examples=examples(200))
@given(value=FINE)
def test_json_within_the_limits_passes(value: Any) -> None:
    assert json_body_problem(json.dumps(value).encode()) is None


@settings(max_examples=examples(200))
@given(keys=st.lists(st.from_regex(r"[A-Za-z_][A-Za-z0-9_]{0,7}", fullmatch=True), min_size=1, max_size=5),
       offender=OFFENDERS, value=FINE)
def test_an_offending_number_anywhere_is_named_by_its_path(keys: list[str], offender: tuple[str, str],
                                                           value: Any) -> None:
    text, reason = offender
    marker = "\u2063MARK\u2063"
    document: Any = marker
    for key in reversed(keys):
        document = {key: document, "other": value}
    body = json.dumps(document).replace(json.dumps(marker), text).encode()
    found = json_body_problem(body)
    assert found is not None and reason in found
    assert f"at {'.'.join(keys)} is" in found


def test_a_key_that_is_not_a_plain_name_is_quoted_in_the_path() -> None:
    found = json_body_problem(b'{"": {"a b": [0, {"x": 1e400}]}}')
    assert found is not None and 'at [""]["a b"][1].x is' in found


@pytest.mark.parametrize(("body", "reason"), [
    (b"[" * (MAX_JSON_DEPTH + 2) + b"]" * (MAX_JSON_DEPTH + 2), "nested deeper"),
    (b"[" * 10_000 + b"]" * 10_000, "nested deeper"),  # past the parser's own recursion limit too
    (b"[" + b",".join([b"0"] * (MAX_JSON_MEMBERS + 1)) + b"]", f"at most {MAX_JSON_MEMBERS}"),
    (b'{"a": NaN}', "not valid JSON"),
    (b'{"a": "\\udc00"}', "lone surrogate"),
    (b'{"a": "\xff"}', "not valid JSON"),
])
def test_structure_and_encoding_offences_are_named(body: bytes, reason: str) -> None:
    found = json_body_problem(body)
    assert found is not None and reason in found


def test_the_limits_themselves_pass() -> None:
    deepest = b"[" * MAX_JSON_DEPTH + b"]" * MAX_JSON_DEPTH
    widest = b"[" + b",".join([b"0"] * MAX_JSON_MEMBERS) + b"]"
    extremes = json.dumps([MAX_JSON_INTEGER, -MAX_JSON_INTEGER, 1.7976931348623157e308, 5e-324, "\U0001f600"])
    assert [json_body_problem(b) for b in (deepest, widest, extremes.encode())] == [None, None, None]


NUMBERS = st.integers(min_value=0, max_value=MAX_NUMBER) | st.sampled_from([0, 1, MAX_NUMBER - 1, MAX_NUMBER])
OPERATORS = st.sampled_from(["^", "~", ">=", ">", "<=", "<", "=", ""])


@settings(max_examples=examples(300))
@given(op=OPERATORS, parts=st.lists(NUMBERS, min_size=1, max_size=3), probe=st.tuples(NUMBERS, NUMBERS, NUMBERS))
def test_sql_bounds_stay_storable_and_keep_every_admitted_version(op: str, parts: list[int],
                                                                  probe: tuple[int, int, int]) -> None:
    spec = parse_spec(op + ".".join(str(p) for p in parts))
    low, high = spec.bounds()
    for bound in (low, high):
        assert bound is None or max(bound) <= MAX_NUMBER
    version = Version(*probe)
    if spec.admits(version):
        assert (low is None or low <= version.release) and (high is None or version.release <= high)


@pytest.mark.parametrize("text", [str(MAX_NUMBER + 1) + ".0.0", "1." + "9" * 11, "^" + "9" * 300, "1.0.0-" + "a" * 300])
def test_numbers_past_the_stored_range_and_overlong_specs_are_refused(text: str) -> None:
    with pytest.raises(InvalidVersionError):
        parse_spec(text)
