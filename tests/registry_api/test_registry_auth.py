"""Who may do what: every mutating endpoint answers 401 without a token (or with an unknown or revoked
one), 403 with a token lacking the scope, and works with the right scope; reads are open unless
PIPEFORGE_REQUIRE_READ_TOKEN is set. Tokens are created and revoked with ``pipeforge token``."""

from __future__ import annotations

import hashlib
import io
import json
import uuid
from contextlib import redirect_stderr
from pathlib import Path
from typing import Any

import pytest

from generator.bundle import pack
from generator.cli import main
from tests.conftest import RegistryServer, template_variant

MUTATIONS = ("publish", "yank", "unyank")
WRONG = ("read", "pr")
RIGHT = ("publish", "admin")


def _call(registry: RegistryServer, token: str | None, action: str, name: str, data: bytes) -> Any:
    with registry.client(token) as client:
        if action == "publish":
            return client.post(f"/api/v1/templates/{name}/versions", content=data,
                               headers={"Content-Type": "application/x-tar"})
        body = {"json": {"reason": "authorization test"}} if action == "yank" else {}
        return client.post(f"/api/v1/templates/{name}/versions/1.0.0/{action}", **body)


@pytest.fixture(scope="module")
def target(registry: RegistryServer, tokens: dict[str, str],
           tmp_path_factory: pytest.TempPathFactory) -> tuple[str, bytes]:
    """A published template the yank/unyank calls act on, and a bundle of another version to publish."""
    name = f"auth-{uuid.uuid4().hex[:8]}"
    folder = tmp_path_factory.mktemp("auth")
    published = _call(registry, tokens["admin"], "publish", name, pack(template_variant(folder, name=name)))
    assert published.status_code == 201
    return name, pack(template_variant(folder, name=name, version="1.0.1"))


@pytest.mark.parametrize("action", MUTATIONS)
@pytest.mark.parametrize("credential", ["none", "unknown", "revoked", "malformed"])
def test_mutations_without_a_valid_token_are_401(registry: RegistryServer, tokens: dict[str, str],
                                                 target: tuple[str, bytes], action: str, credential: str) -> None:
    token = {"none": None, "unknown": "pft_" + "x" * 43, "revoked": tokens["revoked"],
             "malformed": "not-a-token"}[credential]
    response = _call(registry, token, action, *target)
    assert response.status_code == 401, response.text
    assert response.headers["www-authenticate"].startswith("Bearer")
    assert response.headers["content-type"].startswith("application/problem+json")


@pytest.mark.parametrize("action", MUTATIONS)
@pytest.mark.parametrize("scope", WRONG)
def test_mutations_with_the_wrong_scope_are_403(registry: RegistryServer, tokens: dict[str, str],
                                               target: tuple[str, bytes], action: str, scope: str) -> None:
    response = _call(registry, tokens[scope], action, *target)
    assert response.status_code == 403, response.text
    body = response.json()
    assert body["required_scope"] == "publish" and f"test-{scope}" in body["detail"]


@pytest.mark.parametrize("action", MUTATIONS)
@pytest.mark.parametrize("scope", RIGHT)
def test_mutations_with_the_right_scope_succeed(registry: RegistryServer, tokens: dict[str, str],
                                                target: tuple[str, bytes], action: str, scope: str) -> None:
    response = _call(registry, tokens[scope], action, *target)
    assert response.status_code in (200, 201), response.text


def test_reads_are_open_by_default_and_an_invalid_token_is_still_refused(registry: RegistryServer) -> None:
    with registry.client() as client:
        assert client.get("/api/v1/templates").status_code == 200
    with registry.client("pft_" + "y" * 43) as client:
        assert client.get("/api/v1/templates").status_code == 401


def test_reads_need_a_read_token_when_required(registry_database_url: str, tokens: dict[str, str]) -> None:
    with RegistryServer(registry_database_url, require_read_token=True) as server:
        for path in ("/api/v1/templates", "/api/v1/templates/saga-compensation", "/"):
            with server.client() as anonymous:
                assert anonymous.get(path).status_code == 401
            with server.client(tokens["pr"]) as wrong:
                assert wrong.get(path).status_code == 403
            for scope in ("read", "admin"):
                with server.client(tokens[scope]) as reader:
                    assert reader.get(path).status_code == 200
        with server.client() as anonymous:
            assert anonymous.post("/api/v1/render", json={"template": "saga-compensation"}).status_code == 401
            assert anonymous.get("/healthz").status_code == 200  # probes need no token


def _run(argv: list[str]) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with redirect_stderr(err):
        code = main(argv, out=out)
    return code, out.getvalue(), err.getvalue()


def test_token_cli_creates_lists_and_revokes(database_url: str, monkeypatch: pytest.MonkeyPatch,
                                              tmp_path: Path) -> None:
    monkeypatch.setenv("PIPEFORGE_DATABASE_URL", database_url)
    code, out, _ = _run(["token", "create", "--name", "ci", "--scope", "publish", "read", "--json"])
    assert code == 0
    created = json.loads(out)
    assert created["scopes"] == ["publish", "read"] and created["token"].startswith("pft_")
    code, listing, _ = _run(["token", "list"])
    assert code == 0 and "ci\tpublish,read\tactive" in listing and created["token"] not in listing
    with RegistryServer(database_url, publish_builtins=False) as server, server.client(created["token"]) as client:
        data = pack(template_variant(tmp_path, name="from-cli"))
        ok = client.post("/api/v1/templates/from-cli/versions", content=data)
        assert ok.status_code == 201 and ok.json()["publisher"] == "ci"
        assert _run(["token", "revoke", "ci"])[0] == 0
        assert client.post("/api/v1/templates/from-cli/versions", content=data).status_code == 401
    code, out, _ = _run(["token", "revoke", "ci"])
    assert code == 0 and "revoked already" in out
    code, _, err = _run(["token", "create", "--name", "ci", "--scope", "publish"])
    assert code == 3 and "exists already" in err
    code, _, err = _run(["token", "create", "--name", "x", "--scope", "root", "write"])
    assert code == 2 and "root, write" in err and "Traceback" not in err
    code, _, err = _run(["token", "revoke", "nobody"])
    assert code == 2 and "no token named 'nobody'" in err


def test_token_secret_is_printed_once_and_only_its_hash_is_stored(database_url: str,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    from sqlalchemy import text

    from catalog.migrate import open_catalog

    monkeypatch.setenv("PIPEFORGE_DATABASE_URL", database_url)
    code, out, _ = _run(["token", "create", "--name", "deployer", "--scope", "admin"])
    secret = next(line for line in out.splitlines() if line.startswith("pft_"))
    assert code == 0 and "shown only now" in out
    with open_catalog(database_url).engine.connect() as connection:
        stored = connection.execute(text("SELECT * FROM api_tokens")).all()
    assert secret not in repr(stored)
    assert hashlib.sha256(secret.encode()).hexdigest() in repr(stored)
