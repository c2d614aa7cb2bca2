"""Templates whose rendered paths a parameter decides, and the payloads that try to escape with them.

``path_template`` copies a built-in template and adds a free-text parameter ``notes_file`` (default
``notes.txt``) that names a file (``where="file"``), a folder holding a file (``"folder"``) or the project
folder itself (``"project"``). The defaults render cleanly, so the template publishes; a render with one of
``ESCAPES`` as ``notes_file`` must be refused before anything is written or pushed."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

from tests.conftest import template_variant

#: One payload per kind of escape: parent folders, absolute paths (POSIX, Windows, UNC), a drive letter,
#: dot-segments in the middle, control characters, and .git / .gitmodules look-alikes of each file system.
ESCAPES = (
    "../escaped.txt",
    "../../../../../../tmp/pipeforge-escaped",
    "sub/../../escaped.txt",
    "/tmp/pipeforge-absolute",
    "\\\\server\\share\\x",
    "C:\\Windows\\x.txt",
    "d:x.txt",
    "..\\..\\escaped.txt",
    "a/./b",
    "a//b",
    ".git/hooks/post-checkout",
    ".GIT/config",
    "git~1/hooks/pre-commit",
    ".git./hooks/x",
    ".git /x",
    ".g\u200cit/hooks/x",
    ".gitmodules/x",
    ".GitModules",
    "gitmod~1",
    "...",
)

#: Control characters: parameters refuse them already, so only a template's own (private) variables or
#: its file names can hold them.
CONTROL = ("nul\x00byte", "line\nbreak", "bell\x07", "next\x85line", "del\x7f")


def path_template(tmp_path: Path, *, name: str, version: str = "1.0.0", where: str = "file") -> Path:
    """A publishable template whose ``notes_file`` parameter names a file, a folder or the project folder."""
    folder = template_variant(tmp_path, name=name, version=version, folder=f"{name}-{version}-{where}")
    meta = folder / "template.yaml"
    text = meta.read_text(encoding="utf-8")
    text = re.sub(r"(?m)^  properties:\n", "  properties:\n    notes_file:\n      type: string\n"
                  "      description: Where the notes go.\n      default: notes.txt\n", text, count=1)
    meta.write_text(text, encoding="utf-8")
    settings_file = folder / "cookiecutter.json"
    settings = json.loads(settings_file.read_text(encoding="utf-8"))
    settings["notes_file"] = "notes.txt"
    settings_file.write_text(json.dumps(settings, indent=2), encoding="utf-8")
    (project,) = [p for p in folder.iterdir() if p.is_dir()]
    if where == "project":
        project = project.rename(folder / "[[cookiecutter.notes_file]]")
    elif where == "folder":
        (project / "[[cookiecutter.notes_file]]").mkdir()
        (project / "[[cookiecutter.notes_file]]" / "README.md").write_text("notes\n", encoding="utf-8")
        return folder
    if where == "file":
        (project / "[[cookiecutter.notes_file]]").write_text("notes\n", encoding="utf-8")
    return folder


def tree_snapshot(root: Path) -> set[str]:
    """Every path under ``root`` (links not followed), to show that nothing appeared."""
    return {str(p.relative_to(root)) for p in root.rglob("*")}


def remove(path: Path) -> None:
    shutil.rmtree(path, ignore_errors=True)
