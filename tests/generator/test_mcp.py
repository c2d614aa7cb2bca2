"""`pipeforge mcp` over stdio, driven by the MCP SDK's own client: tools listed and called, valid and
invalid input, and the loop an assistant runs on the article's broken pipeline."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import anyio
import pytest
from anyio.from_thread import start_blocking_portal

from tests.conftest import ROOT
from tests.generator.test_lint_cli import ARTICLE
from tests.hostile import POWER_BOMB, bomb_folder

TOOLS = {"list_templates", "describe_template", "render_pipeline", "lint_manifest", "explain_manifest",
         "harden_manifest", "simulate_manifest"}


@asynccontextmanager
async def _session(env: dict[str, str] | None = None) -> AsyncIterator[Any]:
    """`python -m generator mcp` as a subprocess, and an initialised ClientSession on it.

    The SDK starts servers with a minimal environment: the test's private data folder is passed on, so a
    catalog in the developer's own data folder never answers."""
    from mcp.client.session import ClientSession
    from mcp.client.stdio import StdioServerParameters, stdio_client

    params = StdioServerParameters(command=sys.executable, args=["-m", "generator", "mcp"],
                                   env={"XDG_DATA_HOME": os.environ["XDG_DATA_HOME"], **(env or {})})
    async with stdio_client(params) as (read, write), ClientSession(read, write) as session:
        await session.initialize()
        yield session


Body = Callable[[Any], Awaitable[None]]
Runner = Callable[[Body], None]


@pytest.fixture(scope="module")
def with_session() -> Iterator[Runner]:
    """Runs a test's ``body`` with the module's one server session: the tools keep no state between calls,
    and a server that goes on answering after every bad input is what the error tests check."""
    with start_blocking_portal() as portal, portal.wrap_async_context_manager(_session()) as session:
        yield lambda body: portal.call(body, session)


def with_own_session(body: Body, env: dict[str, str]) -> None:
    """``body`` on a server of its own, started with ``env`` added to its environment."""

    async def main() -> None:
        async with _session(env) as session:
            await body(session)

    anyio.run(main)


async def call(session: Any, tool: str, **arguments: Any) -> Any:
    return await session.call_tool(tool, arguments)


def structured(result: Any) -> dict[str, Any]:
    assert not result.is_error, result.content
    data = result.structured_content
    assert isinstance(data, dict)
    return data


def error_text(result: Any) -> str:
    assert result.is_error
    return " ".join(getattr(block, "text", "") for block in result.content)


def test_tools_and_prompt_are_listed_with_schemas(with_session: Runner) -> None:
    async def body(session: Any) -> None:
        tools = {tool.name: tool for tool in (await session.list_tools()).tools}
        assert set(tools) == TOOLS
        for tool in tools.values():
            assert tool.description and tool.input_schema["type"] == "object"
            assert tool.output_schema and tool.output_schema["type"] == "object"
        assert "manifest" in tools["lint_manifest"].input_schema["properties"]
        prompts = {p.name for p in (await session.list_prompts()).prompts}
        assert prompts == {"review-argo-pipeline"}
        prompt = await session.get_prompt("review-argo-pipeline", {"manifest": ARTICLE})
        text = prompt.messages[0].content.text
        assert "exit handler" in text and "lint_manifest" in text and "cleanup" in text

    with_session(body)


def test_each_tool_with_valid_input(with_session: Runner) -> None:
    async def body(session: Any) -> None:
        names = {t["name"] for t in structured(await call(session, "list_templates"))["templates"]}
        assert names >= {"provision-process-publish", "saga-compensation", "approval-gated-delete"}
        described = structured(await call(session, "describe_template", name="approval-gated-delete"))
        assert "target_name" in described["parameters"]["properties"]
        assert described["safety"][0] == "lint on the defaults: 0 errors, 0 warnings"
        rendered = structured(await call(session, "render_pipeline", template="saga-compensation",
                                         parameters={"namespace": "orders"}))
        assert "workflowtemplate.yaml" in rendered["files"] and rendered["lint"]["errors"] == 0
        assert "namespace: \"orders\"" in rendered["files"]["workflowtemplate.yaml"]
        assert "| Step |" in rendered["failure_modes"]
        assert rendered["fault_matrix"].startswith("PASSED")
        run_ = structured(await call(session, "simulate_manifest", manifest=ARTICLE, fail=["process=error"]))
        assert run_["safe"] is False and run_["simulation"]["phase"] in ("Failed", "Error")
        assert run_["simulation"]["resources"]["orphaned"]
        explained = structured(await call(session, "explain_manifest", manifest=ARTICLE))
        assert explained["manifests"][0]["steps"][0]["step"] == "provision"

    with_session(body)


@pytest.mark.parametrize(("tool", "arguments", "expected"), [
    ("lint_manifest", {"manifest": ""}, "empty"),
    ("lint_manifest", {"manifest": "x" * 1_000_001}, "limit"),
    ("explain_manifest", {"manifest": "kind: [unclosed"}, "malformed YAML"),
    ("explain_manifest", {"manifest": "kind: ConfigMap\n"}, "no Argo"),
    ("harden_manifest", {"manifest": "spec: {templates: [\n"}, "malformed YAML"),
    ("describe_template", {"name": "no-such-template"}, "no-such-template"),
    ("describe_template", {"name": "../../etc"}, "not a path"),
    ("render_pipeline", {"template": "approval-gated-delete", "parameters": {"target_name": "Prod DB",
                                                                             "retry_limit": 99}},
     "target_name"),
    ("lint_manifest", {}, "manifest"),
    ("render_pipeline", {"template": "saga-compensation", "version": "1.0.0"}, "catalog is empty"),
    ("simulate_manifest", {"manifest": ARTICLE, "fail": ["no-such-step"]}, "no-such-step"),
    ("simulate_manifest", {"manifest": ARTICLE, "fail": ["process=sideways"]}, "sideways"),
    ("simulate_manifest", {"manifest": ARTICLE, "matrix": True, "hang": ["process"]}, "matrix"),
])
def test_bad_input_is_a_tool_error_and_the_server_keeps_serving(tool: str, arguments: dict[str, Any],
                                                                  expected: str, with_session: Runner) -> None:
    async def body(session: Any) -> None:
        message = error_text(await call(session, tool, **arguments))
        assert expected in message
        assert "Traceback" not in message
        again = structured(await call(session, "list_templates"))  # still alive
        assert again["templates"]

    with_session(body)


def test_invalid_parameters_are_all_named(with_session: Runner) -> None:
    async def body(session: Any) -> None:
        message = error_text(await call(session, "render_pipeline", template="approval-gated-delete",
                                        parameters={"target_name": "Prod DB", "retry_limit": 99}))
        assert "target_name" in message and "retry_limit" in message

    with_session(body)


def test_the_assistant_loop_on_the_articles_broken_pipeline(with_session: Runner) -> None:
    """lint the draft (cleanup as the last DAG node), harden it, simulate --matrix: the draft fails the
    matrix naming the orphaned volume; the hardened pipeline passes it."""

    async def body(session: Any) -> None:
        draft = structured(await call(session, "lint_manifest", manifest=ARTICLE))
        assert "PF101" in {f["rule"] for f in draft["findings"]}
        hardened = structured(await call(session, "harden_manifest", manifest=ARTICLE))
        assert any(c["rule"] == "PF101" for c in hardened["changes"])
        after = structured(await call(session, "lint_manifest", manifest=hardened["yaml"]))
        assert "PF101" not in {f["rule"] for f in after["findings"]}
        assert {f["rule"] for f in after["findings"] if f["severity"] == "error"} == set()
        assert "PF401" in {f["rule"] for f in after["findings"]}  # a warning: a plain Workflow's own values
        table = structured(await call(session, "explain_manifest", manifest=hardened["yaml"]))
        rows = {r["step"]: r for r in table["manifests"][0]["steps"]}
        assert rows["provision"]["cleaned_up_by"] == [
            "PersistentVolumeClaim/scratch-{{workflow.name}}: exit handler cleanup (always)"]
        json.dumps(table)  # plain JSON all the way down
        before = structured(await call(session, "simulate_manifest", manifest=ARTICLE, matrix=True))
        assert before["safe"] is False and "PersistentVolumeClaim/scratch-" in before["summary"]
        verdict = structured(await call(session, "simulate_manifest", manifest=hardened["yaml"], matrix=True))
        assert verdict["safe"] is True and verdict["summary"].startswith("PASSED"), verdict["summary"]

    with_session(body)


def test_versions_come_from_the_catalog(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'catalog.db'}"
    root = ROOT
    published = subprocess.run(
        [sys.executable, "-m", "generator", "catalog", "publish", str(root / "templates" / "saga-compensation")],
        env={**os.environ, "PIPEFORGE_DATABASE_URL": url}, capture_output=True, text=True, check=False)
    assert published.returncode == 0, published.stderr

    async def body(session: Any) -> None:
        described = structured(await call(session, "describe_template", name="saga-compensation"))
        [version] = described["versions"]
        assert version["version"] == "1.0.0" and version["yanked"] is False
        rendered = structured(await call(session, "render_pipeline", template="saga-compensation",
                                         version="latest"))
        assert rendered["digest"] == version["digest"] and rendered["fault_matrix"].startswith("PASSED")
        assert "no-such" in error_text(await call(session, "render_pipeline", template="no-such", version="1.0.0"))

    with_own_session(body, env={"PIPEFORGE_DATABASE_URL": url})


def test_the_versioned_tools_read_the_catalog_they_are_given() -> None:
    """The tools live in the core with the catalog injected: a catalog that is no database answers them,
    local lookups never ask it, and its errors are tool errors with its message."""
    from contextlib import contextmanager
    from types import SimpleNamespace

    from catalog.errors import UnknownTemplateError
    from generator.mcp_tools import ToolInputError, catalog_tools
    from generator.template_spec import find_template

    template, digest, asked = find_template("saga-compensation"), "0" * 64, []

    class Published:
        @contextmanager
        def published(self, name: str, spec: str) -> Any:
            asked.append((name, spec))
            if name != template.name:
                raise UnknownTemplateError(name, [template.name])
            yield template, digest

        def versions(self, name: str) -> list[Any]:
            return [SimpleNamespace(version=template.version, digest=digest, yanked=True, yank_reason="why")] \
                if name == template.name else []

    describe, render = catalog_tools(Published())
    described = describe(template.name, "^1")
    assert [v.model_dump() for v in described.versions] == [
        {"version": template.version, "digest": digest, "yanked": True, "yank_reason": "why"}]
    assert render(template.name, None, "latest").digest == digest
    assert render(template.name).digest != digest and asked == [(template.name, "^1"), (template.name, "latest")]
    with pytest.raises(ToolInputError,
                       match="no template named 'no-such' in the catalog; published: saga-compensation"):
        render("no-such", None, "1.0.0")


def test_a_render_past_its_budget_is_a_tool_error_naming_it(tmp_path: Path) -> None:
    """A catalog's template that a parameter turns into a render bomb: the tool answers with an error that
    names the budget, not a traceback, and the same template with its defaults still renders."""
    from contextlib import contextmanager

    from generator.mcp_tools import ToolInputError, catalog_tools
    from generator.template_spec import find_template

    body, parameters = POWER_BOMB
    template = find_template(str(bomb_folder(tmp_path, name="bomb-power", body=body)))
    asked: list[tuple[str, str]] = []

    class Published:
        @contextmanager
        def published(self, name: str, spec: str) -> Any:
            asked.append((name, spec))
            yield template, "0" * 64

    _, render = catalog_tools(Published())
    with pytest.raises(ToolInputError, match=r"\(render budget\)") as raised:
        render(template.name, parameters, "1.0.0")
    assert "Traceback" not in str(raised.value)
    assert render(template.name, None, "1.0.0").template == "bomb-power"
    assert asked == [("bomb-power", "1.0.0")] * 2
