"""Bundles are untrusted input: the rules a bundle must keep, and extraction that cannot escape.

A bundle (``generator.bundle``'s deterministic tar) may hold only plain files and folders under relative
paths: no absolute paths, no ``..``, no symbolic or hard links, no device files, FIFOs or sockets; at
most 500 files and 5 MB unpacked; no cookiecutter ``hooks/`` (in any case: ``Hooks/`` is the same folder on
a case-insensitive file system) and no Jinja ``_extensions`` in
``cookiecutter.json`` (both run code when a template is rendered; templates are data). The same rules
are applied to a folder before it is packed (packing would silently drop a link) and to the bytes of a
bundle before they are stored or rendered, and every broken rule is reported, not just the first.
"""

from __future__ import annotations

import io
import os
import re
import stat
import tarfile
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from catalog.errors import HostileBundleError
from generator.bundle import is_ignored, pack
from generator.errors import UsageError, YamlLimitError
from generator.paths import same_name_key
from generator.yamlio import load_json

MAX_FILES = 500
MAX_FOLDERS = 500
MAX_UNPACKED_BYTES = 5 * 1024 * 1024
# Room for tar headers, PAX records and padding on top of the content.
MAX_BUNDLE_BYTES = MAX_UNPACKED_BYTES + (MAX_FILES + MAX_FOLDERS) * 2048
COOKIECUTTER_FILE = "cookiecutter.json"
HOOKS_FOLDER = "hooks"

_KINDS = {
    "symlink": "a symbolic link{detail}: replace it with the file itself",
    "hardlink": "a hard link{detail}: a template file must be a plain file with one name",
    "device": "a device file{detail}",
    "fifo": "a named pipe (FIFO)",
    "socket": "a socket",
    "other": "not a plain file or folder{detail}",
}


@dataclass
class _Tally:
    """What a folder or a tar holds, entry by entry; ``problems()`` applies every rule."""

    problems: list[str] = field(default_factory=list)
    names: set[str] = field(default_factory=set)
    hooks: list[str] = field(default_factory=list)
    files: int = 0
    folders: int = 0
    size: int = 0
    cookiecutter: bytes | None = None

    def add(self, name: str, kind: str, *, size: int = 0, detail: str = "") -> str | None:
        """Count one entry; returns its clean relative path, or None when the entry is refused."""
        rel = _relative(name, self.problems)
        if rel is None:
            return None
        if rel in self.names:
            self.problems.append(f"{rel}: appears twice in the bundle")
            return None
        self.names.add(rel)
        top, sep, _ = rel.partition("/")
        if sep and same_name_key(top) == HOOKS_FOLDER:  # Hooks/, HOOKS/, "hooks."/: the same folder elsewhere
            self.hooks.append(rel)
        if kind == "file":
            self.files, self.size = self.files + 1, self.size + size
        elif kind == "folder":
            self.folders += 1
        else:
            self.problems.append(f"{rel}: " + _KINDS[kind].format(detail=detail))
            return None
        return rel

    def result(self) -> list[str]:
        problems = list(self.problems)
        if self.files > MAX_FILES:
            problems.append(f"{self.files} files: a template may hold at most {MAX_FILES}")
        if self.folders > MAX_FOLDERS:
            problems.append(f"{self.folders} folders: a template may hold at most {MAX_FOLDERS}")
        if self.size > MAX_UNPACKED_BYTES:
            problems.append(
                f"{self.size:,} bytes unpacked: a template may hold at most 5 MB ({MAX_UNPACKED_BYTES:,} bytes)"
            )
        if self.hooks:
            shown = ", ".join(sorted(self.hooks)[:5]) + (", ..." if len(self.hooks) > 5 else "")
            problems.append(
                f"{HOOKS_FOLDER}/ ({shown}): cookiecutter hooks run code whenever the template is rendered; "
                "remove the hooks folder"
            )
        problems.extend(_extension_problems(self.cookiecutter))
        return problems


def _relative(name: str, problems: list[str]) -> str | None:
    if not name or "\0" in name:
        problems.append(f"{name!r}: an entry with an empty or invalid name")
        return None
    if name.startswith(("/", "\\")) or re.match(r"^[A-Za-z]:", name):
        problems.append(f"{name}: an absolute path; entries must be relative to the template folder")
        return None
    parts = [p for p in re.split(r"[/\\]", name) if p not in ("", ".")]
    if ".." in parts:
        problems.append(f"{name}: '..' would escape the template folder")
        return None
    if not parts:
        return None  # the root folder itself ("." or "./")
    return "/".join(parts)


def _extension_problems(cookiecutter: bytes | None) -> list[str]:
    if cookiecutter is None:
        return []
    try:
        settings = load_json(cookiecutter.decode("utf-8"), file=COOKIECUTTER_FILE)
    except ValueError:  # a broken file, not a hostile one: loading the template reports it with its line
        return []
    except YamlLimitError as exc:
        return [exc.message]
    extensions = settings.get("_extensions") if isinstance(settings, dict) else None
    if not extensions:
        return []
    names = ", ".join(map(str, extensions)) if isinstance(extensions, list) else str(extensions)
    return [
        f"{COOKIECUTTER_FILE}: _extensions ({names}) load Jinja extensions, which are code (a local "
        "one is a Python module shipped in the template); pipeforge renders in a sandbox without "
        "extensions: remove _extensions"
    ]


def _folder_kind(mode: int, links: int) -> str:
    if stat.S_ISLNK(mode):
        return "symlink"
    if stat.S_ISDIR(mode):
        return "folder"
    if stat.S_ISREG(mode):
        return "hardlink" if links > 1 else "file"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "device"
    return "fifo" if stat.S_ISFIFO(mode) else "socket" if stat.S_ISSOCK(mode) else "other"


def folder_problems(folder: Path) -> list[str]:
    """Every rule a template folder breaks (VCS and cache files are left out, as packing does)."""
    tally = _Tally()
    for root, dirs, files in os.walk(folder):  # does not follow symbolic links
        dirs[:] = sorted(d for d in dirs if not is_ignored(Path(d)))
        for name in [*dirs, *files]:
            path = Path(root, name)
            if is_ignored(Path(name)):
                continue
            info = path.lstat()
            kind = _folder_kind(info.st_mode, info.st_nlink)
            detail = ""
            if kind == "symlink":
                detail = f" (to {path.readlink()})"
            elif kind == "hardlink":
                detail = f" (the same file has {info.st_nlink} names)"
            rel = tally.add(path.relative_to(folder).as_posix(), kind, size=info.st_size, detail=detail)
            if rel == COOKIECUTTER_FILE and kind == "file" and info.st_size <= MAX_UNPACKED_BYTES:
                tally.cookiecutter = path.read_bytes()
    return tally.result()


def _tar_kind(member: tarfile.TarInfo) -> str:
    if member.isreg():
        return "file"
    if member.isdir():
        return "folder"
    if member.issym():
        return "symlink"
    if member.islnk():
        return "hardlink"
    if member.ischr() or member.isblk():
        return "device"
    return "fifo" if member.isfifo() else "other"


def bundle_problems(data: bytes) -> list[str]:
    """Every rule the bundle bytes break; nothing is written anywhere."""
    if len(data) > MAX_BUNDLE_BYTES:
        return [f"the bundle is {len(data):,} bytes: more than a template of at most 5 MB unpacked can be"]
    tally = _Tally()
    try:
        with tarfile.open(fileobj=io.BytesIO(data), mode="r:") as tar:
            for index, member in enumerate(tar):
                if index > MAX_FILES + MAX_FOLDERS:
                    tally.problems.append(f"more than {MAX_FILES + MAX_FOLDERS} entries; stopped reading")
                    break
                kind = _tar_kind(member)
                detail = f" (to {member.linkname})" if kind in ("symlink", "hardlink") else ""
                detail = f" (tar type {member.type!r})" if kind == "other" else detail
                rel = tally.add(member.name, kind, size=member.size, detail=detail)
                if rel == COOKIECUTTER_FILE and kind == "file" and member.size <= MAX_UNPACKED_BYTES:
                    stream = tar.extractfile(member)
                    tally.cookiecutter = stream.read() if stream else b""
    except tarfile.TarError as exc:
        tally.problems.append(f"not a readable tar archive ({exc})")
    return tally.result()


def check_bundle(data: bytes, *, source: str = "bundle") -> None:
    problems = bundle_problems(data)
    if problems:
        raise HostileBundleError(source, problems)


def pack_folder(folder: Path) -> bytes:
    """The folder's deterministic bundle, after checking the folder and the bundle against every rule."""
    if not folder.is_dir():
        raise UsageError(f"{folder}: no such folder (give the folder that holds template.yaml)")
    problems = folder_problems(folder)
    if problems:
        raise HostileBundleError(str(folder), problems)
    data = pack(folder)
    check_bundle(data, source=str(folder))
    return data


def _extract(data: bytes, into: Path) -> None:
    root = into.resolve()
    with tarfile.open(fileobj=io.BytesIO(data), mode="r:") as tar:
        for member in tar:
            refused: list[str] = []
            rel = _relative(member.name, refused)
            if rel is None and not refused:
                continue  # the root folder itself ("." or "./", as `tar -C folder -cf bundle.tar .` writes)
            target = (root / rel).resolve() if rel else root
            if rel is None or not target.is_relative_to(root):  # check_bundle refused these already
                raise HostileBundleError("bundle", [f"{member.name}: outside the template folder"])
            if member.isdir():
                target.mkdir(parents=True, exist_ok=True)
            elif member.isreg():
                target.parent.mkdir(parents=True, exist_ok=True)
                stream = tar.extractfile(member)
                with target.open("xb") as out:  # exclusive: never through an existing name
                    out.write(stream.read() if stream else b"")
                target.chmod(0o755 if member.mode & 0o100 else 0o644)


@contextmanager
def unpacked(data: bytes, *, source: str = "bundle") -> Iterator[Path]:
    """Check the bundle, extract it into a private temporary folder, yield it, and remove it."""
    check_bundle(data, source=source)
    with tempfile.TemporaryDirectory(prefix="pipeforge-bundle-") as tmp:
        folder = Path(tmp) / "template"
        folder.mkdir()
        _extract(data, folder)
        yield folder
