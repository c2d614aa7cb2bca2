"""Writing (and reading) files under one folder through directory descriptors, never following a symbolic link.

A path joined with ``root / rel`` and written with ``open()`` follows every link on the way, so a link
planted in the folder (or a folder swapped for a link while pipeforge writes) sends the content anywhere.
Here each folder is opened relative to its parent's descriptor with ``O_NOFOLLOW``, each file is created with
``O_CREAT | O_EXCL | O_NOFOLLOW`` in its folder's descriptor, and a file that already exists is replaced by
renaming a fresh file over its name (a rename replaces a link, it never writes through it). Paths are checked
with :func:`generator.paths.clean_relative` first: nothing here can reach outside ``root``. Reading a file
of a folder the same way (:func:`read_text`) keeps a planted link from feeding, say, a private key into a file
pipeforge then writes as the folder's own.
"""

from __future__ import annotations

import contextlib
import errno
import os
import secrets
import stat
from collections.abc import Iterator, Mapping
from pathlib import Path

from generator.errors import UsageError
from generator.paths import clean_relative

_DIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC
_NEW_FILE = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC


@contextlib.contextmanager
def _opened_folder(root: Path) -> Iterator[int]:
    try:
        fd = os.open(root, _DIR_FLAGS)
    except OSError as exc:
        raise UsageError(f"cannot write into {root}: {exc.strerror}") from None
    try:
        yield fd
    finally:
        os.close(fd)


def _subfolder(parent: int, name: str, where: str) -> int:
    """The descriptor of folder ``name`` in ``parent`` (created if missing), refusing a link."""
    with contextlib.suppress(FileExistsError):
        os.mkdir(name, 0o777, dir_fd=parent)
    try:
        return os.open(name, _DIR_FLAGS, dir_fd=parent)
    except OSError as exc:
        if exc.errno in (errno.ELOOP, errno.ENOTDIR):
            raise UsageError(f"{where} is a symbolic link or a file, not a folder: pipeforge never writes "
                             "through a link; remove it and run again") from None
        raise


def _folder_of(root: int, rel: str, where: Path) -> tuple[int, str]:
    """(descriptor of the folder holding ``rel``, its last name); the caller closes the descriptor."""
    *folders, name = clean_relative(rel).split("/")
    fd = os.dup(root)
    try:
        for depth, part in enumerate(folders, 1):
            child = _subfolder(fd, part, str(where.joinpath(*folders[:depth])))
            os.close(fd)
            fd = child
    except BaseException:
        os.close(fd)
        raise
    return fd, name


def _write_new(folder: int, name: str, data: bytes, mode: int) -> None:
    fd = os.open(name, _NEW_FILE, mode, dir_fd=folder)
    with os.fdopen(fd, "wb") as stream:
        stream.write(data)


def _replace(folder: int, name: str, data: bytes, mode: int) -> None:
    """A fresh file renamed over ``name``: an existing file or link of that name is replaced, not followed."""
    temp = f".{name[:40]}.{secrets.token_hex(6)}.tmp"
    with contextlib.suppress(FileNotFoundError):
        existing = os.stat(name, dir_fd=folder, follow_symlinks=False)
        if stat.S_ISREG(existing.st_mode):
            mode = stat.S_IMODE(existing.st_mode)  # an upgraded file keeps its permission bits
    _write_new(folder, temp, data, mode)
    try:
        os.rename(temp, name, src_dir_fd=folder, dst_dir_fd=folder)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temp, dir_fd=folder)
        raise


def write_files(root: Path, contents: Mapping[str, str | None], *, replace: bool = False) -> None:
    """Write ``contents`` (relative path -> text, None: remove) under ``root`` without following links.

    ``replace=False`` (a fresh folder): every file is new and an existing name is an error; ``replace=True``
    (a copy being upgraded): an existing file or link is replaced by the new file, never written through.
    """
    with _opened_folder(root) as top:
        for rel, text in contents.items():
            folder, name = _folder_of(top, rel, root)
            try:
                if text is None:
                    with contextlib.suppress(FileNotFoundError):
                        os.unlink(name, dir_fd=folder)
                elif replace:
                    _replace(folder, name, text.encode("utf-8"), 0o666)
                else:
                    _write_new(folder, name, text.encode("utf-8"), 0o666)
            except FileExistsError:
                raise UsageError(f"{root / rel} exists already: pipeforge writes each file of a new folder "
                                 "once, and never over another name") from None
            finally:
                os.close(folder)


def read_text(root: Path, rel: str) -> str | None:
    """The text of ``rel`` under ``root`` (None when absent), refusing a symbolic link on the way."""
    *folders, name = clean_relative(rel).split("/")
    with _opened_folder(root) as top:
        fd = os.dup(top)
        try:
            for part in folders:
                child = os.open(part, _DIR_FLAGS, dir_fd=fd)
                os.close(fd)
                fd = child
            handle = os.open(name, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC, dir_fd=fd)
        except FileNotFoundError:
            return None
        except OSError as exc:
            if exc.errno in (errno.ELOOP, errno.ENOTDIR):
                raise UsageError(f"{root / rel}: a symbolic link on the way; pipeforge does not read or write "
                                 "through links in a pipeline folder: replace it with the file itself") from None
            raise
        finally:
            os.close(fd)
    if stat.S_ISDIR(os.fstat(handle).st_mode):
        os.close(handle)
        raise UsageError(f"{root / rel} is a folder, where the template has a file")
    with os.fdopen(handle, "rb") as stream:
        data = stream.read()
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise UsageError(f"{root / rel}: not UTF-8 text (byte {exc.start}); pipeforge merges text files") from None
