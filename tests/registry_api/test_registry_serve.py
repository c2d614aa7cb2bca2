"""``pipeforge serve`` as a user runs it: a process that serves the catalog on the given port, a clear
message (exit code 2, no traceback, no password) when the database URL or a setting is wrong (an
unreachable database is retried instead: tests/registry_api/test_registry_startup.py), and
``/readyz`` turning 503 when the database goes away while the server runs."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from tests.conftest import ROOT, PostgresDatabases, RegistryServer


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def serve(env: dict[str, str], *args: str) -> subprocess.Popen[str]:
    command = [sys.executable, "-m", "generator", "serve", "--log-level", "warning", *args]
    return subprocess.Popen(command, cwd=ROOT, env={**os.environ, **env}, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)


def get(url: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url, timeout=30) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode()


@pytest.mark.serve
def test_serve_starts_the_registry_on_the_given_port(tmp_path: Path) -> None:
    port = free_port()
    process = serve({"PIPEFORGE_DATABASE_URL": f"sqlite:///{tmp_path / 'c.db'}"}, "--port", str(port))
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                status, body = get(f"http://127.0.0.1:{port}/")
                break
            except OSError:
                assert process.poll() is None and time.monotonic() < deadline, process.communicate()[1]
                time.sleep(0.2)
        assert status == 200 and "saga-compensation" in body
        assert get(f"http://127.0.0.1:{port}/healthz") == (200, '{"status":"ok"}')
    finally:
        process.send_signal(signal.SIGTERM)
        _, stderr = process.communicate(timeout=30)
    # uvicorn shuts down gracefully, then re-raises the signal it caught, as a well-behaved server does
    assert process.returncode in (0, -signal.SIGTERM) and "Traceback" not in stderr


@pytest.mark.parametrize(("env", "expected"), [
    ({"PIPEFORGE_DATABASE_URL": "mysql://root@localhost/pipeforge"}, "SQLite"),
    ({"PIPEFORGE_DATABASE_URL": "postgresql//nobody:hunter2@127.0.0.1/pipeforge"}, "PIPEFORGE_DATABASE_URL"),
    ({"PIPEFORGE_MAX_REQUEST_BYTES": "lots"}, "PIPEFORGE_MAX_REQUEST_BYTES"),
])
@pytest.mark.serve
def test_serve_refuses_a_bad_database_or_setting_with_a_message(env: dict[str, str], expected: str,
                                                                 tmp_path: Path) -> None:
    env = {"PIPEFORGE_DATABASE_URL": f"sqlite:///{tmp_path / 'c.db'}", **env}
    process = serve(env, "--port", str(free_port()))
    stdout, stderr = process.communicate(timeout=60)
    assert process.returncode == 2, stderr
    assert expected.lower() in stderr.lower() and "Traceback" not in stderr and "hunter2" not in stderr + stdout


def test_readyz_is_503_when_the_database_goes_away(postgres_databases: PostgresDatabases) -> None:
    from sqlalchemy import make_url, text

    url = postgres_databases.create()
    with RegistryServer(url, publish_builtins=False) as server, server.client() as client:
        assert client.get("/readyz").status_code == 200
        name = make_url(url).database
        with postgres_databases.engine.connect() as connection:
            connection.execute(text(f'DROP DATABASE "{name}" WITH (FORCE)'))
        response = client.get("/readyz")
        assert response.status_code == 503
        assert response.json()["type"].endswith("/catalog-unavailable")
        assert client.get("/healthz").status_code == 200
        assert client.get("/api/v1/templates/saga-compensation").status_code == 503
