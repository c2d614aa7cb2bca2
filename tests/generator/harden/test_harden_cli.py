"""`pipeforge harden PATH...` as CI and people run it: folders, -o DIR, --in-place, --diff, --check, exit codes."""

from __future__ import annotations

from pathlib import Path

from tests.clikit import run
from tests.generator.test_lint_cli import ARTICLE

SAFE = """\
apiVersion: argoproj.io/v1alpha1
kind: Workflow
metadata:
  generateName: safe-
spec:
  entrypoint: main
  podGC:
    strategy: OnPodSuccess
  ttlStrategy:
    secondsAfterCompletion: 600
  templates:
  - name: main
    suspend: {}
"""


def _tree(tmp_path: Path) -> Path:
    root = tmp_path / "workflows"
    (root / "team").mkdir(parents=True)
    (root / "article.yaml").write_text(ARTICLE, encoding="utf-8")
    (root / "team" / "safe.yml").write_text(SAFE, encoding="utf-8")
    (root / "notes.txt").write_text("not yaml", encoding="utf-8")
    return root


def test_a_folder_needs_in_place_or_an_output_folder_and_nothing_is_written_without(tmp_path: Path) -> None:
    root = _tree(tmp_path)
    refused = run("harden", str(root))
    assert refused.returncode == 2 and "--in-place" in refused.stderr and "Traceback" not in refused.stderr
    assert (root / "article.yaml").read_text(encoding="utf-8") == ARTICLE


def test_in_place_over_a_folder_rewrites_only_what_changes(tmp_path: Path) -> None:
    root = _tree(tmp_path)
    result = run("harden", "--in-place", str(root))
    assert result.returncode in (0, 1)  # 1 while an error-level finding (PF401 in the article) remains
    assert "onExit: exit-handler" in (root / "article.yaml").read_text(encoding="utf-8")
    assert (root / "team" / "safe.yml").read_text(encoding="utf-8") == SAFE
    assert "safe.yml: nothing to harden" in result.stderr and "needs a human" in result.stderr


def test_output_folder_mirrors_the_input_tree(tmp_path: Path) -> None:
    root = _tree(tmp_path)
    out = tmp_path / "hardened"
    assert run("harden", str(root), "-o", str(out)).returncode in (0, 1)
    assert sorted(p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file()) == [
        "article.yaml", "team/safe.yml"]
    assert (root / "article.yaml").read_text(encoding="utf-8") == ARTICLE


def test_diff_prints_a_unified_diff_and_writes_nothing(tmp_path: Path) -> None:
    root = _tree(tmp_path)
    result = run("harden", "--diff", str(root))
    assert result.stdout.startswith(f"--- a/{root / 'article.yaml'}\n+++ b/{root / 'article.yaml'}\n")
    assert "+  onExit: exit-handler\n" in result.stdout and "-      - name: cleanup\n" in result.stdout
    assert (root / "article.yaml").read_text(encoding="utf-8") == ARTICLE
    assert sorted(p.name for p in tmp_path.rglob("*")) == ["article.yaml", "notes.txt", "safe.yml", "team",
                                                             "workflows"]


def test_check_exits_1_when_a_file_would_change_and_0_when_none_would(tmp_path: Path) -> None:
    root = _tree(tmp_path)
    would = run("harden", "--check", str(root))
    assert would.returncode == 1 and "article.yaml: would be hardened" in would.stderr and not would.stdout
    assert (root / "article.yaml").read_text(encoding="utf-8") == ARTICLE
    clean = run("harden", "--check", str(root / "team"))
    assert clean.returncode == 0


def test_ignore_leaves_a_rule_alone(tmp_path: Path) -> None:
    path = tmp_path / "wf.yaml"
    path.write_text(ARTICLE, encoding="utf-8")
    result = run("harden", "--ignore", "PF101", "--ignore", "no-pod-gc", str(path))
    assert result.returncode in (0, 1)
    assert "onExit" not in result.stdout and "podGC" not in result.stdout and "ttlStrategy" in result.stdout
    selected = run("harden", "--select", "PF503", str(path))
    assert "ttlStrategy" in selected.stdout and "activeDeadlineSeconds" not in selected.stdout


def test_a_malformed_file_among_many_stops_the_run_before_anything_is_written(tmp_path: Path) -> None:
    root = _tree(tmp_path)
    (root / "broken.yaml").write_text("spec:\n  templates: [\n", encoding="utf-8")
    result = run("harden", "--in-place", str(root))
    assert result.returncode == 2 and "broken.yaml" in result.stderr and "nothing was written" in result.stderr
    assert "Traceback" not in result.stderr
    assert (root / "article.yaml").read_text(encoding="utf-8") == ARTICLE


def test_a_missing_path_is_a_usage_error(tmp_path: Path) -> None:
    result = run("harden", str(tmp_path / "nope.yaml"))
    assert result.returncode == 2 and "no such file or folder" in result.stderr


def test_help_shows_examples_for_folders_diff_and_check() -> None:
    text = run("harden", "--help").stdout
    for example in ("--in-place workflows/", "--diff wf.yaml", "--check workflows/", "-o hardened/"):
        assert example in text


def test_the_lint_configuration_chooses_the_rules_and_the_deadline(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text(
        '[tool.pipeforge.lint]\nignore = ["PF502", "no-retry"]\ndefault-deadline-seconds = 900\n', encoding="utf-8")
    path = tmp_path / "wf.yaml"
    path.write_text(ARTICLE, encoding="utf-8")
    result = run("harden", str(path))
    assert "podGC" not in result.stdout and 'activeDeadlineSeconds: "900"' in result.stdout
    assert "retryPolicy: Always" not in result.stdout  # PF205 (no-retry) is ignored: no retryStrategy added
    explicit = run("harden", "--deadline", "120", str(path))
    assert 'activeDeadlineSeconds: "120"' in explicit.stdout


def test_exit_1_while_an_error_level_finding_remains_and_0_once_none_does(tmp_path: Path) -> None:
    broken = tmp_path / "broken-ref.yaml"
    broken.write_text(SAFE.replace("  entrypoint: main\n", "  entrypoint: main\n  onExit: no-such-template\n"),
                      encoding="utf-8")
    result = run("harden", str(broken))
    assert result.returncode == 1 and "PF006" in result.stderr and "needs a human" in result.stderr
    clean = tmp_path / "safe.yaml"
    clean.write_text(SAFE, encoding="utf-8")
    assert run("harden", str(clean)).returncode == 0


def test_folders_the_lint_configuration_excludes_are_not_hardened(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text('[tool.pipeforge.lint]\nexclude = ["generated/"]\n', encoding="utf-8")
    (tmp_path / "generated").mkdir()
    skipped = tmp_path / "generated" / "wf.yaml"
    skipped.write_text(ARTICLE, encoding="utf-8")
    kept = tmp_path / "wf.yaml"
    kept.write_text(ARTICLE, encoding="utf-8")
    result = run("harden", "--in-place", str(tmp_path))
    assert result.returncode in (0, 1) and "generated" not in result.stderr
    assert skipped.read_text(encoding="utf-8") == ARTICLE and kept.read_text(encoding="utf-8") != ARTICLE


def test_two_files_of_one_name_into_one_output_folder_is_refused_before_anything_is_written(tmp_path: Path) -> None:
    first, second, out = tmp_path / "x" / "a.yaml", tmp_path / "y" / "a.yaml", tmp_path / "out"
    for path in (first, second):
        path.parent.mkdir()
        path.write_text(ARTICLE, encoding="utf-8")
    refused = run("harden", str(first), str(second), "-o", str(out))
    assert refused.returncode == 2 and "Traceback" not in refused.stderr, refused.stderr
    assert "a.yaml" in refused.stderr and not out.exists()


def test_an_existing_file_as_the_output_of_several_files_is_a_usage_error(tmp_path: Path) -> None:
    root = _tree(tmp_path)
    target = tmp_path / "taken.yaml"
    target.write_text("kept\n", encoding="utf-8")
    refused = run("harden", str(root), "-o", str(target))
    assert refused.returncode == 2 and "Traceback" not in refused.stderr, refused.stderr
    assert "not a folder" in refused.stderr and target.read_text(encoding="utf-8") == "kept\n"


def test_a_folder_with_no_manifest_says_so_and_succeeds(tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    for extra in ((), ("--check",), ("--in-place",)):
        result = run("harden", str(tmp_path / "empty"), *extra)
        assert (result.returncode, result.stdout) == (0, "")
        assert "no *.yaml or *.yml files to harden under" in result.stderr
