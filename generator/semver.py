"""Semantic versions (semver 2.0.0) and the version specs the catalog resolves.

A spec is ``latest``, an exact version (``1.2.3``), or a range: ``^1.2`` (>=1.2.0,<2.0.0), ``~1.2.3``
(>=1.2.3,<1.3.0), or comparators joined by commas or spaces (``>=1.0,<2``). Caret and tilde follow npm,
including on 0.x (``^0.2.3`` is >=0.2.3,<0.3.0). Partial versions fill with zeros (``>=1`` is >=1.0.0).

Prereleases are left out unless asked for, as npm does: a range admits a prerelease only when one of its
comparators names a prerelease of the same major.minor.patch (``>=2.0.0-rc.1`` admits ``2.0.0-rc.2``
but not ``2.1.0-beta``); an exact pin admits exactly its version. ``latest`` never picks a prerelease.

Pure Python and imports nothing heavy: ``pipeforge new NAME@SPEC`` checks local templates with it.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import TypeVar

from generator.errors import PipeforgeError

_NUM = r"0|[1-9]\d*"
_IDENT = r"[0-9A-Za-z-]+"
_VERSION = re.compile(
    rf"^(?P<major>{_NUM})\.(?P<minor>{_NUM})\.(?P<patch>{_NUM})"
    rf"(?:-(?P<pre>{_IDENT}(?:\.{_IDENT})*))?(?:\+(?P<build>{_IDENT}(?:\.{_IDENT})*))?$"
)
_PARTIAL = re.compile(rf"^(?P<major>{_NUM})(?:\.(?P<minor>{_NUM})(?:\.(?P<patch>{_NUM})(?:-(?P<pre>\S+))?)?)?$")
_COMPARATOR = re.compile(r"^(?P<op>\^|~|>=|<=|>|<|==|=)?\s*v?(?P<version>\S+)$")

PreKey = tuple[tuple[int, int | str], ...]

#: The largest MAJOR, MINOR or PATCH the catalog stores: its columns are SQL INTEGER (32-bit in PostgreSQL).
MAX_NUMBER = 2**31 - 1
#: The longest version or spec text read (npm's limit too): past it nothing is parsed.
MAX_TEXT = 256


class InvalidVersionError(PipeforgeError):
    """A version or version spec that does not parse."""


@dataclass(frozen=True, order=False)
class Version:
    """A semver 2.0.0 version; ordering is semver precedence (build metadata is not part of it)."""

    major: int
    minor: int
    patch: int
    prerelease: str = ""
    build: str = ""

    @property
    def is_prerelease(self) -> bool:
        return bool(self.prerelease)

    @property
    def release(self) -> tuple[int, int, int]:
        return (self.major, self.minor, self.patch)

    @property
    def key(self) -> tuple[int, int, int, int, PreKey]:
        """Sort key: a release sorts above its prereleases; identifiers compare as semver says."""
        return (*self.release, 0 if self.prerelease else 1, prerelease_key(self.prerelease))

    def __lt__(self, other: Version) -> bool:
        return self.key < other.key

    def __le__(self, other: Version) -> bool:
        return self.key <= other.key

    def __str__(self) -> str:
        text = f"{self.major}.{self.minor}.{self.patch}"
        text += f"-{self.prerelease}" if self.prerelease else ""
        return text + (f"+{self.build}" if self.build else "")


def prerelease_key(prerelease: str) -> PreKey:
    """Numeric identifiers compare as numbers and below alphanumeric ones; a shorter list sorts first."""
    if not prerelease:
        return ()
    return tuple((0, int(part)) if part.isdigit() else (1, part) for part in prerelease.split("."))


def _number(digits: str, text: str) -> int:
    """A version number, refused above ``MAX_NUMBER`` (before a database is asked, which would fail)."""
    if len(digits) > len(str(MAX_NUMBER)) or int(digits) > MAX_NUMBER:
        shown = digits if len(digits) <= 20 else digits[:20] + "..."
        raise InvalidVersionError(f"'{_shown(text)}': {shown} is above {MAX_NUMBER}, the largest version number "
                                  "the catalog stores")
    return int(digits)


def _shown(text: str) -> str:
    return text if len(text) <= 60 else text[:60] + "..."


def _short(text: str) -> str:
    if len(text) > MAX_TEXT:
        raise InvalidVersionError(f"'{_shown(text)}' is {len(text)} characters long; a version or spec has at most "
                                  f"{MAX_TEXT}")
    return text


def parse_version(text: str) -> Version:
    """A full semver version, or an InvalidVersionError saying what a valid one looks like."""
    match = _VERSION.match(_short(text).strip())
    if not match:
        hint = " (drop the leading 'v')" if text.strip()[:1] in "vV" else ""
        raise InvalidVersionError(
            f"'{text}' is not a semantic version{hint}: expected MAJOR.MINOR.PATCH with an optional "
            "-prerelease, e.g. 1.4.0 or 2.0.0-rc.1 (numbers without leading zeros)"
        )
    pre = match["pre"] or ""
    if any(part.isdigit() and len(part) > 1 and part[0] == "0" for part in pre.split(".")):
        raise InvalidVersionError(f"'{text}': numeric prerelease identifiers must not have leading zeros")
    return Version(_number(match["major"], text), _number(match["minor"], text), _number(match["patch"], text), pre,
                   match["build"] or "")


@dataclass(frozen=True)
class Comparator:
    op: str  # one of >=, >, <=, <, ==
    version: Version

    def admits(self, version: Version) -> bool:
        a, b = version.key, self.version.key
        return {">=": a >= b, ">": a > b, "<=": a <= b, "<": a < b, "==": a == b}[self.op]

    def __str__(self) -> str:
        return f"{self.op}{self.version}"


@dataclass(frozen=True)
class Spec:
    """A parsed version spec: the comparators a version must all satisfy (none for ``latest``)."""

    text: str
    comparators: tuple[Comparator, ...]
    exact: Version | None = None

    @property
    def is_latest(self) -> bool:
        return not self.comparators

    def admits(self, version: Version) -> bool:
        """Whether the spec matches ``version``, prerelease rule included (yanking is the caller's)."""
        if self.exact is not None:
            return version.key == self.exact.key
        if version.is_prerelease and not any(
            c.version.is_prerelease and c.version.release == version.release for c in self.comparators
        ):
            return False
        return all(c.admits(version) for c in self.comparators)

    def bounds(self) -> tuple[tuple[int, int, int] | None, tuple[int, int, int] | None]:
        """Inclusive (major, minor, patch) bounds that every admitted version lies within (for SQL), each
        number at most ``MAX_NUMBER`` (``^2147483647`` ends at 2147483648.0.0, which no column holds)."""
        lows = [_storable(c.version.release) for c in self.comparators if c.op in (">=", ">", "==")]
        highs = [_storable(c.version.release) for c in self.comparators if c.op in ("<=", "<", "==")]
        return (max(lows) if lows else None, min(highs) if highs else None)

    def __str__(self) -> str:
        return self.text


def _storable(release: tuple[int, int, int]) -> tuple[int, int, int]:
    """``release``, or the highest storable triple below it when a number is above ``MAX_NUMBER``: no
    stored version lies between the two, so a bound moved there admits the same stored versions."""
    for index, number in enumerate(release):
        if number > MAX_NUMBER:
            rounded = (*release[:index], *(MAX_NUMBER,) * (3 - index))
            return (rounded[0], rounded[1], rounded[2])
    return release


def _partial(text: str, spec: str) -> tuple[Version, int]:
    """A possibly partial version (``1``, ``1.2``, ``1.2.3-rc.1``) and how many numbers it gave."""
    match = _PARTIAL.match(text)
    if not match:
        raise InvalidVersionError(f"'{spec}' is not a version spec: '{text}' is not a version")
    given = sum(1 for part in ("major", "minor", "patch") if match[part] is not None)
    if match["pre"] is not None:
        return parse_version(text), 3
    return Version(_number(match["major"], spec), _number(match["minor"] or "0", spec),
                   _number(match["patch"] or "0", spec)), given


def _caret(low: Version, given: int) -> Version:
    if low.major or given == 1:
        return Version(low.major + 1, 0, 0, "0")
    if low.minor or given == 2:
        return Version(0, low.minor + 1, 0, "0")
    return Version(0, 0, low.patch + 1, "0")


def _tilde(low: Version, given: int) -> Version:
    return Version(low.major + 1, 0, 0, "0") if given == 1 else Version(low.major, low.minor + 1, 0, "0")


def _expand(op: str, version: Version, given: int) -> list[Comparator]:
    # Upper bounds are "<X.Y.Z-0", the lowest prerelease of X.Y.Z, so no prerelease of the next
    # release slips in; prereleases are admitted by Spec.admits' own rule.
    if op == "^":
        return [Comparator(">=", version), Comparator("<", _caret(version, given))]
    if op == "~":
        return [Comparator(">=", version), Comparator("<", _tilde(version, given))]
    if op in ("=", "==") and given < 3:
        return _expand("~", version, given) if given == 2 else _expand("^", version, 1)
    if op in ("<=", ">") and given < 3:  # <=1.2 means <1.3.0-0; >1.2 means >=1.3.0
        upper = _tilde(version, given) if given == 2 else Version(version.major + 1, 0, 0, "0")
        return [Comparator("<" if op == "<=" else ">=", upper)]
    return [Comparator("==" if op in ("=", "==") else op, version)]


def parse_spec(text: str) -> Spec:
    """Parse ``latest``, an exact version or a range; an InvalidVersionError names the bad part."""
    stripped = _short(text).strip()
    if stripped in ("", "latest", "*"):
        return Spec("latest", ())
    if _VERSION.match(stripped):
        exact = parse_version(stripped)
        return Spec(stripped, (Comparator("==", exact),), exact)
    parts = [p for p in re.split(r"[,\s]+", re.sub(r"(>=|<=|==|[<>=^~])\s+", r"\1", stripped)) if p]
    comparators: list[Comparator] = []
    for part in parts:
        match = _COMPARATOR.match(part)
        if not match:
            raise InvalidVersionError(f"'{text}' is not a version spec: cannot read '{part}'")
        version, given = _partial(match["version"], text)
        comparators.extend(_expand(match["op"] or "=", version, given))
    if len(comparators) == 1 and comparators[0].op == "==":
        return Spec(stripped, tuple(comparators), comparators[0].version)
    return Spec(stripped, tuple(comparators))


T = TypeVar("T")


def best(spec: Spec, candidates: Iterable[T], version_of: Callable[[T], Version]) -> T | None:
    """The highest candidate the spec admits, or None."""
    chosen: T | None = None
    chosen_key = None
    for candidate in candidates:
        version = version_of(candidate)
        if (spec.is_latest and version.is_prerelease) or not spec.admits(version):
            continue
        if chosen_key is None or version.key > chosen_key:
            chosen, chosen_key = candidate, version.key
    return chosen
