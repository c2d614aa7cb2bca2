"""What a render bomb costs after the render budgets: the worst payloads per entry point, with wall time and
peak memory.

- ``pipeforge new`` (in-process, the CLI's path): each bomb under ``/usr/bin/time -v`` (elapsed, max RSS).
- ``POST /api/v1/render`` and the MCP ``render_pipeline`` tool of a registry (``pipeforge serve`` in a
  process of its own) holding the bombs as a catalog from before the publish-time edge checks would:
  each request's wall time, then the peak RSS (VmHWM) of the server process and of its worker processes.
- MCP ``harden_manifest`` of a 200 KB manifest (harden is superlinear): its wall time, in its worker.
- ``POST /api/v1/templates/NAME/versions`` of a bomb its defaults hide: the refusal's wall time.

    .venv/bin/python bench/bench_render_bombs.py
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench_registry import free_port, served  # noqa: E402  (the sibling bench's server helpers)

BOMBS: dict[str, tuple[str, dict[str, Any]]] = {
    "nested loops": ("[% for i in range(100000) %][% for j in range(cookiecutter.step_deadline_seconds) %]"
                     "[% endfor %][% endfor %]", {"step_deadline_seconds": 86400}),
    "200 MB loop": ("[% for i in range(cookiecutter.workflow_deadline_seconds // 10) %][[ cookiecutter.description ]]"
                    "[% endfor %]", {"workflow_deadline_seconds": 600000, "description": "f" * 990}),
    "power tower": ("[[ 9 ** (cookiecutter.retry_limit ** 4) ]]", {"retry_limit": 10}),
    "string doubling": ("[% macro grow(s, k) %][% if k %][[ grow(s ~ s, k - 1) ]][% else %][[ s | length ]]"
                        "[% endif %][% endmacro %][[ grow(cookiecutter.description, cookiecutter.retry_limit * 3) ]]",
                        {"retry_limit": 10, "description": "m" * 900}),
    "format width": ("[[ '{:^{w}}'.format('x', w=cookiecutter.workflow_deadline_seconds * 1000) ]]",
                     {"workflow_deadline_seconds": 604800}),
}
EDGE_BOMB = "".join(f"[% for {v} in cookiecutter.input_uri %]" for v in "abc") + "[% endfor %]" * 3


def variant(where: Path, name: str, body: str) -> Path:
    folder = where / name
    shutil.copytree(ROOT / "templates" / "provision-process-publish", folder)
    meta = folder / "template.yaml"
    meta.write_text(re.sub(r"(?m)^name: .*$", f"name: {name}", meta.read_text(encoding="utf-8"), count=1),
                    encoding="utf-8")
    (folder / "[[cookiecutter.pipeline_name]][#{{}}#]" / "notes.md").write_text(body + "\n", encoding="utf-8")
    return folder


def cli_costs(scratch: Path) -> None:
    print("pipeforge new (in-process), each bomb under /usr/bin/time -v:")
    for label, (body, values) in BOMBS.items():
        folder = variant(scratch / "cli", "bomb-" + hashlib.sha256(label.encode()).hexdigest()[:6], body)
        sets = [arg for key, value in values.items() for arg in ("--set", f"{key}={value}")]
        done = subprocess.run(["/usr/bin/time", "-v", sys.executable, "-m", "generator", "new", str(folder),
                               "--no-input", "-o", str(scratch / "out"), *sets], capture_output=True, text=True,
                              cwd=scratch, env={**os.environ, "PYTHONPATH": str(ROOT)}, check=False)
        elapsed = re.search(r"Elapsed \(wall clock\) time.*: (\S+)", done.stderr)
        rss = re.search(r"Maximum resident set size \(kbytes\): (\d+)", done.stderr)
        first = next((line for line in done.stderr.splitlines() if "budget" in line), "?")[:90]
        print(f"  {label:16} exit {done.returncode}  {elapsed.group(1) if elapsed else '?':>8} s  "
              f"max RSS {int(rss.group(1)) // 1024 if rss else 0:4d} MB  {first}")
        shutil.rmtree(folder)


def plant(url: str, scratch: Path) -> str:
    """The bombs recorded without the publish checks; a publish token."""
    from catalog import service
    from catalog.db import Catalog, create_catalog_engine
    from catalog.migrate import ensure_current
    from catalog.publication import Publication, prepare_folder
    from catalog.safety import pack_folder, unpacked
    from catalog.tokens import create
    from generator.bundle import pack

    engine = create_catalog_engine(url)
    ensure_current(engine)
    catalog = Catalog(engine)
    for index, (body, _) in enumerate(BOMBS.values()):
        name = f"bomb-{index}"
        clean = prepare_folder(variant(scratch / "clean", name, ""))
        with unpacked(pack_folder(variant(scratch / "planted", name, body)), source=name) as folder:
            canonical = pack(folder)
        digest = "sha256:" + hashlib.sha256(canonical).hexdigest()
        planted = Publication(name=name, version=clean.version, digest=digest, bundle=canonical,
                              summary=clean.summary, tags=clean.tags, parameters=clean.parameters,
                              changelog=None, lint=clean.lint)
        with catalog.session() as session:
            service.publish(session, publication=planted, publisher="bench")
    with catalog.session() as session:
        _, token = create(session, name="bench", scopes=["publish", "read"])
    engine.dispose()
    return token


def post(port: int, path: str, body: bytes, headers: dict[str, str]) -> tuple[int, float, str]:
    request = urllib.request.Request(f"http://127.0.0.1:{port}{path}", data=body, headers=headers, method="POST")
    started = time.perf_counter()
    try:
        with urllib.request.urlopen(request, timeout=120) as response:
            status, text = response.status, response.read().decode()
    except urllib.error.HTTPError as error:
        status, text = error.code, error.read().decode()
    return status, time.perf_counter() - started, text


def peaks(root_pid: int) -> tuple[int, int]:
    """(VmHWM of the server, the largest VmHWM of its descendants) in MB."""
    parents: dict[int, int] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
            parents[int(stat.parent.name)] = int(fields[1])
        except (OSError, IndexError, ValueError):
            continue

    def hwm(pid: int) -> int:
        try:
            text = Path(f"/proc/{pid}/status").read_text()
        except OSError:
            return 0
        found = re.search(r"VmHWM:\s+(\d+)", text)
        return int(found.group(1)) // 1024 if found else 0
    family, changed = {root_pid}, True
    while changed:
        grown = family | {pid for pid, parent in parents.items() if parent in family}
        changed, family = grown != family, grown
    return hwm(root_pid), max((hwm(pid) for pid in family - {root_pid}), default=0)


def server_pid(port: int) -> int:
    out = subprocess.run(["ss", "-ltnpH", f"sport = :{port}"], capture_output=True, text=True, check=False).stdout
    found = re.search(r"pid=(\d+)", out)
    return int(found.group(1)) if found else 0


def registry_costs(scratch: Path) -> None:
    url = f"sqlite:///{scratch / 'catalog.db'}"
    token = plant(url, scratch)
    port = free_port()
    json_headers = {"Content-Type": "application/json"}
    mcp_headers = {**json_headers, "Accept": "application/json, text/event-stream", "Authorization": f"Bearer {token}"}
    with served(["generator", "serve", "--log-level", "warning", "--no-access-log"],
                {"PIPEFORGE_DATABASE_URL": url}, port):
        pid, worst = server_pid(port), (0, 0)
        print("POST /api/v1/render and MCP render_pipeline of each planted bomb (registry in its own process):")
        for index, (label, (_, values)) in enumerate(BOMBS.items()):
            body = json.dumps({"template": f"bomb-{index}", "parameters": values}).encode()
            status, seconds, text = post(port, "/api/v1/render", body, json_headers)
            call = {"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": {"name": "render_pipeline",
                    "arguments": {"template": f"bomb-{index}", "version": "latest", "parameters": values}}}
            mcp_status, mcp_seconds, mcp_text = post(port, "/mcp", json.dumps(call).encode(), mcp_headers)
            refused = '"isError":true' in mcp_text.replace(" ", "")
            print(f"  {label:16} render {status} in {seconds:5.2f} s   mcp {mcp_status} "
                  f"{'tool error' if refused else 'ANSWERED'} in {mcp_seconds:5.2f} s   "
                  f"{json.loads(text).get('budget', '?')}")
            now = peaks(pid)
            worst = (max(worst[0], now[0]), max(worst[1], now[1]))
        sys.path.insert(0, str(ROOT))
        from tests.registry_api.test_adversarial_render import big_manifest

        call = {"jsonrpc": "2.0", "id": 2, "method": "tools/call", "params": {"name": "harden_manifest",
                "arguments": {"manifest": big_manifest(1000)}}}
        status, seconds, text = post(port, "/mcp", json.dumps(call).encode(), mcp_headers)
        refused = '"isError":true' in text.replace(" ", "")
        print(f"MCP harden_manifest of a {len(big_manifest(1000)):,}-character manifest: {status} "
              f"{'tool error (budget)' if refused else 'hardened'} in {seconds:.2f} s")
        worst = tuple(max(a, b) for a, b in zip(worst, peaks(pid), strict=True))  # type: ignore[assignment]
        edge = variant(scratch / "edge", "edge-bomb", EDGE_BOMB)
        from generator.bundle import pack

        status, seconds, text = post(port, "/api/v1/templates/edge-bomb/versions", pack(edge),
                                     {"Content-Type": "application/x-tar", "Authorization": f"Bearer {token}"})
        print(f"publish of a bomb its defaults hide: {status} in {seconds:.2f} s ({json.loads(text)['title']})")
        now = peaks(pid)
        worst = (max(worst[0], now[0]), max(worst[1], now[1]))
        print(f"peak RSS: server {worst[0]} MB, largest worker {worst[1]} MB")


def main() -> None:
    with tempfile.TemporaryDirectory() as scratch:
        cli_costs(Path(scratch))
        registry_costs(Path(scratch))


if __name__ == "__main__":
    main()
