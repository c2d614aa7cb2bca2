"""The one rule for a relative path that pipeforge writes or pushes: inside its folder, and safe on every OS.

File and folder names of a template are Jinja templates, so the path a file lands at is decided by the
template's author and by whoever chose the parameters. A path is accepted only when each of its
``/``-separated components is a plain name:

- not empty, not ``.`` and not ``..`` (so no leading, doubled or trailing separator either);
- no backslash (Windows and some Git clients read it as a separator) and no ``:`` (a drive letter such as
  ``C:`` or an NTFS stream such as ``.git::$INDEX_ALLOCATION``);
- no NUL or other control character (C0, DEL, C1), no lone surrogate, at most 255 bytes per name, 32 names and
  4096 characters in all;
- not a look-alike of ``.git`` or ``.gitmodules``: compared case-insensitively, with trailing dots and spaces
  removed (Windows drops them), with the code points HFS+ ignores removed, and including the NTFS 8.3 short
  names (``git~1``, ``gitmod~1``); Git refuses these in a tree (``verify_path``, ``is_ntfs_dotgit``,
  ``is_hfs_dotgit``) because a checkout on such a file system would write into the repository's own folder.

The same rules serve rendered paths (:func:`clean_relative`), the project folder's name (:func:`clean_name`)
and the ``--path`` of a pull request; :func:`same_name_key` is how names are compared on a case-insensitive
file system (the bundle rules use it to refuse ``Hooks/``).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from typing import Any

from generator.errors import UsageError

#: Code points HFS+ ignores when it compares names (Git's ``next_hfs_char``): a name holding them is the
#: same file as the name without them.
_HFS_IGNORED = dict.fromkeys(
    [0x200C, 0x200D, 0x200E, 0x200F, *range(0x202A, 0x202F), *range(0x206A, 0x2070), 0xFEFF]
)
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\ud800-\udfff]")  # controls, and lone surrogates (not text)
_GIT_NAMES = {".git", ".gitmodules"}
_FIRST = "\0"  # the trie key of a folder's first path (NUL is in no accepted name)
MAX_PATH_CHARS = 4096  # PATH_MAX on Linux
MAX_NAME_BYTES = 255  # NAME_MAX on Linux, macOS and Windows (in UTF-8 bytes here)
MAX_DEPTH = 32  # names in one path: far beyond any pipeline folder, and each level costs a git tree and a syscall
_SHORT_NAMES = re.compile(r"(git|gitmod|gi7eba)~[0-9]+")  # NTFS 8.3 names of .git and .gitmodules


class UnsafePathError(UsageError):
    """A path would land outside its folder, or inside a Git repository's own files, on some file system."""


def shown(path: str) -> str:
    """``path`` quoted for a message, shortened: an error must not echo a megabyte of someone's input."""
    return repr(path) if len(path) <= 200 else repr(path[:200]) + f"... ({len(path):,} characters)"


def same_name_key(name: str) -> str:
    """The name as a case-insensitive, trailing-dot-dropping, HFS+-ignoring file system compares it."""
    folded = unicodedata.normalize("NFC", name.translate(_HFS_IGNORED)).casefold()
    return folded.rstrip(" .")


def component_problem(part: str) -> str | None:
    """Why one path component is refused, or None when it is a plain name."""
    if part in ("", ".", ".."):
        return "an empty, '.' or '..' component" if part != ".." else "a '..' component, which leaves the folder"
    if len(part.encode("utf-8", "surrogatepass")) > MAX_NAME_BYTES:
        return f"a name longer than {MAX_NAME_BYTES} bytes"
    if _CONTROL.search(part):
        return "a NUL or control character (or a lone surrogate)"
    if "\\" in part:
        return "a backslash, a folder separator on Windows"
    if ":" in part:
        return "a ':', a drive letter or NTFS stream on Windows"
    key = same_name_key(part)
    if not key:
        return f"{part!r}, only dots and spaces, which Windows reads as '.' or '..'"
    if key in _GIT_NAMES or _SHORT_NAMES.fullmatch(key):
        return f"{part!r}, which a case-insensitive file system takes for .git or .gitmodules"
    return None


def path_problem(path: str) -> str | None:
    """Why ``path`` is not a clean relative path, or None when it is one."""
    if not path:
        return "an empty path"
    if len(path) > MAX_PATH_CHARS:
        return f"longer than {MAX_PATH_CHARS} characters"
    if path.startswith(("/", "\\")):
        return "an absolute path"
    if re.match(r"[A-Za-z]:", path):
        return "a path with a drive letter"
    parts = path.split("/")
    if len(parts) > MAX_DEPTH:
        return f"{len(parts)} names deep; at most {MAX_DEPTH}"
    for part in parts:
        problem = component_problem(part)
        if problem is not None:
            return problem
    return None


def clean_relative(path: str, *, what: str = "path") -> str:
    """``path`` itself when it is a clean relative path (see the module); else an UnsafePathError."""
    problem = path_problem(path)
    if problem is not None:
        raise UnsafePathError(f"{what} {shown(path)} is refused: {problem}; a path must stay inside its folder "
                              "(plain names separated by '/')")
    return path


def clean_name(name: str, *, what: str = "name") -> str:
    """``name`` when it is one clean component (a folder or file name, no '/'); else an UnsafePathError."""
    if "/" in name:
        raise UnsafePathError(f"{what} {shown(name)} is refused: it holds a '/', but must be a single name")
    return clean_relative(name, what=what)


def tree_problems(paths: Iterable[str]) -> list[str]:
    """Every problem of a set of file paths that must become one folder: each path's own, and two paths
    that are the same file on a case-insensitive file system, or a file that is also another's folder.
    Linear in the total number of components (a trie of the compared names), whatever the paths hold."""
    problems: list[str] = []
    root: dict[str, Any] = {}
    for path in paths:
        problem = path_problem(path)
        if problem is not None:
            problems.append(f"{shown(path)}: {problem}")
            continue
        clash = _insert(root, path)
        if clash is not None:
            problems.append(clash)
    return problems


def _insert(root: dict[str, Any], path: str) -> str | None:
    """Add ``path`` to the trie (a folder: dict with its first path under ``_FIRST``; a file: its path)."""
    node = root
    *folders, name = [same_name_key(p) for p in path.split("/")]
    for part in folders:
        child = node.setdefault(part, {_FIRST: path})
        if isinstance(child, str):
            return f"{shown(child)} is a file, but {shown(path)} needs a folder of that name"
        node = child
    existing = node.get(name)
    if isinstance(existing, str):
        return f"{shown(path)} and {shown(existing)} are the same file on a case-insensitive file system"
    if existing is not None:
        return f"{shown(path)} is a file, but {shown(existing[_FIRST])} needs a folder of that name"
    node[name] = path
    return None
