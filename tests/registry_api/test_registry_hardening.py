"""The registry's HTTP hardening over real HTTP (uvicorn on loopback), on SQLite and PostgreSQL: bodies
JSON cannot carry faithfully are a 422, not a 500; versions out of range are a 422 or a 404 on both
databases; error documents are bounded and show no server path or database identity; the whole
value must match a parameter's pattern; the method label of the metrics is bounded; oversize bodies
(declared or chunked) are a 413; slow clients are cut off."""

from __future__ import annotations

import io
import json
import socket
import tarfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from generator.bundle import pack
from tests.conftest import PostgresDatabases, RegistryServer, template_variant
from tests.registry_api.test_registry_api import assert_problem, publish, unique_name

RENDER = "/api/v1/render"


def post_raw(server: RegistryServer, path: str, body: bytes, token: str | None = None) -> Any:
    with server.client(token) as client:
        return client.post(path, content=body, headers={"Content-Type": "application/json"})


# Each one a different way of sending what JSON cannot carry faithfully; the place is named in the answer.
HOSTILE_BODIES = [
    (b'{"template":"saga-compensation","parameters":{"retry_limit":1e400}}', "parameters.retry_limit"),
    (b'{"template":"provision-process-publish","parameters":{"scratch_size":-2.5e308}}', "parameters.scratch_size"),
    (b'{"template":"saga-compensation","parameters":{"retry_limit":NaN}}', "not valid JSON"),
    (b'{"template":"approval-gated-delete","parameters":{"retry_limit":-Infinity}}', "not valid JSON"),
    (b'{"template":"saga-compensation","parameters":{"description":"ok \\ud800 then"}}', "surrogate"),
    (b'{"template":"saga-compensation","parameters":{"\\udfff":1}}', "surrogate"),
    (b'{"template":"saga-compensation","parameters":{"pipeline_name":"\xed\xa0\x80"}}', "not valid JSON"),
    (b'{"template":"saga-compensation","parameters":{"retry_limit":18446744073709551616}}', "64-bit range"),
    (b'{"template":"saga-compensation","parameters":{"step_1":[0, -9223372036854775809]}}',
     "parameters.step_1[1]"),
    (b'{"template":"saga-compensation","parameters":{"retry_limit":' + b"7" * 5000 + b"}}", "not valid JSON"),
    (b'{"template":"saga-compensation","parameters":{"x":' + b"[" * 100 + b"]" * 100 + b"}}", "nested deeper"),
]


@pytest.mark.parametrize(("body", "named"), HOSTILE_BODIES, ids=[str(i) for i in range(len(HOSTILE_BODIES))])
def test_bodies_json_cannot_carry_faithfully_are_a_422_naming_the_place(registry: RegistryServer, body: bytes,
                                                                       named: str) -> None:
    answer = assert_problem(post_raw(registry, RENDER, body), 422, "invalid-request")
    assert named in answer["detail"] and answer["errors"][0]["field"] == "body"
    with registry.client() as client:
        assert client.post(RENDER, json={"template": "saga-compensation"}).status_code == 200


def test_hostile_json_is_a_422_on_the_authenticated_routes_too(registry: RegistryServer,
                                                               tokens: dict[str, str]) -> None:
    for path in ("/api/v1/pull-requests", "/api/v1/templates/saga-compensation/versions/1.0.0/yank", "/mcp"):
        response = post_raw(registry, path, b'{"reason": "x", "n": 1e999}', tokens["admin"])
        assert "the number at n" in assert_problem(response, 422, "invalid-request")["detail"], path


@pytest.mark.parametrize("version", ["9" * 200, "1.0.4294967296", "^99999999999", ">=1, <" + "9" * 25,
                                     "2147483648.0.0-rc.1", "~0.4294967295"])
def test_a_version_out_of_range_is_a_422_on_both_databases(registry: RegistryServer, version: str) -> None:
    with registry.client() as client:
        rendered = client.post(RENDER, json={"template": "saga-compensation", "version": version})
        detail = client.get(f"/api/v1/templates/saga-compensation/versions/{version}")
    for response in (rendered, detail):
        assert "above 2147483647" in assert_problem(response, 422, "invalid-version")["detail"]


@pytest.mark.parametrize("spec", ["^2147483647", "~3.2147483647.1", ">=2147483647.2147483647.2147483647"])
def test_a_range_reaching_past_the_stored_numbers_is_a_404(registry: RegistryServer, spec: str) -> None:
    with registry.client() as client:
        assert_problem(client.get(f"/api/v1/templates/saga-compensation/versions/{spec}"), 404, "not-found")
        assert client.get("/api/v1/templates/saga-compensation/versions/<=2147483647.2147483647").status_code == 200


@pytest.mark.parametrize(("name", "value"), [("pipeline_name", "orders\n"), ("service_account", "default\n"),
                                             ("namespace", "team-a\n"), ("image", "ghcr.io/acme/x:1.0\n")])
def test_a_trailing_newline_does_not_satisfy_a_pattern(registry: RegistryServer, name: str, value: str) -> None:
    with registry.client() as client:
        response = client.post(RENDER, json={"template": "saga-compensation", "parameters": {name: value}})
    assert [e["field"] for e in assert_problem(response, 422, "invalid-parameters")["errors"]] == [name]


def test_error_documents_are_bounded_whatever_the_request(registry: RegistryServer) -> None:
    many = {f"unknown_{i}_" + "x" * 60: "y" * 100 for i in range(180)}
    with registry.client() as client:
        unknown = client.post(RENDER, json={"template": "saga-compensation", "parameters": many})
        too_many = client.post(RENDER, json={"template": "saga-compensation",
                                             "parameters": {f"p{i}": 1 for i in range(20_000)}})
        long_value = client.post(RENDER, json={"template": "saga-compensation",
                                               "parameters": {"pipeline_name": "A" * 100_000}})
    body = assert_problem(unknown, 422, "invalid-parameters")
    assert len(body["errors"]) == 50 and body["errors_omitted"] == 130 and len(unknown.content) < 30_000
    assert_problem(too_many, 422, "invalid-request")
    assert len(too_many.content) < 2_000
    echoed = assert_problem(long_value, 422, "invalid-parameters")["errors"][0]["value"]
    assert len(echoed) < 300 and len(long_value.content) < 10_000


def test_method_label_of_the_metrics_is_bounded(registry: RegistryServer) -> None:
    tokens = [f"X{n}GRAB" for n in range(40)] + ["PROPFIND", "BREW"]
    with registry.client() as client:
        for token in tokens:
            client.request(token, "/healthz")
        metrics = client.get("/metrics").text
    methods = {line.split('method="')[1].split('"')[0] for line in metrics.splitlines() if 'method="' in line}
    assert "OTHER" in methods and methods <= {"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "OTHER"}


def _bundle_with_template_yaml(tmp_path: Path, name: str, text: str) -> bytes:
    folder = template_variant(tmp_path, name=name)
    (folder / "template.yaml").write_text(text, encoding="utf-8")
    return pack(folder)


@pytest.mark.parametrize("text", ["name: [unclosed\n", "name: x\n\tversion: 1\n", "summary: 'open\n",
                                  "- a\nb: c\n"])
def test_a_malformed_template_yaml_is_a_422_without_the_servers_paths(registry: RegistryServer,
                                                                      tokens: dict[str, str], tmp_path: Path,
                                                                      text: str) -> None:
    name = unique_name()
    response = publish(registry, tokens["publish"], _bundle_with_template_yaml(tmp_path, name, text), name)
    body = assert_problem(response, 422, "invalid-template")
    assert "template.yaml" in body["detail"] and "/tmp" not in response.text and "pipeforge-" not in response.text


def test_an_unavailable_database_is_a_503_naming_no_database(postgres_databases: PostgresDatabases) -> None:
    from sqlalchemy import make_url, text

    url = postgres_databases.create()
    parsed = make_url(url)
    with RegistryServer(url) as server, server.client() as client:
        with postgres_databases.engine.connect() as connection:
            connection.execute(text(f'DROP DATABASE "{parsed.database}" WITH (FORCE)'))
        for response in (client.get("/api/v1/templates/saga-compensation"), client.get("/readyz"),
                         client.post(RENDER, json={"template": "saga-compensation"})):
            assert_problem(response, 503, "catalog-unavailable")
            for identity in (parsed.database, parsed.host, parsed.username, str(parsed.port)):
                assert identity and identity not in response.text


# --- Size and time limits, on a registry with small ones. ----------------------------------------------------

@pytest.fixture(scope="module")
def limited(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RegistryServer]:
    url = f"sqlite:///{tmp_path_factory.mktemp('limited') / 'catalog.db'}"
    with RegistryServer(url, max_request_bytes=4096, max_bundle_bytes=300_000, header_timeout_seconds=1,
                        body_timeout_seconds=1) as server:
        yield server


def _chunks(total: int, size: int = 1000) -> Iterator[bytes]:
    for _ in range(total // size):
        yield b" " * size


def test_an_oversize_chunked_body_is_a_413(limited: RegistryServer) -> None:
    from catalog.tokens import create
    from tests.conftest import private_catalog

    with limited.client() as client:
        render = client.post(RENDER, content=_chunks(20_000), headers={"Content-Type": "application/json"})
        declared = client.post(RENDER, content=b" " * 5000, headers={"Content-Type": "application/json"})
    with private_catalog(limited.database_url) as catalog, catalog.session() as session:
        _, token = create(session, name=unique_name(), scopes=["publish"])
    with limited.client(token) as client:
        bundle = client.post("/api/v1/templates/x/versions", content=_chunks(400_000),
                             headers={"Content-Type": "application/x-tar"})
    for response in (render, declared, bundle):
        assert "over the limit" in assert_problem(response, 413, "too-large")["detail"]


def _connect(server: RegistryServer) -> socket.socket:
    return socket.create_connection(("127.0.0.1", server.port), timeout=10)


def _closed_within(sock: socket.socket, seconds: float) -> bytes:
    """What the server sent before closing the connection, waiting at most ``seconds``."""
    sock.settimeout(seconds)
    received = b""
    while True:
        chunk = sock.recv(65536)
        if not chunk:
            return received
        received += chunk


def test_a_client_that_sends_no_headers_or_trickles_them_is_cut_off(limited: RegistryServer) -> None:
    with _connect(limited) as silent, _connect(limited) as trickling:
        started = time.monotonic()
        try:
            trickling.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n")
            for _ in range(3):
                time.sleep(0.4)
                trickling.sendall(b"X-Slow: 1\r\n")
        except OSError:  # the server may close it while it trickles
            pass
        assert _closed_within(silent, 5) == b""
        assert _closed_within(trickling, 5) == b""
        assert time.monotonic() - started < 5
    with limited.client() as client:
        assert client.get("/healthz").status_code == 200


def test_a_body_that_does_not_arrive_in_time_is_a_408(limited: RegistryServer) -> None:
    with _connect(limited) as sock:
        sock.sendall(b"POST /api/v1/render HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                     b"Content-Length: 100\r\n\r\n{\"template\":")
        answer = _closed_within(sock, 5)
    assert answer.startswith(b"HTTP/1.1 408 ") and b"request-timeout" in answer


def test_a_normal_request_on_a_kept_alive_connection_still_works(limited: RegistryServer) -> None:
    with limited.client() as client:
        for _ in range(3):
            assert client.get("/healthz").status_code == 200
            time.sleep(0.3)
        response = client.post(RENDER, content=json.dumps({"template": "saga-compensation"}).encode(),
                               headers={"Content-Type": "application/json"})
    assert response.status_code == 200


def test_a_json_body_inside_a_tar_is_not_checked_as_json(limited: RegistryServer) -> None:
    """Only JSON bodies are parsed as JSON: a bundle that merely contains JSON-looking text is a bundle."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        data = b'{"n": NaN}'
        info = tarfile.TarInfo("cookiecutter.json")
        info.size = len(data)
        tar.addfile(info, io.BytesIO(data))
    from catalog.tokens import create
    from tests.conftest import private_catalog

    with private_catalog(limited.database_url) as catalog, catalog.session() as session:
        _, token = create(session, name=unique_name(), scopes=["publish"])
    response = publish(limited, token, buffer.getvalue(), "x")
    assert response.status_code == 422 and "invalid-request" not in response.json()["type"]


@pytest.mark.parametrize("digits", ["9" * 20, "-" + "1" * 4301, "+" + "7" * 5000])
def test_a_huge_integer_written_as_text_is_a_422_on_the_api_and_the_page(registry: RegistryServer,
                                                                         digits: str) -> None:
    with registry.client() as client:
        api = client.post(RENDER, json={"template": "saga-compensation", "parameters": {"retry_limit": digits}})
        page = client.get("/templates/saga-compensation", params={"retry_limit": digits})
    rule = assert_problem(api, 422, "invalid-parameters")["errors"][0]["rule"]
    assert "at most 19 digits" in rule
    assert page.status_code == 422 and "at most 19 digits" in page.text  # the form, the field marked


def test_a_huge_integer_on_the_command_line_is_a_message_not_a_traceback(tmp_path: Path) -> None:
    import subprocess
    import sys

    from tests.conftest import ROOT

    done = subprocess.run([sys.executable, "-m", "generator", "new", "saga-compensation", "--no-input",
                           "-o", str(tmp_path / "out"), "--set", "retry_limit=" + "8" * 5000],
                          cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 2 and "Traceback" not in done.stderr and "at most 19 digits" in done.stderr
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("values", [{"step_1": ["a"], "step_2": ["a"]}, {"step_1": {"x": 1}, "step_3": [[]]},
                                    {"step_2": ["b"], "step_3": "b"}])
def test_unhashable_values_of_distinct_parameters_are_a_422(registry: RegistryServer,
                                                            values: dict[str, Any]) -> None:
    with registry.client() as client:
        response = client.post(RENDER, json={"template": "saga-compensation", "parameters": values})
    errors = assert_problem(response, 422, "invalid-parameters")["errors"]
    assert {e["field"] for e in errors} == {k for k, v in values.items() if not isinstance(v, str)}
