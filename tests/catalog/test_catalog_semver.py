"""Version specs as users write them: exact pins, ^, ~, comparators, latest, and prereleases only on request."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from generator.semver import InvalidVersionError, Version, best, parse_spec, parse_version

# semver.org's own precedence example, lowest first.
PRECEDENCE = ["1.0.0-alpha", "1.0.0-alpha.1", "1.0.0-alpha.beta", "1.0.0-beta", "1.0.0-beta.2", "1.0.0-beta.11",
              "1.0.0-rc.1", "1.0.0", "1.0.1", "1.1.0", "1.10.0", "2.0.0-0", "2.0.0"]
PUBLISHED = ["0.1.0", "0.1.5", "0.2.0", "0.2.3", "0.2.9", "0.3.0", "1.0.0", "1.2.0", "1.2.3", "1.2.9", "1.3.0",
             "1.9.9", "2.0.0-rc.1", "2.0.0-rc.2", "2.0.0", "2.1.0-beta.1", "2.1.0", "3.0.0-alpha"]


def pick(spec: str, versions: list[str] = PUBLISHED) -> str | None:
    chosen = best(parse_spec(spec), versions, parse_version)
    return chosen


def test_precedence_follows_semver_org() -> None:
    parsed = [parse_version(v) for v in PRECEDENCE]
    assert sorted(reversed(parsed)) == parsed
    assert [str(v) for v in parsed] == PRECEDENCE


@pytest.mark.parametrize(("spec", "expected"), [
    ("latest", "2.1.0"),
    ("", "2.1.0"),
    ("1.2.3", "1.2.3"),
    ("=1.2.3", "1.2.3"),
    ("^1.2", "1.9.9"),
    ("^1.2.3", "1.9.9"),
    ("^0.2.3", "0.2.9"),
    ("^0.2", "0.2.9"),
    ("^0", "0.3.0"),
    ("~1.2.3", "1.2.9"),
    ("~1.2", "1.2.9"),
    ("~1", "1.9.9"),
    (">=1.0,<2", "1.9.9"),
    (">=1.0, <2", "1.9.9"),
    (">= 1.0 < 2", "1.9.9"),
    (">1.2.3 <=1.3", "1.3.0"),
    ("<1", "0.3.0"),
    ("1.2", "1.2.9"),
    ("1", "1.9.9"),
    (">=2", "2.1.0"),
    ("^3", None),
    ("^2.0.0-rc.1", "2.1.0"),
    ("~2.0.0-rc.1", "2.0.0"),
    (">=2.0.0-rc.1,<2.0.0", "2.0.0-rc.2"),
    ("2.0.0-rc.1", "2.0.0-rc.1"),
    ("^3.0.0-alpha", "3.0.0-alpha"),
])
def test_specs_pick_the_highest_admitted_version(spec: str, expected: str | None) -> None:
    assert pick(spec) == expected


def test_prereleases_only_when_the_spec_names_one_of_the_same_release() -> None:
    assert pick(">=2.0.0") == "2.1.0"
    assert pick(">=2.1.0-alpha,<2.1.0") == "2.1.0-beta.1"
    assert pick(">=2.0.0-rc.1,<2.1.0") == "2.0.0"  # 2.1.0-beta.1 is a prerelease of another release
    assert pick("latest", ["1.0.0", "2.0.0-rc.1"]) == "1.0.0"
    assert pick("latest", ["2.0.0-rc.1"]) is None
    assert pick("^2", ["2.0.0-rc.1", "2.1.0-rc.1"]) is None


def test_caret_and_tilde_upper_bounds_exclude_next_prereleases() -> None:
    assert not parse_spec("^1.2.0-rc.1").admits(parse_version("2.0.0-alpha"))
    assert not parse_spec("~1.2.0-rc.1").admits(parse_version("1.3.0-alpha"))
    assert parse_spec("^1.2.0-rc.1").admits(parse_version("1.2.0-rc.2"))


@pytest.mark.parametrize("text", ["1", "1.2", "v1.2.3", "01.2.3", "1.2.3-01", "1.2.3-", "1.2.3.4", "a.b.c", ""])
def test_invalid_versions_say_what_a_valid_one_looks_like(text: str) -> None:
    with pytest.raises(InvalidVersionError) as error:
        parse_version(text)
    assert "1.4.0" in error.value.message or "leading zeros" in error.value.message


def test_a_leading_v_gets_a_hint() -> None:
    with pytest.raises(InvalidVersionError, match="drop the leading 'v'"):
        parse_version("v1.2.3")


@pytest.mark.parametrize("spec", ["^", "~x", ">=1.0,<", "1.2.3.4", "!1.0", "^1.2.3-", ">=a"])
def test_invalid_specs_name_the_bad_part(spec: str) -> None:
    with pytest.raises(InvalidVersionError, match=r"spec|version"):
        parse_spec(spec)


def test_exact_pin_and_ranges_are_told_apart() -> None:
    assert parse_spec("1.2.3").exact == Version(1, 2, 3)
    assert parse_spec("==1.2.3").exact == Version(1, 2, 3)
    assert parse_spec("^1.2.3").exact is None
    assert parse_spec("latest").is_latest


numbers = st.integers(min_value=0, max_value=30)
identifiers = st.one_of(numbers.map(str), st.from_regex(r"[a-z][a-z0-9-]{0,5}", fullmatch=True))
versions = st.builds(
    Version, numbers, numbers, numbers, st.lists(identifiers, max_size=3).map(".".join),
)


@given(versions)
def test_a_version_reads_back_as_itself(version: Version) -> None:
    assert parse_version(str(version)) == version


@given(versions, versions)
def test_precedence_is_consistent_with_semver_rules(a: Version, b: Version) -> None:
    if a.release != b.release:
        assert (a < b) == (a.release < b.release)
    elif a.is_prerelease != b.is_prerelease:
        assert (a < b) == a.is_prerelease  # a prerelease sorts below its release
    assert not (a < b and b < a)


@given(versions, versions)
def test_caret_admits_exactly_the_compatible_releases(base: Version, candidate: Version) -> None:
    base = Version(base.major, base.minor, base.patch)
    admitted = parse_spec(f"^{base}").admits(candidate)
    if base.major:
        compatible = candidate.major == base.major
    elif base.minor:
        compatible = (candidate.major, candidate.minor) == (0, base.minor)
    else:
        compatible = candidate.release == base.release
    expected = compatible and not candidate.is_prerelease and not candidate < base
    assert admitted == expected


@given(st.lists(versions, max_size=30), st.sampled_from(["latest", "^1", "~1.2", ">=0.5,<3", "^0.1"]))
def test_best_is_the_maximum_of_what_the_spec_admits(candidates: list[Version], text: str) -> None:
    spec = parse_spec(text)
    admitted = [v for v in candidates if spec.admits(v) and not (spec.is_latest and v.is_prerelease)]
    chosen = best(spec, candidates, lambda v: v)
    assert chosen == (max(admitted, key=lambda v: v.key) if admitted else None)
