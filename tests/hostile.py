"""Templates whose rendered paths a parameter decides, and the payloads that try to escape with them.

``path_template`` copies a built-in template and adds a free-text parameter ``notes_file`` (default
``notes.txt``) that names a file (``where="file"``), a folder holding a file (``"folder"``) or the project
folder itself (``"project"``). The defaults render cleanly, so the template publishes; a render with one of
``ESCAPES`` as ``notes_file`` must be refused before anything is written or pushed."""

from __future__ import annotations

import hashlib
import json
import re
import shutil
from pathlib import Path
from typing import Any

from catalog import service
from catalog.publication import Publication, prepare_folder
from catalog.safety import pack_folder, unpacked
from generator.bundle import pack
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


#: A render bomb that a parameter sets off at once (a number past the render's size cap) and the template's
#: defaults leave harmless: the body of a planted notes.md, and the parameters that set it off.
POWER_BOMB: tuple[str, dict[str, Any]] = ("[[ 9 ** (cookiecutter.retry_limit ** 4) ]]", {"retry_limit": 10})
NOTES = Path("[[cookiecutter.pipeline_name]][#{{}}#]") / "notes.md"


def bomb_folder(tmp_path: Path, *, name: str, body: str) -> Path:
    """A copy of a built-in template whose notes.md is ``body``."""
    folder = template_variant(tmp_path, name=name)
    (folder / NOTES).write_text(body + "\n", encoding="utf-8")
    return folder


def plant(catalog: Any, tmp_path: Path, name: str, body: str) -> None:
    """Record a template whose notes.md is ``body`` without the publish checks (as an old catalog holds it)."""
    clean = prepare_folder(template_variant(tmp_path / "clean", name=name))
    folder = bomb_folder(tmp_path / "bomb", name=name, body=body)
    with unpacked(pack_folder(folder), source=name) as unpacked_folder:
        canonical = pack(unpacked_folder)
    planted = Publication(name=name, version=clean.version, digest="sha256:" + hashlib.sha256(canonical).hexdigest(),
                          bundle=canonical, summary=clean.summary, tags=clean.tags, parameters=clean.parameters,
                          changelog=None, lint=clean.lint)
    with catalog.session() as session:
        service.publish(session, publication=planted, publisher="before-the-edge-checks")
