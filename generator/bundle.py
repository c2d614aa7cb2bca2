"""Deterministic packing of a template folder, and its content digest.

The same folder gives the same bytes, and so the same ``sha256:`` digest, on any machine: entries are
sorted, modes normalised to 0644 (0755 when executable), times, owners and groups zeroed, and VCS and
cache files left out. The catalog stores these bundles; ``.pipeforge-answers.yaml`` records the digest.
"""

from __future__ import annotations

import hashlib
import io
import stat
import tarfile
from pathlib import Path

IGNORED_NAMES = {".git", ".hg", ".svn", "__pycache__", ".DS_Store", ".mypy_cache", ".pytest_cache", ".ruff_cache"}
IGNORED_SUFFIXES = (".pyc", ".pyo", ".swp", "~")


def is_ignored(rel: Path) -> bool:
    """VCS folders, caches and editor leftovers: never part of a bundle."""
    return any(part in IGNORED_NAMES for part in rel.parts) or rel.name.endswith(IGNORED_SUFFIXES)


def bundle_entries(folder: Path) -> list[Path]:
    """The files and folders a bundle holds, sorted by their '/'-separated relative path."""
    entries = [p for p in folder.rglob("*") if not is_ignored(p.relative_to(folder))]
    return sorted(entries, key=lambda p: p.relative_to(folder).as_posix())


def pack(folder: Path) -> bytes:
    """An uncompressed, deterministic tar of the folder (regular files and folders only)."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for path in bundle_entries(folder):
            info = tarfile.TarInfo(path.relative_to(folder).as_posix())
            info.mtime = 0
            info.uid = info.gid = 0
            info.uname = info.gname = ""
            mode = path.lstat().st_mode
            if stat.S_ISDIR(mode):
                info.type, info.mode = tarfile.DIRTYPE, 0o755
                tar.addfile(info)
            elif stat.S_ISREG(mode):
                data = path.read_bytes()
                info.size = len(data)
                info.mode = 0o755 if mode & stat.S_IXUSR else 0o644
                tar.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


def digest(folder: Path) -> str:
    """``sha256:<hex>`` of the folder's deterministic bundle."""
    return "sha256:" + hashlib.sha256(pack(folder)).hexdigest()
