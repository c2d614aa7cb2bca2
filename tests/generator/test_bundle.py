from __future__ import annotations

import os
import shutil
from pathlib import Path

from generator.bundle import digest, pack
from generator.template_spec import find_template


def copy_of(tmp_path: Path, name: str = "copy") -> Path:
    target = tmp_path / name
    shutil.copytree(find_template("provision-process-publish").path, target)
    return target


def test_same_content_gives_the_same_digest_wherever_and_whenever(tmp_path: Path) -> None:
    original = find_template("provision-process-publish").path
    copy = copy_of(tmp_path)
    for path in copy.rglob("*"):
        os.utime(path, (1, 1))
        if path.is_file():
            path.chmod(0o600)
    assert digest(copy) == digest(original)
    assert pack(copy) == pack(original)


def test_caches_and_vcs_files_do_not_count(tmp_path: Path) -> None:
    copy = copy_of(tmp_path)
    before = digest(copy)
    (copy / ".git").mkdir()
    (copy / ".git" / "HEAD").write_text("ref")
    (copy / "__pycache__").mkdir()
    (copy / "__pycache__" / "x.pyc").write_bytes(b"\0")
    assert digest(copy) == before


def test_any_change_of_content_name_or_executable_bit_changes_the_digest(tmp_path: Path) -> None:
    copy = copy_of(tmp_path)
    before = digest(copy)
    (copy / "template.yaml").write_text((copy / "template.yaml").read_text() + "\n")
    changed = digest(copy)
    assert changed != before
    (copy / "cookiecutter.json").chmod(0o755)
    assert digest(copy) != changed
