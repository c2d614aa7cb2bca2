"""Render bombs against a live registry on loopback (real uvicorn, a real SQLite catalog).

The bombs are planted as a catalog that predates the publish-time edge checks would hold them: the bundle is
recorded with the catalog's own service function, skipping ``prepare``. Every render of one is a 422 that
names the budget, through ``/api/v1/render`` and the MCP tools, and the registry keeps answering
``/healthz`` and normal renders within RESPONSIVE_SECONDS (a liveness bound) while a bomb burns its
worker. A publish of a bomb that its defaults do not set off is refused.
Bounded in count and time: each bomb costs at most its budget.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import pytest

from generator.bundle import pack
from generator.sandbox import MAX_STRING, RENDER_OUTPUT_CHARS
from tests.conftest import RegistryServer, private_catalog, responsive, template_variant, tokens_for
from tests.hostile import NOTES, POWER_BOMB, plant

pytestmark = pytest.mark.adversarial

#: name -> (a file planted in the template, parameters that set it off, the budget it runs into)
BOMBS: dict[str, tuple[str, dict[str, Any], str]] = {
    "loops": ("[% for i in range(100000) %][% for j in range(cookiecutter.step_deadline_seconds) %]"
              "[% endfor %][% endfor %]", {"step_deadline_seconds": 86400}, "render-seconds"),
    "flood": ("[% for i in range(cookiecutter.workflow_deadline_seconds // 10) %][[ cookiecutter.description ]]"
              "[% endfor %]", {"workflow_deadline_seconds": 600000, "description": "f" * 990}, "render-output"),
    "power": (*POWER_BOMB, "render-size"),
    "macros": ("[% macro grow(s, k) %][% if k %][[ grow(s ~ s, k - 1) ]][% else %][[ s | length ]][% endif %]"
               "[% endmacro %][[ grow(cookiecutter.description, cookiecutter.retry_limit * 3) ]]",
               {"retry_limit": 10, "description": "m" * 900}, "render-size"),
    "width": ("[[ '{:^{w}}'.format('x', w=cookiecutter.workflow_deadline_seconds * 1000) ]]",
              {"workflow_deadline_seconds": 604800}, "render-size"),
    "include": ("[% include 'elsewhere.yaml' %]", {}, "invalid-template"),
}


@pytest.fixture(scope="module")
def armed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[RegistryServer, dict[str, str]]]:
    root = tmp_path_factory.mktemp("adversarial")
    url = f"sqlite:///{root / 'catalog.db'}"
    with RegistryServer(url) as server:
        with private_catalog(url) as catalog:
            for bomb, (body, _, _) in BOMBS.items():
                plant(catalog, root / bomb, f"bomb-{bomb}", body)
        yield server, tokens_for(server)


def render(client: httpx.Client, template: str, parameters: dict[str, Any]) -> httpx.Response:
    return client.post("/api/v1/render", json={"template": template, "parameters": parameters})


@pytest.mark.parametrize("bomb", sorted(BOMBS))
def test_a_planted_bomb_is_a_422_naming_the_budget(armed: tuple[RegistryServer, dict[str, str]], bomb: str) -> None:
    registry, _ = armed
    _, parameters, budget = BOMBS[bomb]
    with registry.client() as client:
        response = render(client, f"bomb-{bomb}", parameters)
    assert response.status_code == 422, response.text
    problem = response.json()
    assert "Traceback" not in response.text and "notes.md" in problem["detail"]
    if budget == "invalid-template":
        assert problem["type"].endswith("/invalid-template") and "line 1: {% include %}" in problem["detail"]
    else:
        assert problem["type"].endswith("/budget-exceeded") and problem["budget"] == budget
        assert "budget" in problem["detail"]


def test_the_numbers_in_the_answers_are_the_documented_limits(armed: tuple[RegistryServer, dict[str, str]]) -> None:
    registry, _ = armed
    with registry.client() as client:
        flood = render(client, "bomb-flood", BOMBS["flood"][1]).json()
        power = render(client, "bomb-macros", BOMBS["macros"][1]).json()
    assert f"{RENDER_OUTPUT_CHARS:,} characters" in flood["detail"]
    assert f"{MAX_STRING:,}" in power["detail"]


def test_the_registry_keeps_serving_while_bombs_burn(armed: tuple[RegistryServer, dict[str, str]]) -> None:
    registry, _ = armed
    normal = {"namespace": "orders"}
    with registry.client() as client:
        assert render(client, "saga-compensation", normal).status_code == 200  # warm: unpacked and compiled

    def timed(call: Any) -> tuple[int, float]:
        started = time.monotonic()
        with registry.client() as client:
            status = call(client).status_code
        return status, time.monotonic() - started

    with ThreadPoolExecutor(max_workers=4) as threads:
        bomb = threads.submit(timed, lambda c: render(c, "bomb-loops", BOMBS["loops"][1]))
        time.sleep(0.3)  # the bomb has its worker
        answers = []
        while not bomb.done():
            answers.append(timed(lambda c: c.get("/healthz")))
            answers.append(timed(lambda c: render(c, "saga-compensation", normal)))
        assert bomb.result()[0] == 422
    assert len(answers) >= 4
    assert all(status == 200 for status, _ in answers)
    assert all([responsive(seconds) for _, seconds in answers]), answers


def test_mcp_render_of_a_bomb_is_a_tool_error_naming_the_budget(armed: tuple[RegistryServer, dict[str, str]]) -> None:
    from tests.registry_api.test_registry_mcp import with_http_session

    registry, tokens = armed

    async def body(session: Any) -> None:
        result = await session.call_tool("render_pipeline", {"template": "bomb-width", "version": "latest",
                                                             "parameters": BOMBS["width"][1]})
        assert result.is_error
        text = " ".join(getattr(c, "text", "") for c in result.content)
        assert "widths are capped at 10,000 (render budget)" in text and "Traceback" not in text
        described = await session.call_tool("describe_template", {"name": "bomb-power", "version": "1.0.0"})
        assert not described.is_error  # its defaults are harmless: the bomb needs retry_limit=10

    with_http_session(registry, tokens["read"], body)


def test_publishing_a_bomb_its_defaults_hide_is_refused(armed: tuple[RegistryServer, dict[str, str]],
                                                        tmp_path: Path) -> None:
    registry, tokens = armed
    folder = template_variant(tmp_path, name="edge-bomb")
    loop = "[% for {0} in cookiecutter.input_uri %]"
    (folder / NOTES).write_text(
        loop.format("a") + loop.format("b") + loop.format("c") + "[% endfor %]" * 3 + "\n", encoding="utf-8")
    with registry.client(tokens["publish"]) as client:
        response = client.post("/api/v1/templates/edge-bomb/versions", content=pack(folder),
                               headers={"Content-Type": "application/x-tar"})
        assert response.status_code == 422, response.text
        problem = response.json()
        assert "with input_uri=" in problem["detail"] and "(its longest allowed value)" in problem["detail"]
        assert "budget" in problem["detail"] and "Traceback" not in response.text
        assert client.get("/api/v1/templates/edge-bomb").status_code == 404


def big_manifest(tasks: int) -> str:
    """A Workflow of ``tasks`` chained DAG tasks, each with its own retried, deleting template: a few hundred
    KB of the kind of text harden works hardest on."""
    dag = "\n".join(f"      - name: t{i}\n        template: work{i}"
                    + (f"\n        dependencies: [t{i - 1}]" if i else "") for i in range(tasks))
    templates = "\n".join(f"  - name: work{i}\n    retryStrategy: {{limit: 5}}\n    container:\n"
                          f"      image: busybox:1.36\n      command: [sh, -c, 'kubectl delete deployment x{i}']"
                          for i in range(tasks))
    return ("apiVersion: argoproj.io/v1alpha1\nkind: Workflow\nmetadata: {generateName: big-}\nspec:\n"
            f"  entrypoint: main\n  templates:\n  - name: main\n    dag:\n      tasks:\n{dag}\n{templates}\n")


def test_harden_of_a_large_manifest_over_mcp_leaves_the_registry_responsive(
        armed: tuple[RegistryServer, dict[str, str]]) -> None:
    from tests.registry_api.test_registry_mcp import with_http_session

    registry, tokens = armed
    manifest = big_manifest(1000)  # within the registry's 256 KB request limit
    assert len(manifest) > 200_000
    outcome: dict[str, Any] = {}

    async def body(session: Any) -> None:
        result = await session.call_tool("harden_manifest", {"manifest": manifest})
        outcome["error"] = result.is_error
        outcome["text"] = " ".join(getattr(c, "text", "") for c in result.content)

    with registry.client() as client:
        assert render(client, "saga-compensation", {"namespace": "big"}).status_code == 200  # warm
    with ThreadPoolExecutor(max_workers=1) as threads:
        hardening = threads.submit(with_http_session, registry, tokens["read"], body)
        time.sleep(0.5)
        waits = []
        with registry.client() as client:
            while not hardening.done():
                for call in (lambda: client.get("/healthz"), lambda: render(client, "saga-compensation",
                                                                             {"namespace": "big"})):
                    started = time.monotonic()
                    assert call().status_code == 200
                    waits.append(time.monotonic() - started)
        hardening.result()
    assert waits and all([responsive(wait) for wait in waits]), waits
    if outcome["error"]:  # past its budget on a slow machine: said so, not a traceback
        assert "budget" in outcome["text"] and "Traceback" not in outcome["text"]


def test_the_template_page_shows_a_bomb_as_a_problem_not_an_error(armed: tuple[RegistryServer, dict[str, str]]) -> None:
    registry, _ = armed
    with registry.client() as client:
        page = client.get("/templates/bomb-power", params={"retry_limit": "10"})
    assert page.status_code == 422 and "text/html" in page.headers["content-type"]
    assert "render budget" in page.text and "Traceback" not in page.text
