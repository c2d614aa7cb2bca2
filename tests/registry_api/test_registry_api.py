"""The registry's JSON API over real HTTP (uvicorn on a loopback port), on SQLite and on PostgreSQL:
browsing, bundles, dry-run renders, publishing, yanking, problem details, health and metrics."""

from __future__ import annotations

import hashlib
import io
import re
import tarfile
import uuid
from pathlib import Path
from typing import Any

import pytest

from generator.bundle import pack
from tests.conftest import TEMPLATE_NAMES, RegistryServer, private_catalog, template_variant

PROBLEM = "application/problem+json"


def unique_name() -> str:
    return f"reg-{uuid.uuid4().hex[:10]}"


def bundle_of(tmp_path: Path, *, name: str, version: str = "1.0.0", note: str = "") -> bytes:
    return pack(template_variant(tmp_path, name=name, version=version, note=note))


def publish(registry: RegistryServer, token: str, data: bytes, name: str) -> Any:
    with registry.client(token) as client:
        return client.post(f"/api/v1/templates/{name}/versions", content=data,
                           headers={"Content-Type": "application/x-tar"})


def assert_problem(response: Any, status: int, slug: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith(PROBLEM)
    body: dict[str, Any] = response.json()
    assert body["status"] == status and body["type"].endswith("/" + slug) and body["title"] and body["detail"]
    return body


def test_empty_catalog_gets_the_builtin_templates_on_start(registry: RegistryServer) -> None:
    with registry.client() as client:
        page = client.get("/api/v1/templates", params={"limit": 200}).json()
    names = {item["name"] for item in page["items"]}
    assert set(TEMPLATE_NAMES) <= names
    builtin = next(i for i in page["items"] if i["name"] == "saga-compensation")
    assert builtin["latest"] == "1.0.0" and builtin["versions"] == 1 and "saga" in builtin["tags"]


def test_builtins_are_not_published_when_the_setting_is_off(tmp_path: Path) -> None:
    with RegistryServer(f"sqlite:///{tmp_path / 'c.db'}", publish_builtins=False) as server, server.client() as c:
        assert c.get("/api/v1/templates").json() == {"total": 0, "limit": 50, "offset": 0, "items": []}


def test_listing_searches_filters_by_tag_and_paginates(registry: RegistryServer, tokens: dict[str, str],
                                                      tmp_path: Path) -> None:
    marker = uuid.uuid4().hex[:8]
    names = sorted(f"{marker}-{i}" for i in range(3))
    for name in names:
        assert publish(registry, tokens["publish"], bundle_of(tmp_path, name=name), name).status_code == 201
    with registry.client() as client:
        found = client.get("/api/v1/templates", params={"q": marker.upper()}).json()
        assert [i["name"] for i in found["items"]] == names and found["total"] == 3
        second = client.get("/api/v1/templates", params={"q": marker, "limit": 2, "offset": 2}).json()
        assert [i["name"] for i in second["items"]] == names[2:] and second["total"] == 3
        tagged = client.get("/api/v1/templates", params={"tag": "approval"}).json()
        assert [i["name"] for i in tagged["items"]] == ["approval-gated-delete"]
        nothing = client.get("/api/v1/templates", params={"q": marker, "tag": "approval"}).json()
        assert nothing["items"] == [] and nothing["total"] == 0
        bad = client.get("/api/v1/templates", params={"limit": 0, "offset": -1})
    body = assert_problem(bad, 422, "invalid-request")
    assert {e["field"] for e in body["errors"]} == {"query.limit", "query.offset"}


def test_template_detail_lists_versions_newest_first_with_yanked_ones_marked(
        registry: RegistryServer, tokens: dict[str, str], tmp_path: Path) -> None:
    name = unique_name()
    for version in ("1.0.0", "1.2.0", "2.0.0-rc.1", "1.10.0"):
        assert publish(registry, tokens["publish"], bundle_of(tmp_path, name=name, version=version), name).is_success
    with registry.client(tokens["publish"]) as client:
        client.post(f"/api/v1/templates/{name}/versions/1.10.0/yank", json={"reason": "breaks retries"})
        detail = client.get(f"/api/v1/templates/{name}").json()
    assert [v["version"] for v in detail["versions"]] == ["2.0.0-rc.1", "1.10.0", "1.2.0", "1.0.0"]
    assert detail["latest"] == "1.2.0"
    yanked = detail["versions"][1]
    assert yanked["yanked"] and yanked["yank_reason"] == "breaks retries"
    assert detail["versions"][0]["prerelease"]
    assert detail["parameters"]["properties"]["pipeline_name"]["type"] == "string"


def test_version_by_exact_version_or_spec_with_digest_and_lint_summary(registry: RegistryServer) -> None:
    with registry.client() as client:
        exact = client.get("/api/v1/templates/saga-compensation/versions/1.0.0").json()
        ranged = client.get("/api/v1/templates/saga-compensation/versions/^1").json()
        missing = client.get("/api/v1/templates/saga-compensation/versions/9.9.9")
        unknown = client.get("/api/v1/templates/no-such-template")
        bad_spec = client.get("/api/v1/templates/saga-compensation/versions/not a version")
    assert exact == ranged
    assert exact["digest"].startswith("sha256:") and exact["lint"]["errors"] == 0 and not exact["yanked"]
    assert "9.9.9" in assert_problem(missing, 404, "not-found")["detail"]
    assert "saga-compensation" in assert_problem(unknown, 404, "not-found")["detail"]
    assert_problem(bad_spec, 422, "invalid-version")


def test_bundle_is_served_with_its_digest_as_etag_and_immutable_caching(registry: RegistryServer) -> None:
    with registry.client() as client:
        digest = client.get("/api/v1/templates/saga-compensation/versions/1.0.0").json()["digest"]
        response = client.get("/api/v1/templates/saga-compensation/versions/1.0.0/bundle")
        again = client.get("/api/v1/templates/saga-compensation/versions/1.0.0/bundle",
                           headers={"If-None-Match": response.headers["etag"]})
        by_range = client.get("/api/v1/templates/saga-compensation/versions/^1/bundle")
    assert response.status_code == 200 and response.headers["content-type"] == "application/x-tar"
    assert response.headers["etag"] == f'"{digest}"'
    assert "immutable" in response.headers["cache-control"]
    assert "sha256:" + hashlib.sha256(response.content).hexdigest() == digest
    with tarfile.open(fileobj=io.BytesIO(response.content)) as tar:
        assert "template.yaml" in tar.getnames()
    assert again.status_code == 304 and again.content == b""
    assert_problem(by_range, 422, "invalid-version")  # a bundle URL names one version, so caching is safe


def test_render_returns_files_lint_failure_modes_and_the_dag(registry: RegistryServer) -> None:
    with registry.client() as client:
        response = client.post("/api/v1/render", json={
            "template": "provision-process-publish", "parameters": {"pipeline_name": "rollup", "retry_limit": "4"}})
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["version"] == "1.0.0" and body["parameters"]["retry_limit"] == 4
    manifest = body["files"]["workflowtemplate.yaml"]
    assert "name: rollup" in manifest or '"rollup"' in manifest
    assert body["lint"]["errors"] == 0
    assert {m["stage"] for m in body["failure_modes"]} == {"main", "exit handler"}
    assert body["failure_modes_markdown"].startswith("| Step |")
    assert body["dag_svg"].startswith("<svg") and "exit handler" in body["dag_svg"]
    matrix = body["fault_matrix"]
    assert matrix["passed"] and matrix["summary"].startswith("PASSED")
    labels = {s["scenario"] for s in matrix["scenarios"]}
    assert len(labels) > 10 and any("fail" in label for label in labels)


def test_invalid_parameters_give_422_naming_every_bad_field(registry: RegistryServer) -> None:
    with registry.client() as client:
        response = client.post("/api/v1/render", json={
            "template": "saga-compensation",
            "parameters": {"namespace": "Not A Label", "retry_limit": "many", "colour": "blue",
                           "description": "{{workflow.name}}"}})
    body = assert_problem(response, 422, "invalid-parameters")
    assert {e["field"] for e in body["errors"]} == {"namespace", "retry_limit", "colour", "description"}
    assert all(e["rule"] for e in body["errors"])


def test_render_refuses_malformed_requests_and_unknown_templates(registry: RegistryServer) -> None:
    with registry.client() as client:
        extra = client.post("/api/v1/render", json={"template": "saga-compensation", "dry": True})
        shape = client.post("/api/v1/render", json={"template": "Bad Name!", "parameters": []})
        unknown = client.post("/api/v1/render", json={"template": "no-such-template"})
        not_json = client.post("/api/v1/render", content=b"{", headers={"Content-Type": "application/json"})
    assert {e["field"] for e in assert_problem(extra, 422, "invalid-request")["errors"]} == {"dry"}
    assert {e["field"] for e in assert_problem(shape, 422, "invalid-request")["errors"]} == {"template", "parameters"}
    assert_problem(unknown, 404, "not-found")
    assert_problem(not_json, 422, "invalid-request")


def test_render_has_no_side_effects(registry: RegistryServer) -> None:
    with registry.client() as client:
        before = client.get("/api/v1/templates", params={"limit": 200}).json()
        for _ in range(3):
            client.post("/api/v1/render", json={"template": "saga-compensation"})
        assert client.get("/api/v1/templates", params={"limit": 200}).json() == before


def test_publish_is_write_once_over_http(registry: RegistryServer, tokens: dict[str, str], tmp_path: Path) -> None:
    name = unique_name()
    data = bundle_of(tmp_path, name=name)
    first = publish(registry, tokens["publish"], data, name)
    again = publish(registry, tokens["admin"], data, name)
    other = publish(registry, tokens["publish"], bundle_of(tmp_path, name=name, note="changed"), name)
    assert first.status_code == 201 and again.status_code == 200
    assert first.json()["digest"] == again.json()["digest"] == "sha256:" + hashlib.sha256(data).hexdigest()
    assert first.json()["publisher"] == "test-publish"
    assert "already published" in assert_problem(other, 409, "version-conflict")["detail"]
    with registry.client() as client:
        assert client.get(f"/api/v1/templates/{name}").json()["latest"] == "1.0.0"


def _tar(entries: list[tuple[str, bytes | None, bytes]]) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        for name, link, data in entries:
            info = tarfile.TarInfo(name)
            if link is not None:
                info.type, info.linkname = tarfile.SYMTYPE, link.decode()
                tar.addfile(info)
            else:
                info.size = len(data)
                tar.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


def test_hostile_bundles_are_refused_with_every_problem_and_nothing_stored(
        registry: RegistryServer, tokens: dict[str, str]) -> None:
    name = unique_name()
    hostile = _tar([("../escape.txt", None, b"x"), ("link", b"/etc/passwd", b""),
                    ("hooks/pre_gen_project.py", None, b"import os")])
    response = publish(registry, tokens["publish"], hostile, name)
    body = assert_problem(response, 422, "refused-bundle")
    assert len(body["errors"]) >= 3
    garbage = publish(registry, tokens["publish"], b"not a tar at all", name)
    assert garbage.status_code == 422 and garbage.headers["content-type"].startswith(PROBLEM)
    with registry.client() as client:
        assert_problem(client.get(f"/api/v1/templates/{name}"), 404, "not-found")


def test_publish_refuses_a_bundle_sent_under_another_name(registry: RegistryServer, tokens: dict[str, str],
                                                          tmp_path: Path) -> None:
    response = publish(registry, tokens["publish"], bundle_of(tmp_path, name=unique_name()), "another-name")
    assert "another-name" in assert_problem(response, 400, "bad-request")["detail"]


def test_publish_refuses_a_template_that_renders_with_lint_errors(registry: RegistryServer, tokens: dict[str, str],
                                                                 tmp_path: Path) -> None:
    name = unique_name()
    folder = template_variant(tmp_path, name=name)
    manifest = folder / "[[cookiecutter.pipeline_name]][#{{}}#]" / "workflowtemplate.yaml"
    text = manifest.read_text(encoding="utf-8")
    manifest.write_text(text.replace("limit:", "# limit:", 1), encoding="utf-8")
    response = publish(registry, tokens["publish"], pack(folder), name)
    assert "PF201" in assert_problem(response, 422, "lint-failed")["detail"]


def test_request_size_limits(registry: RegistryServer, tokens: dict[str, str]) -> None:
    too_big_bundle = b"\0" * (registry.settings.max_bundle_bytes + 1)
    response = publish(registry, tokens["publish"], too_big_bundle, unique_name())
    assert_problem(response, 413, "too-large")
    with registry.client() as client:
        big = client.post("/api/v1/render", content=b"{" + b" " * registry.settings.max_request_bytes + b"}",
                          headers={"Content-Type": "application/json"})
    assert_problem(big, 413, "too-large")


def test_yank_and_unyank_change_what_latest_resolves_to(registry: RegistryServer, tokens: dict[str, str],
                                                        tmp_path: Path) -> None:
    name = unique_name()
    for version in ("1.0.0", "1.1.0"):
        publish(registry, tokens["publish"], bundle_of(tmp_path, name=name, version=version), name)
    with registry.client(tokens["publish"]) as client:
        yanked = client.post(f"/api/v1/templates/{name}/versions/1.1.0/yank", json={"reason": "deletes too much"})
        assert yanked.json()["changed"] and yanked.json()["version"]["yanked"]
        assert client.get("/api/v1/templates", params={"q": name}).json()["items"][0]["latest"] == "1.0.0"
        assert client.post("/api/v1/render", json={"template": name}).json()["version"] == "1.0.0"
        pinned = client.post("/api/v1/render", json={"template": name, "version": "1.1.0"}).json()
        assert pinned["yanked"] and pinned["yank_reason"] == "deletes too much"
        again = client.post(f"/api/v1/templates/{name}/versions/1.1.0/yank", json={"reason": "deletes too much"})
        assert not again.json()["changed"]
        no_reason = client.post(f"/api/v1/templates/{name}/versions/1.1.0/yank", json={"reason": ""})
        assert_problem(no_reason, 422, "invalid-request")
        unyanked = client.post(f"/api/v1/templates/{name}/versions/1.1.0/unyank")
        assert unyanked.json()["changed"] and not unyanked.json()["version"]["yanked"]
        assert client.get(f"/api/v1/templates/{name}").json()["latest"] == "1.1.0"
        missing = client.post(f"/api/v1/templates/{name}/versions/3.0.0/yank", json={"reason": "x"})
    assert_problem(missing, 404, "not-found")


def test_unknown_routes_and_methods_are_problem_documents(registry: RegistryServer) -> None:
    with registry.client() as client:
        assert_problem(client.get("/api/v1/nothing-here"), 404, "http-error")
        assert_problem(client.delete("/api/v1/templates/saga-compensation"), 405, "http-error")


def test_health_readiness_and_metrics(registry: RegistryServer) -> None:
    with registry.client() as client:
        assert client.get("/healthz").json() == {"status": "ok"}
        assert client.get("/readyz").json() == {"status": "ready"}
        client.get("/api/v1/templates/saga-compensation")
        client.get("/api/v1/templates/no-such-one")
        metrics = client.get("/metrics")
    assert metrics.headers["content-type"].startswith("text/plain")
    text = metrics.text
    assert 'pipeforge_http_requests_total{method="GET",route="/api/v1/templates/{name}",status="200"}' in text
    assert 'route="/api/v1/templates/{name}",status="404"' in text
    assert "no-such-one" not in text  # routes are labelled by template, never by raw path
    assert "pipeforge_http_request_duration_seconds_bucket" in text


def test_openapi_and_docs_are_served(registry: RegistryServer) -> None:
    with registry.client() as client:
        spec = client.get("/openapi.json").json()
        docs = client.get("/docs")
    assert {"/api/v1/templates", "/api/v1/render", "/api/v1/templates/{name}/versions"} <= set(spec["paths"])
    assert docs.status_code == 200 and docs.headers["content-type"].startswith("text/html")
    assert "<code>POST /api/v1/render</code>" in docs.text and "RenderRequest" in docs.text
    assert "<code>POST /api/v1/templates/{name}/versions</code>" in docs.text and "application/x-tar" in docs.text
    assert not re.search(r'(src|href)="https?://', docs.text)  # nothing loaded from the internet


@pytest.mark.parametrize("scope", ["publish", "admin"])
def test_tokens_are_stored_as_hashes_only(registry: RegistryServer, tokens: dict[str, str], scope: str) -> None:
    from sqlalchemy import select

    from catalog.models import ApiToken

    secret = tokens[scope]
    with private_catalog(registry.database_url) as catalog, catalog.session() as session:
        row = session.scalars(select(ApiToken).where(ApiToken.name == f"test-{scope}")).one()
    assert row.secret_sha256 == hashlib.sha256(secret.encode()).hexdigest()
    assert secret not in repr([row.name, row.secret_sha256, row.scopes])


def test_a_fresh_render_worker_imports_no_database_code() -> None:
    """A render runs ``registry_api.services.preview`` in a worker process, which imports the module of the
    function it runs. Workers are new at every registry start and after every runaway: each would import
    SQLAlchemy and the catalog before its first render if that module pulled them in."""
    import subprocess
    import sys

    from generator import sandbox_worker

    script = ("import importlib, sys\n"
              f"for name in {sandbox_worker._PRELOAD!r}: importlib.import_module(name)\n"
              "before = set(sys.modules)\n"
              "import registry_api.services.preview\n"
              "print(sorted(m for m in set(sys.modules) - before if m.split('.')[0] in {'sqlalchemy', 'alembic', "
              "'catalog'}))\n")
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"
