"""An ordinary cookiecutter template (no template.yaml) renders with pipeforge exactly as with plain
cookiecutter, its parameters come from cookiecutter.json, and it can be published; ``~/.cookiecutterrc``
presets what ``pipeforge new`` asks for."""

from __future__ import annotations

import os
import pty
import select
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from catalog.publication import prepare
from catalog.safety import pack_folder
from generator.errors import BudgetExceeded, InvalidParametersError, TemplateDefinitionError
from generator.params import validate
from generator.render import render
from generator.sandbox import budgeted
from generator.template_env import environment
from generator.template_spec import find_template
from generator.yamlio import load_documents
from tests.clikit import run
from tests.conftest import ROOT

PLAIN = ROOT / "tests" / "fixtures" / "plain-cookiecutter"
ANSWERS = ".pipeforge-answers.yaml"


def _env(home: Path, **extra: str) -> dict[str, str]:
    env = {**os.environ, "HOME": str(home), "PYTHONPATH": str(ROOT), "PYTHONWARNINGS": "error", **extra}
    env.pop("COOKIECUTTER_CONFIG", None)
    env.pop("PIPEFORGE_DATABASE_URL", None)
    return {**env, **extra}


def pipeforge(*args: str, home: Path, **extra: str) -> subprocess.CompletedProcess[str]:
    """The command line in-process, with ``home`` as the home folder (its ~/.cookiecutterrc) and no catalog
    or cookiecutter configuration from the environment unless ``extra`` sets one."""
    env: dict[str, str | None] = {"HOME": str(home), "COOKIECUTTER_CONFIG": None, "PIPEFORGE_DATABASE_URL": None}
    result = run(*args, cwd=home, env={**env, **extra})
    assert "Traceback" not in result.stderr, result.stderr
    return result


def cookiecutter(*args: str, home: Path) -> Path:
    out = home / "cookiecutter-out"
    result = subprocess.run([str(Path(sys.executable).with_name("cookiecutter")), "--no-input", "-o", str(out),
                             str(PLAIN), *args], capture_output=True, text=True, env=_env(home), check=False)
    assert result.returncode == 0, result.stderr
    (folder,) = out.iterdir()
    return folder


def tree(folder: Path) -> dict[str, bytes]:
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def test_plain_template_with_defaults_renders_byte_for_byte_like_cookiecutter(tmp_path: Path) -> None:
    theirs = cookiecutter(home=tmp_path)
    result = pipeforge("new", str(PLAIN), "--no-input", "--quiet", "-o", str(tmp_path / "ours"), home=tmp_path)
    assert result.returncode == 0, result.stderr
    ours = tree(tmp_path / "ours")
    assert ours.pop(ANSWERS)
    assert ours == tree(theirs)
    assert "static/{{ cookiecutter.namespace }}-notes.txt" in ours  # a _copy_without_render folder
    assert theirs.name == "nightly-cleanup-job"  # slugify, in the folder name


def test_given_values_recompute_defaults_and_computed_variables_like_cookiecutter(tmp_path: Path) -> None:
    given = ["project_name=Weekly Archive", "image=alpine:3.20.3", "verbose=yes", "retries=5"]
    theirs = cookiecutter(*given, home=tmp_path)
    sets = [arg for pair in given for arg in ("--set", pair)]
    result = pipeforge("new", str(PLAIN), "--no-input", "--quiet", "-o", str(tmp_path / "ours"), *sets, home=tmp_path)
    assert result.returncode == 0, result.stderr
    ours = tree(tmp_path / "ours")
    ours.pop(ANSWERS)
    assert ours == tree(theirs)
    manifest = load_documents(ours["workflowtemplate.yaml"].decode())[0]
    assert manifest["metadata"]["name"] == "weekly-archive-wf"  # __workflow_name from the new slug
    assert manifest["metadata"]["labels"]["owner"] == "weekly-archive-owners"  # a dict default, rendered


def test_in_memory_render_equals_cookiecutter_file_by_file(tmp_path: Path) -> None:
    theirs = tree(cookiecutter(home=tmp_path))
    template = find_template(str(PLAIN))
    folder, files = render(template, validate(template, {}))
    assert folder == "nightly-cleanup-job"
    assert {f.path: f.content.encode() for f in files} == theirs


def test_schema_is_derived_from_cookiecutter_json() -> None:
    template = find_template(str(PLAIN))
    assert template.derived and template.version == "0.0.0" and template.name == "plain-cookiecutter"
    props = template.schema["properties"]
    assert list(props) == ["project_name", "project_slug", "namespace", "image", "verbose", "retries", "labels"]
    assert props["image"] == {"enum": ["busybox:1.36.1", "alpine:3.20.3"], "default": "busybox:1.36.1",
                              "type": "string", "title": "Container image"}
    assert props["verbose"] == {"type": "boolean", "default": False}
    assert props["retries"] == {"type": "integer", "default": 2}
    assert props["project_slug"]["default"] == "nightly-cleanup-job"
    assert props["project_slug"]["x-cookiecutter"] == "{{ cookiecutter.project_name|slugify }}"
    assert props["labels"]["type"] == "object"
    assert props["project_name"]["title"] == "Name of the pipeline"


def test_bad_values_for_a_plain_template_are_all_reported_at_once() -> None:
    template = find_template(str(PLAIN))
    with pytest.raises(InvalidParametersError) as raised:
        validate(template, {"image": "ubuntu:latest", "retries": "many", "verbose": "maybe", "colour": "red"})
    fields = {p.field for p in raised.value.problems}
    assert fields == {"image", "retries", "verbose", "colour"}
    assert "must be one of busybox:1.36.1, alpine:3.20.3" in raised.value.message


def test_plain_template_is_published_into_the_catalog(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'catalog.db'}"
    result = pipeforge("catalog", "publish", str(PLAIN), "--json", home=tmp_path, PIPEFORGE_DATABASE_URL=url)
    assert result.returncode == 0, result.stderr
    assert "plain-cookiecutter" in result.stdout and "0.0.0" in result.stdout
    made = pipeforge("new", "plain-cookiecutter@0.0.0", "--from-catalog", "--no-input", "--quiet", "-o",
                     str(tmp_path / "from-catalog"), "--set", "namespace=jobs", home=tmp_path,
                     PIPEFORGE_DATABASE_URL=url)
    assert made.returncode == 0, made.stderr
    text = (tmp_path / "from-catalog" / "kustomization.yaml").read_text()
    assert "namespace: jobs\n" in text
    answers = load_documents((tmp_path / "from-catalog" / ANSWERS).read_text())[0]
    assert (answers["template"], answers["version"]) == ("plain-cookiecutter", "0.0.0")


def test_a_bundle_with_no_template_yaml_and_no_folder_name_is_refused_with_what_to_do() -> None:
    with pytest.raises(TemplateDefinitionError) as raised:
        prepare(pack_folder(PLAIN), source="the uploaded bundle")
    assert raised.value.message.startswith("the uploaded bundle: no template.yaml")
    assert "pipeforge catalog publish DIR" in raised.value.message


def test_cookiecutterrc_default_context_presets_pipeforge_new(tmp_path: Path) -> None:
    (tmp_path / ".cookiecutterrc").write_text(
        "default_context:\n  namespace: from-rc\n  retry_limit: '7'\n  not_a_parameter: ignored\n", encoding="utf-8")
    result = pipeforge("new", "saga-compensation", "--no-input", "--quiet", "-o", str(tmp_path / "a"),
                       "--set", "retry_limit=2", home=tmp_path)
    assert result.returncode == 0, result.stderr
    answers = load_documents((tmp_path / "a" / ANSWERS).read_text())[0]
    assert answers["parameters"]["namespace"] == "from-rc"
    assert answers["parameters"]["retry_limit"] == 2  # --set wins over the configuration


def test_cookiecutter_config_variable_names_the_configuration(tmp_path: Path) -> None:
    config = tmp_path / "elsewhere.yaml"
    config.write_text("default_context:\n  namespace: from-env-config\n", encoding="utf-8")
    result = pipeforge("new", "saga-compensation", "--no-input", "--quiet", "-o", str(tmp_path / "b"), home=tmp_path,
                       COOKIECUTTER_CONFIG=str(config))
    assert result.returncode == 0, result.stderr
    assert 'namespace: "from-env-config"' in (tmp_path / "b" / "kustomization.yaml").read_text()


def test_a_default_context_value_that_breaks_a_rule_is_reported_not_used(tmp_path: Path) -> None:
    (tmp_path / ".cookiecutterrc").write_text("default_context:\n  namespace: Not_A_Label\n", encoding="utf-8")
    result = pipeforge("new", "saga-compensation", "--no-input", "--quiet", "-o", str(tmp_path / "c"), home=tmp_path)
    assert result.returncode != 0
    assert "namespace" in result.stderr and "Not_A_Label" in result.stderr
    assert not (tmp_path / "c").exists()


def test_missing_cookiecutter_config_file_is_a_clear_error(tmp_path: Path) -> None:
    result = pipeforge("new", "saga-compensation", "--no-input", "--quiet", "-o", str(tmp_path / "d"), home=tmp_path,
                       COOKIECUTTER_CONFIG=str(tmp_path / "missing.yaml"))
    assert result.returncode != 0
    assert "cookiecutter configuration" in result.stderr and "missing.yaml" in result.stderr


def test_prompts_offer_defaults_computed_from_earlier_answers_and_the_configuration(tmp_path: Path) -> None:
    (tmp_path / ".cookiecutterrc").write_text("default_context:\n  namespace: from-rc\n", encoding="utf-8")
    leader, follower = pty.openpty()
    process = subprocess.Popen([sys.executable, "-m", "generator", "new", str(PLAIN), "-o", "out", "--quiet"],
                               stdin=follower, stdout=follower, stderr=follower, cwd=tmp_path, close_fds=True,
                               env=_env(tmp_path))
    os.close(follower)
    seen = bytearray()
    try:
        _read_until(leader, b"project_name", seen)
        _read_until(leader, b"]: ", seen)
        os.write(leader, b"Weekly Archive\n")
        del seen[:]
        _read_until(leader, b"project_slug", seen)
        _read_until(leader, b"]: ", seen)
        assert b"[weekly-archive]" in seen  # the slug follows the name just typed
        os.write(leader, b"\n")
        for name in ("namespace", "image", "verbose", "retries", "labels"):
            del seen[:]
            _read_until(leader, name.encode(), seen)
            _read_until(leader, b"]: ", seen)
            if name == "namespace":
                assert b"[from-rc]" in seen
            os.write(leader, b"\n")
        assert process.wait(timeout=30) == 0
    finally:
        if process.poll() is None:
            process.kill()
        os.close(leader)
    manifest = load_documents((tmp_path / "out" / "workflowtemplate.yaml").read_text())[0]
    assert manifest["metadata"]["name"] == "weekly-archive-wf"
    assert manifest["metadata"]["namespace"] == "from-rc"


def _read_until(fd: int, marker: bytes, buffer: bytearray, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while marker not in buffer:
        remaining = deadline - time.monotonic()
        assert remaining > 0, f"timed out waiting for {marker!r}; got {bytes(buffer)[-400:]!r}"
        ready, _, _ = select.select([fd], [], [], remaining)
        if ready:
            buffer.extend(os.read(fd, 4096))


def test_cookiecutters_default_extensions_work_in_the_sandbox_within_its_limits() -> None:
    source = "{% now 'utc', '%Y' %}|{{ uuid4() | length }}|{{ {'b': 1, 'a': 2} | jsonify(0) }}" \
             "|{{ 'Hello World' | slugify }}"
    env = environment({}, "extensions", sources=[source])  # {% now %} is loaded for the templates using it
    with budgeted(None):
        text = env.from_string(source).render()
        year, uuid_length, jsonified, slug = text.split("|")
        assert year.isdigit() and uuid_length == "36" and slug == "hello-world"
        assert jsonified == '{\n"a": 2,\n"b": 1\n}'
        with pytest.raises(BudgetExceeded):
            env.from_string("{{ random_ascii_string(10 ** 7) }}").render()
        with pytest.raises(TemplateDefinitionError, match="regex_pattern"):
            env.from_string("{{ 'x' | slugify(regex_pattern='(a+)+$') }}").render()


def test_hooks_of_a_local_plain_template_never_run(tmp_path: Path) -> None:
    copy = tmp_path / "with-hooks"
    shutil.copytree(PLAIN, copy)
    (copy / "hooks").mkdir()
    witness = tmp_path / "hook-ran"
    (copy / "hooks" / "post_gen_project.py").write_text(f"open({str(witness)!r}, 'w').close()\n", encoding="utf-8")
    result = pipeforge("new", str(copy), "--no-input", "--quiet", "-o", str(tmp_path / "out"), home=tmp_path)
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "out" / "workflowtemplate.yaml").is_file()
    assert not witness.exists()
