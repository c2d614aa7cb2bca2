"""Adversarial cases against a live registry (``pipeforge serve`` in a process of its own, on loopback),
bounded in count and time: the payloads that used to be 500s sent in parallel, hundreds of slow
connections, oversize bodies, tokens in query strings. Throughout each attack a prober asks for
``/healthz`` and a normal render, and each must keep answering within 1 s."""

from __future__ import annotations

import json
import multiprocessing
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack, contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests import httpkit
from tests.conftest import ROOT, responsive
from tests.registry_api.test_registry_serve import free_port

pytestmark = pytest.mark.adversarial

HEADER_TIMEOUT, BODY_TIMEOUT = 2, 2
NORMAL = {"template": "saga-compensation", "parameters": {"pipeline_name": "probe"}}


@dataclass
class Served:
    base: str
    port: int
    process: subprocess.Popen[bytes]
    log: Path

    def log_text(self) -> str:
        return self.log.read_text(encoding="utf-8", errors="replace")


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    folder = tmp_path_factory.mktemp("adversarial")
    port = free_port()
    env = {**os.environ, "PIPEFORGE_DATABASE_URL": f"sqlite:///{folder / 'c.db'}",
           "PIPEFORGE_HEADER_TIMEOUT_SECONDS": str(HEADER_TIMEOUT), "PIPEFORGE_BODY_TIMEOUT_SECONDS": str(BODY_TIMEOUT)}
    log = folder / "server.log"
    with log.open("w", encoding="utf-8") as sink:
        process = subprocess.Popen([sys.executable, "-m", "generator", "serve", "--port", str(port)], cwd=ROOT,
                                   env=env, stdout=sink, stderr=sink)
    server = Served(f"http://127.0.0.1:{port}", port, process, log)
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpkit.get(server.base + "/healthz", timeout=5).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert process.poll() is None and time.monotonic() < deadline, server.log_text()
            time.sleep(0.2)
        # the render cache and every render worker warmed up (a worker compiles a template on its first render)
        with ThreadPoolExecutor(max_workers=4) as pool:
            list(pool.map(lambda _: httpkit.post(server.base + "/api/v1/render", json=NORMAL, timeout=60), range(8)))
        yield server
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=30)
    assert "Traceback" not in server.log_text()


def _probe(base: str, ready: Any, stop: Any, results: Any, done: Any) -> None:
    """In a process of its own (so the attackers' threads do not slow the prober down): /healthz and a
    normal render in a loop, the slowest answer of each recorded; ``done`` counts the rounds finished."""
    slowest, failures, rounds, times = {"healthz": 0.0, "render": 0.0}, [], 0, []
    with httpkit.client(base_url=base, timeout=10) as client:
        while not stop.is_set():
            for kind, send in (("healthz", lambda: client.get("/healthz")),
                               ("render", lambda: client.post("/api/v1/render", json=NORMAL))):
                started = time.monotonic()
                try:
                    status = send().status_code
                except httpx.HTTPError as exc:
                    failures.append(f"{kind}: {exc!r}")
                    continue
                times.append(time.monotonic() - started)
                slowest[kind] = max(slowest[kind], times[-1])
                if status != 200:
                    failures.append(f"{kind}: {status}")
            rounds += 1
            with done.get_lock():
                done.value = rounds
            ready.set()
            stop.wait(0.1)
    results.put({"slowest": slowest, "failures": failures, "rounds": rounds, "times": times})


@contextmanager
def probing(server: Served) -> Iterator[None]:
    context = multiprocessing.get_context("spawn")
    ready, stop, results, done = context.Event(), context.Event(), context.Queue(), context.Value("i", 0)
    prober = context.Process(target=_probe, args=(server.base, ready, stop, results, done), daemon=True)
    prober.start()
    before = 0
    try:
        assert ready.wait(120), "the prober did not start"
        before = done.value
        yield
        # A short attack can end within one round of the prober: one whole round must begin after the attack
        # did (the round under way when it started may have begun before it), however quickly it ends.
        deadline = time.monotonic() + 60
        while done.value < before + 2 and time.monotonic() < deadline and prober.is_alive():
            time.sleep(0.05)
    finally:
        stop.set()
        outcome = results.get(timeout=120)
        prober.join(timeout=30)
    assert outcome["failures"] == [] and outcome["rounds"] >= before + 2, outcome
    assert all([responsive(seconds) for seconds in outcome["times"]]), outcome["slowest"]


AMPLIFIERS = [
    b'{"template":"saga-compensation","parameters":{"retry_limit":1e400}}',
    b'{"template":"saga-compensation","parameters":{"retry_limit":NaN}}',
    b'{"template":"saga-compensation","parameters":{"namespace":"\\udbff"}}',
    b'{"template":"saga-compensation","version":"' + b"8" * 200 + b'"}',
    b'{"template":"saga-compensation","version":">=0.' + b"5" * 40 + b'"}',
    b'{"template":"saga-compensation","parameters":{"retry_limit":' + b"3" * 4000 + b"}}",
    b'{"template":"saga-compensation","parameters":{"a":' + b"[" * 150 + b"]" * 150 + b"}}",
    b'{"template":"saga-compensation","parameters":{' + b",".join(b'"k%d":0' % i for i in range(20000)) + b"}}",
]


def test_the_former_500_payloads_in_parallel_are_all_4xx_and_the_registry_keeps_answering(served: Served) -> None:
    with probing(served), httpkit.client(base_url=served.base, timeout=30) as client:
        def attack(index: int) -> int:
            return client.post("/api/v1/render", content=AMPLIFIERS[index % len(AMPLIFIERS)],
                               headers={"Content-Type": "application/json"}).status_code

        with ThreadPoolExecutor(max_workers=10) as pool:
            statuses = list(pool.map(attack, range(80)))
    assert set(statuses) == {422}, statuses


def _slow(port: int, opening: bytes) -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", port), timeout=10)
    sock.sendall(opening)
    return sock


def _closed(sock: socket.socket) -> bool:
    """Whether the server has closed the connection (an answer it sent first, such as a 408, is read)."""
    sock.settimeout(0)
    try:
        while sock.recv(65536):
            pass
        return True
    except BlockingIOError:
        return False
    except OSError:
        return True


def test_hundreds_of_slow_connections_are_cut_off_and_the_registry_keeps_answering(served: Served) -> None:
    header_only = b"GET /api/v1/templates HTTP/1.1\r\nHost: x\r\n"
    partial_body = (b"POST /api/v1/render HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                    b"Content-Length: 5000\r\n\r\n{\"template\":")
    with probing(served), ExitStack() as stack:
        sockets = [stack.enter_context(_slow(served.port, header_only if i % 3 else partial_body))
                   for i in range(240)]
        sockets += [stack.enter_context(socket.create_connection(("127.0.0.1", served.port), timeout=10))
                    for _ in range(60)]  # connect and send nothing at all
        started = time.monotonic()
        open_ones = list(sockets)
        while open_ones and time.monotonic() - started < HEADER_TIMEOUT + BODY_TIMEOUT + 8:
            for sock in open_ones:
                with suppress(OSError):
                    sock.send(b"X")  # a byte at a time, as slowloris does
            time.sleep(0.5)
            open_ones = [s for s in open_ones if not _closed(s)]
    assert open_ones == [], f"{len(open_ones)} of {len(sockets)} slow connections still open"


def _chunked(total: int) -> Iterator[bytes]:
    for _ in range(total // 65536):
        yield b" " * 65536


def _declared_too_large(port: int) -> bytes:
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(b"POST /api/v1/render HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                     b"Content-Length: 1000000000000\r\n\r\n")
        answer = b""
        while chunk := sock.recv(65536):
            answer += chunk
        return answer


def test_oversize_bodies_in_parallel_are_all_413_and_the_registry_keeps_answering(served: Served) -> None:
    def attack(index: int) -> int:
        if index % 2:
            return int(_declared_too_large(served.port).split(b" ", 2)[1])
        with httpkit.client(base_url=served.base, timeout=30) as client:
            response = client.post("/api/v1/render", content=_chunked(1024 * 1024),
                                   headers={"Content-Type": "application/json"})
            return response.status_code

    with probing(served), ThreadPoolExecutor(max_workers=8) as pool:
        statuses = list(pool.map(attack, range(32)))
    assert set(statuses) == {413}, statuses


def test_tokens_in_query_strings_never_reach_the_log(served: Served) -> None:
    secrets = [f"pft_query_secret_{i}_{os.urandom(6).hex()}" for i in range(30)]
    with probing(served), httpkit.client(base_url=served.base, timeout=30) as client:
        for index, secret in enumerate(secrets):
            path = ("/api/v1/templates", "/healthz", "/api/v1/templates/saga-compensation", "/nowhere")[index % 4]
            client.get(path, params={"token": secret, "q": "x"})
            client.post("/api/v1/render?access_token=" + secret, content=json.dumps(NORMAL).encode(),
                        headers={"Content-Type": "application/json"})
    time.sleep(0.5)  # the log is written by the server's listener thread
    text = served.log_text()
    assert "?<redacted>" in text and not any(secret in text for secret in secrets)
