"""The MCP server mounted in the registry at /mcp (streamable HTTP), driven by the SDK's own client over
real HTTP: a token with scope read is required (401 without, unknown or revoked; 403 with only another
scope), and the tools answer as they do over stdio."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import anyio
import pytest

from tests import httpkit
from tests.conftest import ROOT, RegistryServer, private_catalog
from tests.generator.test_lint_cli import ARTICLE
from tests.generator.test_mcp import TOOLS, structured


def with_http_session(registry: RegistryServer, token: str, body: Callable[[Any], Awaitable[None]]) -> None:
    import httpx2
    from mcp.client.session import ClientSession
    from mcp.client.streamable_http import streamable_http_client

    async def main() -> None:
        headers = {"Authorization": f"Bearer {token}"}
        async with httpx2.AsyncClient(headers=headers, timeout=60) as http, \
                streamable_http_client(f"{registry.base_url}/mcp", http_client=http) as (read, write), \
                ClientSession(read, write) as session:
            await session.initialize()
            await body(session)

    anyio.run(main)


INITIALIZE = {"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
    "protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": {"name": "test", "version": "0"}}}


@pytest.mark.parametrize(("who", "status"), [(None, 401), ("unknown", 401), ("revoked", 401), ("publish", 403),
                                             ("pr", 403)])
def test_mcp_needs_a_token_with_scope_read(registry: RegistryServer, tokens: dict[str, str], who: str | None,
                                           status: int) -> None:
    token = {None: None, "unknown": "pft_not-a-token"}.get(who, tokens.get(who or ""))
    headers = {"Accept": "application/json, text/event-stream"}
    with registry.client(token) as client:
        response = client.post("/mcp", json=INITIALIZE, headers=headers)
    assert response.status_code == status
    assert response.headers["content-type"].startswith("application/problem+json")
    problem = response.json()
    assert problem["status"] == status and problem["instance"] == "/mcp"
    if token:
        assert token not in response.text


@pytest.mark.parametrize("scope", ["read", "admin"])
def test_mcp_tools_over_http_with_a_read_token(registry: RegistryServer, tokens: dict[str, str],
                                               scope: str) -> None:
    async def body(session: Any) -> None:
        assert {tool.name for tool in (await session.list_tools()).tools} == TOOLS
        findings = structured(await session.call_tool("lint_manifest", {"manifest": ARTICLE}))
        assert "PF101" in {f["rule"] for f in findings["findings"]}
        bad = await session.call_tool("explain_manifest", {"manifest": "kind: [unclosed"})
        assert bad.is_error
        hardened = structured(await session.call_tool("harden_manifest", {"manifest": ARTICLE}))
        verdict = structured(await session.call_tool("simulate_manifest",
                                                     {"manifest": hardened["yaml"], "matrix": True}))
        assert verdict["safe"] is True
        # Versions come from the registry's own catalog (the built-in templates are published on start).
        described = structured(await session.call_tool("describe_template", {"name": "saga-compensation"}))
        assert [v["version"] for v in described["versions"]] == ["1.0.0"]
        rendered = structured(await session.call_tool("render_pipeline", {
            "template": "saga-compensation", "version": "^1", "parameters": {"namespace": "orders"}}))
        assert rendered["version"] == "1.0.0" and rendered["digest"] == described["versions"][0]["digest"]
        missing = await session.call_tool("render_pipeline", {"template": "saga-compensation", "version": "^2"})
        assert missing.is_error

    with_http_session(registry, tokens[scope], body)


def test_mcp_is_not_in_the_openapi_document(registry: RegistryServer) -> None:
    with httpkit.client(base_url=registry.base_url) as client:
        assert "/mcp" not in client.get("/openapi.json").json()["paths"]


# In a process of its own: this worker has imported the MCP SDK already.
LAZY_PROBE = """
import sys
from registry_api.app import create_app
from registry_api.settings import Settings
create_app(Settings(database_url=sys.argv[1]))
print(sorted(name for name in sys.modules if name == "mcp" or name.startswith("mcp.")))
"""


def test_the_mcp_sdk_loads_on_the_first_request_to_mcp_not_when_the_registry_starts(tmp_path: Path) -> None:
    done = subprocess.run([sys.executable, "-c", LAZY_PROBE, f"sqlite:///{tmp_path / 'c.db'}"], cwd=ROOT,
                          capture_output=True, text=True, timeout=120, env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"


@pytest.mark.race
def test_concurrent_first_requests_and_a_restarted_registry_are_all_answered(tmp_path: Path) -> None:
    from starlette.testclient import TestClient

    from catalog.tokens import create
    from registry_api.app import create_app
    from registry_api.settings import Settings

    url = f"sqlite:///{tmp_path / 'c.db'}"
    app = create_app(Settings(database_url=url))
    for start in range(2):  # the same app started again (a second lifespan) builds its MCP server afresh
        with TestClient(app) as client:
            with private_catalog(url) as catalog, catalog.session() as session:
                _, token = create(session, name=f"mcp-{start}", scopes=["read"])
            headers = {"Accept": "application/json, text/event-stream", "Authorization": f"Bearer {token}"}
            with ThreadPoolExecutor(max_workers=6) as pool:
                answers = list(pool.map(lambda h: client.post("/mcp", json=INITIALIZE, headers=h), [headers] * 6))
            assert [a.status_code for a in answers] == [200] * 6, [a.text for a in answers]
            assert {a.json()["result"]["serverInfo"]["name"] for a in answers} == {"pipeforge"}
