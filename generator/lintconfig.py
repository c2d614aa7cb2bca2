"""Lint configuration: ``[tool.pipeforge.lint]`` in ``pyproject.toml`` or ``[lint]`` in ``.pipeforge.toml``.

The semantics are ruff's, so a team that already configures ruff has nothing new to learn:

- The nearest configuration file upwards from a file's folder applies to that file; in one folder
  ``.pipeforge.toml`` wins over ``pyproject.toml``, and a ``pyproject.toml`` without a
  ``[tool.pipeforge.lint]`` table is not a configuration file.
- Rule selectors are a code (``PF205``), a name (``no-retry``), a code prefix (``PF2``) or ``ALL``. Each
  layer (the file, then the command line) is applied in order: ``select`` replaces what the layers before
  chose, ``extend-select`` adds, ``ignore`` removes; inside one layer a more specific selector beats a
  less specific one, and at equal specificity ``ignore`` beats ``select``.
- Globs (``exclude``, ``per-file-ignores``) are gitignore-style (``pathspec``), relative to the folder of
  the configuration file that holds them: a pattern without ``/`` matches a file or folder name at any
  depth, one with ``/`` is anchored to that folder, ``**`` spans folders.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import pathspec  # lazy:

from generator.errors import UsageError
from generator.rules import RULES, RULES_BY_NAME
from generator.severity import SEVERITIES, Severity

PYPROJECT, DOTFILE = "pyproject.toml", ".pipeforge.toml"
DEFAULT_EXCLUDE = (".git", ".hg", ".svn", "node_modules", ".venv", "venv", "__pycache__", ".tox")
DEFAULT_DEADLINE_SECONDS = 3600
SELECTOR_FORMS = "a rule code (PF205), a rule name (no-retry), a code prefix (PF2) or ALL"
_RULE_SPECIFICITY = 5
_KUBERNETES_VERSION = re.compile(r"v?(\d+)\.(\d+)(?:\.\d+)?")


def absolute_path(path: Path | str) -> Path:
    """Absolute and without ``..``, symbolic links kept: globs match the path as the user wrote it (ruff)."""
    return Path(os.path.normpath(Path(path).absolute()))


class ConfigError(UsageError):
    """A configuration file cannot be used; exit 2, naming the file, the key and what is valid."""


@dataclass(frozen=True)
class Selector:
    """One resolved rule selector: the text as written, how specific it is, and the codes it means."""

    text: str
    specificity: int
    codes: frozenset[str]


@cache
def parse_selector(text: str) -> Selector | None:
    """``PF205``, ``no-retry``, ``PF2`` or ``ALL``; ``None`` when it names no rule."""
    key = text.strip()
    if key.upper() == "ALL":
        return Selector(key, 0, frozenset(RULES))
    rule = RULES_BY_NAME.get(key.lower())
    if rule is not None:
        return Selector(key, _RULE_SPECIFICITY, frozenset({rule.code}))
    prefix = key.upper()
    codes = frozenset(code for code in RULES if code.startswith(prefix))
    if not prefix or not codes or not prefix.startswith("PF"):
        return None
    return Selector(key, _RULE_SPECIFICITY if prefix in RULES else len(prefix) - 1, codes)


def selectors(texts: Iterable[str], *, where: str) -> tuple[Selector, ...]:
    """Every selector of ``texts``; an unknown one raises :class:`ConfigError` naming ``where``."""
    found, bad = [], []
    for text in texts:
        selector = parse_selector(text)
        if selector is None:
            bad.append(text)
        else:
            found.append(selector)
    if bad:
        raise ConfigError(f"{where}: {', '.join(repr(b) for b in bad)} "
                          f"{'is not a rule' if len(bad) == 1 else 'are not rules'}; use {SELECTOR_FORMS} "
                          "(see 'pipeforge lint --list-rules')")
    return tuple(found)


@dataclass(frozen=True)
class RuleSelection:
    """One layer of rule choice (a configuration file, or the command line)."""

    select: tuple[Selector, ...] | None = None
    extend_select: tuple[Selector, ...] = ()
    ignore: tuple[Selector, ...] = ()


def resolve_rules(layers: Sequence[RuleSelection], default: Iterable[str] = RULES) -> frozenset[str]:
    """The rules enabled after applying ``layers`` in order, as ruff resolves select/extend-select/ignore."""
    enabled = set(default)
    for layer in layers:
        updates: dict[str, bool] = {}
        for level in range(_RULE_SPECIFICITY + 1):
            for selector in (*(layer.select or ()), *layer.extend_select):
                if selector.specificity == level:
                    updates.update(dict.fromkeys(selector.codes, True))
            for selector in layer.ignore:
                if selector.specificity == level:
                    updates.update(dict.fromkeys(selector.codes, False))
        if layer.select is not None:
            enabled = set()
        enabled |= {code for code, on in updates.items() if on}
        enabled -= {code for code, on in updates.items() if not on}
    return frozenset(enabled)


@dataclass(frozen=True)
class PatternSet:
    """Gitignore-style globs relative to ``root`` (the folder of the file that holds them)."""

    root: Path
    patterns: tuple[str, ...]

    def matches(self, path: Path, *, is_dir: bool = False) -> bool:
        if not self.patterns:
            return False
        rel = relative_posix(path, self.root)
        if rel in ("", "."):
            return False
        names = bare_names(self.patterns)
        if names is not None:
            return not names.isdisjoint(rel.split("/"))
        return _compiled(self.patterns).match_file(rel + "/" if is_dir else rel)


def relative_posix(path: Path, root: Path) -> str:
    """``path`` (absolute, without ``..``) relative to ``root`` as POSIX text; outside ``root``, the absolute
    path without its leading slash (only unanchored patterns can match there)."""
    if os.sep != "/":  # pathlib's way where separators differ: the text slicing below is exact on POSIX only
        absolute = absolute_path(path)
        try:
            return absolute.relative_to(root).as_posix()
        except ValueError:
            return absolute.as_posix().lstrip("/")
    # text rather than pathlib: a folder walk asks this of every entry, and pathlib's parsing was most of it
    text = os.path.normpath(os.path.join(os.getcwd(), path))  # noqa: PTH109, PTH118 - the point is no pathlib
    base = str(root)
    if text == base:
        return "."
    prefix = base if base.endswith("/") else base + "/"
    return text[len(prefix):] if text.startswith(prefix) else text.lstrip("/")


_GLOB_SYNTAX = frozenset("*?[]\\!#/")


@cache
def bare_names(patterns: tuple[str, ...]) -> frozenset[str] | None:
    """The names, when every pattern is a bare name (the default exclude); else None.

    A bare gitignore name matches that name as any component of the path, and everything under it; saying
    so here spares every lint run that keeps the default exclude the import of pathspec (a tenth of the
    start-up). Anything else, a glob, a slash, a negation, an escape, a comment, goes to pathspec.
    """
    if any(p in ("", ".", "..") or p != p.strip() or _GLOB_SYNTAX.intersection(p) for p in patterns):
        return None
    return frozenset(patterns)


@cache
def _compiled(patterns: tuple[str, ...]) -> pathspec.GitIgnoreSpec:
    import pathspec  # lazy: keeps lint start-up fast: only a configuration with globs needs it

    return pathspec.GitIgnoreSpec.from_lines(patterns)


@dataclass(frozen=True)
class PerFileIgnore:
    pattern: str
    negated: bool
    match: PatternSet
    rules: tuple[Selector, ...]

    def applies_to(self, path: Path) -> bool:
        return self.match.matches(path) != self.negated


@dataclass(frozen=True)
class LintConfig:
    """The settings one file is linted with: from its configuration file (or the defaults).

    Other commands read it through :func:`load_config`: ``rules_for(path)`` is the rule choice (select,
    ignore, per-file-ignores) and ``default_deadline_seconds`` the deadline a fix should write.
    """

    path: Path | None = None
    root: Path = field(default_factory=Path.cwd)
    select: tuple[Selector, ...] | None = None
    extend_select: tuple[Selector, ...] = ()
    ignore: tuple[Selector, ...] = ()
    per_file_ignores: tuple[PerFileIgnore, ...] = ()
    exclude: tuple[str, ...] = DEFAULT_EXCLUDE
    extend_exclude: tuple[str, ...] = ()
    force_exclude: bool = False
    severity: Mapping[str, Severity] = field(default_factory=dict)
    default_deadline_seconds: int = DEFAULT_DEADLINE_SECONDS
    kubernetes_version: str | None = None
    command_line: RuleSelection = RuleSelection()
    command_line_exclude: PatternSet | None = None
    command_line_extend_exclude: PatternSet | None = None

    @property
    def selection(self) -> RuleSelection:
        return RuleSelection(self.select, self.extend_select, self.ignore)

    def enabled_rules(self) -> frozenset[str]:
        """The rules on before per-file-ignores: the file's layer, then the command line's."""
        return resolve_rules([self.selection, self.command_line])

    def rules_for(self, path: Path) -> frozenset[str]:
        """The rules that apply to ``path``: :meth:`enabled_rules` less its per-file-ignores."""
        ignored = {code for entry in self.per_file_ignores if entry.applies_to(path)
                   for selector in entry.rules for code in selector.codes}
        return self.enabled_rules() - ignored

    def is_excluded(self, path: Path, *, is_dir: bool = False) -> bool:
        """``--exclude`` (or the file's ``exclude``), the file's ``extend-exclude``, ``--extend-exclude``."""
        sets = (self.command_line_exclude or PatternSet(self.root, self.exclude),
                PatternSet(self.root, self.extend_exclude), self.command_line_extend_exclude)
        return any(s is not None and s.matches(path, is_dir=is_dir) for s in sets)

    def with_command_line(self, selection: RuleSelection, *, exclude: PatternSet | None = None,
                          extend_exclude: PatternSet | None = None, force_exclude: bool | None = None
                          ) -> LintConfig:
        """These settings under the command line's options (the last layer, as in ruff)."""
        return replace(
            self, command_line=selection, command_line_exclude=exclude, command_line_extend_exclude=extend_exclude,
            force_exclude=self.force_exclude if force_exclude is None else force_exclude,
        )


# ---------------------------------------------------------------- discovery


def find_config_file(start: Path, *, known: dict[Path, Path | None] | None = None) -> Path | None:
    """The nearest configuration file in ``start`` (a folder, or a file's folder) or its parents.

    ``known`` remembers folders already looked at (one lint run walks the same parents many times).
    """
    folder = absolute_path(start)
    if not folder.is_dir():
        folder = folder.parent
    seen = {} if known is None else known
    for candidate in (folder, *folder.parents):
        if candidate not in seen:
            seen[candidate] = _config_in(candidate)
        if seen[candidate] is not None:
            return seen[candidate]
    return None


def _config_in(folder: Path) -> Path | None:
    dotfile = folder / DOTFILE
    if dotfile.is_file():
        return dotfile
    pyproject = folder / PYPROJECT
    if pyproject.is_file() and _pyproject_table(pyproject) is not None:
        return pyproject
    return None


def load_config(start: Path) -> LintConfig:
    """The settings for files under ``start``: the nearest configuration file's, or the defaults."""
    path = find_config_file(start)
    return read_config(path) if path is not None else LintConfig()


def read_config(path: Path) -> LintConfig:
    """One configuration file (``--config``); every problem in it is reported, not just the first."""
    path = absolute_path(path)
    if path.name == PYPROJECT:
        table, where = _pyproject_table(path), "[tool.pipeforge.lint]"
        if table is None:
            raise ConfigError(f"{path}: no [tool.pipeforge.lint] table")
    else:
        data = _read_toml(path)
        unknown = sorted(set(data) - {"lint"})
        if unknown:
            raise ConfigError(f"{path}: unknown table or key {', '.join(unknown)}; "
                              "a .pipeforge.toml holds only a [lint] table")
        table, where = data.get("lint", {}), "[lint]"
        if not isinstance(table, dict):
            raise ConfigError(f"{path}: 'lint' must be a table ([lint])")
    return _ConfigReader(path, where).read(table)


def _read_toml(path: Path) -> dict[str, Any]:
    import tomllib  # lazy: keeps lint start-up fast: most runs find no configuration file

    try:
        with path.open("rb") as stream:
            return tomllib.load(stream)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}") from None
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read: {exc.strerror}") from None


def _pyproject_table(path: Path) -> dict[str, Any] | None:
    tool = _read_toml(path).get("tool", {})
    pipeforge = tool.get("pipeforge", {}) if isinstance(tool, dict) else {}
    table = pipeforge.get("lint") if isinstance(pipeforge, dict) else None
    if table is not None and not isinstance(table, dict):
        raise ConfigError(f"{path}: tool.pipeforge.lint must be a table ([tool.pipeforge.lint])")
    return table


class _ConfigReader:
    """Reads one lint table, collecting every problem (key, what was found, what is valid)."""

    KEYS = ("select", "extend-select", "ignore", "per-file-ignores", "exclude", "extend-exclude",
            "force-exclude", "severity", "default-deadline-seconds", "kubernetes-version")

    def __init__(self, path: Path, where: str) -> None:
        self.path, self.where = path, where
        self.problems: list[str] = []

    def problem(self, key: str, text: str) -> None:
        self.problems.append(f"{self.where} {key}: {text}")

    def read(self, table: Mapping[str, Any]) -> LintConfig:
        for key in sorted(set(table) - set(self.KEYS)):
            import difflib  # lazy: keeps lint start-up fast: only a misspelt key needs it

            close = difflib.get_close_matches(key.replace("_", "-"), self.KEYS, n=1)
            hint = f"did you mean '{close[0]}'? " if close else ""
            self.problem(key, f"unknown key; {hint}valid keys: {', '.join(self.KEYS)}")
        root = self.path.parent
        config = LintConfig(
            path=self.path, root=root,
            select=self.rules(table, "select") if "select" in table else None,
            extend_select=self.rules(table, "extend-select"), ignore=self.rules(table, "ignore"),
            per_file_ignores=self.per_file_ignores(table.get("per-file-ignores", {}), root),
            exclude=tuple(self.strings(table, "exclude", list(DEFAULT_EXCLUDE))),
            extend_exclude=tuple(self.strings(table, "extend-exclude", [])),
            force_exclude=self.boolean(table, "force-exclude"),
            severity=self.severity(table.get("severity", {})),
            default_deadline_seconds=self.deadline(table.get("default-deadline-seconds", DEFAULT_DEADLINE_SECONDS)),
            kubernetes_version=self.kubernetes_version(table.get("kubernetes-version")),
        )
        if self.problems:
            noun = "problem" if len(self.problems) == 1 else "problems"
            lines = "\n".join(f"  - {p}" for p in self.problems)
            raise ConfigError(f"{self.path}: {len(self.problems)} configuration {noun}:\n{lines}")
        return config

    def strings(self, table: Mapping[str, Any], key: str, default: list[str]) -> list[str]:
        value = table.get(key, default)
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            self.problem(key, f"expected a list of strings, got {_shown(value)}")
            return []
        return value

    def rules(self, table: Mapping[str, Any], key: str) -> tuple[Selector, ...]:
        return self.selectors(self.strings(table, key, []), key)

    def selectors(self, texts: Sequence[str], key: str) -> tuple[Selector, ...]:
        try:
            return selectors(texts, where=f"{self.where} {key}")
        except ConfigError as exc:
            self.problems.append(exc.message)
            return ()

    def boolean(self, table: Mapping[str, Any], key: str) -> bool:
        value = table.get(key, False)
        if not isinstance(value, bool):
            self.problem(key, f"expected true or false, got {_shown(value)}")
            return False
        return value

    def per_file_ignores(self, value: Any, root: Path) -> tuple[PerFileIgnore, ...]:
        if not isinstance(value, dict):
            self.problem("per-file-ignores", f"expected a table of GLOB = [RULE, ...], got {_shown(value)}")
            return ()
        entries = []
        for pattern, rules in value.items():
            if not isinstance(rules, list) or not all(isinstance(r, str) for r in rules):
                self.problem(f"per-file-ignores.{pattern!r}", f"expected a list of rules, got {_shown(rules)}")
                continue
            negated = pattern.startswith("!")
            glob = pattern[1:] if negated else pattern
            selected = self.selectors(rules, f"per-file-ignores.{pattern!r}")
            entries.append(PerFileIgnore(pattern, negated, PatternSet(root, (glob,)), selected))
        return tuple(entries)

    def severity(self, value: Any) -> dict[str, Severity]:
        if not isinstance(value, dict):
            self.problem("severity", f"expected a table of RULE = \"error\"|\"warning\"|\"info\", got {_shown(value)}")
            return {}
        by_specificity: list[tuple[int, frozenset[str], Severity]] = []
        for name, level in value.items():
            if level not in SEVERITIES:
                self.problem(f"severity.{name}", f"expected one of {', '.join(SEVERITIES)}, got {_shown(level)}")
                continue
            for selector in self.selectors([name], f"severity.{name}"):
                by_specificity.append((selector.specificity, selector.codes, Severity(level)))
        overrides: dict[str, Severity] = {}
        for _, codes, level in sorted(by_specificity, key=lambda item: item[0]):
            overrides.update(dict.fromkeys(codes, level))
        return overrides

    def deadline(self, value: Any) -> int:
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            self.problem("default-deadline-seconds", f"expected a whole number of seconds of at least 1, "
                         f"got {_shown(value)}")
            return DEFAULT_DEADLINE_SECONDS
        return value

    def kubernetes_version(self, value: Any) -> str | None:
        if value is None:
            return None
        if not isinstance(value, str) or not _KUBERNETES_VERSION.fullmatch(value.strip()):
            self.problem("kubernetes-version", f"expected a version such as \"1.30\", got {_shown(value)}")
            return None
        return value.strip().lstrip("v")


def _shown(value: Any) -> str:
    kind = {bool: "a boolean", int: "a number", float: "a number", str: "a string", list: "a list",
            dict: "a table"}.get(type(value), type(value).__name__)
    return f"{kind} ({value!r})" if not isinstance(value, dict | list) or len(repr(value)) < 60 else kind


class ConfigResolver:
    """Which settings each file gets: one ``--config`` file, none (``--isolated``), or the nearest one."""

    def __init__(self, *, config: Path | None = None, isolated: bool = False,
                 layer: RuleSelection = RuleSelection(), exclude: Sequence[str] | None = None,
                 extend_exclude: Sequence[str] = (), force_exclude: bool | None = None) -> None:
        cwd = Path.cwd()
        self._fixed = read_config(config) if config is not None else (LintConfig(root=cwd) if isolated else None)
        self._cwd = cwd
        # command-line globs are relative to the working folder, as in ruff
        self._layer, self._force = layer, force_exclude
        self._exclude = None if exclude is None else PatternSet(cwd, tuple(exclude))
        self._extend = PatternSet(cwd, tuple(extend_exclude))
        self._by_file: dict[Path | None, LintConfig] = {}
        self._folders: dict[Path, Path | None] = {}

    def for_path(self, path: Path) -> LintConfig:
        """The settings for a file or folder (for a folder: the files directly in it)."""
        found = None if self._fixed is not None else find_config_file(path, known=self._folders)
        if found not in self._by_file:
            base = self._fixed or (read_config(found) if found is not None else LintConfig(root=self._cwd))
            self._by_file[found] = base.with_command_line(
                self._layer, exclude=self._exclude, extend_exclude=self._extend, force_exclude=self._force)
        return self._by_file[found]
