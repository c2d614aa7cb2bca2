"""Argo's known fields per object, derived at run time from the official ``argo-workflows`` SDK.

The SDK's generated models carry ``attribute_map`` (Python name -> JSON key) and ``openapi_types`` for
every Argo and Kubernetes object a workflow can hold. Walking them from the four Argo kinds gives a table
``{model: {json_key: type}}``. Walking imports about 200 modules (~0.1 s), so the table is cached as JSON
in the user's cache directory, keyed by the SDK version and this module's overlay.

The overlay records what Argo's documentation says changed after the SDK was generated: fields added
in Argo 3.7-4.1 and the singular ``mutex``/``semaphore``, which docs/deprecations.md lists as removed.

A type is one of ``"str"`` (any scalar: the SDK types IntOrString and quantities as str), ``"int"``,
``"float"``, ``"bool"``, ``"any"``, ``{"model": NAME}``, ``{"list": TYPE}`` or ``{"map": TYPE}``.
"""

from __future__ import annotations

import contextlib
import importlib
import importlib.util
import json
import os
import re
import zlib
from functools import cache
from pathlib import Path
from typing import Any

FieldType = str | dict[str, Any]
FieldTable = dict[str, dict[str, FieldType]]

_ARGO = "IoArgoprojWorkflowV1alpha1"

#: The model behind each Argo kind pipeforge reads.
KIND_MODELS: dict[str, str] = {
    "Workflow": f"{_ARGO}Workflow",
    "WorkflowTemplate": f"{_ARGO}WorkflowTemplate",
    "ClusterWorkflowTemplate": f"{_ARGO}ClusterWorkflowTemplate",
    "CronWorkflow": f"{_ARGO}CronWorkflow",
}

#: Fields Argo 3.7-4.1 added after the SDK's models were generated (Argo docs: fields.md, pending timeout,
#: executor plugins, container restart rules, artifact plugins).
_ADDED: dict[str, dict[str, FieldType]] = {
    f"{_ARGO}Template": {"pendingTimeout": "str", "podResources": "any", "resourceClaims": "any"},
    f"{_ARGO}WorkflowSpec": {"podResources": "any", "resourceClaims": "any", "executorPlugins": "any"},
    f"{_ARGO}Artifact": {"plugin": "any"},
    f"{_ARGO}ArtifactLocation": {"plugin": "any"},
    f"{_ARGO}ArtifactPaths": {"plugin": "any"},
    f"{_ARGO}ArtifactRepository": {"plugin": "any"},
    f"{_ARGO}HTTPArtifact": {"saveStreamViaFile": "bool"},
    f"{_ARGO}S3Artifact": {"addressingStyle": "str"},
    f"{_ARGO}S3ArtifactRepository": {"addressingStyle": "str"},
    f"{_ARGO}UserContainer": {"restartPolicyRules": "any"},
    f"{_ARGO}ScriptTemplate": {"restartPolicyRules": "any"},
    f"{_ARGO}ContainerNode": {"restartPolicyRules": "any"},
    "Container": {"restartPolicyRules": "any"},
}

#: Fields Argo removed (docs/deprecations.md): the singular synchronization locks.
_REMOVED: dict[str, set[str]] = {f"{_ARGO}Synchronization": {"mutex", "semaphore"}}

#: Bump when the derivation below changes, so stale caches are not read.
_FORMAT = 2

_SCALARS = {str: "str", int: "int", float: "float", bool: "bool"}


def _module_name(model: str) -> str:
    return "argo_workflows.model." + re.sub(r"(?<!^)(?=[A-Z])", "_", model).lower()


def _type_of(spec: Any, pending: list[Any]) -> FieldType:
    """Translate one openapi_types entry (a tuple of alternatives) into a FieldType."""
    if isinstance(spec, tuple):
        return _type_of(spec[0], pending) if len(spec) == 1 else "any"
    if isinstance(spec, list):
        return {"list": _type_of(spec[0], pending)}
    if isinstance(spec, dict):
        return {"map": _type_of(next(iter(spec.values())), pending)}
    if spec in _SCALARS:
        return _SCALARS[spec]
    if isinstance(spec, type) and hasattr(spec, "attribute_map"):
        if _is_simple(spec):
            return _type_of(spec.openapi_types["value"], pending)  # type: ignore[attr-defined]  # a wrapper such as ParallelSteps
        pending.append(spec)
        return {"model": spec.__name__}
    return "any" if spec is dict or spec is list else "str"


def _is_simple(cls: type) -> bool:
    from argo_workflows.model_utils import ModelSimple  # lazy: argo_workflows only on a cold field cache

    return issubclass(cls, ModelSimple)


def derive_table() -> FieldTable:
    """Walk the SDK's models from the four Argo kinds (no cache)."""
    table: FieldTable = {}
    pending: list[Any] = []
    for model in KIND_MODELS.values():
        pending.append(getattr(importlib.import_module(_module_name(model)), model))
    while pending:
        cls = pending.pop()
        if cls.__name__ in table:
            continue
        types = cls.openapi_types
        table[cls.__name__] = {key: _type_of(types[attr], pending) for attr, key in cls.attribute_map.items()}
    for model, added in _ADDED.items():
        table.setdefault(model, {}).update(added)
    for model, removed in _REMOVED.items():
        for key in removed:
            table.get(model, {}).pop(key, None)
    return table


def _sdk_identity() -> str:
    """Where the SDK is installed and when it was: cheaper than importlib.metadata on the CLI's path."""
    spec = importlib.util.find_spec("argo_workflows")
    if spec is None or spec.origin is None:
        raise ModuleNotFoundError("the argo-workflows package is not installed")
    info = Path(spec.origin).stat()
    return f"{spec.origin}:{info.st_size}:{info.st_mtime_ns}"


def _cache_path() -> Path:
    overlay = json.dumps([_ADDED, sorted((k, sorted(v)) for k, v in _REMOVED.items())], sort_keys=True)
    # Two checksums make a 64-bit name for a handful of cache files; hashlib would load OpenSSL (~6 ms) at start-up.
    text = f"{_FORMAT}\n{_sdk_identity()}\n{overlay}".encode()
    key = f"{zlib.crc32(text):08x}{zlib.adler32(text):08x}"
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "pipeforge" / f"argo-fields-{key}.json"


@cache
def field_table() -> FieldTable:
    """The field table, from the cache when it is there, else derived and cached (best effort)."""
    path = _cache_path()
    with contextlib.suppress(OSError, ValueError):
        table: FieldTable = json.loads(path.read_text(encoding="utf-8"))
        return table
    table = derive_table()
    import tempfile  # lazy: keeps lint start-up fast: only the first run writes the cache

    with contextlib.suppress(OSError):
        path.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile("w", dir=path.parent, delete=False, suffix=".tmp") as handle:
            json.dump(table, handle, sort_keys=True)
        Path(handle.name).replace(path)
    return table
