"""The registry's parser entry points under their worst inputs: time per request and the server's peak RSS.

A real uvicorn on a loopback port (SQLite catalog) in this process; each bomb is sent a few times over
HTTP (publish, render) and over MCP (the manifest tools), then a normal render is timed for comparison
(the peer: what an honest request costs on the same server). Peak RSS is this process's (server and
client together), read with getrusage after each case.

    .venv/bin/python bench/bench_parse_registry.py [--runs 3]
"""

from __future__ import annotations

import argparse
import resource
import shutil
import socket
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import anyio
import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from bench_parse_limits import HEAD, laughs, publish_cases  # noqa: E402

from generator.bundle import pack  # noqa: E402

NORMAL = {"template": "saga-compensation", "parameters": {"namespace": "orders"}}


class Server:
    def __init__(self, url: str) -> None:
        import uvicorn

        from registry_api.app import create_app
        from registry_api.settings import Settings

        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.base = f"http://127.0.0.1:{self.sock.getsockname()[1]}"
        self.server = uvicorn.Server(uvicorn.Config(create_app(Settings(database_url=url)), log_level="error"))
        self.thread = threading.Thread(target=self.server.run, kwargs={"sockets": [self.sock]}, daemon=True)

    def __enter__(self) -> Server:
        self.thread.start()
        while not self.server.started:
            time.sleep(0.02)
        return self

    def __exit__(self, *_: object) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=30)


def mcp_call(base: str, token: str, tool: str, arguments: dict[str, Any]) -> Any:
    import httpx2
    from mcp.client.session import ClientSession
    from mcp.client.streamable_http import streamable_http_client

    async def main() -> Any:
        async with httpx2.AsyncClient(headers={"Authorization": f"Bearer {token}"}, timeout=120) as http, \
                streamable_http_client(f"{base}/mcp", http_client=http) as (read, write), \
                ClientSession(read, write) as session:
            await session.initialize()
            return await session.call_tool(tool, arguments)

    return anyio.run(main)


def timed(label: str, send: Any, runs: int) -> None:
    times, outcome = [], ""
    for _ in range(runs):
        started = time.perf_counter()
        outcome = send()
        times.append(time.perf_counter() - started)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"{label:62} {statistics.median(times):7.3f} s  {peak:6.0f} MB  {outcome}")


def bundles(scratch: Path) -> dict[str, tuple[str, bytes]]:
    out = {}
    for index, (label, block) in enumerate(publish_cases().items()):
        folder = scratch / f"t{index}"
        shutil.copytree(ROOT / "templates" / "saga-compensation", folder)
        meta = folder / "template.yaml"
        text = meta.read_text(encoding="utf-8").replace("\nparameters:\n", "\nparameters:\n" + block, 1)
        meta.write_text(text.replace("name: saga-compensation", f"name: bomb-{index}", 1), encoding="utf-8")
        out[label] = (f"bomb-{index}", pack(folder))
    return out


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    from catalog.migrate import open_catalog
    from catalog.tokens import create

    with tempfile.TemporaryDirectory() as scratch:
        url = f"sqlite:///{scratch}/registry.db"
        catalog = open_catalog(url)
        with catalog.session() as session:
            _, token = create(session, name="bench", scopes=["admin"])
        with Server(url) as server, httpx.Client(base_url=server.base, timeout=120,
                                                 headers={"Authorization": f"Bearer {token}"}) as client:
            print(f"{'request':62} {'median':>9}  {'peak RSS':>8}  outcome")
            timed("POST /api/v1/render, a normal render (peer)",
                  lambda: client.post("/api/v1/render", json=NORMAL).status_code, args.runs)
            for label, (name, data) in bundles(Path(scratch)).items():
                timed(f"publish: {label}", lambda n=name, d=data: client.post(
                    f"/api/v1/templates/{n}/versions", content=d,
                    headers={"Content-Type": "application/x-tar"}).status_code, args.runs)
            deep = b'{"template": "saga-compensation", "parameters": {"namespace": ' + b"[" * 50_000 \
                + b"]" * 50_000 + b"}}"
            timed("render: parameters nested 50,000 deep (100 KB)", lambda: client.post(
                "/api/v1/render", content=deep, headers={"Content-Type": "application/json"}).status_code, args.runs)
            manifests = {
                "lint_manifest: recursive alias": HEAD + "  templates: &t\n    - name: main\n      steps: [*t]\n",
                "explain_manifest: billion laughs 10x10": HEAD + "  arguments:\n" + laughs(10, 10),
                "harden_manifest: depth 400 flow": HEAD + "  arguments: " + "{a: " * 400 + "1" + "}" * 400 + "\n",
                "simulate_manifest: a mapping merging itself": HEAD + "  x: &m {<<: *m}\n  templates: []\n",
            }
            for label, text in manifests.items():
                tool = label.split(":")[0]
                timed(f"MCP {label}", lambda t=tool, m=text: "tool error" if mcp_call(
                    server.base, token, t, {"manifest": m}).is_error else "ok", args.runs)
            timed("POST /api/v1/render, a normal render after the bombs (peer)",
                  lambda: client.post("/api/v1/render", json=NORMAL).status_code, args.runs)


if __name__ == "__main__":
    main()
