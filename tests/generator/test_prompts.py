"""With a terminal attached, `pipeforge new` asks for each parameter, re-asking after an invalid answer."""

from __future__ import annotations

import os
import pty
import select
import subprocess
import sys
import time
from pathlib import Path

from generator.template_spec import find_template
from generator.yamlio import load_documents


def _read_until(fd: int, marker: bytes, buffer: bytearray, timeout: float = 20.0, start: int = 0) -> None:
    deadline = time.monotonic() + timeout
    while marker not in buffer[start:]:
        remaining = deadline - time.monotonic()
        assert remaining > 0, f"timed out waiting for {marker!r}; got {bytes(buffer)[-400:]!r}"
        ready, _, _ = select.select([fd], [], [], remaining)
        if ready:
            buffer.extend(os.read(fd, 4096))


def test_prompts_follow_the_schema_and_reask_on_invalid_answers(tmp_path: Path) -> None:
    names = find_template("approval-gated-delete").parameter_names
    leader, follower = pty.openpty()
    process = subprocess.Popen(
        [sys.executable, "-m", "generator", "new", "approval-gated-delete", "-o", "out", "--quiet"],
        stdin=follower, stdout=follower, stderr=follower, cwd=tmp_path, close_fds=True,
    )
    os.close(follower)
    buffer = bytearray()
    try:
        for name in names:
            _read_until(leader, name.encode(), buffer)
            _read_until(leader, b"]: ", buffer)
            if name == "namespace":
                os.write(leader, b"Bad Namespace\n")
                del buffer[:]
                _read_until(leader, b"must be a DNS-1123 label", buffer)
                _read_until(leader, b"]: ", buffer, start=buffer.find(b"DNS-1123"))  # asked again
                os.write(leader, b"cleanup\n")
            else:
                os.write(leader, b"\n")
            del buffer[:]
        assert process.wait(timeout=30) == 0
    finally:
        if process.poll() is None:
            process.kill()
        os.close(leader)
    (answers,) = load_documents((tmp_path / "out" / ".pipeforge-answers.yaml").read_text())
    assert answers["parameters"]["namespace"] == "cleanup"
    assert answers["parameters"]["target_kind"] == "PersistentVolumeClaim"
