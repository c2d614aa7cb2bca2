"""The registry's worst inputs per HTTP entry point, after the hardening: for each, the wall time of one
request (median of a few), the server process's CPU time for it and its peak memory (VmHWM from
/proc, the figure ``/usr/bin/time -v`` reports as "Maximum resident set size"; the render worker processes'
peaks are summed at the end), next to the named peer:
a normal ``POST /api/v1/render`` of saga-compensation with its defaults.

The server is ``pipeforge serve`` in a process of its own on a fresh SQLite catalog, with its default
limits; the client is httpx (and raw sockets for the slow connections). On a shared machine the
absolute times move with the load; the ratios less so.

    .venv/bin/python bench/bench_http_limits.py [--runs 3]
"""

from __future__ import annotations

import argparse
import contextlib
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
JSON = {"Content-Type": "application/json"}
NORMAL = b'{"template":"saga-compensation"}'


def _render(body: bytes) -> Callable[[httpx.Client], int]:
    return lambda client: client.post("/api/v1/render", content=body, headers=JSON).status_code


def _get(path: str) -> Callable[[httpx.Client], int]:
    return lambda client: client.get(path).status_code


def _chunks(total: int) -> Iterator[bytes]:
    for _ in range(total // 65536):
        yield b" " * 65536


CASES: list[tuple[str, Callable[[httpx.Client], int]]] = [
    ("render: 1e400", _render(b'{"template":"saga-compensation","parameters":{"retry_limit":1e400}}')),
    ("render: NaN", _render(b'{"template":"saga-compensation","parameters":{"retry_limit":NaN}}')),
    ("render: lone surrogate", _render(b'{"template":"saga-compensation","parameters":{"namespace":"\\ud800"}}')),
    ("render: 200-digit version", _render(b'{"template":"saga-compensation","version":"' + b"9" * 200 + b'"}')),
    ("render: 4000-digit integer", _render(b'{"template":"saga-compensation","parameters":{"retry_limit":'
                                           + b"7" * 4000 + b"}}")),
    ("render: 20k parameters (209 KB)", _render(b'{"template":"saga-compensation","parameters":{'
                                                + b",".join(b'"p%d":1' % i for i in range(20000)) + b"}}")),
    ("render: 999 members, each 1e999-free", _render(b'{"template":"saga-compensation","parameters":{"a":['
                                                     + b",".join([b"1"] * 999) + b"]}}")),
    ("render: 190 unknown parameters", _render(b'{"template":"saga-compensation","parameters":{'
                                               + b",".join(b'"unknown_%d_%s":"%s"' % (i, b"x" * 60, b"y" * 1000)
                                                           for i in range(190)) + b"}}")),
    ("render: 250 KB description", _render(b'{"template":"saga-compensation","parameters":{"description":"'
                                           + b"d" * 250_000 + b'"}}')),
    ("render: oversize chunked (1 MiB)", lambda c: c.post("/api/v1/render", content=_chunks(1 << 20),
                                                          headers=JSON).status_code),
    ("version: 200 digits", _get("/api/v1/templates/saga-compensation/versions/" + "9" * 200)),
    ("version: ^2147483647", _get("/api/v1/templates/saga-compensation/versions/^2147483647")),
    ("mcp: 1e400", lambda c: c.post("/mcp", content=b'{"jsonrpc":"2.0","id":1,"method":"x","params":{"n":1e400}}',
                                    headers=JSON).status_code),
    ("50 requests with odd methods, /metrics", lambda c: [c.request(f"M{i}", "/healthz") for i in range(50)]
     and c.get("/metrics").status_code),
]


def _cpu(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _peak_mb(pid: int) -> float:
    line = next(li for li in Path(f"/proc/{pid}/status").read_text().splitlines() if li.startswith("VmHWM"))
    return int(line.split()[1]) / 1024


def _descendants(pid: int) -> list[int]:
    """The server's worker processes (renders run in them), found through /proc's children lists."""
    found: list[int] = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        with contextlib.suppress(OSError):
            for child in (task / "children").read_text().split():
                found += [int(child), *_descendants(int(child))]
    return found


def _workers_peak_mb(pid: int) -> float:
    total = 0.0
    for child in _descendants(pid):
        with contextlib.suppress(OSError, StopIteration):
            total += _peak_mb(child)
    return total


def measure(client: httpx.Client, pid: int, send: Callable[[httpx.Client], int], runs: int) -> tuple[float, float, int]:
    walls, cpus, status = [], [], 0
    for _ in range(runs):
        before, started = _cpu(pid), time.perf_counter()
        status = send(client)
        walls.append(time.perf_counter() - started)
        cpus.append(_cpu(pid) - before)
    return statistics.median(walls), statistics.median(cpus), status


def slow_connections(port: int, count: int, header_timeout: float) -> float:
    """Seconds until the server has closed ``count`` connections that trickle their headers."""
    sockets = [socket.create_connection(("127.0.0.1", port), timeout=10) for _ in range(count)]
    started = time.perf_counter()
    for sock in sockets:
        sock.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n")
    open_ones = list(sockets)
    while open_ones and time.perf_counter() - started < header_timeout + 30:
        time.sleep(0.2)
        still = []
        for sock in open_ones:
            sock.settimeout(0)
            try:
                if sock.recv(1024):
                    still.append(sock)
            except BlockingIOError:
                still.append(sock)
            except OSError:
                pass
        open_ones = still
    for sock in sockets:
        sock.close()
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="bench-http-"))
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    env = {**os.environ, "PIPEFORGE_DATABASE_URL": f"sqlite:///{folder / 'c.db'}", "PYTHONPATH": str(ROOT)}
    server = subprocess.Popen([sys.executable, "-m", "generator", "serve", "--port", str(port), "--no-access-log",
                               "--log-level", "warning"], cwd=ROOT, env=env)
    try:
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=60) as client:
            while True:
                try:
                    client.get("/healthz")
                    break
                except httpx.TransportError:
                    time.sleep(0.2)
            measure(client, server.pid, _render(NORMAL), 2)  # warm the render cache
            start_mb = _peak_mb(server.pid)
            peer_wall, peer_cpu, _ = measure(client, server.pid, _render(NORMAL), args.runs)
            print(f"{'case':40} {'status':>6} {'wall ms':>8} {'cpu ms':>7} {'vs render':>9} {'peak MB':>8}")
            print(f"{'peer: normal render':40} {200:>6} {peer_wall * 1000:8.1f} {peer_cpu * 1000:7.0f} "
                  f"{1.0:9.2f} {_peak_mb(server.pid):8.1f}")
            for name, send in CASES:
                wall, cpu, status = measure(client, server.pid, send, args.runs)
                print(f"{name:40} {status:>6} {wall * 1000:8.1f} {cpu * 1000:7.0f} {wall / peer_wall:9.2f} "
                      f"{_peak_mb(server.pid):8.1f}")
        closed = slow_connections(port, 300, 10)
        print(f"300 connections trickling headers: all closed after {closed:.1f} s (header timeout 10 s)")
        print(f"server peak memory: {_peak_mb(server.pid):.1f} MB (after start and warm-up: {start_mb:.1f} MB); "
              f"its worker processes' peaks add up to {_workers_peak_mb(server.pid):.1f} MB")
    finally:
        server.terminate()
        server.wait(timeout=30)


if __name__ == "__main__":
    main()
