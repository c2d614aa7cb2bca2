"""What the template page delivers, over real HTTP (uvicorn on loopback, SQLite and PostgreSQL): the
rendered folder as .tar.gz and .zip (GET links and POST), the equivalent `pipeforge new` command (run for
real against the same catalog, it writes the same files), labels from the schema, the yanked warning, and
the full `when` of each step."""

from __future__ import annotations

import io
import os
import subprocess
import sys
import tarfile
import zipfile
from pathlib import Path

from generator.delivery import archive, new_command
from tests.conftest import ROOT, RegistryServer
from tests.registry_api.test_registry_api import assert_problem, bundle_of, publish, unique_name

VALUES = {"pipeline_name": "orders-cleanup", "namespace": "orders",
          "description": "it's \"old\" $HOME; `rm -rf /`"}


def _tar_files(data: bytes) -> dict[str, str]:
    with tarfile.open(fileobj=io.BytesIO(data), mode="r:gz") as tar:
        return {m.name: tar.extractfile(m).read().decode() for m in tar.getmembers() if m.isfile()}  # type: ignore[union-attr]


def _zip_files(data: bytes) -> dict[str, str]:
    with zipfile.ZipFile(io.BytesIO(data)) as bundle:
        return {name: bundle.read(name).decode() for name in bundle.namelist()}


def test_archives_by_get_and_post_hold_the_rendered_folder(registry: RegistryServer) -> None:
    body = {"template": "approval-gated-delete", "version": "1.0.0", "parameters": VALUES}
    with registry.client() as client:
        rendered = client.post("/api/v1/render", json=body).json()
        posted = client.post("/api/v1/render/archive.tar.gz", json=body)
        linked = client.get("/api/v1/render/archive.zip",
                            params={"template": "approval-gated-delete", "version": "1.0.0", **VALUES})
    assert posted.status_code == 200, posted.text
    assert posted.headers["content-type"] == "application/gzip"
    assert posted.headers["content-disposition"] == 'attachment; filename="orders-cleanup.tar.gz"'
    expected = {f"orders-cleanup/{name}": text for name, text in rendered["files"].items()}
    assert _tar_files(posted.content) == expected
    assert linked.status_code == 200, linked.text
    assert linked.headers["content-type"] == "application/zip"
    assert _zip_files(linked.content) == expected


def test_archive_of_invalid_parameters_is_a_422_naming_each_field(registry: RegistryServer) -> None:
    with registry.client() as client:
        bad = client.get("/api/v1/render/archive.tar.gz",
                         params={"template": "saga-compensation", "namespace": "Not A Label", "retry_limit": "x"})
        no_template = client.get("/api/v1/render/archive.zip", params={"namespace": "x"})
        other_format = client.get("/api/v1/render/archive.rar", params={"template": "saga-compensation"})
        unknown = client.get("/api/v1/render/archive.zip", params={"template": "no-such-template"})
    body = assert_problem(bad, 422, "invalid-parameters")
    assert {e["field"] for e in body["errors"]} == {"namespace", "retry_limit"}
    assert no_template.status_code == 422
    assert other_format.status_code in (404, 422)
    assert other_format.headers["content-type"].startswith("application/problem+json")
    assert_problem(unknown, 404, "not-found")


def test_archives_are_reproducible_and_confined_to_the_folder() -> None:
    files = {"README.md": "hi\n", "workflowtemplate.yaml": "kind: WorkflowTemplate\n"}
    for fmt in ("tar.gz", "zip"):
        assert archive("p", files, fmt) == archive("p", files, fmt)
    with tarfile.open(fileobj=io.BytesIO(archive("p", files, "tar.gz")), mode="r:gz") as tar:
        assert all(m.name.startswith("p/") and m.mode == 0o644 and not m.uname for m in tar.getmembers())


def test_command_quotes_every_value_and_sets_only_what_differs() -> None:
    command = new_command(template="t", version="1.0.0", folder="o u t", values={"a": "x y", "b": 3, "c": "$HOME"},
                          defaults={"b": 3})
    assert command == "pipeforge new t@1.0.0 --from-catalog --no-input -o 'o u t' --set 'a=x y' --set 'c=$HOME'"


def test_the_page_command_run_in_a_shell_writes_the_archive_s_files(registry: RegistryServer, tmp_path: Path) -> None:
    body = {"template": "approval-gated-delete", "version": "1.0.0", "parameters": VALUES}
    with registry.client() as client:
        rendered = client.post("/api/v1/render", json=body).json()
        data = client.post("/api/v1/render/archive.tar.gz", json=body).content
    command = rendered["command"]
    assert "--set 'description=it'\"'\"'s \"old\" $HOME; `rm -rf /`'" in command
    env = {**os.environ, "PIPEFORGE_DATABASE_URL": registry.database_url,
           "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
           "PYTHONPATH": str(ROOT)}
    done = subprocess.run(["sh", "-c", command + " --quiet"], cwd=tmp_path, env=env, capture_output=True, text=True,
                          check=False, timeout=120, stdin=subprocess.DEVNULL)
    assert done.returncode == 0, done.stderr
    written = {str(p.relative_to(tmp_path)): p.read_text() for p in tmp_path.rglob("*") if p.is_file()}
    assert written == _tar_files(data)


def test_template_page_labels_come_from_titles_and_keep_initialisms(registry: RegistryServer) -> None:
    with registry.client() as client:
        page = client.get("/templates/provision-process-publish").text
    assert '<label for="p-input_uri">Input URI' in page
    assert "Input Uri" not in page
    assert '<label for="p-scratch_size">Scratch volume size' in page, "the built-in schema's own title"
    assert 'id="new-command"' in page and "pipeforge new provision-process-publish@1.0.0" in page
    assert 'href="/api/v1/render/archive.tar.gz?template=provision-process-publish' in page


def test_a_yanked_version_is_warned_about_on_its_page_with_its_reason(registry: RegistryServer,
                                                                      tokens: dict[str, str], tmp_path: Path) -> None:
    name = unique_name()
    publish(registry, tokens["publish"], bundle_of(tmp_path, name=name, version="1.0.0"), name)
    publish(registry, tokens["publish"], bundle_of(tmp_path, name=name, version="1.1.0"), name)
    with registry.client(tokens["publish"]) as client:
        client.post(f"/api/v1/templates/{name}/versions/1.1.0/yank", json={"reason": "deletes too much"})
        yanked = client.get(f"/templates/{name}", params={"version": "1.1.0"}).text
        current = client.get(f"/templates/{name}").text
    assert 'id="yanked-warning"' in yanked
    assert "Version 1.1.0 is yanked: deletes too much" in yanked
    warning = current.split('id="yanked-warning"', 1)[1].split(">", 1)[0]
    assert "hidden" in warning


def test_pipeforge_new_warns_about_a_yanked_pin_with_its_reason(registry: RegistryServer, tokens: dict[str, str],
                                                               tmp_path: Path) -> None:
    name = unique_name()
    publish(registry, tokens["publish"], bundle_of(tmp_path, name=name, version="2.0.0"), name)
    with registry.client(tokens["publish"]) as client:
        client.post(f"/api/v1/templates/{name}/versions/2.0.0/yank", json={"reason": "breaks retries"})
    env = {**os.environ, "PIPEFORGE_DATABASE_URL": registry.database_url}
    done = subprocess.run([sys.executable, "-m", "generator", "new", f"{name}@2.0.0", "--no-input", "-o", "out",
                           "--quiet"], cwd=tmp_path, env=env, capture_output=True, text=True, check=False,
                          stdin=subprocess.DEVNULL, timeout=120)
    assert done.returncode == 0, done.stderr
    assert f"pipeforge: warning: {name} 2.0.0 is yanked: breaks retries" in done.stderr


def test_full_when_text_is_in_the_table_and_the_graph_hover(registry: RegistryServer) -> None:
    with registry.client() as client:
        rendered = client.post("/api/v1/render", json={"template": "approval-gated-delete"}).json()
        page = client.get("/templates/approval-gated-delete").text
    when = rendered["conditions"]["delete"]
    assert len(when) > 32 and "YES" in when
    assert f'<td class="when">{when}</td>' in page
    assert f"<title>when {when}</title>" in rendered["dag_svg"], "the cut line's hover text is the whole line"


def test_no_red_exit_handler_warning_on_a_pipeline_that_creates_nothing(registry: RegistryServer) -> None:
    with registry.client() as client:
        svg = client.post("/api/v1/render", json={"template": "approval-gated-delete"}).json()["dag_svg"]
    assert "lane missing" not in svg
    assert "creates nothing that needs cleanup" in svg


def test_api_docs_show_code_not_backticks_and_no_internal_notes(registry: RegistryServer) -> None:
    import html
    import re

    with registry.client() as client:
        page = client.get("/docs").text
    text = html.unescape(re.sub(r"<[^>]+>", "", page))
    assert "`" not in text
    assert "hottest route" not in text and "listing_query" not in text
    assert "search with <code>q</code>, filter by <code>tag</code>" in page
    assert "<code>PIPEFORGE_REQUIRE_READ_TOKEN</code>" in page


def test_catalog_pack_builds_a_bundle_the_registry_accepts(registry: RegistryServer, tokens: dict[str, str],
                                                           tmp_path: Path) -> None:
    from tests.conftest import template_variant

    name = unique_name()
    folder = template_variant(tmp_path / "src", name=name, version="3.1.0")
    bundle = tmp_path / "bundle.tar"
    done = subprocess.run([sys.executable, "-m", "generator", "catalog", "pack", str(folder), "-o", str(bundle)],
                          capture_output=True, text=True, check=False, stdin=subprocess.DEVNULL, timeout=120)
    assert done.returncode == 0, done.stderr
    assert f"Packed {name} 3.1.0" in done.stdout
    answer = publish(registry, tokens["publish"], bundle.read_bytes(), name)
    assert answer.status_code == 201, answer.text
    assert answer.json()["version"] == "3.1.0"


def test_catalog_pack_of_a_bad_folder_writes_nothing(tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    out = tmp_path / "bundle.tar"
    for folder in (tmp_path / "missing", tmp_path / "empty"):
        done = subprocess.run([sys.executable, "-m", "generator", "catalog", "pack", str(folder), "-o", str(out)],
                              capture_output=True, text=True, check=False, stdin=subprocess.DEVNULL, timeout=120)
        assert done.returncode == 2, done.stderr
        assert done.stderr.startswith("pipeforge: error: ") and "Traceback" not in done.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["empty"]


def test_catalog_pack_writes_an_ordinary_file_and_refuses_a_folder_as_output(tmp_path: Path) -> None:
    from tests.conftest import template_variant

    folder = template_variant(tmp_path / "src", name=unique_name(), version="1.0.0")
    out = tmp_path / "out"
    out.mkdir()

    def pack(target: str) -> subprocess.CompletedProcess[str]:
        command = [sys.executable, "-m", "generator", "catalog", "pack", str(folder), "-o", target]
        return subprocess.run(["sh", "-c", 'umask 022 && exec "$@"', "sh", *command], capture_output=True, text=True,
                              check=False, stdin=subprocess.DEVNULL, timeout=120, cwd=out,
                              env={**os.environ, "PYTHONPATH": str(ROOT)})

    for target in (str(out), "."):  # "-o ." said "cannot write: Device or resource busy"
        refused = pack(target)
        assert refused.returncode == 2 and "is a folder" in refused.stderr, refused.stderr
        assert list(out.iterdir()) == []  # no staged file left behind
    done = pack(str(out / "bundle.tar"))
    assert done.returncode == 0, done.stderr
    assert (out / "bundle.tar").stat().st_mode & 0o777 == 0o644  # as the umask says, like tar's own output
