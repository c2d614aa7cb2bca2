"""Parser bombs against a live registry on loopback (uvicorn, SQLite): alias, depth and size bombs through
every entry point that reads YAML or JSON (publish, render, MCP tools, the upgrade job's answers file).
Each attack runs several copies at once; meanwhile, and after, the registry must still answer ``/healthz``
and a normal render. Unbounded, these bombs hold a worker for a minute to forever, so "answers at all
within a liveness bound" tells the two apart without timing the machine (speed figures live in bench/)."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import anyio
import pytest

from generator.bundle import pack
from tests import httpkit
from tests.conftest import RESPONSIVE_SECONDS, RegistryServer, private_catalog, responsive, template_variant
from tests.gitserver import GitServer, commit, run
from tests.registry_api.test_registry_pull_requests import wait

pytestmark = pytest.mark.adversarial

COPIES = 4
HEAD = "apiVersion: argoproj.io/v1alpha1\nkind: Workflow\nmetadata: {name: w}\nspec:\n  entrypoint: main\n"
NORMAL_RENDER = {"template": "saga-compensation", "parameters": {"namespace": "orders"}}


def laughs(levels: int, fanout: int, indent: str = "") -> str:
    lines = [f'{indent}l0: &l0 ["lol"]']
    lines += [f"{indent}l{i}: &l{i} [{', '.join([f'*l{i - 1}'] * fanout)}]" for i in range(1, levels + 1)]
    return "\n".join(lines) + "\n"


MANIFEST_BOMBS = {  # tool -> (manifest, the limit its refusal names)
    "lint_manifest": (HEAD + "  templates: &t\n    - name: main\n      steps: [*t]\n", "recursive alias"),
    "explain_manifest": (HEAD + "  arguments:\n" + laughs(10, 10, "    "), "MAX_ALIAS_NODES"),
    "harden_manifest": (HEAD + "  arguments: " + "{a: " * 400 + "1" + "}" * 400 + "\n", "MAX_YAML_DEPTH"),
    "simulate_manifest": (HEAD + "  x: &m {<<: *m}\n  templates: []\n", "recursive alias"),
}


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[RegistryServer, dict[str, str]]]:
    from catalog.tokens import create

    url = f"sqlite:///{tmp_path_factory.mktemp('adversarial') / 'catalog.db'}"
    with RegistryServer(url) as server:
        made = {}
        with private_catalog(url) as catalog:
            for scope in ("read", "publish", "pr"):
                with catalog.session() as session:
                    _, made[scope] = create(session, name=f"adv-{scope}", scopes=[scope])
        yield server, made


def assert_responsive(server: RegistryServer) -> None:

    with httpkit.client(base_url=server.base_url, timeout=RESPONSIVE_SECONDS) as client:
        for send in (lambda: client.get("/healthz"), lambda: client.post("/api/v1/render", json=NORMAL_RENDER)):
            started = time.monotonic()
            answer = send()  # raises httpx.TimeoutException when the registry does not answer in time
            assert answer.status_code == 200, answer.text
            assert responsive(time.monotonic() - started)


def under_attack(server: RegistryServer, attack: Callable[[], Any]) -> list[Any]:
    """COPIES attacks at once; the registry is checked while they run and after."""
    with ThreadPoolExecutor(COPIES) as pool:
        running = [pool.submit(attack) for _ in range(COPIES)]
        assert_responsive(server)
        outcomes = [future.result(timeout=120) for future in running]
    assert_responsive(server)
    return outcomes


def _folder_with(tmp_path: Path, name: str, edit: Callable[[Path], None]) -> bytes:
    folder = template_variant(tmp_path, name=name)
    edit(folder)
    return pack(folder)


def _into_schema(block: str) -> Callable[[Path], None]:
    def edit(folder: Path) -> None:
        meta = folder / "template.yaml"
        meta.write_text(meta.read_text(encoding="utf-8").replace("\nparameters:\n", "\nparameters:\n" + block, 1),
                        encoding="utf-8")
    return edit


def _cookiecutter(text: str) -> Callable[[Path], None]:
    def edit(folder: Path) -> None:
        (folder / "cookiecutter.json").write_text(text, encoding="utf-8")
    return edit


PUBLISH_BOMBS = {  # case -> (edit of the template folder, the limit named)
    "recursive-alias": (_into_schema("  x-loop: &loop\n    - *loop\n"), "recursive alias"),
    "billion-laughs": (_into_schema("  x-lol:\n" + laughs(9, 9, "    ")), "MAX_ALIAS_NODES"),
    "merge-fan-out": (_into_schema("  x-base: &b {" + ", ".join(f"k{i}: {i}" for i in range(800)) + "}\n"
                                   "  x-uses: [" + ", ".join(["{<<: *b}"] * 300) + "]\n"), "MAX_ALIAS_NODES"),
    "deep-block": (_into_schema("".join("  " * (i + 1) + f"x{i}:\n" for i in range(150)) + "  " * 151 + "end\n"),
                   "MAX_YAML_DEPTH"),
    "deep-json": (_cookiecutter('{"a": ' + "[" * 3000 + "]" * 3000 + "}"), "MAX_YAML_DEPTH"),
    "huge-schema": (_into_schema("  description: '" + "d" * 100_000 + "'\n"), "MAX_SCHEMA_BYTES"),
}


@pytest.mark.parametrize("case", sorted(PUBLISH_BOMBS))
def test_publish_bombs_are_422_naming_the_limit_and_the_registry_stays_responsive(
        live: tuple[RegistryServer, dict[str, str]], tmp_path: Path, case: str) -> None:
    server, tokens = live
    edit, limit = PUBLISH_BOMBS[case]
    name = f"adv-{case}"
    bundle = _folder_with(tmp_path, name, edit)

    def attack() -> Any:
        with server.client(tokens["publish"]) as client:
            return client.post(f"/api/v1/templates/{name}/versions", content=bundle,
                               headers={"Content-Type": "application/x-tar"})

    for answer in under_attack(server, attack):
        assert answer.status_code == 422 and limit in answer.json()["detail"], answer.text
    with server.client() as client:
        assert client.get("/api/v1/templates").status_code == 200
        assert client.get(f"/api/v1/templates/{name}").status_code == 404


@pytest.mark.parametrize("depth", [150, 100_000])
def test_deeply_nested_render_bodies_are_refused_and_the_registry_stays_responsive(
        live: tuple[RegistryServer, dict[str, str]], depth: int) -> None:
    server, _ = live
    body = (b'{"template": "saga-compensation", "parameters": {"namespace": ' + b"[" * depth + b"]" * depth + b"}}")

    def attack() -> Any:
        with server.client() as client:
            return client.post("/api/v1/render", content=body, headers={"Content-Type": "application/json"})

    for answer in under_attack(server, attack):
        assert answer.status_code in (400, 413, 422) and "Traceback" not in answer.text
        if answer.status_code == 422:  # the request guard's cap is met before the parameters' own
            assert "MAX_JSON_DEPTH" in answer.text


def _mcp(server: RegistryServer, token: str, tool: str, arguments: dict[str, Any]) -> Any:
    import httpx2
    from mcp.client.session import ClientSession
    from mcp.client.streamable_http import streamable_http_client

    async def main() -> Any:
        async with httpx2.AsyncClient(headers={"Authorization": f"Bearer {token}"}, timeout=60) as http, \
                streamable_http_client(f"{server.base_url}/mcp", http_client=http) as (read, write), \
                ClientSession(read, write) as session:
            await session.initialize()
            return await session.call_tool(tool, arguments)

    return anyio.run(main)


@pytest.mark.parametrize("tool", sorted(MANIFEST_BOMBS))
def test_mcp_manifest_bombs_are_tool_errors_naming_the_limit(live: tuple[RegistryServer, dict[str, str]],
                                                             tool: str) -> None:
    server, tokens = live
    manifest, limit = MANIFEST_BOMBS[tool]
    for result in under_attack(server, lambda: _mcp(server, tokens["read"], tool, {"manifest": manifest})):
        assert result.is_error and limit in result.content[0].text, result.content


def test_mcp_render_with_deep_parameters_is_refused_before_the_tool_runs(
        live: tuple[RegistryServer, dict[str, str]]) -> None:
    """Over HTTP the request guard meets the nesting first: the JSON-RPC call is a 422 naming its limit."""
    server, tokens = live
    deep: Any = "x"
    for _ in range(150):
        deep = [deep]
    call = {"jsonrpc": "2.0", "id": 1, "method": "tools/call",
            "params": {"name": "render_pipeline",
                       "arguments": {"template": "saga-compensation", "parameters": {"namespace": deep}}}}

    def attack() -> Any:
        with server.client() as client:
            return client.post("/mcp", json=call, headers={"Authorization": f"Bearer {tokens['read']}",
                                                           "Accept": "application/json, text/event-stream"})

    for answer in under_attack(server, attack):
        assert answer.status_code == 422 and "MAX_JSON_DEPTH" in answer.text, answer.text


@pytest.fixture
def upgrading(tmp_path: Path, git_server: GitServer) -> Iterator[tuple[RegistryServer, dict[str, str], Path]]:
    from catalog.tokens import create

    url = f"sqlite:///{tmp_path / 'upgrades.db'}"
    with RegistryServer(url, pr_allowed_repos=[git_server.repo_url], pr_workers=2) as server:
        with private_catalog(url) as catalog, catalog.session() as session:
            _, token = create(session, name="adv-upgrader", scopes=["pr"])
        work = tmp_path / "work"
        run("git", "clone", "--quiet", str(git_server.bare), str(work))
        yield server, {"pr": token}, work


ANSWERS_BOMBS = {  # folder -> (answers file, the limit or message the failed job names)
    "apps/laughs": ("template: saga-compensation\nversion: 1.0.0\nparameters:\n" + laughs(9, 10, "  ")
                    + "  namespace: *l9\n", "MAX_ALIAS_NODES"),
    "apps/loop": ("template: saga-compensation\nversion: 1.0.0\nparameters: &p\n  namespace: *p\n",
                  "recursive alias"),
    "apps/deep": ("template: saga-compensation\nversion: 1.0.0\nparameters:\n  namespace: " + "[" * 500
                  + "]" * 500 + "\n", "MAX_YAML_DEPTH"),
    "apps/wide": ("template: saga-compensation\nversion: 1.0.0\nparameters:\n  x-l0: &w [" + ", ".join(
        ["'" + "w" * 60 + "'"] * 60) + "]\n  x-l1: &v [" + ", ".join(["*w"] * 60) + "]\n  namespace: *v\n",
                  "namespace="),
}


def test_answers_file_bombs_fail_their_upgrade_jobs_with_bounded_errors(
        upgrading: tuple[RegistryServer, dict[str, str], Path], git_server: GitServer) -> None:
    server, tokens, work = upgrading
    for folder, (answers, _) in ANSWERS_BOMBS.items():
        (work / folder).mkdir(parents=True)
        (work / folder / ".pipeforge-answers.yaml").write_text(answers, encoding="utf-8")
    run("git", "-C", str(work), "add", "-A")
    commit(work, "pipelines planted with hostile answers")
    run("git", "-C", str(work), "push", "--quiet", "origin", "HEAD:main")

    def attack(folder: str) -> dict[str, Any]:
        with server.client(tokens["pr"]) as client:
            answer = client.post("/api/v1/upgrades", json={"repo": git_server.repo_url, "path": folder})
        assert answer.status_code == 202, answer.text
        return wait(server, tokens["pr"], answer.json()["id"])

    with ThreadPoolExecutor(len(ANSWERS_BOMBS)) as pool:
        running = {folder: pool.submit(attack, folder) for folder in ANSWERS_BOMBS}
        assert_responsive(server)
        jobs = {folder: future.result(timeout=120) for folder, future in running.items()}
    assert_responsive(server)
    for folder, job in jobs.items():
        assert job["status"] == "failed" and ANSWERS_BOMBS[folder][1] in job["error"], job
        assert len(job["error"]) < 4_000
