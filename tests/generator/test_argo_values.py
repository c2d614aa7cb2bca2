"""Argo's reading of IntOrString numbers and durations (docs/argo-semantics.md), shared by lint, harden and simulate."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from generator.argo_values import atoi, duration_seconds, go_duration_nanoseconds, int32_of, int_or_string

SECOND = 10**9

#: time.ParseDuration's documentation ("300ms", "-1.5h", "2h45m", units ns us µs ms s m h), Duration.String's
#: ("72h3m0.5s") and the package examples ("1h10m10s", "1µs", "1us"), with Go's answers in nanoseconds.
GO_DURATIONS = [
    ("300ms", 300 * 10**6), ("-1.5h", -5400 * SECOND), ("2h45m", 9900 * SECOND),
    ("72h3m0.5s", 259380 * SECOND + 5 * 10**8),
    ("10h", 36000 * SECOND), ("1h10m10s", 4210 * SECOND), ("1µs", 1000), ("1us", 1000), ("1μs", 1000), ("1ns", 1),
    ("0", 0), ("+5s", 5 * SECOND), ("-0", 0), ("5.s", 5 * SECOND), (".5s", SECOND // 2), ("1.004s", 1_004_000_000),
    ("10.5s4m", 250_500_000_000), ("9223372036854775807ns", 2**63 - 1), ("-9223372036854775808ns", -(2**63)),
    ("0.3333333333333333333h", 1200 * SECOND),
]
#: Strings Go's time.ParseDuration refuses: empty, no unit, a day unit, blanks, a lone point, an overflow.
NOT_GO_DURATIONS = ["", "3", "1.5", "-", "s", ".", "-.", ".s", "+.s", "1d", " 1s", "1s ", "1 s", "1S",
                    "9223372036854775808ns", "3000000h", "1" + "0" * 5000 + "s"]


@pytest.mark.parametrize(("text", "nanoseconds"), GO_DURATIONS)
def test_go_durations_read_as_go_reads_them(text: str, nanoseconds: int) -> None:
    assert go_duration_nanoseconds(text) == nanoseconds


@pytest.mark.parametrize("text", NOT_GO_DURATIONS)
def test_text_go_refuses_is_no_duration(text: str) -> None:
    assert go_duration_nanoseconds(text) is None


@pytest.mark.parametrize(("value", "seconds"), [("20", 20.0), (20, 20.0), ("-5", -5.0), ("+5", 5.0), ("1m30s", 90.0),
                                                ("500ms", 0.5), ("1.5h", 5400.0), ("-5s", -5.0)])
def test_an_argo_duration_is_a_bare_integer_of_seconds_else_a_go_duration(value: str | int, seconds: float) -> None:
    assert duration_seconds(value) == seconds


@pytest.mark.parametrize("value", [None, True, "1.5", "1d", " 20", "20 ", "twenty", "1e3"])
def test_argo_cannot_read_these_durations(value: str | int | None) -> None:
    assert duration_seconds(value) is None


def _go_string(nanoseconds: int) -> str:
    """Go's Duration.String for whole-nanosecond durations of at least a second: ``72h3m0.5s``."""
    sign, rest = ("-" if nanoseconds < 0 else ""), abs(nanoseconds)
    hours, rest = divmod(rest, 3600 * SECOND)
    minutes, rest = divmod(rest, 60 * SECOND)
    whole, fraction = divmod(rest, SECOND)
    seconds = f"{whole}.{fraction:09d}".rstrip("0").rstrip(".")
    if hours:
        return f"{sign}{hours}h{minutes}m{seconds}s"
    return f"{sign}{minutes}m{seconds}s" if minutes else f"{sign}{seconds}s"


@given(st.integers(min_value=SECOND, max_value=2**63 - 1) | st.integers(min_value=-(2**63) + 1, max_value=-SECOND))
def test_what_go_writes_for_a_duration_reads_back_to_it(nanoseconds: int) -> None:
    assert go_duration_nanoseconds(_go_string(nanoseconds)) == nanoseconds


@given(st.integers(min_value=0, max_value=10**6), st.integers(min_value=0, max_value=59),
       st.integers(min_value=0, max_value=59), st.integers(min_value=0, max_value=999))
def test_a_duration_is_the_sum_of_its_parts(hours: int, minutes: int, seconds: int, milliseconds: int) -> None:
    text = f"{hours}h{minutes}m{seconds}s{milliseconds}ms"
    assert duration_seconds(text) == (((hours * 60 + minutes) * 60 + seconds) * 1000 + milliseconds) * 10**6 / 1e9


@given(st.integers(min_value=-(2**31), max_value=2**31 - 1))
def test_an_int_and_its_string_forms_are_the_same_number(number: int) -> None:
    forms = [number, str(number), ("+" if number >= 0 else "") + str(number), str(number).replace("-", "-000", 1)]
    assert {int_or_string(form) for form in forms} == {number}
    assert int32_of(str(number)) == number
    assert duration_seconds(number) == duration_seconds(str(number)) == float(number)


@pytest.mark.parametrize("value", [" 3", "3 ", "3.5", "1e3", "0x10", "3_000", "three", "", "+", "٣", True, 3.5, [3],
                                   2**31, "9" * 20])
def test_strconv_atoi_refuses_these_intorstring_values(value: object) -> None:
    assert int_or_string(value) is None


def test_an_integral_yaml_float_reaches_argo_as_an_integer() -> None:
    assert int_or_string(3.0) == 3


def test_int32_wraps_as_go_converts_an_int() -> None:
    assert int32_of("4294967299") == 3 and int32_of(str(2**31)) == -(2**31)


def test_atoi_stays_within_int64_and_reads_leading_zeros() -> None:
    assert atoi(str(2**63 - 1)) == 2**63 - 1 and atoi(str(2**63)) is None and atoi("0" * 5000 + "7") == 7
