"""What an operator deploys: the kustomize base and trial overlay render with ``kubectl kustomize`` and pass
Kubernetes' own schemas (kubernetes-validate, strict) for a stated release, with the probes, Secret
reference, non-root pods and migration ordering the docs promise; and the Containerfile's recipe followed
on this machine (wheel built, installed into a fresh venv, served as ``nobody`` with the built-in templates)."""

from __future__ import annotations

import io
import os
import shutil
import stat
import subprocess
import sys
import tempfile
import time
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from tests import httpkit
from tests.conftest import ROOT
from tests.registry_api.test_registry_serve import free_port

#: The Kubernetes release the manifests are validated for (the oldest still supported upstream).
KUBERNETES_VERSION = "1.32.0"


def kustomize(folder: str) -> list[dict[str, Any]]:
    kubectl = shutil.which("kubectl")
    if kubectl is None:
        if os.environ.get("PIPEFORGE_REQUIRE_KUBECTL") == "1":
            pytest.fail("kubectl is missing (Debian package kubernetes-client)")
        pytest.skip("kubectl is not installed (Debian package kubernetes-client)")
    rendered = subprocess.run([kubectl, "kustomize", str(ROOT / folder)], check=True, capture_output=True,
                              text=True).stdout
    return [doc for doc in yaml.safe_load_all(rendered) if doc]


def by_kind(docs: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {doc["kind"]: doc for doc in docs}


@pytest.mark.parametrize("folder", ["deploy/base", "deploy/overlays/trial"])
def test_rendered_manifests_pass_kubernetes_schemas(folder: str) -> None:
    import kubernetes_validate

    docs = kustomize(folder)
    assert docs
    for doc in docs:  # raises ValidationError naming the field for anything Kubernetes would refuse
        kubernetes_validate.validate(doc, KUBERNETES_VERSION, strict=True)


def test_a_schema_violation_is_caught() -> None:
    import kubernetes_validate

    deployment = by_kind(kustomize("deploy/base"))["Deployment"]
    deployment["spec"]["template"]["spec"]["containers"][0]["livenessProbe"]["httpGet"]["path"] = 7
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(deployment, KUBERNETES_VERSION, strict=True)


def test_base_has_probes_secret_non_root_pods_and_a_disruption_budget() -> None:
    kinds = by_kind(kustomize("deploy/base"))
    assert set(kinds) == {"ServiceAccount", "Service", "Deployment", "PodDisruptionBudget", "Job"}
    deployment = kinds["Deployment"]
    pod = deployment["spec"]["template"]["spec"]
    (container,) = pod["containers"]
    assert deployment["spec"]["replicas"] >= 2
    assert container["livenessProbe"]["httpGet"]["path"] == "/healthz"
    assert container["readinessProbe"]["httpGet"]["path"] == "/readyz"
    env = {e["name"]: e for e in container["env"]}
    assert env["PIPEFORGE_DATABASE_URL"]["valueFrom"]["secretKeyRef"] == {"name": "pipeforge-database", "key": "url"}
    grace = float(env["PIPEFORGE_SHUTDOWN_GRACE_SECONDS"]["value"])
    assert pod["terminationGracePeriodSeconds"] > grace  # jobs finish or are released before the kill
    assert pod["securityContext"]["runAsNonRoot"] is True and pod["serviceAccountName"] == "pipeforge-registry"
    assert container["args"][:1] == ["serve"] and container["ports"][0]["containerPort"] == 8080
    selector = kinds["PodDisruptionBudget"]["spec"]["selector"]["matchLabels"]
    labels = deployment["spec"]["template"]["metadata"]["labels"]
    assert selector.items() <= labels.items() and kinds["Service"]["spec"]["selector"].items() <= labels.items()
    job = kinds["Job"]
    assert job["spec"]["template"]["spec"]["containers"][0]["args"] == ["catalog", "migrate"]
    assert job["metadata"]["annotations"]["argocd.argoproj.io/hook"] == "PreSync"  # runs before the Deployment


def test_trial_overlay_adds_postgres_the_registry_can_reach() -> None:
    docs = kustomize("deploy/overlays/trial")
    kinds = by_kind(docs)
    assert {"StatefulSet", "Namespace"} <= set(kinds)
    assert all(doc["metadata"].get("namespace") == "pipeforge-trial" for doc in docs if doc["kind"] != "Namespace")
    secrets = {doc["metadata"]["name"]: doc for doc in docs if doc["kind"] == "Secret"}
    database = next(s for name, s in secrets.items() if name.startswith("pipeforge-database"))
    container = kinds["Deployment"]["spec"]["template"]["spec"]["containers"][0]
    ref = next(e for e in container["env"] if e["name"] == "PIPEFORGE_DATABASE_URL")["valueFrom"]["secretKeyRef"]
    assert ref["name"] == database["metadata"]["name"]  # kustomize's hashed name is carried into the reference
    import base64

    url = base64.b64decode(database["data"]["url"]).decode()
    services = {doc["metadata"]["name"] for doc in docs if doc["kind"] == "Service"}
    assert url.startswith("postgresql://") and url.split("@")[1].split(":")[0] in services


def test_containerfile_final_stage_is_non_root_with_no_build_tools() -> None:
    from dockerfile_parse import DockerfileParser

    parsed = DockerfileParser(fileobj=io.BytesIO((ROOT / "Containerfile").read_bytes()))
    stages: list[list[dict[str, Any]]] = []
    for instruction in parsed.structure:
        if instruction["instruction"] == "FROM":
            stages.append([])
        if stages:
            stages[-1].append(instruction)
    assert len(stages) == 2 and "AS builder" in stages[0][0]["value"]
    final = {i["instruction"]: i["value"] for i in stages[-1]}
    assert final["USER"].split(":")[0] not in ("0", "root")
    copies = [i["value"] for i in stages[-1] if i["instruction"] == "COPY"]
    assert copies == ["--from=builder /opt/pipeforge /opt/pipeforge"]  # the venv only: no sources, no wheel
    runs = " ".join(i["value"] for i in stages[-1] if i["instruction"] == "RUN")
    assert not {"gcc", "build-essential", "pip install"} & set(runs.split()) and "pip install" not in runs
    assert '"pipeforge"' in final["ENTRYPOINT"] and '"8080"' in final["CMD"]
    ignored = (ROOT / ".containerignore").read_text().split()
    assert {".git", "tests", ".venv"} <= set(ignored) and (ROOT / ".dockerignore").read_text().split() == ignored


@pytest.fixture
def world_readable_dir() -> Iterator[Path]:
    """A folder ``nobody`` can enter (pytest's tmp_path is private to the user running the tests)."""
    folder = Path(tempfile.mkdtemp(prefix="pipeforge-image-"))
    folder.chmod(0o755)
    yield folder
    shutil.rmtree(folder, ignore_errors=True)


@pytest.mark.slow
def test_the_image_recipe_serves_the_builtin_templates_as_nobody(world_readable_dir: Path) -> None:
    if os.geteuid() != 0 or shutil.which("setpriv") is None:
        pytest.skip("dropping to the user nobody needs root and setpriv (util-linux)")
    # The image's venv is made by the system interpreter; ours may live under /root, which nobody cannot enter.
    python = shutil.which("python3", path="/usr/local/bin:/usr/bin")
    assert python is not None, "a system python3 (Debian's python3-venv) is needed"
    dist, venv, data = world_readable_dir / "dist", world_readable_dir / "venv", world_readable_dir / "data"
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(dist), str(ROOT)],
                   check=True, capture_output=True)
    (wheel,) = dist.glob("pipeforge_argo-*.whl")
    with zipfile.ZipFile(wheel) as archive:
        names = archive.namelist()
    assert any(n.startswith("generator/builtin_templates/saga-compensation/") for n in names)
    assert any(n.endswith(".dist-info/licenses/LICENSE") for n in names)
    # The image's steps (a venv, the wheel installed into it), made cheaper where that changes nothing
    # tested: this suite's pip installs into a venv without one of its own (ensurepip costs seconds), and
    # does not byte-compile every dependency (three times the cost of the install; the registry compiles
    # what it imports when it starts).
    subprocess.run([python, "-m", "venv", "--without-pip", str(venv)], check=True)
    subprocess.run([sys.executable, "-m", "pip", "--python", str(venv / "bin" / "python"), "install", "-q",
                    "--no-compile", str(wheel)], check=True, capture_output=True)
    data.mkdir()
    shutil.chown(data, "nobody")
    data.chmod(stat.S_IRWXU)
    port = free_port()
    env = {"PATH": f"{venv / 'bin'}:/usr/bin:/bin", "HOME": str(data), "XDG_CACHE_HOME": str(data / "cache"),
           "PIPEFORGE_DATABASE_URL": f"sqlite:///{data / 'catalog.db'}"}
    process = subprocess.Popen(
        ["setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups", "--",
         str(venv / "bin" / "pipeforge"), "serve", "--port", str(port)],
        cwd=data, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 120
        while True:
            try:
                ready = httpkit.get(f"{base}/readyz", timeout=10)
                break
            except httpx.TransportError:
                assert process.poll() is None and time.monotonic() < deadline, process.communicate()[1]
                time.sleep(0.3)
        assert ready.status_code == 200
        listing = httpkit.get(f"{base}/api/v1/templates", timeout=30).json()
        assert {"saga-compensation", "approval-gated-delete"} <= {item["name"] for item in listing["items"]}
        uid = next(line.split()[1] for line in Path(f"/proc/{process.pid}/status").read_text().splitlines()
                   if line.startswith("Uid:"))
        assert uid != "0"
    finally:
        process.terminate()
        _, stderr = process.communicate(timeout=60)
    assert "Traceback" not in stderr
