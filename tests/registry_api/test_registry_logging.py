"""The server's one logging setup: ``pipeforge serve`` logs one plain line per record (tracebacks too),
written by a thread of its own rather than the caller's (the event loop's), kept when the MCP SDK tries
to install its rich-traceback handler, and with query strings kept out of the access log."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from tests import httpkit
from tests.conftest import ROOT
from tests.registry_api.test_registry_serve import free_port

LINE = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3} (DEBUG|INFO|WARNING|ERROR|CRITICAL) [\w.]+: ")

# Run in a process of its own: the setup replaces the root logger's handlers, pytest's included.
PROBE = """
import io, logging, sys, threading
from registry_api.server import install_logging

class Recording(io.StringIO):
    threads = set()
    def write(self, text):
        Recording.threads.add(threading.current_thread().name)
        return super().write(text)

stream = Recording()
listener = install_logging("info", stream=stream)
from registry_api.mcp import McpMount
McpMount(lambda: None).build()  # the MCP SDK calls logging.basicConfig as it builds its server
handlers = [type(h).__name__ for h in logging.getLogger().handlers]
try:
    {}["missing"]
except KeyError:
    logging.getLogger("pipeforge.registry").exception("unexpected error on GET /x")
logging.getLogger("uvicorn.access").info('%s - "%s %s HTTP/%s" %d', "127.0.0.1:1", "GET",
                                          "/api/v1/templates?token=pft_SECRET", "1.1", 401)
listener.stop()
print(handlers)
print(sorted(Recording.threads))
sys.stdout.write(stream.getvalue())
"""


def test_one_plain_line_per_record_written_off_the_callers_thread_and_kept_from_the_mcp_sdk() -> None:
    done = subprocess.run([sys.executable, "-c", PROBE], cwd=ROOT, capture_output=True, text=True, timeout=120,
                          env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert done.returncode == 0, done.stderr
    handlers, threads, *lines = done.stdout.splitlines()
    assert handlers == "['_DeferredQueueHandler']"
    assert "MainThread" not in threads
    assert len(lines) == 2 and all(LINE.match(line) for line in lines), lines
    error, access = lines
    assert "Traceback (most recent call last):\\n" in error and "KeyError: 'missing'" in error
    assert "pft_SECRET" not in access and "/api/v1/templates?<redacted>" in access


@pytest.mark.serve
def test_serve_logs_plain_lines_and_no_query_string(tmp_path: Path) -> None:
    port = free_port()
    command = [sys.executable, "-m", "generator", "serve", "--port", str(port)]
    process = subprocess.Popen(command, cwd=ROOT, text=True, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                               env={**os.environ, "PIPEFORGE_DATABASE_URL": f"sqlite:///{tmp_path / 'c.db'}"})
    try:
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 60
        while True:
            try:
                httpkit.get(base + "/healthz", timeout=5)
                break
            except httpx.TransportError:
                assert process.poll() is None and time.monotonic() < deadline
                time.sleep(0.2)
        httpkit.get(base + "/api/v1/templates?access_token=pft_LEAKED1&q=x", timeout=30)
        httpkit.get(base + "/healthz?token=pft_LEAKED2", headers={"Authorization": "Bearer pft_LEAKED3"}, timeout=30)
        httpkit.post(base + "/api/v1/render", content=b'{"template":"saga-compensation","version":1e999}',
                   headers={"Content-Type": "application/json"}, timeout=30)
    finally:
        process.send_signal(signal.SIGTERM)
        _, stderr = process.communicate(timeout=30)
    lines = stderr.splitlines()
    assert lines and all(LINE.match(line) for line in lines), lines
    assert "pft_LEAKED" not in stderr
    assert any("GET /healthz?<redacted> HTTP/1.1" in line for line in lines)
    assert any("POST /api/v1/render HTTP/1.1\" 422" in line for line in lines)
