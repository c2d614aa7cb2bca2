"""Shared fixtures. Tests that need ../shared (Argo's schema and examples) skip without it, with a
reason, except when PIPEFORGE_REQUIRE_SHARED is set (CI sets it), where they fail instead."""

from __future__ import annotations

import copy
import json
import os
from functools import cache
from pathlib import Path
from typing import Any

import pytest

from generator.model import Manifest, parse_manifest
from generator.scaffold import MANIFEST_FILE, Pipeline, build
from generator.template_spec import find_template, list_templates
from generator.yamlio import load_documents

ROOT = Path(__file__).resolve().parent.parent
SHARED = Path(os.environ.get("PIPEFORGE_SHARED_DIR", ROOT.parent / "shared"))
TEMPLATE_NAMES = ("approval-gated-delete", "provision-process-publish", "saga-compensation")

#: One non-default parameter set per template, for golden files and default checks.
CUSTOM: dict[str, dict[str, Any]] = {
    "provision-process-publish": {
        "pipeline_name": "clickstream-rollup",
        "description": "Rolls up clickstream: \"daily\" & 'hourly' <partitions> — café ☕ 日本語\nline two",
        "namespace": "analytics",
        "service_account": "rollup-runner",
        "image": "ghcr.io/acme/rollup@sha256:" + "a" * 64,
        "input_uri": "gs://acme-raw/clicks",
        "output_uri": "gs://acme-curated/rollups",
        "scratch_size": "250Gi",
        "retry_limit": 5,
        "step_deadline_seconds": 3600,
        "workflow_deadline_seconds": 14400,
    },
    "saga-compensation": {
        "pipeline_name": "tenant-onboarding",
        "description": "Create a tenant: database, bucket, DNS.",
        "namespace": "platform",
        "service_account": "onboarding",
        "image": "registry.example.com:5000/platform/onboard:2.4.1",
        "step_1": "create-database",
        "step_2": "create-bucket",
        "step_3": "register-dns",
        "retry_limit": 2,
        "compensation_retry_limit": 10,
        "step_deadline_seconds": 900,
        "workflow_deadline_seconds": 7200,
    },
    "approval-gated-delete": {
        "pipeline_name": "drop-legacy-db",
        "description": "Retire the legacy database StatefulSet.",
        "namespace": "legacy",
        "service_account": "legacy-reaper",
        "image": "registry.k8s.io/kubectl:v1.30.0",
        "target_api_version": "apps/v1",
        "target_kind": "StatefulSet",
        "target_name": "legacy-postgres",
        "retry_limit": 1,
        "step_deadline_seconds": 300,
        "workflow_deadline_seconds": 172800,
    },
}
CASES = [(name, case) for name in TEMPLATE_NAMES for case in ("defaults", "custom")]


def case_params(template: str, case: str) -> dict[str, Any]:
    return {} if case == "defaults" else dict(CUSTOM[template])


@cache
def pipeline_for(template: str, case: str) -> Pipeline:
    return build(find_template(template), case_params(template, case))


def manifest_doc(template: str, case: str) -> dict[str, Any]:
    docs = load_documents(pipeline_for(template, case).files[MANIFEST_FILE])
    assert len(docs) == 1
    return docs[0]  # type: ignore[no-any-return]


def manifest_for(template: str, case: str) -> Manifest:
    manifest = parse_manifest(manifest_doc(template, case))
    assert manifest is not None
    return manifest


def shared_path(*parts: str) -> Path:
    path = SHARED.joinpath(*parts)
    if not path.exists():
        message = f"{path} is absent: Argo's schema and examples live in ../shared beside the repository"
        if os.environ.get("PIPEFORGE_REQUIRE_SHARED"):
            pytest.fail(message + " (PIPEFORGE_REQUIRE_SHARED is set, so this cannot skip)")
        pytest.skip(message)
    return path


@cache
def _argo_validator() -> Any:
    import jsonschema

    schema = json.loads(shared_path("argo", "schema.json").read_text(encoding="utf-8"))
    schema = copy.deepcopy(schema)
    # The schema types IntOrString as string only; Argo (and its own examples) accept integers too.
    schema["definitions"]["io.k8s.apimachinery.pkg.util.intstr.IntOrString"] = {"type": ["string", "integer"]}
    return jsonschema.validators.validator_for(schema)(schema)


@pytest.fixture
def argo_validator() -> Any:
    return _argo_validator()


def all_builtin_names() -> list[str]:
    return [t.name for t in list_templates()]
