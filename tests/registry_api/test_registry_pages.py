"""The server-rendered pages without JavaScript (the form submits and the server renders), and the
pipeline picture: retries, deadlines, approval gates and the exit handler, with every text escaped."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from generator.model import parse_manifest
from registry_api.services.dag import dag_svg
from tests.conftest import TEMPLATE_NAMES, RegistryServer, manifest_doc, manifest_for, private_catalog
from tests.hostile import POWER_BOMB, plant

SVG = "{http://www.w3.org/2000/svg}"


def nodes(svg: str) -> dict[str, str]:
    """Each node's step name and the text it shows."""
    root = ET.fromstring(svg)
    return {g.get("data-step", ""): " ".join(t.text or "" for t in g.iter(f"{SVG}text"))
            for g in root.iter(f"{SVG}g")}  # a line's hover <title> is its child, not its text


@pytest.mark.parametrize("template", TEMPLATE_NAMES)
def test_the_graph_is_well_formed_svg_with_a_node_per_step(template: str) -> None:
    manifest = manifest_for(template, "defaults")
    svg = dag_svg(manifest)
    shown = nodes(svg)
    entry = manifest.spec.templates[manifest.spec.entrypoint or ""]
    assert {t.name for t in entry.children} <= set(shown)
    assert ET.fromstring(svg).get("role") == "img"


def test_the_graph_shows_retries_deadlines_the_exit_handler_and_the_workflow_deadline() -> None:
    svg = dag_svg(manifest_for("provision-process-publish", "custom"))
    shown = nodes(svg)
    assert any("retry ≤5" in text and "deadline 3600s" in text for text in shown.values())
    assert "exit handler (onExit)" in svg and "workflow deadline 14400s" in svg


def test_the_graph_marks_the_approval_gate_and_the_condition_of_the_delete() -> None:
    shown = nodes(dag_svg(manifest_for("approval-gated-delete", "defaults")))
    assert shown["approval"].startswith("gate: approval") and "waits for approval" in shown["approval"]
    assert "when" in shown["delete"]
    assert "no exit handler" in dag_svg(manifest_for("approval-gated-delete", "defaults"))


def test_text_from_the_manifest_is_escaped_in_the_graph() -> None:
    document = manifest_doc("saga-compensation", "defaults")
    main = next(t for t in document["spec"]["templates"] if t["name"] == document["spec"]["entrypoint"])
    tasks = main.get("dag", {}).get("tasks") or [s for group in main.get("steps", []) for s in group]
    tasks[0]["name"] = '<script>alert("x")</script>&'
    manifest = parse_manifest(document)
    assert manifest is not None
    svg = dag_svg(manifest)
    assert "<script>" not in svg
    assert '<script>alert("x")</script>&' in nodes(svg)


def test_catalog_page_searches_and_filters_by_tag(registry: RegistryServer) -> None:
    with registry.client() as client:
        everything = client.get("/")
        saga = client.get("/", params={"q": "saga"})
        tagged = client.get("/", params={"tag": "approval"})
        nothing = client.get("/", params={"q": "zzz-no-match"})
    assert everything.status_code == 200 and everything.headers["content-type"].startswith("text/html")
    assert all(name in everything.text for name in TEMPLATE_NAMES)
    assert 'href="/templates/saga-compensation"' in saga.text and "approval-gated-delete</a>" not in saga.text
    assert "approval-gated-delete</a>" in tagged.text and "saga-compensation</a>" not in tagged.text
    assert "No template matches" in nothing.text
    assert "http://" not in everything.text.split("<main")[0].replace('xmlns="http://www.w3.org', "")  # no CDN


def test_template_page_renders_the_preview_server_side(registry: RegistryServer) -> None:
    with registry.client() as client:
        page = client.get("/templates/saga-compensation", params={"step_1": "hold-stock"})
    assert page.status_code == 200
    html = page.text
    assert 'data-step="hold-stock"' in html and "<table" in html and 'id="manifest"' in html
    assert 'value="hold-stock"' in html
    assert re.search(r'id="matrix-summary" class="verdict-ok">PASSED: \d+ scenarios', html)
    assert '<script src="/static/preview.js" defer></script>' in html


def test_template_page_marks_every_invalid_field_without_javascript(registry: RegistryServer) -> None:
    with registry.client() as client:
        page = client.get("/templates/saga-compensation", params={"namespace": "Bad Value", "retry_limit": "lots"})
    assert page.status_code == 422
    errors = dict(re.findall(r'data-error-for="([a-z_0-9]+)">([^<]+)<', page.text))
    assert set(errors) == {"namespace", "retry_limit"}
    assert page.text.count('aria-invalid="true"') == 2
    assert 'value="Bad Value"' in page.text  # what the user typed is kept


def test_a_render_past_its_budget_is_a_422_problem_in_the_api_and_on_the_page(tmp_path: Path) -> None:
    """A template an old catalog holds (recorded before the publish checks) that a parameter turns into a
    render bomb: the API's problem names the budget it ran into, and the page shows the problem beside the
    form with what the user typed kept, never an error page."""
    body, parameters = POWER_BOMB
    url = f"sqlite:///{tmp_path / 'catalog.db'}"
    with RegistryServer(url) as registry:
        with private_catalog(url) as catalog:
            plant(catalog, tmp_path, "bomb-power", body)
        with registry.client() as client:
            answer = client.post("/api/v1/render", json={"template": "bomb-power", "parameters": parameters})
            page = client.get("/templates/bomb-power", params={k: str(v) for k, v in parameters.items()})
            harmless = client.get("/templates/bomb-power")
    problem = answer.json()
    assert answer.status_code == 422 and problem["type"].endswith("/budget-exceeded"), answer.text
    assert problem["budget"] == "render-size" and "(render budget)" in problem["detail"]
    assert page.status_code == 422 and "text/html" in page.headers["content-type"]
    assert "render budget" in page.text and 'value="10"' in page.text and "Traceback" not in page.text
    assert harmless.status_code == 200  # its defaults render


def test_template_page_for_an_unknown_template_is_a_404_page(registry: RegistryServer) -> None:
    with registry.client() as client:
        page = client.get("/templates/no-such-template")
        asset = client.get("/static/preview.js")
    assert page.status_code == 404 and "no template named" in page.text and "<html" in page.text
    assert asset.status_code == 200 and "fetch(" in asset.text
