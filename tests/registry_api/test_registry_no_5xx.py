"""Property tests over real HTTP, on SQLite and PostgreSQL: no body sent to the render and publish routes,
however odd (non-finite and huge numbers, lone surrogates, unknown or mistyped parameters, versions and
ranges of every size, template.yaml files with odd defaults or no structure at all), gets a 5xx; every
refusal is a problem document of bounded size."""

from __future__ import annotations

import json
import re
import uuid
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from generator.bundle import pack
from tests.conftest import TEMPLATE_NAMES, RegistryServer, template_variant
from tests.hypokit import examples
from tests.registry_api.test_registry_api import PROBLEM

PARAMETER_NAMES = ["pipeline_name", "description", "namespace", "service_account", "image", "retry_limit",
                   "step_1", "step_2", "step_3", "step_deadline_seconds", "workflow_deadline_seconds",
                   "target_kind", "scratch_size", "input_uri"]

# Every character, surrogates included (the default alphabet leaves them out).
ANY_TEXT = st.text(alphabet=st.characters(exclude_categories=()), max_size=30)
NUMBERS = st.integers(min_value=-(10**40), max_value=10**40) | st.floats() | st.sampled_from(
    [2**63, -(2**63) - 1, 10**300, 1e308, 5e-324])
NEAR_VALID = st.sampled_from(["orders", "orders\n", "default", "default\n", "a" * 64, "", " ", "{{x}}",
                              "ghcr.io/acme/x:1.0", "x:latest", "Deployment"]) | ANY_TEXT | st.from_regex(
    r"[ +-]?[0-9]{15,6000} ?", fullmatch=True)
SCALARS = st.none() | st.booleans() | NUMBERS | NEAR_VALID
VALUES = st.recursive(SCALARS, lambda inner: st.lists(inner, max_size=3) | st.dictionaries(ANY_TEXT, inner,
                                                                                          max_size=3),
                      max_leaves=6)
VERSIONS = st.none() | st.sampled_from(["latest", "1.0.0", "^1", "~1.0", ">=1,<2", "^2147483647", "9" * 200,
                                        "1.0.0-rc.1", "<=0.0.0", "^0.0.0-0"]) | ANY_TEXT
BODIES = st.fixed_dictionaries(
    {"template": st.sampled_from(TEMPLATE_NAMES) | st.text(max_size=70)},
    optional={"version": VERSIONS,
              "parameters": st.dictionaries(st.sampled_from(PARAMETER_NAMES) | ANY_TEXT, VALUES, max_size=6)},
)


def _encoded(body: dict[str, Any]) -> bytes:
    """As a client would send it: Python's json writes NaN, Infinity and lone surrogates (escaped)."""
    return json.dumps(body).encode("utf-8")


def _assert_answered(response: Any) -> None:
    assert response.status_code < 500, response.text[:2000]
    if response.status_code >= 400:
        assert response.headers["content-type"].startswith(PROBLEM)
        assert len(response.content) < 64_000


@settings(max_examples=examples(60), deadline=None, suppress_health_check=list(HealthCheck), derandomize=True)
@given(body=BODIES)
def test_no_render_body_gets_a_5xx(registry: RegistryServer, body: dict[str, Any]) -> None:
    with registry.client() as client:
        _assert_answered(client.post("/api/v1/render", content=_encoded(body),
                                     headers={"Content-Type": "application/json"}))


def _template_yaml(folder: Path, default: Any, field: str, raw: str | None) -> None:
    meta = folder / "template.yaml"
    if raw is not None:
        meta.write_text(raw, encoding="utf-8", errors="surrogatepass")
        return
    text = meta.read_text(encoding="utf-8")
    # the first default of the chosen field gets the generated value, written as JSON (which YAML reads)
    pattern = re.compile(rf"(\n    {field}:\n(?:      .*\n)*?      default: ).*\n")
    meta.write_text(pattern.sub(lambda m: m.group(1) + json.dumps(default) + "\n", text, count=1), encoding="utf-8")


@pytest.fixture(scope="module")
def publish_token(tokens: dict[str, str]) -> str:
    return tokens["publish"]


@settings(max_examples=examples(12), deadline=None, suppress_health_check=list(HealthCheck), derandomize=True)
@given(default=VALUES, field=st.sampled_from(PARAMETER_NAMES[:6]),
       raw=st.none() | st.text(alphabet=st.characters(exclude_categories=("Cs",)), max_size=200),
       version=st.sampled_from(["1.0.0", "2147483648.0.0", "1.0.0+build", "0.0.1-rc.01"]))
@example(default="analytics", field="namespace", raw=None, version="2147483648.0.0")  # past the INTEGER column
@example(default=1e308, field="retry_limit", raw=None, version="1.0.0")
def test_no_published_bundle_gets_a_5xx(registry: RegistryServer, publish_token: str,
                                        tmp_path_factory: pytest.TempPathFactory, default: Any, field: str,
                                        raw: str | None, version: str) -> None:
    name = f"prop-{uuid.uuid4().hex[:10]}"
    folder = template_variant(tmp_path_factory.mktemp("bundle"), name=name, version=version)
    _template_yaml(folder, default, field, raw)
    with registry.client(publish_token) as client:
        _assert_answered(client.post(f"/api/v1/templates/{name}/versions", content=pack(folder),
                                     headers={"Content-Type": "application/x-tar"}))
