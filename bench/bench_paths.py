"""The cost of the worst path and URL inputs per entry point, after the path and allowlist rules.

Each entry point gets the same hostile payloads (a parameter that names a file, a folder or the project
folder): 4,095 characters of ``../``, a 120 KB path (refused on length), ``.GIT/`` repeated, a ``.git``
hidden among 4,000 HFS-ignored code points, and the deepest and longest path that is accepted (31 names of
120 bytes). Printed per entry point: the slowest payload's wall time (each the fastest of three runs, the
machine being shared) and the peak memory.

- CLI (``new --from-catalog``, ``upgrade`` with a tampered answers file, ``pr``): processes per payload
  under ``/usr/bin/time -v`` (elapsed, maximum resident set size).
- Registry (``/api/v1/render``, ``/api/v1/pull-requests``, the worker on a queued job, ``/mcp``
  render_pipeline): one ``pipeforge serve`` process; request latency, and the server's peak RSS (VmHWM)
  after the case. The peer figure is a normal render of the same template.
- URL parsing: the allowlist on 2,000-character bypass URLs, in this process.

    .venv/bin/python bench/bench_paths.py
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.bench_registry import free_port, served  # noqa: E402
from tests.hostile import path_template  # noqa: E402

DEEPEST = "/".join(["n" * 120] * 31)
PAYLOADS = {"dotdot-4095": "../" * 1365, "dotgit-repeated": ".GIT/" * 800,
            "hfs-ignorable-4000": ".g" + "\u200c" * 4000 + "it", "deepest-accepted": DEEPEST}
CLI_PAYLOADS = {**PAYLOADS, "120KB": "a/" * 60_000}
API_PAYLOADS = {**PAYLOADS, "200KB": "a/" * 100_000}


RUNS = 3  # each figure is the fastest of RUNS: on a shared machine the minimum is the least disturbed


def timed(args: list[str], cwd: Path, env: dict[str, str], fresh: str | None = None) -> tuple[float, int, int]:
    """(elapsed s, max RSS KB, exit code) of a CLI process under /usr/bin/time -v, fastest of RUNS.
    ``fresh``: the output folder of ``new``, removed before each run (else runs after the first would time
    the refusal of an existing folder, exit 3, instead of the write)."""
    runs = []
    for _ in range(RUNS):
        if fresh is not None:
            shutil.rmtree(cwd / fresh, ignore_errors=True)
        runs.append(_timed_once(args, cwd, env))
    return min(runs)


def _timed_once(args: list[str], cwd: Path, env: dict[str, str]) -> tuple[float, int, int]:
    done = subprocess.run(["/usr/bin/time", "-v", sys.executable, "-m", "generator", *args], cwd=cwd,
                          env=env, capture_output=True, text=True, check=False)
    rss = int(re.search(r"Maximum resident set size \(kbytes\): (\d+)", done.stderr)[1])  # type: ignore[index]
    clock = re.search(r"Elapsed \(wall clock\) time \(h:mm:ss or m:ss\): (?:(\d+):)?(\d+):([\d.]+)", done.stderr)
    assert clock is not None
    elapsed = int(clock[1] or 0) * 3600 + int(clock[2]) * 60 + float(clock[3])
    exit_code = int(re.search(r"Exit status: (\d+)", done.stderr)[1])  # type: ignore[index]
    return elapsed, rss, exit_code


def report(entry: str, rows: dict[str, tuple[float, int, int]], peer: tuple[float, int] | None = None) -> None:
    worst = max(rows, key=lambda k: rows[k][0])
    elapsed, rss, status = rows[worst]
    line = f"{entry:<40} worst {worst:<20} {elapsed * 1000:8.1f} ms  peak {rss / 1024:6.1f} MB  (status {status})"
    if peer is not None:
        line += f"  | normal {peer[0] * 1000:.1f} ms, ratio {elapsed / peer[0]:.2f}"
    print(line, flush=True)


def cli(work: Path, url: str) -> None:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "PIPEFORGE_DATABASE_URL": url}
    timed(["catalog", "list"], work, env)  # warm: the first process pays for cold caches
    peer = timed(["new", "notes-dir@1.0.0", "--from-catalog", "--no-input", "-o", "o-normal"], work, env,
                 fresh="o-normal")
    rows = {}
    for name, payload in CLI_PAYLOADS.items():
        rows[name] = timed(["new", "notes-dir@1.0.0", "--from-catalog", "--no-input", "-o", f"o-{name}", "--set",
                            f"notes_file={payload}"], work, env, fresh=f"o-{name}")
    report("cli new --from-catalog", rows, peer[:2])
    answers = work / "o-normal" / ".pipeforge-answers.yaml"
    original = answers.read_text()
    rows = {}
    for name, payload in CLI_PAYLOADS.items():
        answers.write_text(re.sub(r"notes_file: .*", lambda _m, p=payload: "notes_file: " + json.dumps(p), original))
        rows[name] = timed(["upgrade", "o-normal"], work, env)
    report("cli upgrade (tampered answers)", rows)
    rows = {name: timed(["pr", "notes-dir@1.0.0", "--from-catalog", "--repo", "file:///nonexistent/r.git", "--path",
                         "apps/x", "--set", f"notes_file={payload}"], work, env)
            for name, payload in CLI_PAYLOADS.items()}
    report("cli pr (rendered path)", rows)
    rows = {name: timed(["pr", "notes-dir@1.0.0", "--from-catalog", "--repo", "file:///nonexistent/r.git", "--path",
                         payload], work, env) for name, payload in CLI_PAYLOADS.items() if name != "deepest-accepted"}
    report("cli pr --path", rows)


def hwm(pid: int) -> int:
    status = Path(f"/proc/{pid}/status").read_text()
    return int(re.search(r"VmHWM:\s+(\d+)", status)[1])  # type: ignore[index]


def post(port: int, path: str, body: dict[str, Any], token: str) -> tuple[float, int]:
    """(latency s, HTTP status), fastest of RUNS."""
    return min(_post_once(port, path, body, token) for _ in range(RUNS))


def _post_once(port: int, path: str, body: dict[str, Any], token: str) -> tuple[float, int]:
    request = urllib.request.Request(f"http://127.0.0.1:{port}{path}", data=json.dumps(body).encode(), method="POST",
                                     headers={"Content-Type": "application/json", "Authorization": f"Bearer {token}",
                                              "Accept": "application/json, text/event-stream"})
    started = time.perf_counter()
    try:
        with urllib.request.urlopen(request, timeout=120) as answer:
            answer.read()
            status = answer.status
    except urllib.error.HTTPError as error:
        error.read()
        status = error.code
    return time.perf_counter() - started, status


def server_pid(port: int) -> int:
    out = subprocess.run(["ss", "-ltnpH", f"sport = :{port}"], capture_output=True, text=True, check=False).stdout
    found = re.search(r"pid=(\d+)", out)
    assert found, "the server's pid (ss -ltnp)"
    return int(found[1])


def registry(work: Path, url: str, tokens: dict[str, str], repo: str) -> None:
    port = free_port()
    env = {"PIPEFORGE_DATABASE_URL": url, "PIPEFORGE_PR_ALLOWED_REPOS": repo.rsplit("/", 1)[0] + "/",
           "PIPEFORGE_PR_WORKERS": "1", "PYTHONPATH": str(ROOT), "XDG_CACHE_HOME": str(work / "cache")}
    with served(["generator", "serve", "--log-level", "warning", "--no-access-log"], env, port):
        pid = server_pid(port)
        post(port, "/api/v1/render", {"template": "notes-dir"}, tokens["read"])  # warm: unpacks the version
        normal = post(port, "/api/v1/render", {"template": "notes-dir"}, tokens["read"])
        for entry, route, scope, extra in (("api render", "/api/v1/render", "read", {}),
                                           ("api pull-request", "/api/v1/pull-requests", "pr",
                                            {"repo": repo, "path": "apps/x"})):
            rows = {}
            for name, payload in API_PAYLOADS.items():
                elapsed, status = post(port, route, {"template": "notes-dir", "parameters": {"notes_file": payload},
                                                     **extra}, tokens[scope])
                rows[name] = (elapsed, hwm(pid), status)
            report(entry, rows, normal)
        rows = {}
        for name, payload in API_PAYLOADS.items():
            if name in ("deepest-accepted", "200KB"):
                continue
            elapsed, status = post(port, "/api/v1/pull-requests", {"template": "provision-process-publish",
                                                                   "repo": repo, "path": payload}, tokens["pr"])
            rows[name] = (elapsed, hwm(pid), status)
        report("api pull-request path", rows, normal)
        mcp(port, pid, tokens["read"])
        worker(url, pid, repo)


def mcp(port: int, pid: int, token: str) -> None:
    """render_pipeline over the registry's /mcp, one session per payload (the SDK's own client)."""
    from types import SimpleNamespace

    from tests.registry_api.test_registry_mcp import with_http_session

    rows = {}
    for name, payload in API_PAYLOADS.items():
        if name == "200KB":
            continue  # over the MCP tool's own parameter-length limit, refused before rendering
        timing: list[tuple[float, int]] = []

        async def body(session: Any, payload: str = payload, timing: list[tuple[float, int]] = timing) -> None:
            started = time.perf_counter()
            result = await session.call_tool("render_pipeline", {"template": "notes-dir", "version": "1.0.0",
                                                                 "parameters": {"notes_file": payload}})
            timing.append((time.perf_counter() - started, int(result.is_error)))

        with_http_session(SimpleNamespace(base_url=f"http://127.0.0.1:{port}"), token, body)  # type: ignore[arg-type]
        rows[name] = (timing[0][0], hwm(pid), timing[0][1])
    report("mcp render_pipeline (status 1 = error)", rows)


def worker(url: str, pid: int, repo: str) -> None:
    from catalog import jobs
    from catalog.migrate import open_catalog

    catalog = open_catalog(url)
    rows = {}
    for name, payload in API_PAYLOADS.items():
        with catalog.session() as session:
            job = jobs.enqueue(session, requested_by="bench", request={
                "template": "notes-dir", "version": "1.0.0", "resolved": "1.0.0", "parameters": {"notes_file": payload},
                "repo": repo, "path": f"apps/{len(rows)}", "base": "main", "provider": "none"}, idempotency_key=None)
            job_id = job.job.id
        started = time.perf_counter()
        while True:
            with catalog.session() as session:
                found = jobs.get(session, job_id)
                if found is not None and found.status in ("succeeded", "failed"):
                    status = 0 if found.status == "succeeded" else 1
                    break
            time.sleep(0.02)
        rows[name] = (time.perf_counter() - started, hwm(pid), status)
    report("pr worker job (status 0 = pushed)", rows)


def urls() -> None:
    from generator.gitops.urls import allowed

    prefix = "https://git.example.com/team/"
    forms = {"dotdot": prefix + "../" * 650, "encoded": prefix + "%2e%2e/" * 280, "segments": prefix + "a/" * 985,
             "escapes": prefix + "%41" * 650}
    rows = {}
    for name, url in forms.items():
        started = time.perf_counter()
        for _ in range(1000):
            allowed(url, [prefix] * 20)
        rows[name] = ((time.perf_counter() - started) / 1000, 0, int(allowed(url, [prefix])))
    report("allowlist (2,000-char URL, 20 entries)", rows)


def main() -> None:
    from catalog.migrate import open_catalog
    from catalog.tokens import create
    from registry_api.services.registry import publish_builtins

    print("machine shared with other work: figures are indicative", flush=True)
    with tempfile.TemporaryDirectory(prefix="bench-paths-") as tmp:
        work = Path(tmp)
        url = f"sqlite:///{work / 'catalog.db'}"
        folder = path_template(work, name="notes-dir", where="folder")
        env = {**os.environ, "PYTHONPATH": str(ROOT), "PIPEFORGE_DATABASE_URL": url}
        subprocess.run([sys.executable, "-m", "generator", "catalog", "publish", str(folder)], env=env, check=True,
                       capture_output=True)
        catalog = open_catalog(url)
        publish_builtins(catalog)
        tokens = {}
        for scope in ("read", "pr"):
            with catalog.session() as session:
                tokens[scope] = create(session, name=f"bench-{scope}", scopes=[scope])[1]
        repo_dir = work / "repos" / "deploy.git"
        subprocess.run(["git", "init", "-q", "--bare", "-b", "main", str(repo_dir)], check=True)
        seed = work / "seed"
        subprocess.run(["git", "init", "-q", "-b", "main", str(seed)], check=True)
        (seed / "README.md").write_text("# deploy\n")
        subprocess.run(["git", "-C", str(seed), "add", "-A"], check=True)
        subprocess.run(["git", "-C", str(seed), "-c", "user.name=b", "-c", "user.email=b@b", "commit", "-qm", "seed"],
                       check=True)
        subprocess.run(["git", "-C", str(seed), "push", "-q", str(repo_dir), "main"], check=True)
        cli(work, url)
        registry(work, url, tokens, f"file://{repo_dir}")
        urls()


if __name__ == "__main__":
    main()
