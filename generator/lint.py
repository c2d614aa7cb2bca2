"""``pipeforge lint``: read files, run the structural checks and the failure-safety rules, report.

Reading goes through ``generator.yamlio`` (libyaml, with lines). Each Argo document (Workflow,
WorkflowTemplate, ClusterWorkflowTemplate, the workflowSpec of a CronWorkflow) is checked; other documents
are skipped. A file that cannot be parsed is itself a finding (PF001), never a crash.

Which rules run, and at which severity, comes from the keyword options and the configuration files
(``generator.lintconfig``); rules that are off are filtered as findings are made, not after the report.

Suppressions: the annotation ``pipeforge.io/lint-ignore`` on a template's ``metadata`` (that template) or on
the workflow's ``metadata`` (the whole document) holds one ``RULE: reason`` per line, RULE being a code
(PF205) or a name (no-retry). A suppression without a reason is not honoured and is reported (PF007).
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypedDict, Unpack
from urllib.parse import quote

from generator.errors import ManifestError, UsageError, YamlLimitError
from generator.findings import Finding, Hit
from generator.lintconfig import ConfigResolver, LintConfig, RuleSelection, resolve_rules, selectors
from generator.model import Manifest, is_workflow_document, parse_manifest
from generator.rules import RULES, Options, check_manifest, docs_url, rule_url
from generator.rules import resolve_rule as resolve_rule  # re-exported: the CLI resolves --ignore names
from generator.severity import SEVERITIES, Severity
from generator.yamlio import check_size, gc_paused, load_documents

SUPPRESS = "pipeforge.io/lint-ignore"
YAML_SUFFIXES = (".yaml", ".yml")
STDIN_NAME = "<stdin>"
__all__ = ["Finding", "LintReport", "as_finding", "docs_url", "lint_paths", "lint_text", "resolve_rule", "rule_url"]


@dataclass
class LintReport:
    files: int
    findings: list[Finding]

    def count(self, severity: Severity) -> int:
        return sum(1 for f in self.findings if f.severity == severity)

    @property
    def failed(self) -> bool:
        return self.count(Severity.ERROR) > 0

    def fails_at(self, threshold: str) -> bool:
        """Whether any finding is at least as severe as ``threshold`` (error > warning > info)."""
        return any(Severity(f.severity).at_least(threshold) for f in self.findings)

    def as_dict(self) -> dict[str, Any]:
        return {"files": self.files, "findings": [f.as_dict() for f in self.findings]}


@dataclass(frozen=True)
class _Suppressions:
    rules: frozenset[str]
    problems: tuple[str, ...]


def _suppressions(annotations: dict[str, str]) -> _Suppressions:
    text = annotations.get(SUPPRESS)
    if not text:
        return _Suppressions(frozenset(), ())
    rules, problems = set(), []
    for entry in text.replace(";", "\n").splitlines():
        if not entry.strip():
            continue
        name, _, reason = entry.partition(":")
        code = resolve_rule(name)
        if code is None:
            problems.append(f"'{name.strip()}' is not a pipeforge rule")
        elif not reason.strip():
            problems.append(f"{code} is suppressed without a reason")
        else:
            rules.add(code)
    return _Suppressions(frozenset(rules), tuple(problems))


@dataclass(frozen=True)
class _Rules:
    """The rules that run on one file and the severities they report at."""

    enabled: frozenset[str]
    severity: Mapping[str, Severity]
    options: Options = field(default_factory=Options)

    @classmethod
    def of(cls, config: LintConfig, path: Path) -> _Rules:
        version = config.kubernetes_version
        return cls(config.rules_for(path), config.severity, Options(version) if version else Options())


_ALL = _Rules(frozenset(RULES), {})


def _finding(hit: Hit, file: str, rules: _Rules = _ALL) -> Finding:
    default = hit.severity or RULES[hit.code].severity
    severity = rules.severity.get(hit.code, default)
    data = hit.data or {"template": hit.template, "path": []}
    return Finding(hit.code, severity, file, hit.line, hit.template, hit.message, hit.fix, data)


def as_finding(hit: Hit, file: str) -> Finding:
    """``hit`` as the finding it is in ``file`` at its rule's default severity (what ``harden`` fixes)."""
    return _finding(hit, file)


def _lint_document(document: Any, manifest: Manifest, file: str, rules: _Rules) -> list[Finding]:
    on = rules.enabled
    hits = check_manifest(manifest, document, options=rules.options, select=on)
    whole = _suppressions(manifest.annotations)
    per_template = {name: _suppressions(t.annotations) for name, t in manifest.spec.templates.items()}
    findings = []
    for hit in hits:
        local = per_template.get(hit.template or "")
        if hit.code not in on or hit.code in whole.rules or (local is not None and hit.code in local.rules):
            continue
        findings.append(_finding(hit, file, rules))
    if "PF007" not in on:
        return findings
    for owner, found in [(None, whole), *per_template.items()]:
        line = manifest.line if owner is None else manifest.spec.templates[owner].line
        path: list[str | int] = ["metadata", "annotations", SUPPRESS]
        if owner is not None:
            spec_path: list[str | int] = ["spec", "workflowSpec"] if manifest.kind == "CronWorkflow" else ["spec"]
            path = [*spec_path, "templates", manifest.spec.templates[owner].index, *path]
        for problem in found.problems:
            findings.append(_finding(Hit("PF007", line, owner, f"{SUPPRESS}: {problem}; not honoured",
                                         "write one 'RULE: reason' per line (RULE as in 'pipeforge lint "
                                         "--list-rules')", data={"template": owner, "path": path,
                                                                 "field": SUPPRESS}), file, rules))
    return findings


def _severities(levels: Mapping[str, str]) -> dict[str, Severity]:
    wrong = sorted(f"{code}={level!r}" for code, level in levels.items() if level not in SEVERITIES)
    if wrong:
        raise UsageError(f"severity must be one of {', '.join(SEVERITIES)}; got {', '.join(wrong)}")
    return {code: Severity(level) for code, level in levels.items()}


def lint_text(text: str, filename: str = "<string>", *, select: Iterable[str] | None = None,
              ignore: Iterable[str] = (), severity: Mapping[str, str] | None = None,
              kubernetes_version: str | None = None) -> list[Finding]:
    """Every finding in one YAML text (all documents); malformed YAML gives one PF001 finding.

    ``select``/``ignore`` take rule selectors (code, name, prefix, ``ALL``; ruff's precedence) and
    ``severity`` maps rule codes to the severity to report them at; no configuration file is read.
    ``kubernetes_version`` is the release whose schemas check resource manifests (PF010).
    """
    layer = RuleSelection(None if select is None else selectors(select, where="select"),
                          (), selectors(ignore, where="ignore"))
    options = Options(kubernetes_version) if kubernetes_version else Options()
    return _lint_source(text, filename, _Rules(resolve_rules([layer]), _severities(severity or {}), options))


def _lint_source(text: str, filename: str, rules: _Rules) -> list[Finding]:
    try:
        documents = load_documents(text, file=filename)
    except YamlLimitError:
        raise  # not a finding about the manifest: the input is refused, exit 2 with the limit named
    except ManifestError as exc:
        return [_finding(Hit("PF001", exc.line or 1, None, exc.detail,
                             "fix the YAML syntax at that line (indentation, quotes, brackets)",
                             data={"template": None, "path": []}), filename, rules)
                ] if "PF001" in rules.enabled else []
    findings: list[Finding] = []
    with gc_paused():
        for index, document in enumerate(documents):
            if not is_workflow_document(document):
                continue
            manifest = parse_manifest(document, file=filename, index=index)
            if manifest is not None:
                findings.extend(_lint_document(document, manifest, filename, rules))
    findings.sort(key=Finding.sort_key)
    return findings


def _lint_bytes(data: bytes, name: str, rules: _Rules) -> list[Finding]:
    try:  # universal newlines, as Path.read_text reads a file
        text = data.decode("utf-8").replace("\r\n", "\n").replace("\r", "\n")
    except UnicodeDecodeError as exc:
        return [_finding(Hit("PF001", 1, None, f"not UTF-8 text (byte {exc.start})", "save the file as UTF-8",
                             data={"template": None, "path": []}), name, rules)] if "PF001" in rules.enabled else []
    return _lint_source(text, name, rules)


def lint_file(path: Path, display: str | None = None, *, config: LintConfig | None = None) -> list[Finding]:
    """One file, with ``config``'s rules for it (every rule when None)."""
    name = display or str(path)
    try:
        check_size(path.stat().st_size, file=name)
        data = path.read_bytes()
    except OSError as exc:
        raise UsageError(f"{name}: cannot read: {exc.strerror}") from None
    return _lint_bytes(data, name, _ALL if config is None else _Rules.of(config, path))


def collect_files(paths: Iterable[Path], resolver: ConfigResolver | None = None) -> list[Path]:
    """YAML files under the given paths (recursively, sorted, hidden folders and ``exclude`` skipped).

    As in ruff, ``exclude`` applies to what the walk finds; a path named explicitly is linted anyway
    unless ``force-exclude`` is on (what a pre-commit hook, which names every file, needs).
    """
    resolver = resolver or ConfigResolver()
    found: list[Path] = []
    for path in paths:
        if not path.exists():
            raise UsageError(f"{path}: no such file or folder")
        if not (path.is_dir() or path.is_file()):
            raise UsageError(f"{path}: not a file or folder")
        config = resolver.for_path(path)
        if config.force_exclude and config.is_excluded(path, is_dir=path.is_dir()):
            continue
        found.extend(_walk(path, resolver) if path.is_dir() else [path])
    return list(dict.fromkeys(found))


def _walk(top: Path, resolver: ConfigResolver) -> Iterator[Path]:
    for root, dirs, files in os.walk(top):
        config = resolver.for_path(Path(root))
        dirs[:] = sorted(d for d in dirs if not d.startswith(".")
                         and not config.is_excluded(Path(root, d), is_dir=True))
        yield from (Path(root, f) for f in sorted(files)
                    if f.endswith(YAML_SUFFIXES) and not config.is_excluded(Path(root, f)))


class LintOptions(TypedDict, total=False):
    """The command line's layer of settings, over each file's configuration (see generator.lintconfig)."""

    select: Iterable[str] | None  # replaces the configuration's choice of rules
    extend_select: Iterable[str]
    ignore: Iterable[str]
    exclude: Sequence[str] | None  # replaces the configuration's exclude; globs relative to the working folder
    extend_exclude: Sequence[str]
    force_exclude: bool | None  # exclude paths named explicitly too
    config: Path | None  # this one file for every path, instead of the nearest one
    isolated: bool  # no configuration file at all


def _resolver(options: LintOptions) -> ConfigResolver:
    select = options.get("select")
    layer = RuleSelection(None if select is None else selectors(select, where="--select"),
                          selectors(options.get("extend_select", ()), where="--extend-select"),
                          selectors(options.get("ignore", ()), where="--ignore"))
    return ConfigResolver(layer=layer, exclude=options.get("exclude"), extend_exclude=options.get("extend_exclude", ()),
                          force_exclude=options.get("force_exclude"), config=options.get("config"),
                          isolated=options.get("isolated", False))


def lint_paths(paths: Sequence[Path], **options: Unpack[LintOptions]) -> LintReport:
    """Lint files and folders, each with its configuration file under ``options`` (the last layer).

    A missing or unreadable path, an unknown rule or a broken configuration file raises UsageError (exit 2).
    """
    resolver = _resolver(options)
    files = collect_files(paths, resolver)
    by_folder: dict[Path, LintConfig] = {}  # files of one folder share its settings: look them up once
    findings = []
    for path in files:
        config = by_folder.get(path.parent)
        if config is None:
            config = by_folder[path.parent] = resolver.for_path(path)
        findings.extend(lint_file(path, config=config))
    return LintReport(files=len(files), findings=findings)


def lint_stdin(data: bytes, *, filename: str | None = None, **options: Unpack[LintOptions]) -> LintReport:
    """Lint ``data`` read from standard input as if it were ``filename`` (its configuration, its
    per-file-ignores, its name in the report); without a filename, as a file in the working folder.
    Beyond the YAML size limit it raises ``YamlLimitError`` (exit 2), as a file would."""
    path = Path(filename) if filename else Path.cwd() / STDIN_NAME
    check_size(len(data), file=filename or STDIN_NAME)
    settings = _resolver(options).for_path(path)
    if filename and settings.force_exclude and settings.is_excluded(path):
        return LintReport(files=0, findings=[])
    return LintReport(files=1, findings=_lint_bytes(data, filename or STDIN_NAME, _Rules.of(settings, path)))


def settings_for(path: Path, **options: Unpack[LintOptions]) -> LintConfig:
    """The settings ``path`` is linted with (``pipeforge lint --show-settings``)."""
    return _resolver(options).for_path(path)


# ---------------------------------------------------------------- output formats


def format_text(report: LintReport) -> str:
    lines = []
    for f in report.findings:
        where = f" [{f.template}]" if f.template else ""
        lines.append(f"{f.file}:{f.line}: {f.rule} {f.severity}{where} {f.message}\n    fix: {f.fix}")
    seen = sorted({f.rule for f in report.findings})
    if seen:
        lines.append("rules:\n" + "\n".join(f"  {code} {RULES[code].name}: {rule_url(code)}" for code in seen))
    counts = ", ".join(f"{report.count(s)} {s}{'s' if report.count(s) != 1 else ''}" for s in SEVERITIES)
    noun = "file" if report.files == 1 else "files"
    lines.append(f"{counts} in {report.files} {noun}")
    return "\n".join(lines) + "\n"


def dumps(value: Any) -> str:
    """``json.dumps(value, indent=2, ensure_ascii=False)``, byte for byte, through orjson.

    The standard library's encoder falls back to pure Python whenever it indents (a large report took
    longer to print than to lint); the fallback covers what orjson refuses (lone surrogates, huge ints).
    """
    import orjson  # lazy: keeps lint start-up fast for the text format

    try:
        return orjson.dumps(value, option=orjson.OPT_INDENT_2).decode("utf-8")
    except (orjson.JSONEncodeError, UnicodeDecodeError):
        return json.dumps(value, indent=2, ensure_ascii=False)


def format_json(report: LintReport) -> str:
    return dumps(report.as_dict()) + "\n"


_GITHUB_LEVEL = {Severity.ERROR: "error", Severity.WARNING: "warning", Severity.INFO: "notice"}


def _github_data(text: str) -> str:
    # GitHub's toolkit (actions/toolkit core/src/command.ts escapeData); no library does this
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _github_property(text: str) -> str:
    return _github_data(text).replace(":", "%3A").replace(",", "%2C")


def format_github(report: LintReport) -> str:
    """GitHub Actions workflow commands: one annotation per finding on the file and line."""
    lines = []
    for f in report.findings:
        where = f" [{f.template}]" if f.template else ""
        props = ",".join(f"{key}={_github_property(value)}" for key, value in (
            ("file", Path(f.file).as_posix()), ("line", str(f.line)),
            ("title", f"pipeforge {f.rule} ({RULES[f.rule].name})")))
        body = _github_data(f"{f.rule}{where} {f.message}\nfix: {f.fix}\n{rule_url(f.rule)}")
        lines.append(f"::{_GITHUB_LEVEL[f.severity]} {props}::{body}")
    return "".join(line + "\n" for line in lines)


_SARIF_LEVEL = {Severity.ERROR: "error", Severity.WARNING: "warning", Severity.INFO: "note"}
_SRCROOT = "%SRCROOT%"


def _artifact_location(file: str) -> dict[str, str]:
    """A percent-encoded URI: absolute paths as file:// URIs, relative ones against %SRCROOT%."""
    path = Path(file)
    if path.is_absolute():
        return {"uri": path.as_uri()}
    return {"uri": quote(path.as_posix(), safe="/"), "uriBaseId": _SRCROOT}


def _sarif_rule(code: str) -> dict[str, Any]:
    rule = RULES[code]
    return {
        "id": code,
        "name": rule.name,
        "shortDescription": {"text": rule.summary},
        "fullDescription": {"text": rule.why},
        "help": {"text": f"{rule.why}\n{rule_url(code)}",
                 "markdown": f"**{code} {rule.name}**: {rule.summary}.\n\n{rule.why}\n\n[{code}]({rule_url(code)})"},
        "helpUri": rule_url(code),
        "defaultConfiguration": {"level": _SARIF_LEVEL[rule.severity]},
        "properties": {"tags": ["argo-workflows", "failure-safety"]},
    }


def _sarif_result(f: Finding, index: int) -> dict[str, Any]:
    return {
        "ruleId": f.rule,
        "ruleIndex": index,
        "level": _SARIF_LEVEL[f.severity],
        "message": {"text": f"{f.message}. Fix: {f.fix}"},
        "locations": [{
            "physicalLocation": {
                "artifactLocation": _artifact_location(f.file),
                "region": {"startLine": max(f.line, 1)},
            },
            **({"logicalLocations": [{"name": f.template, "kind": "function"}]} if f.template else {}),
        }],
        "properties": {"template": f.template, "fix": f.fix, "data": f.data},
    }


def format_sarif(report: LintReport, version: str) -> str:
    """SARIF 2.1.0, as GitHub code scanning reads it (relative paths resolve against the working folder)."""
    codes = sorted(RULES)
    index = {code: i for i, code in enumerate(codes)}
    sarif = {
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "version": "2.1.0",
        "runs": [{
            "tool": {"driver": {
                "name": "pipeforge",
                "version": version,
                "informationUri": docs_url(),
                "rules": [_sarif_rule(code) for code in codes],
            }},
            "originalUriBaseIds": {_SRCROOT: {"uri": Path.cwd().as_uri().rstrip("/") + "/"}},
            "results": [_sarif_result(f, index[f.rule]) for f in report.findings],
        }],
    }
    return dumps(sarif) + "\n"


def format_rules() -> str:
    width = max(len(r.name) for r in RULES.values())
    return "".join(
        f"{r.code}  {r.name:<{width}}  {r.severity:<7}  {r.summary}\n" for r in RULES.values()
    )
