"""Property tests of the registry against its own OpenAPI document (schemathesis, over real HTTP): for
generated requests to every operation, no 5xx, and every response (status, content type, headers, body)
matches what the schema documents. The document is the one the app serves at ``/openapi.json`` (the
first test checks that), loaded when the tests are collected so each operation is a test of its own."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, settings

from registry_api.app import create_app
from registry_api.settings import Settings
from tests.conftest import RegistryServer
from tests.hypokit import examples

DOCUMENT = create_app(Settings(database_url="sqlite://", publish_builtins=False)).openapi()
# A request the schema admits may still name no template or version (404), or carry a version spec that
# is not valid semver (422: JSON Schema cannot express semver's rules); the API documents both.
CONFIG = schemathesis.Config.from_dict(
    {"checks": {"positive_data_acceptance": {"expected-statuses": ["2XX", 401, 403, 404, 409, 422]}}}
)
schema = schemathesis.openapi.from_dict(DOCUMENT, config=CONFIG)


@schemathesis.serializer("application/x-tar")
def _tar(_context: Any, value: Any) -> bytes:
    """Bundle uploads: generated bodies are sent as raw bytes (refused as bundles, never a 5xx)."""
    return value if isinstance(value, bytes) else str(value).encode("utf-8")


@pytest.fixture(scope="module")
def schema_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RegistryServer]:
    url = f"sqlite:///{Path(tmp_path_factory.mktemp('schema')) / 'catalog.db'}"
    with RegistryServer(url) as server:
        yield server


def test_the_tested_document_is_the_served_one(schema_server: RegistryServer) -> None:
    with schema_server.client() as client:
        assert client.get("/openapi.json").json() == DOCUMENT


@schema.parametrize()
@settings(max_examples=examples(40), deadline=None, suppress_health_check=list(HealthCheck), derandomize=True)
def test_every_operation_answers_as_documented_and_never_with_5xx(case: Any, schema_server: RegistryServer) -> None:
    case.call_and_validate(base_url=schema_server.base_url)
