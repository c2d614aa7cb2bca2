"""Time whole-process `pipeforge pr` against a GitOps repository of 10,000 files on a real git server.

The repository is a bare repository served over smart HTTP by `git http-backend` behind a token (the test
server of tests/gitserver.py, on loopback), so fetches and pushes go through HTTP and the credential path.
Each run starts from an empty cache (no mirror) and a remote without the pipeforge branch, then times:
  - first PR: mirror created and fetched, pipeline rendered, commit built, branch pushed (target <= 3 s);
  - unchanged re-run: fetch, render, compare, no commit and no push (target <= 1 s).
Prints the medians and checks that no re-run pushed.

    .venv/bin/python bench/bench_pr.py [--runs 5] [--files 10000]
"""

from __future__ import annotations

import argparse
import os
import secrets
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.gitserver import GitServer, run, serving  # noqa: E402 - needs the path above

TARGET = "apps/orders/pipeline"


def seed(server: GitServer, files: int) -> None:
    """A repository of ``files`` manifests in 100 application folders, in one commit (git fast-import)."""
    bare = server.create("gitops", {"README.md": "# deploy\n"})
    lines = ["commit refs/heads/main", "committer Seed <seed@example.com> 1700000000 +0000", "data 9",
             "10k files", "from refs/heads/main^0"]
    for index in range(files):
        body = f"apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: config-{index}\ndata:\n  index: '{index}'\n"
        lines += [f"M 100644 inline apps/app-{index % 100:03d}/config-{index}.yaml", f"data {len(body.encode())}",
                  body]
    env = {k: v for k, v in os.environ.items() if not k.startswith("GIT_")}
    subprocess.run(["git", "--git-dir", str(bare), "fast-import", "--quiet"], input="\n".join(lines) + "\n",
                   text=True, env=env, check=True)


def timed(command: list[str], env: dict[str, str]) -> float:
    start = time.perf_counter()
    subprocess.run(command, env=env, check=True, stdout=subprocess.DEVNULL, stdin=subprocess.DEVNULL)
    return time.perf_counter() - start


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--files", type=int, default=10_000)
    args = parser.parse_args()
    pipeforge = str(Path(sys.executable).parent / "pipeforge")
    token = secrets.token_hex(16)
    first: list[float] = []
    rerun: list[float] = []
    with tempfile.TemporaryDirectory() as scratch, serving(Path(scratch, "server").resolve(), token) as server:
        Path(scratch, "server").mkdir(exist_ok=True)
        seed(server, args.files)
        bare = str(server.root / "gitops.git")
        tracked = run("git", "--git-dir", bare, "ls-tree", "-r", "--name-only", "main").count("\n") + 1
        command = [pipeforge, "pr", "provision-process-publish", "--repo", server.url("gitops"), "--path", TARGET,
                   "--json"]
        for index in range(args.runs):
            cache = Path(scratch, f"cache-{index}")
            env = os.environ | {"XDG_CACHE_HOME": str(cache), "PIPEFORGE_GIT_TOKEN": token}
            run("git", "--git-dir", bare, "update-ref", "-d", "refs/heads/pipeforge/apps-orders-pipeline")
            first.append(timed(command, env))
            pushes = server.receive_packs()
            rerun.append(timed(command, env))
            if server.receive_packs() != pushes:
                raise SystemExit("an unchanged re-run pushed")
            shutil.rmtree(cache)
    print(f"GitOps repository: {tracked} files, served by git http-backend over HTTP on loopback; {args.runs} runs")
    print(f"first PR (empty cache: mirror, render, commit, push): median {statistics.median(first):.2f} s "
          f"(min {min(first):.2f}, max {max(first):.2f}; target <= 3 s)")
    print(f"unchanged re-run (fetch, render, compare; no push):    median {statistics.median(rerun):.2f} s "
          f"(min {min(rerun):.2f}, max {max(rerun):.2f}; target <= 1 s); pushes on re-runs: 0")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
