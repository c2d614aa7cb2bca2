"""The built-in templates work with the cookiecutter ecosystem's own tools: ``cruft create``, ``check``
and ``update`` from a real git repository, and plain cookiecutter as old as 2.1 (the project folder's
name also holds ``{{ }}``, in a Jinja comment, which is how 2.1 and cruft find it)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import venv
from pathlib import Path

import pytest

from generator.template_spec import find_template
from generator.yamlio import load_documents
from tests.conftest import TEMPLATE_NAMES, pipeline_for

BIN = Path(sys.executable).parent
GIT_IDENTITY = ["-c", "user.name=pipeforge-test", "-c", "user.email=test@pipeforge.invalid"]


def run(*args: str, cwd: Path, home: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("GIT_", "COOKIECUTTER"))}
    env.update(HOME=str(home), GIT_CONFIG_NOSYSTEM="1")
    result = subprocess.run(list(args), cwd=cwd, env=env, capture_output=True, text=True, check=False,
                            stdin=subprocess.DEVNULL)
    assert result.returncode == 0, f"{args}: {result.stdout}\n{result.stderr}"
    return result


def git(*args: str, cwd: Path, home: Path) -> str:
    return run("git", *GIT_IDENTITY, *args, cwd=cwd, home=home).stdout.strip()


@pytest.fixture
def template_repo(tmp_path: Path) -> Path:
    """templates/saga-compensation as the only content of a real git repository."""
    repo = tmp_path / "template-repo"
    shutil.copytree(find_template("saga-compensation").path, repo)
    git("init", "-q", "-b", "main", cwd=repo, home=tmp_path)
    git("add", "-A", cwd=repo, home=tmp_path)
    git("commit", "-q", "-m", "saga-compensation as shipped", cwd=repo, home=tmp_path)
    return repo


def test_cruft_create_check_and_update_on_a_builtin_template(template_repo: Path, tmp_path: Path) -> None:
    work = tmp_path / "work"
    work.mkdir()
    run(str(BIN / "cruft"), "create", "--no-input", str(template_repo), "--output-dir", str(work),
        cwd=work, home=tmp_path)
    project = work / "order-fulfilment"
    expected = pipeline_for("saga-compensation", "defaults").files
    assert (project / "kustomization.yaml").read_text() == expected["kustomization.yaml"]
    assert json.loads((project / ".cruft.json").read_text())["context"]["cookiecutter"]["namespace"] == "orders"
    git("init", "-q", "-b", "main", cwd=project, home=tmp_path)
    git("add", "-A", cwd=project, home=tmp_path)
    git("commit", "-q", "-m", "generated", cwd=project, home=tmp_path)
    run(str(BIN / "cruft"), "check", cwd=project, home=tmp_path)

    kustomization = template_repo / "[[cookiecutter.pipeline_name]][#{{}}#]" / "kustomization.yaml"
    kustomization.write_text(kustomization.read_text() + "commonLabels:\n  owner: \"[[ cookiecutter.namespace ]]\"\n")
    git("commit", "-q", "-am", "label every resource with its owner", cwd=template_repo, home=tmp_path)
    stale = subprocess.run([str(BIN / "cruft"), "check"], cwd=project, capture_output=True, text=True,
                           env={**os.environ, "HOME": str(tmp_path)}, check=False)
    assert stale.returncode != 0  # the template moved on

    run(str(BIN / "cruft"), "update", "--skip-apply-ask", "--allow-untracked-files", cwd=project, home=tmp_path)
    assert (project / "kustomization.yaml").read_text().endswith('commonLabels:\n  owner: "orders"\n')
    assert json.loads((project / ".cruft.json").read_text())["commit"] == git("rev-parse", "HEAD", cwd=template_repo,
                                                                              home=tmp_path)


@pytest.mark.slow
def test_cookiecutter_2_1_renders_every_builtin_template(tmp_path: Path) -> None:
    """The oldest cookiecutter the templates support, installed from PyPI into a throwaway venv."""
    env_dir = tmp_path / "cookiecutter-2.1"
    venv.create(env_dir, with_pip=False)  # this suite's pip installs into it: ensurepip would cost seconds
    run(sys.executable, "-m", "pip", "--python", str(env_dir / "bin" / "python"), "install", "--quiet",
        "--no-compile", "cookiecutter==2.1.1", cwd=tmp_path, home=tmp_path)
    for name in TEMPLATE_NAMES:
        out = tmp_path / "out" / name
        run(str(env_dir / "bin" / "cookiecutter"), "--no-input", "-o", str(out), str(find_template(name).path),
            cwd=tmp_path, home=tmp_path)
        pipeline = pipeline_for(name, "defaults")
        folder = out / pipeline.folder_name
        assert (folder / "kustomization.yaml").read_text() == pipeline.files["kustomization.yaml"], name
        theirs = load_documents((folder / "workflowtemplate.yaml").read_text(encoding="utf-8"))
        assert theirs == load_documents(pipeline.files["workflowtemplate.yaml"]), name
