"""The registry's speed: ``GET /api/v1/templates`` over a catalog of 1,000 templates with 20 versions
each, at 32 concurrent keep-alive connections, side by side with a bare FastAPI endpoint that returns a
precomputed payload of the same size (``bench/bare_app.py``), both served by uvicorn (one worker, no
access log) in a process of their own; then ``POST /api/v1/render`` latency, one request at a time.

Targets (issue 6): listing throughput at least 0.7 of the bare endpoint's, listing p99 at most 50 ms,
render p50 at most 20 ms.

The catalog is a fresh SQLite file. The built-in templates are published the normal way; the 20,000 bench
versions are inserted in bulk (publishing is bench_catalog.py's subject), each row with the metadata of a
real publication. The load generator is a small asyncio HTTP/1.1 client, so it costs far less CPU than
the servers it measures (on a 2-core machine both share the cores).

    .venv/bin/python bench/bench_registry.py [--templates 1000] [--versions 20] [--seconds 5] [--connections 32]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

LIST_PATH = "/api/v1/templates"


def load_catalog(url: str, templates: int, versions: int) -> None:
    """Built-in templates published normally, then templates x versions rows in bulk."""
    from sqlalchemy import insert

    from catalog.models import TemplateVersion, utcnow
    from catalog.publication import prepare_folder
    from registry_api.services.registry import _open_catalog, publish_builtins

    catalog = _open_catalog(url)
    publish_builtins(catalog)
    model = prepare_folder(ROOT / "templates" / "provision-process-publish")
    now = utcnow()
    rows = [
        {"name": f"team-{t:04d}-pipeline", "version": f"1.{v}.0", "major": 1, "minor": v, "patch": 0,
         "prerelease": "", "digest": model.digest, "summary": f"Pipeline {t} of team {t % 37}: " + model.summary,
         "tags": [*model.tags, f"team-{t % 37}"], "parameters": model.parameters, "lint_summary": model.lint,
         "changelog": None, "publisher": "bench", "published_at": now, "yanked": v == versions - 1 and t % 10 == 0,
         "yank_reason": "bench" if v == versions - 1 and t % 10 == 0 else None, "yanked_at": None}
        for t in range(templates) for v in range(versions)
    ]
    with catalog.engine.begin() as connection:
        for start in range(0, len(rows), 5000):
            connection.execute(insert(TemplateVersion), rows[start:start + 5000])
    catalog.engine.dispose()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def served(args: list[str], env: dict[str, str], port: int, *, path: str = LIST_PATH,
           poll: float = 0.2) -> Iterator[None]:
    """``python -m ARGS --port PORT`` running, entered once ``path`` answers (asked every ``poll`` s)."""
    process = subprocess.Popen([sys.executable, "-m", *args, "--port", str(port)], env={**os.environ, **env},
                               cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=60).read()
                break
            except OSError:
                if process.poll() is not None or time.monotonic() > deadline:
                    errors = process.stderr.read().decode() if process.stderr else ""
                    raise SystemExit(f"server did not start: {errors}") from None
                time.sleep(poll)
        yield
    finally:
        process.terminate()
        process.wait(timeout=30)


async def _request(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, raw: bytes) -> int:
    writer.write(raw)
    status_line = await reader.readline()
    length = 0
    while True:
        line = await reader.readline()
        if line in (b"\r\n", b""):
            break
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value)
    await reader.readexactly(length)
    return int(status_line.split()[1])


async def _load(port: int, raw: bytes, seconds: float, connections: int) -> tuple[int, list[float]]:
    latencies: list[float] = []
    stop = time.perf_counter() + seconds

    async def worker() -> None:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        while time.perf_counter() < stop:
            start = time.perf_counter()
            status = await _request(reader, writer, raw)
            latencies.append(time.perf_counter() - start)
            if status != 200:
                raise SystemExit(f"unexpected status {status}")
        writer.close()

    await asyncio.gather(*(worker() for _ in range(connections)))
    return len(latencies), latencies


def measure(port: int, path: str, seconds: float, connections: int) -> tuple[float, float, float]:
    """Requests per second, p50 and p99 in ms (after a one-second warm-up)."""
    raw = f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n".encode()
    asyncio.run(_load(port, raw, 1.0, connections))
    count, latencies = asyncio.run(_load(port, raw, seconds, connections))
    cuts = statistics.quantiles(latencies, n=100)
    return count / seconds, cuts[49] * 1000, cuts[98] * 1000


def render_latency(port: int, count: int) -> tuple[float, float]:
    """p50 and p99 in ms of POST /api/v1/render, one at a time, each with other parameters."""

    async def run() -> list[float]:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        out = []
        for i in range(count + 10):
            body = json.dumps({"template": "provision-process-publish",
                               "parameters": {"pipeline_name": f"bench-{i}", "retry_limit": i % 10}}).encode()
            raw = (f"POST /api/v1/render HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
                   f"Content-Length: {len(body)}\r\n\r\n").encode() + body
            start = time.perf_counter()
            status = await _request(reader, writer, raw)
            if status != 200:
                raise SystemExit(f"render answered {status}")
            if i >= 10:  # the first renders unpack and compile the template
                out.append(time.perf_counter() - start)
        writer.close()
        return out

    latencies = asyncio.run(run())
    cuts = statistics.quantiles(latencies, n=100)
    return cuts[49] * 1000, cuts[98] * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--templates", type=int, default=1000)
    parser.add_argument("--versions", type=int, default=20)
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--renders", type=int, default=200)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        url = f"sqlite:///{Path(scratch) / 'catalog.db'}"
        start = time.perf_counter()
        load_catalog(url, args.templates, args.versions)
        print(f"catalog: {args.templates} templates x {args.versions} versions (+3 built-in) loaded into SQLite "
              f"in {time.perf_counter() - start:.1f} s")
        uvicorn = ["uvicorn", "--host", "127.0.0.1", "--log-level", "warning", "--no-access-log"]
        port = free_port()
        serve = ["generator", "serve", "--log-level", "warning", "--no-access-log"]
        with served(serve, {"PIPEFORGE_DATABASE_URL": url}, port):
            payload = urllib.request.urlopen(f"http://127.0.0.1:{port}{LIST_PATH}").read()
            registry = measure(port, LIST_PATH, args.seconds, args.connections)
            render = render_latency(port, args.renders)
        payload_file = Path(scratch) / "payload.json"
        payload_file.write_bytes(payload)
        port = free_port()
        with served([*uvicorn, "bare_app:app", "--app-dir", str(ROOT / "bench")],
                    {"BENCH_PAYLOAD": str(payload_file)}, port):
            bare = measure(port, LIST_PATH, args.seconds, args.connections)
    print(f"GET {LIST_PATH} ({len(payload):,} bytes, {args.connections} connections, {args.seconds:.0f} s each):")
    print(f"  registry     {registry[0]:8.0f} req/s   p50 {registry[1]:6.1f} ms   p99 {registry[2]:6.1f} ms")
    print(f"  bare FastAPI {bare[0]:8.0f} req/s   p50 {bare[1]:6.1f} ms   p99 {bare[2]:6.1f} ms")
    ratio = registry[0] / bare[0]
    print(f"  ratio {ratio:.2f} of bare throughput (target >= 0.70: {'met' if ratio >= 0.7 else 'MISSED'}); "
          f"p99 {registry[2]:.1f} ms (target <= 50: {'met' if registry[2] <= 50 else 'MISSED'})")
    verdict = "met" if render[0] <= 20 else "MISSED"
    print(f"POST /api/v1/render (provision-process-publish, {args.renders} renders, one at a time): "
          f"p50 {render[0]:.1f} ms, p99 {render[1]:.1f} ms (target p50 <= 20: {verdict})")


if __name__ == "__main__":
    main()
