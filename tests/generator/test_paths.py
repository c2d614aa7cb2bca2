"""Rendered paths, the PR ``--path`` and bundle names: one rule for a path that stays inside its folder
(``generator.paths``), checked once in rendering; writes through directory descriptors that never follow
a link (``generator.safe_write``); ``hooks/`` refused in bundles in any case."""

from __future__ import annotations

import io
import json
import posixpath
import tarfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from catalog.safety import bundle_problems
from generator.errors import InvalidParametersError, TemplateDefinitionError, UsageError
from generator.gitops.branch import target_path
from generator.paths import clean_relative, path_problem, same_name_key, tree_problems
from generator.safe_write import read_text, write_files
from generator.scaffold import build, write
from generator.template_spec import TemplateSpec, load_template
from generator.upgrade import UpgradePlan, apply, plan
from tests.hostile import CONTROL, ESCAPES, path_template, tree_snapshot
from tests.hypokit import examples

PLAIN = ("workflowtemplate.yaml", "README.md", "notes/today.txt", "a/b/c/d.yaml", ".pipeforge-answers.yaml",
         ".gitignore", ".github/workflows/ci.yaml", "gitx/y", "git~a", "my.git/x", "hooks/x")


@pytest.mark.parametrize("path", PLAIN)
def test_a_plain_relative_path_is_accepted_as_it_is(path: str) -> None:
    assert clean_relative(path) == path


@pytest.mark.parametrize("path", ESCAPES)
def test_every_escape_and_git_look_alike_is_refused_with_the_reason(path: str) -> None:
    with pytest.raises(UsageError) as caught:
        clean_relative(path, what="file")
    assert repr(path) in caught.value.message and "refused" in caught.value.message


@pytest.mark.parametrize(("path", "says"), [
    ("a" * 256, "longer than 255 bytes"), ("é" * 128, "longer than 255"), ("a/" * 2100 + "x", "longer than 4096"),
    ("a/" * 32 + "x", "33 names deep"), ("x\ud800", "lone surrogate"),
])
def test_a_name_or_path_beyond_the_file_system_limits_is_refused(path: str, says: str) -> None:
    problem = path_problem(path)
    assert problem is not None
    assert says in problem


def test_a_huge_path_is_shown_shortened_in_the_message() -> None:
    with pytest.raises(UsageError) as caught:
        clean_relative("../" * 100_000)
    assert len(caught.value.message) < 600 and "300,000 characters" in caught.value.message


def test_two_names_that_are_one_file_elsewhere_or_a_file_and_a_folder_are_refused() -> None:
    problems = tree_problems(["README.md", "readme.MD", "conf", "conf/x.yaml", "ok/a.txt", "ok/b.txt"])
    assert len(problems) == 2
    assert "'readme.MD' and 'README.md' are the same file" in problems[0]
    assert "'conf' is a file, but 'conf/x.yaml' needs a folder" in problems[1]


# --- Property tests: any accepted path stays inside; any path with a bad component is refused. ---------------

_CHARS = st.sampled_from([*"aZ09._-~ /\\:", "\x00", "\x1f", "\x7f", "\x85", "\u200c", "\ufeff", "é", "K"])
_BAD_COMPONENTS = st.sampled_from(["", ".", "..", ".git", ".GIT", ".Git.", ".git ", "git~1", "GIT~2", ".gitmodules",
                                   ".GITMODULES..", "gitmod~1", "gi7eba~3", ".g\u200dit", "\ufeff.git", "a\\b",
                                   "c:", "x\x00", "\x1b[0m", " . ", "a:b"])
_COMPONENT = st.text(_CHARS, min_size=1, max_size=8)


@given(st.text(_CHARS, max_size=30))
@settings(max_examples=examples(400), suppress_health_check=[HealthCheck.too_slow])
def test_any_accepted_path_stays_inside_and_is_never_git(path: str) -> None:
    if path_problem(path) is not None:
        return
    for reading in (path, path.replace("\\", "/")):  # as POSIX reads it, and as Windows does
        joined = posixpath.normpath(posixpath.join("/root/folder", reading))
        assert joined.startswith("/root/folder/")
    keys = [same_name_key(part) for part in path.split("/")]
    assert not any(k in (".git", ".gitmodules") or k.startswith(("git~", "gitmod~")) for k in keys)


@given(st.lists(_COMPONENT, max_size=4), _BAD_COMPONENTS, st.lists(_COMPONENT, max_size=4))
@settings(max_examples=examples(400))
def test_any_path_with_a_bad_component_anywhere_is_refused(before: list[str], bad: str, after: list[str]) -> None:
    path = "/".join([*before, bad, *after])
    assert path_problem(path) is not None


@pytest.fixture(scope="module")
def notes_dir_template(tmp_path_factory: pytest.TempPathFactory) -> TemplateSpec:
    return load_template(path_template(tmp_path_factory.mktemp("notes"), name="notes", where="folder"))


@given(value=st.text(_CHARS, min_size=1, max_size=24))
@settings(max_examples=examples(60), deadline=None)
def test_any_parameter_value_renders_inside_the_folder_or_is_refused(notes_dir_template: TemplateSpec,
                                                                    value: str) -> None:
    try:
        pipeline = build(notes_dir_template, {"notes_file": value})
    except (TemplateDefinitionError, InvalidParametersError):
        return
    for path in [pipeline.folder_name, *pipeline.files]:
        assert path_problem(path) is None
        assert posixpath.normpath(posixpath.join("/out", path)).startswith("/out/")


# --- Rendering refuses, whichever entry point renders. ------------------------------------------------------


@pytest.mark.parametrize("where", ["file", "folder", "project"])
@pytest.mark.parametrize("payload", ESCAPES)
def test_a_rendered_path_that_escapes_is_refused_before_anything_is_written(tmp_path: Path, where: str,
                                                                             payload: str) -> None:
    template = load_template(path_template(tmp_path, name="notes", where=where))
    assert build(template, {}).files  # the defaults render: such a template publishes
    with pytest.raises(TemplateDefinitionError) as caught:
        build(template, {"notes_file": payload})
    message = caught.value.message
    assert "would not stay inside the new folder" in message and repr(payload)[1:-1] in message


@pytest.mark.parametrize("payload", CONTROL)
def test_a_private_variable_naming_a_file_with_a_control_character_is_refused(tmp_path: Path, payload: str) -> None:
    folder = path_template(tmp_path, name="notes")
    settings_file = folder / "cookiecutter.json"
    settings = json.loads(settings_file.read_text())
    settings_file.write_text(json.dumps({**settings, "_n": payload}))
    (project,) = [p for p in folder.iterdir() if p.is_dir()]
    (project / "[[cookiecutter.notes_file]]").rename(project / "[[cookiecutter._n]]")
    with pytest.raises(TemplateDefinitionError, match="a NUL or control character"):
        build(load_template(folder), {})


def test_the_new_folder_is_written_without_following_a_link_planted_in_it(tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    root = tmp_path / "root"
    root.mkdir()
    (root / "notes").symlink_to(outside)
    with pytest.raises(UsageError, match="symbolic link"):
        write_files(root, {"notes/x.txt": "pwned"})
    (root / "file.txt").symlink_to(outside / "target.txt")
    with pytest.raises(UsageError, match="exists already"):
        write_files(root, {"file.txt": "pwned"})
    assert tree_snapshot(outside) == set()


def test_write_refuses_a_path_that_did_not_come_from_rendering(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="refused"):
        write_files(tmp_path, {"../escaped.txt": "x"})
    assert not (tmp_path.parent / "escaped.txt").exists()


def test_an_upgrade_replaces_a_link_in_the_folder_instead_of_writing_through_it(tmp_path: Path) -> None:
    folder = write(build(load_template(path_template(tmp_path, name="notes")), {}), tmp_path / "out")
    victim = tmp_path / "victim.txt"
    victim.write_text("precious\n")
    (folder / "notes.txt").unlink()
    (folder / "notes.txt").symlink_to(victim)  # a link someone planted, pointing outside the folder
    (folder / "kustomization.yaml").chmod(0o750)
    apply(UpgradePlan(folder, "notes", "1.0.0", "1.1.0", "sha256:0",
                      {"notes.txt": "new notes\n", "kustomization.yaml": "resources: []\n", "README.md": None}))
    assert victim.read_text() == "precious\n"
    assert not (folder / "notes.txt").is_symlink() and (folder / "notes.txt").read_text() == "new notes\n"
    assert (folder / "kustomization.yaml").stat().st_mode & 0o777 == 0o750, "an upgraded file keeps its mode"
    assert not (folder / "README.md").exists()


def test_upgrade_refuses_to_read_a_pipeline_file_through_a_link(tmp_path: Path) -> None:
    template = load_template(path_template(tmp_path, name="notes"))
    folder = write(build(template, {}), tmp_path / "out")
    secret = tmp_path / "id_rsa"
    secret.write_text("PRIVATE KEY\n")
    (folder / "README.md").unlink()
    (folder / "README.md").symlink_to(secret)  # a checked-out repository may carry such a link
    with pytest.raises(UsageError, match="symbolic link"):
        plan(folder, "1.0.0", lambda _name, _spec: (template, None))
    (folder / "README.md").unlink()
    (folder / "README.md").mkdir()
    with pytest.raises(UsageError, match="is a folder"):
        plan(folder, "1.0.0", lambda _name, _spec: (template, None))
    assert read_text(folder, "absent.txt") is None


# --- The PR's PATH. -----------------------------------------------------------------------------------------

@pytest.mark.parametrize("path", [".GIT/hooks", "git~1/hooks", ".gitmodules", "apps/.gitmodules/x", "apps/.Git./x",
                                  "apps\\..\\..\\x", "apps/../../x", "/etc", "C:/apps", "apps/\x01/x", "apps//x",
                                  "./apps", "", " ", "/", "apps/GitMod~1"])
def test_a_pr_path_outside_the_repository_or_into_git_is_refused(path: str) -> None:
    with pytest.raises(UsageError, match="--path"):
        target_path(path)


@pytest.mark.parametrize(("given_path", "normal"), [("apps/orders/pipeline", "apps/orders/pipeline"),
                                                    (" apps/orders/ ", "apps/orders"), ("a.git/b", "a.git/b")])
def test_a_pr_path_inside_the_repository_is_kept(given_path: str, normal: str) -> None:
    assert target_path(given_path) == normal


# --- Bundle rules ignore case. ------------------------------------------------------------------------------

def _tar(*names: str) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        for name in names:
            info = tarfile.TarInfo(name)
            info.size = 3
            tar.addfile(info, io.BytesIO(b"x=1"))
    return buffer.getvalue()


@pytest.mark.parametrize("name", ["hooks/pre_gen_project.py", "Hooks/pre_gen_project.py",
                                  "HOOKS/post_gen_project.sh", "hOoKs/x", "hooks./post_gen_project.py",
                                  "ho\u200coks/pre_gen_project.py"])
def test_a_hooks_folder_in_any_case_is_refused_in_a_bundle(name: str) -> None:
    problems = bundle_problems(_tar("cookiecutter.json", name))
    assert any("cookiecutter hooks run code" in p for p in problems), problems


def test_a_folder_merely_named_like_hooks_is_accepted() -> None:
    assert bundle_problems(_tar("cookiecutter.json", "hooksy/x", "docs/hooks/x")) == []
