"""How Argo reads the numbers and durations a manifest holds, in one place so that lint, harden and simulate agree.

IntOrString fields (Kubernetes ``intstr.IntOrString``: a template's ``activeDeadlineSeconds``,
``retryStrategy.limit``, ``backoff.factor``, a containerSet's ``retries``, ``withSequence``'s numbers) arrive as
a YAML integer or a string. Argo reads the string with Go's ``strconv.Atoi``: an optional sign and ASCII
digits, nothing else, so ``"+3"`` is 3 while ``" 3"``, ``"3.5"`` and ``"1e3"`` are no number and fail the node.

Durations (``backoff.duration``, ``cap`` and ``maxDuration``, a template's ``timeout``, ``suspend.duration``) go
through ``wfv1.ParseStringToDuration``: a bare integer is seconds, anything else is Go's ``time.ParseDuration``
(``"1m30s"``, ``"500ms"``, ``"1.5h"``, ``"-5s"``), which has no day unit and no bare decimal (``"1.5"``).
The facts and their sources are in docs/argo-semantics.md.
"""

from __future__ import annotations

import re

#: IntOrString fields of a template (or spec.templateDefaults) that Argo converts to a number at run time.
INT_OR_STRING_FIELDS: tuple[tuple[str, ...], ...] = (
    ("retryStrategy", "limit"), ("retryStrategy", "backoff", "factor"), ("activeDeadlineSeconds",))

_ATOI = re.compile(r"[+-]?([0-9]+)")
_INT32 = 2**31
_INT64 = 2**63
_NANOSECONDS = {"ns": 1, "us": 10**3, "\u00b5s": 10**3, "\u03bcs": 10**3, "ms": 10**6, "s": 10**9,
                "m": 60 * 10**9, "h": 3600 * 10**9}
_COMPONENT = re.compile(r"([0-9]*)(?:\.([0-9]*))?([^0-9.]*)")


def atoi(text: str) -> int | None:
    """Go's ``strconv.Atoi``: a sign and ASCII digits within int64, else None (no blanks, no decimals)."""
    match = _ATOI.fullmatch(text)
    digits = match.group(1).lstrip("0") if match else ""
    if match is None or len(digits) > 19:  # longer is out of int64 range; Python's int() never sees it
        return None
    number = -int(digits or "0") if text[0] == "-" else int(digits or "0")
    return number if -_INT64 <= number < _INT64 else None


def int_or_string(value: object) -> int | None:
    """The number Argo's ``util/intstr.Int`` reads from an IntOrString value, or None where it fails.

    A YAML integer must fit the int32 that holds it (a whole float such as ``3.0`` reaches Argo as the JSON
    number 3); a string must be what ``strconv.Atoi`` accepts. Any other float, a boolean or anything else fails
    to unmarshal into an IntOrString."""
    if isinstance(value, bool):
        return None
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, int):
        return value if -_INT32 <= value < _INT32 else None
    return atoi(value) if isinstance(value, str) else None


def int32_of(value: object) -> int | None:
    """``util/intstr.Int32`` (``retryStrategy.limit``, ``backoff.factor``): the number wrapped to int32 as Go's
    conversion does, so ``"4294967299"`` reads as 3."""
    number = int_or_string(value)
    return None if number is None else (number + _INT32) % (2 * _INT32) - _INT32


def go_duration_nanoseconds(text: str) -> int | None:
    """Go's ``time.ParseDuration`` in nanoseconds, or None where Go returns an error."""
    sign, rest = (-1 if text[:1] == "-" else 1), (text[1:] if text[:1] in "+-" else text)
    if rest == "0":
        return 0
    if not rest:
        return None
    total = 0
    while rest:
        component = _component(rest)
        if component is None:
            return None
        nanoseconds, rest = component
        total += nanoseconds
        if total > _INT64:
            return None
    if sign > 0 and total == _INT64:
        return None  # only the negative range reaches 2**63
    return sign * total


def _component(text: str) -> tuple[int, str] | None:
    """One ``[digits][.digits]unit`` of a Go duration and what follows it."""
    match = _COMPONENT.match(text)
    if match is None or not (match.group(1) or match.group(2)) or match.group(3) not in _NANOSECONDS:
        return None  # no digit on either side of the point, a missing or an unknown unit
    unit, digits = _NANOSECONDS[match.group(3)], match.group(1).lstrip("0")
    whole = int(digits or "0") if len(digits) <= 19 else _INT64
    if whole > _INT64 // unit:
        return None  # past int64 nanoseconds: Go reports an overflow
    nanoseconds = whole * unit + _fraction(match.group(2) or "", unit)
    return (nanoseconds, text[match.end():]) if nanoseconds <= _INT64 else None


def _fraction(digits: str, unit: int) -> int:
    """Go's ``leadingFraction`` and its float scaling: digits past int64 precision are dropped, the rest
    truncated to whole nanoseconds."""
    value, scale = 0, 1
    for digit in digits:
        if value > (_INT64 - 1) // 10 or value * 10 + int(digit) > _INT64:
            break
        value, scale = value * 10 + int(digit), scale * 10
    return int(float(value) * (float(unit) / scale)) if value else 0


def duration_seconds(value: str | int | None) -> float | None:
    """Seconds of an Argo duration (``wfv1.ParseStringToDuration``): a bare integer is seconds, else Go's
    ``time.ParseDuration``; None when absent or when Argo fails to parse it. May be negative, as in Argo."""
    if value is None or isinstance(value, bool):
        return None
    text = str(value)
    seconds = atoi(text)
    if seconds is not None:
        return float(seconds)
    nanoseconds = go_duration_nanoseconds(text)
    return None if nanoseconds is None else nanoseconds / 1e9
