"""Handing a rendered pipeline to a person: the folder as a ``.tar.gz`` or ``.zip`` archive, and the
``pipeforge new`` command that renders the same folder on their machine.

Archives are built in memory with the standard library's ``tarfile`` and ``zipfile`` (maintained, and
enough: the files are a few kilobytes of text), byte-for-byte reproducible for the same render (fixed
timestamps, modes and owners), every entry under the pipeline's folder name.
"""

from __future__ import annotations

import gzip
import io
import shlex
import tarfile
import zipfile
from collections.abc import Mapping
from typing import Any

FORMATS = {"tar.gz": "application/gzip", "zip": "application/zip"}
_EPOCH = 315532800  # 1980-01-01, the earliest time a zip entry can carry; both formats use it
_MODE = 0o644


def archive(folder: str, files: Mapping[str, str], fmt: str) -> bytes:
    """``files`` (relative path -> text) under ``folder/`` as a ``fmt`` archive (see FORMATS)."""
    if fmt not in FORMATS:
        raise ValueError(f"unknown archive format {fmt!r}: use one of {', '.join(FORMATS)}")
    entries = [(f"{folder}/{name}", text.encode("utf-8")) for name, text in sorted(files.items())]
    return _tar_gz(entries) if fmt == "tar.gz" else _zip(entries)


def _tar_gz(entries: list[tuple[str, bytes]]) -> bytes:
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for name, data in entries:
            info = tarfile.TarInfo(name)
            info.size, info.mtime, info.mode = len(data), _EPOCH, _MODE
            info.uname = info.gname = ""
            tar.addfile(info, io.BytesIO(data))
    return gzip.compress(raw.getvalue(), mtime=_EPOCH)


def _zip(entries: list[tuple[str, bytes]]) -> bytes:
    raw = io.BytesIO()
    with zipfile.ZipFile(raw, "w", compression=zipfile.ZIP_DEFLATED) as bundle:
        for name, data in entries:
            info = zipfile.ZipInfo(name, date_time=(1980, 1, 1, 0, 0, 0))
            info.external_attr = (_MODE | 0o100000) << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            bundle.writestr(info, data)
    return raw.getvalue()


def new_command(*, template: str, version: str | None, folder: str, values: Mapping[str, Any],
                defaults: Mapping[str, Any], from_catalog: bool = True) -> str:
    """The shell command that renders the same folder: ``--set`` only for values that differ from the
    template's defaults, every word quoted for a POSIX shell."""
    words = ["pipeforge", "new", f"{template}@{version}" if version else template]
    if from_catalog:
        words.append("--from-catalog")
    words += ["--no-input", "-o", folder]
    for name, value in values.items():
        if name in defaults and defaults[name] == value:
            continue
        words += ["--set", f"{name}={_text(value)}"]
    return shlex.join(words)


def _text(value: Any) -> str:
    """A value as ``--set`` takes it (booleans as true/false, like the answers file)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)
