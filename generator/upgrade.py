"""Move a generated pipeline folder to a new template version, keeping local edits.

The folder's ``.pipeforge-answers.yaml`` says which template, version and parameters produced it. The
recorded version is rendered again with the recorded answers (the merge base), the target version with
the answers carried over (parameters renamed by the target's ``migrations``, removed ones dropped and
reported, new ones given the migration's value or their default), and each file is merged three ways
with ``git merge-file``: base = old render, ours = the file as it is now, theirs = new render. A conflict
is written with markers and listed. The folder is replaced in one rename once every file is ready, so a
failure leaves it as it was.
"""

from __future__ import annotations

import difflib
import shutil
import subprocess
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from generator.errors import PipeforgeError, UsageError, echo
from generator.safe_write import read_text, write_files
from generator.scaffold import ANSWERS_FILE, Pipeline, _swap, build
from generator.semver import parse_version
from generator.template_spec import TemplateSpec
from generator.yamlio import SizeLimit, read_documents

#: The largest answers file read: it comes from the folder being upgraded, on a branch anyone may push to.
MAX_ANSWERS_BYTES = 256 * 1024
ANSWERS_SIZE = SizeLimit(MAX_ANSWERS_BYTES, "MAX_ANSWERS_BYTES")
MAX_ANSWER_NAME_CHARS = 200

#: (name, spec) -> (template, digest): where template versions come from (the catalog, or local folders).
Resolver = Callable[[str, str], tuple[TemplateSpec, str | None]]
#: How a template is rendered: ``scaffold.build``, or ``scaffold.build_bounded`` for untrusted answers.
Builder = Callable[..., Pipeline]


class UpgradeError(PipeforgeError):
    """An upgrade that must not happen (downgrade, no answers file)."""


class DowngradeError(UpgradeError):
    """The target version is older than the folder's."""

    def __init__(self, message: str, *, current: str, target: str) -> None:
        super().__init__(message)
        self.current, self.target = current, target


@dataclass(frozen=True)
class Answers:
    template: str
    version: str
    digest: str | None
    parameters: dict[str, Any]

    @classmethod
    def read(cls, folder: Path) -> Answers:
        path = folder / ANSWERS_FILE
        if not path.is_file():
            raise UsageError(f"{folder}: no {ANSWERS_FILE}; only folders made by `pipeforge new` can be upgraded")
        return cls.parse(read_documents(path, limit=ANSWERS_SIZE), str(path))

    @classmethod
    def parse(cls, docs: list[Any], where: str) -> Answers:
        """The answers from the documents of an answers file; ``where`` names it in errors."""
        data = docs[0] if docs else None
        if not isinstance(data, dict) or not all(isinstance(data.get(k), str) for k in ("template", "version")):
            raise UsageError(f"{where}: needs 'template' and 'version' (as `pipeforge new` writes them)")
        for key in ("template", "version"):
            if len(data[key]) > MAX_ANSWER_NAME_CHARS:
                raise UsageError(f"{where}: '{key}' is {len(data[key]):,} characters ({echo(data[key])}); "
                                 f"a template name or version has at most {MAX_ANSWER_NAME_CHARS}")
        parameters = data.get("parameters") or {}
        if not isinstance(parameters, dict):
            raise UsageError(f"{where}: 'parameters' must be a mapping")
        digest = data.get("digest")
        return cls(data["template"], data["version"], digest if isinstance(digest, str) else None,
                   {str(k): v for k, v in parameters.items()})


@dataclass
class FileChange:
    path: str
    status: str  # unchanged, updated, added, removed, conflict, kept
    detail: str = ""


@dataclass
class UpgradePlan:
    folder: Path  # where the files are (for a remote folder: its path in the repository)
    template: str
    from_version: str
    to_version: str
    to_digest: str
    contents: dict[str, str | None]  # path -> new content (None: remove)
    changes: list[FileChange] = field(default_factory=list)
    dropped: list[str] = field(default_factory=list)
    added: dict[str, Any] = field(default_factory=dict)
    renamed: dict[str, str] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    before: dict[str, str | None] = field(default_factory=dict)  # path -> content before (None: absent)

    @property
    def conflicts(self) -> list[FileChange]:
        return [c for c in self.changes if c.status == "conflict"]

    @property
    def noop(self) -> bool:
        return self.from_version == self.to_version and all(c.status == "unchanged" for c in self.changes)

    def diff(self, prefix: str = "") -> str:
        """A unified diff of what applying the plan changes in the folder (paths under ``prefix``)."""
        out: list[str] = []
        for change in self.changes:
            if change.status == "unchanged":
                continue
            before = self.before.get(change.path) or ""
            after = self.contents.get(change.path) or ""
            out.extend(difflib.unified_diff(before.splitlines(keepends=True), after.splitlines(keepends=True),
                                            f"a/{prefix}{change.path}", f"b/{prefix}{change.path}"))
        return "".join(out)


def _version_key(text: str) -> Any:
    return parse_version(text).key


def migrate_answers(answers: dict[str, Any], source: str, target: TemplateSpec) -> tuple[
        dict[str, Any], dict[str, str], list[str], dict[str, Any]]:
    """(values, renamed, dropped, added): the recorded answers carried over to ``target``."""
    values = dict(answers)
    renamed: dict[str, str] = {}
    defaults: dict[str, Any] = {}
    crossed = [m for m in target.migrations
               if _version_key(source) < _version_key(m.version) <= _version_key(target.version)]
    for migration in sorted(crossed, key=lambda m: _version_key(m.version)):
        for old, new in migration.rename.items():
            if old in values:
                values[new] = values.pop(old)
                renamed[old] = new
        defaults.update(migration.defaults)
    known = set(target.parameter_names)
    dropped = sorted(k for k in values if k not in known)
    for name in dropped:
        del values[name]
    added = {name: defaults.get(name, target.parameter(name).default)  # type: ignore[union-attr]
             for name in target.parameter_names if name not in values}
    values.update(added)
    return values, renamed, dropped, added


def _merge(base: str, ours: str, theirs: str) -> tuple[str, bool]:
    """Three-way merge of one text file with ``git merge-file``; (result, conflicted)."""
    with tempfile.TemporaryDirectory(prefix="pipeforge-merge-") as scratch:
        paths = []
        for name, text in (("ours", ours), ("base", base), ("theirs", theirs)):
            path = Path(scratch, name)
            path.write_text(text, encoding="utf-8")
            paths.append(str(path))
        try:
            result = subprocess.run(
                ["git", "merge-file", "-p", "-L", "local", "-L", "previous template version", "-L",
                 "new template version", *paths], capture_output=True, text=True, check=False)
        except FileNotFoundError:
            raise UsageError("upgrading needs git (for `git merge-file`); install git") from None
    if result.returncode < 0 or result.returncode > 127:
        raise UsageError(f"git merge-file failed: {result.stderr.strip()}")
    return result.stdout, result.returncode > 0


def plan(folder: Path, target_spec: str, resolve: Resolver) -> UpgradePlan:
    """What upgrading ``folder`` to ``target_spec`` would write, without writing it."""
    return plan_from(folder, Answers.read(folder), lambda path: read_text(folder, path), target_spec, resolve)


def plan_from(folder: Path, answers: Answers, read: Callable[[str], str | None], target_spec: str,
              resolve: Resolver, *, build_with: Builder = build) -> UpgradePlan:
    """The plan for files read through ``read`` (path relative to the folder -> text, None when absent):
    a local folder, or a folder of a repository's tree. ``build_with`` renders the two versions."""
    old_template, old_digest = resolve(answers.template, answers.version)
    new_template, new_digest = resolve(answers.template, target_spec or "latest")
    if _version_key(new_template.version) < _version_key(answers.version):
        raise DowngradeError(f"{folder} is at {answers.template} {answers.version}; {new_template.version} is older: "
                             "a downgrade is refused (render it afresh with `pipeforge new` if you mean it)",
                             current=answers.version, target=new_template.version)
    old = build_with(old_template, answers.parameters, digest=old_digest)
    values, renamed, dropped, added = migrate_answers(answers.parameters, answers.version, new_template)
    new: Pipeline = build_with(new_template, values, digest=new_digest)
    result = UpgradePlan(folder, answers.template, answers.version, new_template.version, new.digest, {},
                         dropped=dropped, added=added, renamed=renamed)
    if answers.digest and old.digest != answers.digest:
        result.warnings.append(
            f"{answers.template} {answers.version} found here has digest {old.digest}, but the folder was made from "
            f"{answers.digest}: the merge base is not exactly what produced the folder (publish versions to the "
            "catalog, where they never change), so check the merge")
    for path in sorted(set(old.files) | set(new.files)):
        base, theirs, ours = old.files.get(path), new.files.get(path), read(path)
        result.before[path] = ours
        if path == ANSWERS_FILE:
            ours = base  # always rewritten: the new provenance
        result.changes.append(_merge_file(result, path, base, ours, theirs))
    return result


def _merge_file(plan: UpgradePlan, path: str, base: str | None, ours: str | None,
                theirs: str | None) -> FileChange:
    if ours == theirs:
        plan.contents[path] = ours
        return FileChange(path, "unchanged")
    if theirs is None:  # the new version no longer has the file
        if ours == base:
            plan.contents[path] = None
            return FileChange(path, "removed")
        plan.contents[path] = ours
        return FileChange(path, "kept", "no longer in the template, but edited locally: kept")
    if ours is None:  # deleted locally
        if base == theirs:
            plan.contents[path] = None
            return FileChange(path, "unchanged", "deleted locally; the template did not change it")
        plan.contents[path] = theirs
        return FileChange(path, "conflict", "deleted locally but changed by the template: the new file is back")
    if theirs == base:  # the template did not change this file: the local version stands
        plan.contents[path] = ours
        return FileChange(path, "unchanged", "local edits kept")
    if ours == base:
        plan.contents[path] = theirs
        return FileChange(path, "updated" if base is not None else "added")
    merged, conflicted = _merge(base or "", ours, theirs)
    plan.contents[path] = merged
    if conflicted:
        return FileChange(path, "conflict", "local edits and the template change overlap: markers written")
    return FileChange(path, "updated", "merged with local edits")


def apply(plan: UpgradePlan) -> None:
    """Write the plan: the folder is copied, changed in the copy, and swapped in with one rename."""
    folder = plan.folder
    parent = folder.resolve().parent
    staging = Path(tempfile.mkdtemp(prefix=f".{folder.name}.upgrade.", dir=parent))
    try:
        shutil.copytree(folder, staging, symlinks=True, dirs_exist_ok=True)
        write_files(staging, plan.contents, replace=True)  # never through a link in the copy
        _swap(staging, folder)
    except OSError as exc:
        raise UsageError(f"cannot write {folder}: {exc.strerror}") from None
    finally:
        shutil.rmtree(staging, ignore_errors=True)


