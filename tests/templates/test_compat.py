"""The templates are standard cookiecutter templates: plain cookiecutter renders what pipeforge renders."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from generator.template_spec import find_template
from generator.yamlio import load_documents
from tests.conftest import TEMPLATE_NAMES, pipeline_for


@pytest.mark.parametrize("name", TEMPLATE_NAMES)
def test_plain_cookiecutter_no_input_renders_the_same_manifest(name: str, tmp_path: Path) -> None:
    template = find_template(name)
    cookiecutter = Path(sys.executable).with_name("cookiecutter")
    result = subprocess.run(
        [str(cookiecutter), "--no-input", "-o", str(tmp_path), str(template.path)],
        capture_output=True, text=True, check=False, env={**os.environ, "HOME": str(tmp_path)},
    )
    assert result.returncode == 0, result.stderr
    (folder,) = [p for p in tmp_path.iterdir() if p.is_dir() and not p.name.startswith(".")]
    pipeline = pipeline_for(name, "defaults")
    assert folder.name == pipeline.folder_name
    ours = load_documents(pipeline.files["workflowtemplate.yaml"])
    theirs = load_documents((folder / "workflowtemplate.yaml").read_text(encoding="utf-8"))
    assert theirs == ours
    assert (folder / "kustomization.yaml").read_text() == pipeline.files["kustomization.yaml"]


@pytest.mark.parametrize("name", TEMPLATE_NAMES)
def test_template_yaml_defaults_match_cookiecutter_json(name: str) -> None:
    template = find_template(name)
    public = {k: v for k, v in template.cookiecutter.items() if not k.startswith("_")}
    assert public == template.defaults()


def test_common_parameters_are_described_alike_in_every_template() -> None:
    common = ("pipeline_name", "description", "namespace", "service_account", "image")
    specs = [find_template(n) for n in TEMPLATE_NAMES]
    for name in common:
        rules = {(s.parameter(name).schema.get("pattern"), s.parameter(name).schema.get("maxLength"))  # type: ignore[union-attr]
                 for s in specs}
        assert len(rules) == 1, name


def test_template_folder_named_by_path_is_accepted(tmp_path: Path) -> None:
    copy = tmp_path / "my-template"
    shutil.copytree(find_template("saga-compensation").path, copy)
    assert find_template(str(copy)).name == "saga-compensation"
