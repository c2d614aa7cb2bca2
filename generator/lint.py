"""``pipeforge lint``: read files, run the structural checks and the failure-safety rules, report.

Reading goes through ``generator.yamlio`` (libyaml, with lines). Each Argo document (Workflow,
WorkflowTemplate, ClusterWorkflowTemplate, the workflowSpec of a CronWorkflow) is checked; other documents
are skipped. A file that cannot be parsed is itself a finding (PF001), never a crash.

Suppressions: the annotation ``pipeforge.io/lint-ignore`` on a template's ``metadata`` (that template) or on
the workflow's ``metadata`` (the whole document) holds one ``RULE: reason`` per line, RULE being a code
(PF205) or a name (no-retry). A suppression without a reason is not honoured and is reported (PF007).
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from generator.errors import ManifestError, UsageError, YamlLimitError
from generator.model import Manifest, is_workflow_document, parse_manifest
from generator.rules import ERROR, INFO, RULES, RULES_BY_NAME, WARNING, Hit, check_manifest
from generator.yamlio import LineDict, LineList, check_size, gc_paused, load_documents

SUPPRESS = "pipeforge.io/lint-ignore"
SEVERITIES = (ERROR, WARNING, INFO)
YAML_SUFFIXES = (".yaml", ".yml")
_SKIP_DIRS = {".git", ".hg", ".svn", "node_modules", ".venv", "venv", "__pycache__", ".tox"}


@dataclass(frozen=True)
class Finding:
    """One problem: which rule, how bad, where (file, line, template) and what to do about it."""

    rule: str
    severity: str
    file: str
    line: int
    template: str | None
    message: str
    fix: str

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    def sort_key(self) -> tuple[str, int, str]:
        return self.file, self.line, self.rule


@dataclass
class LintReport:
    files: int
    findings: list[Finding]

    def count(self, severity: str) -> int:
        return sum(1 for f in self.findings if f.severity == severity)

    @property
    def failed(self) -> bool:
        return self.count(ERROR) > 0

    def as_dict(self) -> dict[str, Any]:
        return {"files": self.files, "findings": [f.as_dict() for f in self.findings]}


def resolve_rule(name: str) -> str | None:
    """A rule's code from its code or its name (case-insensitive)."""
    key = name.strip()
    if key.upper() in RULES:
        return key.upper()
    rule = RULES_BY_NAME.get(key.lower())
    return rule.code if rule else None


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


def _finding(hit: Hit, file: str) -> Finding:
    rule = RULES[hit.code]
    return Finding(hit.code, hit.severity or rule.severity, file, hit.line, hit.template, hit.message, hit.fix)


def _structure_hits(document: Any) -> Iterator[Hit]:
    from generator.structure import check_document

    for problem in check_document(document):
        template = template_of_path(document, problem.path)
        if problem.unknown_key:
            fix = f"rename it to '{problem.suggestion}'" if problem.suggestion else "remove it or fix its spelling"
            yield Hit("PF003", problem.line, template, problem.message, fix)
        else:
            yield Hit("PF004", problem.line, template, problem.message, "give the field a value of that shape")
    yield from _duplicate_keys(document)


def template_of_path(document: Any, path: str) -> str | None:
    """The template a dotted structure path points into (``spec.templates[3].container``)."""
    marker = "templates["
    if marker not in path:
        return None
    index = path.split(marker, 1)[1].split("]", 1)[0]
    spec = document.get("spec", {}) if isinstance(document, dict) else {}
    if document.get("kind") == "CronWorkflow" and isinstance(spec, dict):
        spec = spec.get("workflowSpec", {})
    templates = spec.get("templates") if isinstance(spec, dict) else None
    try:
        name = templates[int(index)].get("name")  # type: ignore[index]
    except (TypeError, ValueError, IndexError, AttributeError):
        return None
    return name if isinstance(name, str) else None


def _duplicate_keys(node: Any) -> Iterator[Hit]:
    pending = [node]
    while pending:
        item = pending.pop()
        if isinstance(item, LineDict):
            for key, line in getattr(item, "duplicate_keys", ()):
                yield Hit("PF002", line, None, f"key '{key}' appears twice in one mapping; only the last "
                          "value is kept", f"keep one '{key}'")
            pending.extend(v for v in item.values() if isinstance(v, LineDict | LineList))
        elif isinstance(item, LineList):
            pending.extend(v for v in item if isinstance(v, LineDict | LineList))


def _lint_document(document: Any, manifest: Manifest, file: str) -> list[Finding]:
    hits = [*_structure_hits(document), *check_manifest(manifest)]
    whole = _suppressions(manifest.annotations)
    per_template = {name: _suppressions(t.annotations) for name, t in manifest.spec.templates.items()}
    findings = []
    for hit in hits:
        local = per_template.get(hit.template or "")
        if hit.code in whole.rules or (local is not None and hit.code in local.rules):
            continue
        findings.append(_finding(hit, file))
    for owner, found in [(None, whole), *per_template.items()]:
        line = manifest.line if owner is None else manifest.spec.templates[owner].line
        for problem in found.problems:
            findings.append(_finding(Hit("PF007", line, owner, f"{SUPPRESS}: {problem}; not honoured",
                                         "write one 'RULE: reason' per line (RULE as in 'pipeforge lint "
                                         "--list-rules')"), file))
    return findings


def lint_text(text: str, filename: str = "<string>") -> list[Finding]:
    """Every finding in one YAML text (all documents); malformed YAML gives one PF001 finding."""
    try:
        documents = load_documents(text, file=filename)
    except YamlLimitError:
        raise  # not a finding about the manifest: the input is refused, exit 2 with the limit named
    except ManifestError as exc:
        return [Finding("PF001", ERROR, filename, exc.line or 1, None, exc.detail,
                        "fix the YAML syntax at that line (indentation, quotes, brackets)")]
    findings: list[Finding] = []
    with gc_paused():
        for index, document in enumerate(documents):
            if not is_workflow_document(document):
                continue
            manifest = parse_manifest(document, file=filename, index=index)
            if manifest is not None:
                findings.extend(_lint_document(document, manifest, filename))
    findings.sort(key=Finding.sort_key)
    return findings


def lint_file(path: Path, display: str | None = None) -> list[Finding]:
    name = display or str(path)
    try:
        check_size(path.stat().st_size, file=name)
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        return [Finding("PF001", ERROR, name, 1, None, f"not UTF-8 text (byte {exc.start})",
                        "save the file as UTF-8")]
    except OSError as exc:
        raise UsageError(f"{name}: cannot read: {exc.strerror}") from None
    return lint_text(text, name)


def collect_files(paths: Iterable[Path]) -> list[Path]:
    """YAML files under the given paths (recursively, sorted, hidden and VCS folders skipped)."""
    found: list[Path] = []
    for path in paths:
        if path.is_dir():
            for root, dirs, files in os.walk(path):
                dirs[:] = sorted(d for d in dirs if d not in _SKIP_DIRS and not d.startswith("."))
                found.extend(Path(root, f) for f in sorted(files) if f.endswith(YAML_SUFFIXES))
        elif path.is_file():
            found.append(path)
        elif path.exists():
            raise UsageError(f"{path}: not a file or folder")
        else:
            raise UsageError(f"{path}: no such file or folder")
    return list(dict.fromkeys(found))


def lint_paths(paths: Sequence[Path]) -> LintReport:
    """Lint files and folders; a missing or unreadable path raises UsageError (exit 2)."""
    files = collect_files(paths)
    findings = [finding for path in files for finding in lint_file(path)]
    return LintReport(files=len(files), findings=findings)


# ---------------------------------------------------------------- output formats


def format_text(report: LintReport) -> str:
    lines = []
    for f in report.findings:
        where = f" [{f.template}]" if f.template else ""
        lines.append(f"{f.file}:{f.line}: {f.rule} {f.severity}{where} {f.message}\n    fix: {f.fix}")
    counts = ", ".join(f"{report.count(s)} {s}{'s' if report.count(s) != 1 else ''}" for s in SEVERITIES)
    noun = "file" if report.files == 1 else "files"
    lines.append(f"{counts} in {report.files} {noun}")
    return "\n".join(lines) + "\n"


def format_json(report: LintReport) -> str:
    return json.dumps(report.as_dict(), indent=2, ensure_ascii=False) + "\n"


_SARIF_LEVEL = {ERROR: "error", WARNING: "warning", INFO: "note"}


def format_sarif(report: LintReport, version: str) -> str:
    """SARIF 2.1.0, as GitHub code scanning reads it."""
    codes = sorted(RULES)
    index = {code: i for i, code in enumerate(codes)}
    rules = [
        {
            "id": code,
            "name": RULES[code].name,
            "shortDescription": {"text": RULES[code].summary},
            "fullDescription": {"text": RULES[code].why},
            "help": {"text": RULES[code].why},
            "defaultConfiguration": {"level": _SARIF_LEVEL[RULES[code].severity]},
            "properties": {"tags": ["argo-workflows", "failure-safety"]},
        }
        for code in codes
    ]
    results = [
        {
            "ruleId": f.rule,
            "ruleIndex": index[f.rule],
            "level": _SARIF_LEVEL[f.severity],
            "message": {"text": f"{f.message}. Fix: {f.fix}"},
            "locations": [{
                "physicalLocation": {
                    "artifactLocation": {"uri": Path(f.file).as_posix()},
                    "region": {"startLine": max(f.line, 1)},
                },
                **({"logicalLocations": [{"name": f.template, "kind": "function"}]} if f.template else {}),
            }],
            "properties": {"template": f.template, "fix": f.fix},
        }
        for f in report.findings
    ]
    sarif = {
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "version": "2.1.0",
        "runs": [{
            "tool": {"driver": {
                "name": "pipeforge",
                "version": version,
                "rules": rules,
            }},
            "results": results,
        }],
    }
    return json.dumps(sarif, indent=2, ensure_ascii=False) + "\n"


def format_rules() -> str:
    width = max(len(r.name) for r in RULES.values())
    return "".join(
        f"{r.code}  {r.name:<{width}}  {r.severity:<7}  {r.summary}\n" for r in RULES.values()
    )
