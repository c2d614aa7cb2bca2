"""Bundles are untrusted: each hostile case is refused with a message naming the entry and the rule,
every problem at once, and nothing is extracted outside a private folder."""

from __future__ import annotations

import io
import json
import os
import stat
import tarfile
from pathlib import Path

import pytest

from catalog.errors import HostileBundleError
from catalog.safety import MAX_FILES, MAX_UNPACKED_BYTES, bundle_problems, pack_folder, unpacked
from generator.bundle import pack
from generator.errors import UsageError
from tests.conftest import template_variant


def tar_of(*members: tuple[tarfile.TarInfo, bytes | None]) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for info, data in members:
            if data is not None:
                info.size = len(data)
            tar.addfile(info, io.BytesIO(data) if data is not None else None)
    return buffer.getvalue()


def entry(name: str, kind: bytes = tarfile.REGTYPE, data: bytes | None = b"x", link: str = "") -> tuple[
        tarfile.TarInfo, bytes | None]:
    info = tarfile.TarInfo(name)
    info.type, info.linkname = kind, link
    return info, data if kind == tarfile.REGTYPE else None


def with_template(tmp_path: Path, *extra: tuple[tarfile.TarInfo, bytes | None]) -> bytes:
    """A valid template's bundle plus hostile extra entries."""
    folder = template_variant(tmp_path)
    with tarfile.open(fileobj=io.BytesIO(pack(folder))) as tar:
        members = [(m, tar.extractfile(m).read() if m.isreg() else None) for m in tar]  # type: ignore[union-attr]
    return tar_of(*members, *extra)


@pytest.mark.parametrize(("member", "says"), [
    (entry("/etc/cron.d/evil"), "/etc/cron.d/evil: an absolute path"),
    (entry("../outside.txt"), "../outside.txt: '..' would escape the template folder"),
    (entry("project/../../outside.txt"), "'..' would escape"),
    (entry("link", tarfile.SYMTYPE, link="/etc/passwd"), "link: a symbolic link (to /etc/passwd)"),
    (entry("hard", tarfile.LNKTYPE, link="template.yaml"), "hard: a hard link (to template.yaml)"),
    (entry("dev", tarfile.CHRTYPE), "dev: a device file"),
    (entry("disk", tarfile.BLKTYPE), "disk: a device file"),
    (entry("pipe", tarfile.FIFOTYPE), "pipe: a named pipe (FIFO)"),
    (entry("hooks/pre_gen_project.py", data=b"import os; os.system('id')"), "cookiecutter hooks run code"),
    (entry("template.yaml"), "template.yaml: appears twice"),
])
def test_each_hostile_entry_is_refused_by_name(tmp_path: Path, member: tuple[tarfile.TarInfo, bytes | None],
                                               says: str) -> None:
    data = with_template(tmp_path, member)
    problems = bundle_problems(data)
    assert any(says in p for p in problems), problems
    with pytest.raises(HostileBundleError) as error, unpacked(data, source="upload.tar"):
        pass
    assert error.value.message.startswith("upload.tar refused") and says in error.value.message


@pytest.mark.parametrize("extensions", [["local_extensions.Shout"], ["jinja2.ext.do"]])
def test_jinja_extensions_in_cookiecutter_json_are_refused(tmp_path: Path, extensions: list[str]) -> None:
    folder = template_variant(tmp_path)
    settings = json.loads((folder / "cookiecutter.json").read_text())
    (folder / "cookiecutter.json").write_text(json.dumps({**settings, "_extensions": extensions}))
    (folder / "local_extensions.py").write_text("raise SystemExit('template code ran')\n")
    with pytest.raises(HostileBundleError, match=r"_extensions \(" + extensions[0].replace(".", r"\.")):
        pack_folder(folder)


def test_more_than_500_files_is_refused(tmp_path: Path) -> None:
    data = with_template(tmp_path, *(entry(f"extra/{i}.txt") for i in range(MAX_FILES)))
    assert any(f"files: a template may hold at most {MAX_FILES}" in p for p in bundle_problems(data))


def test_more_than_5_mb_unpacked_is_refused(tmp_path: Path) -> None:
    folder = template_variant(tmp_path)
    (folder / "big.bin").write_bytes(os.urandom(1024) * (MAX_UNPACKED_BYTES // 1024))
    with pytest.raises(HostileBundleError, match="a template may hold at most 5 MB"):
        pack_folder(folder)


def test_an_oversized_upload_is_refused_before_it_is_read() -> None:
    assert bundle_problems(b"\0" * (8 * 1024 * 1024)) == [
        "the bundle is 8,388,608 bytes: more than a template of at most 5 MB unpacked can be"
    ]


def test_garbage_is_not_a_bundle() -> None:
    assert any("not a readable tar archive" in p for p in bundle_problems(b"PK\x03\x04 a zip, not a tar"))


def test_every_problem_is_reported_at_once(tmp_path: Path) -> None:
    data = with_template(tmp_path, entry("/abs"), entry("a/../../b"), entry("l", tarfile.SYMTYPE, link="x"),
                         entry("hooks/post_gen_project.sh"))
    assert len(bundle_problems(data)) == 4


def test_folder_links_and_special_files_are_refused_not_silently_dropped(tmp_path: Path) -> None:
    folder = template_variant(tmp_path)
    (folder / "secret").symlink_to("/etc/hostname")
    (folder / "escape").symlink_to(tmp_path, target_is_directory=True)
    os.link(folder / "template.yaml", tmp_path / "second-name")
    os.mkfifo(folder / "queue")
    with pytest.raises(HostileBundleError) as error:
        pack_folder(folder)
    message = error.value.message
    assert "secret: a symbolic link (to /etc/hostname)" in message
    assert "escape: a symbolic link" in message
    assert "template.yaml: a hard link (the same file has 2 names)" in message
    assert "queue: a named pipe (FIFO)" in message
    assert "4 problems" in message


@pytest.mark.skipif(os.geteuid() != 0, reason="creating a device node needs root")
def test_a_device_node_in_a_folder_is_refused(tmp_path: Path) -> None:
    folder = template_variant(tmp_path)
    os.mknod(folder / "null", stat.S_IFCHR | 0o600, os.makedev(1, 3))
    with pytest.raises(HostileBundleError, match="null: a device file"):
        pack_folder(folder)


def test_hooks_folder_in_a_template_folder_is_refused(tmp_path: Path) -> None:
    folder = template_variant(tmp_path)
    (folder / "hooks").mkdir()
    (folder / "hooks" / "pre_gen_project.py").write_text("import os\n")
    with pytest.raises(HostileBundleError, match=r"hooks/ \(hooks/pre_gen_project.py\): cookiecutter hooks"):
        pack_folder(folder)


def test_a_missing_folder_is_a_usage_error(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="no such folder"):
        pack_folder(tmp_path / "nope")


def test_a_clean_bundle_unpacks_to_the_same_bytes_and_modes(tmp_path: Path) -> None:
    folder = template_variant(tmp_path)
    (folder / "run.sh").write_text("#!/bin/sh\n")
    (folder / "run.sh").chmod(0o755)
    data = pack_folder(folder)
    with unpacked(data) as copy:
        assert pack(copy) == data
        assert (copy / "run.sh").stat().st_mode & 0o777 == 0o755
        assert (copy / "template.yaml").stat().st_mode & 0o777 == 0o644
        kept = copy
    assert not kept.exists(), "the temporary folder is removed afterwards"


def test_a_bundle_made_with_tar_c_folder_dot_unpacks(tmp_path: Path) -> None:
    """``tar -C folder -cf bundle.tar .`` names the root ``./`` and every entry ``./...``: the bundle check
    accepts that, so unpacking it (every publish and render) must too, not refuse the root folder."""
    folder = template_variant(tmp_path)
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        tar.add(folder, arcname=".")
    data = buffer.getvalue()
    with tarfile.open(fileobj=io.BytesIO(data)) as tar:
        assert tar.getnames()[0] == "."
    assert bundle_problems(data) == []
    with unpacked(data) as copy:
        assert pack(copy) == pack(folder)
