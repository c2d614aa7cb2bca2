"""What lint's speed work must leave unchanged: exclude matching, JSON bytes, YAML tags, the findings."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pathspec
import pytest
import yaml

from generator.errors import YamlLimitError
from generator.forkmap import can_fork
from generator.lint import dumps, format_json, lint_paths
from generator.lintconfig import DEFAULT_EXCLUDE, PatternSet, bare_names, relative_posix
from generator.yamlio import _Loader, load_documents
from tests.conftest import shared_path

ROOT = Path(__file__).resolve().parents[2]
RELATIVE = ["a.yaml", ".git", ".git/config", "x/.git/hooks/a.yaml", "node_modules", "deep/node_modules/p/a.yml",
            "venvs/a.yaml", "my.venv/a.yaml", "src/.tox2/a.yaml", "__pycache__/x.yaml", "a/b/c.yaml", "gitx/.hg"]


@pytest.mark.parametrize("is_dir", [False, True])
@pytest.mark.parametrize("rel", RELATIVE)
def test_default_exclude_without_pathspec_matches_what_pathspec_matches(tmp_path: Path, rel: str, is_dir: bool) -> None:
    spec = pathspec.GitIgnoreSpec.from_lines(DEFAULT_EXCLUDE)
    expected = spec.match_file(rel + "/" if is_dir else rel)
    assert PatternSet(tmp_path, DEFAULT_EXCLUDE).matches(tmp_path / rel, is_dir=is_dir) == expected


@pytest.mark.parametrize("pattern", ["*.yaml", "a/b", "build/", "!keep", "\\#x", "#comment", " x", "x ", "[ab]",
                                     ".", ""])
def test_globs_negations_and_odd_names_still_go_to_pathspec(pattern: str) -> None:
    assert bare_names((pattern,)) is None
    assert bare_names(("vendor", pattern)) is None


def test_a_glob_exclude_still_matches_through_pathspec(tmp_path: Path) -> None:
    patterns = PatternSet(tmp_path, ("*.generated.yaml", "vendor/"))
    assert patterns.matches(tmp_path / "a" / "b.generated.yaml")
    assert patterns.matches(tmp_path / "vendor", is_dir=True)
    assert not patterns.matches(tmp_path / "a" / "b.yaml")


@pytest.mark.parametrize("value", [
    {"files": 2, "findings": [{"rule": "PF101", "line": 3, "template": None, "ok": True, "data": {"path": []}}]},
    {"message": "caf\u00e9 \u2192 \u6f22\u5b57 \U0001f600 \"q\" \\ \t\n\x00\x1f\x7f", "empty": {}, "list": [[], {}]},
    [1, -2, 0, False, None, "", " "],
    {"uri": "file:///a%20b/%23c", "help": "</script>&<b>"},
])
def test_json_report_is_byte_for_byte_what_the_standard_library_writes(value: object) -> None:
    assert dumps(value) == json.dumps(value, indent=2, ensure_ascii=False)


@pytest.mark.parametrize("value", [{"lone": "\ud800"}, {"big": 2**70}])
def test_what_orjson_refuses_is_still_written_as_before(value: object) -> None:
    assert dumps(value) == json.dumps(value, indent=2, ensure_ascii=False)


SCALARS = ["yes", "No", "on", "true", "1", "-0", "0x1f", "0o17", "017", "1_000", "1.5", ".inf", "-.Inf", ".nan",
           "1e3", "~", "null", "", "2024-01-01", "2024-01-01T10:00:00Z", "'1'", '"true"', "<<x", "a: b"]


def _tags(loader: type, text: str) -> list[tuple[str, str]]:
    node = yaml.compose(text, Loader=loader)
    assert isinstance(node, yaml.MappingNode)
    return [(value.tag, value.value) for _, value in node.value]


def test_memoised_yaml_resolver_tags_every_scalar_as_pyyaml_does() -> None:
    text = "".join(f"k{i}: {s}\n" if s != "a: b" else f"k{i}: '{s}'\n" for i, s in enumerate(SCALARS))
    expected = _tags(yaml.CSafeLoader, text)
    assert _tags(_Loader, text) == expected
    assert _tags(_Loader, text) == expected  # the second read answers from the memo
    assert load_documents("a: [yes, 0x1f, 1.5, ~]\n") == [{"a": [True, 31, 1.5, None]}]


BASELINE = os.environ.get("PIPEFORGE_LINT_BASELINE")


@pytest.mark.skipif(not BASELINE, reason="set PIPEFORGE_LINT_BASELINE to a folder of recorded reports "
                    "(see docs/lint-speed.md); corpus-derived data is never committed")
@pytest.mark.parametrize("corpus", ["argo/examples", "realworld"])
def test_findings_on_the_corpora_are_those_recorded_before_the_speed_work(corpus: str) -> None:
    recorded = Path(str(BASELINE), corpus.replace("/", "_") + ".json")
    folder = shared_path(*corpus.split("/"))
    relative = os.path.relpath(folder, ROOT)  # as recorded: `pipeforge lint --format json ../shared/<corpus>`
    result = subprocess.run([sys.executable, "-m", "generator", "lint", "--format", "json", relative],
                            capture_output=True, cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)}, check=False)
    assert result.returncode == 1, result.stderr
    assert result.stdout == recorded.read_bytes()


@pytest.mark.parametrize("path", ["a/b.yaml", ".", "a/../c.yaml", "a/./b/", "/", "/elsewhere/x.yaml", "../up.yaml"])
def test_relative_path_text_is_what_pathlib_gives(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, path: str) -> None:
    monkeypatch.chdir(tmp_path)
    for root in (tmp_path, tmp_path / "a", Path("/")):
        absolute = Path(os.path.normpath(Path(path).absolute()))
        try:
            expected = absolute.relative_to(root).as_posix()
        except ValueError:
            expected = absolute.as_posix().lstrip("/")
        assert relative_posix(Path(path), root) == expected


def test_mappings_without_merge_keys_still_read_equals_keys_and_merges_as_pyyaml_does() -> None:
    text = "a: 1\n=: x\nb: {<<: {c: 1, d: 0}, d: 2}\ne: {f: 1, f: 2}\n"
    (document,) = load_documents(text)
    assert document == yaml.safe_load(text) == {"a": 1, "=": "x", "b": {"c": 1, "d": 2}, "e": {"f": 2}}
    assert document["b"].duplicate_keys == [] and document["e"].duplicate_keys == [("f", 4)]


def _folder_of_manifests(root: Path) -> None:
    def manifest(i: int) -> str:
        return ("apiVersion: argoproj.io/v1alpha1\nkind: Workflow\nmetadata: {name: w" + str(i) + "}\nspec:\n"
                "  entrypoint: main\n  templates:\n    - name: main\n      retryStrategy: {limit: " + str(i) + "}\n"
                "      container: {image: alpine, command: [sh, -c, 'kubectl delete ns x" + str(i) + "']}\n")

    for i in range(40):
        (root / f"w{i:02}.yaml").write_text(manifest(i), encoding="utf-8")
    (root / "w17.yaml").write_text("a: [unclosed\n", encoding="utf-8")  # PF001, from a worker's share
    (root / "sub").mkdir()
    (root / "sub" / "pyproject.toml").write_text('[tool.pipeforge.lint]\nignore = ["PF103"]\n', encoding="utf-8")
    (root / "sub" / "x.yaml").write_text(manifest(99), encoding="utf-8")


@pytest.mark.skipif(not can_fork(), reason="workers are forks")
def test_a_report_is_byte_for_byte_the_same_whatever_the_number_of_jobs(tmp_path: Path) -> None:
    _folder_of_manifests(tmp_path)
    one = format_json(lint_paths([tmp_path], jobs=1))
    assert json.loads(one)["files"] == 41
    for jobs in (2, 3, None):
        assert format_json(lint_paths([tmp_path], jobs=jobs)) == one


@pytest.mark.skipif(not can_fork(), reason="workers are forks")
def test_a_limit_broken_in_a_workers_file_is_refused_as_one_process_refuses_it(tmp_path: Path) -> None:
    _folder_of_manifests(tmp_path)
    (tmp_path / "w25.yaml").write_text("a: &a [*a]\n", encoding="utf-8")
    with pytest.raises(YamlLimitError) as one:
        lint_paths([tmp_path], jobs=1)
    with pytest.raises(YamlLimitError) as two:
        lint_paths([tmp_path], jobs=2)
    assert two.value.message == one.value.message and "w25.yaml" in one.value.message


@pytest.mark.parametrize("jobs", ["0", "-1", "two"])
def test_jobs_is_a_positive_number_or_auto(jobs: str, tmp_path: Path) -> None:
    result = subprocess.run([sys.executable, "-m", "generator", "lint", "--jobs", jobs, str(tmp_path)],
                            capture_output=True, text=True, env={**os.environ, "PYTHONPATH": str(ROOT)}, check=False)
    assert result.returncode == 2 and "--jobs" in result.stderr and "Traceback" not in result.stderr
