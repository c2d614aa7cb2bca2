"""Lint configuration as a team writes it: ``[tool.pipeforge.lint]`` in pyproject.toml or ``[lint]`` in
.pipeforge.toml, found upwards from each file, with ruff's precedence for select/extend-select/ignore and
gitignore-style globs relative to the configuration file's folder. Real files in ``tmp_path``; the CLI
cases run the command line in-process (``tests.clikit.run``)."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from generator.errors import UsageError
from generator.lint import lint_paths, lint_text
from generator.lintconfig import (
    DEFAULT_DEADLINE_SECONDS,
    ConfigError,
    RuleSelection,
    find_config_file,
    load_config,
    parse_selector,
    resolve_rules,
    selectors,
)
from generator.rules import RULES
from tests.clikit import run
from tests.conftest import ROOT
from tests.generator.test_lint_cli import MINI  # one pod step with nothing bounded
from tests.hypokit import examples


def write(path: Path, text: str = MINI) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def pyproject(folder: Path, body: str) -> Path:
    return write(folder / "pyproject.toml", "[project]\nname = 'x'\n\n[tool.pipeforge.lint]\n" + body)


def dotfile(folder: Path, body: str) -> Path:
    return write(folder / ".pipeforge.toml", "[lint]\n" + body)


@contextmanager
def working_folder(path: Path) -> Iterator[None]:
    before = Path.cwd()
    os.chdir(path)
    try:
        yield
    finally:
        os.chdir(before)


def rules_by_file(paths: list[Path], **options: object) -> dict[str, set[str]]:
    report = lint_paths(paths, **options)  # type: ignore[arg-type]
    found: dict[str, set[str]] = {}
    for finding in report.findings:
        found.setdefault(Path(finding.file).name, set()).add(finding.rule)
    return found


def rules_of(path: Path, **options: object) -> set[str]:
    return {f.rule for f in lint_paths([path], **options).findings}  # type: ignore[arg-type]


# ---------------------------------------------------------------- discovery


def test_the_nearest_configuration_upwards_applies_and_is_not_merged_with_farther_ones(tmp_path: Path) -> None:
    pyproject(tmp_path, 'ignore = ["PF205"]\n')
    dotfile(tmp_path / "team", 'ignore = ["PF502"]\n')
    top = write(tmp_path / "top.yaml")
    deep = write(tmp_path / "team" / "a" / "b" / "deep.yaml")
    found = rules_by_file([tmp_path])
    assert "PF205" not in found["top.yaml"] and "PF502" in found["top.yaml"]
    assert "PF502" not in found["deep.yaml"] and "PF205" in found["deep.yaml"]  # nearest wins, as in ruff
    assert find_config_file(deep) == tmp_path / "team" / ".pipeforge.toml"
    assert find_config_file(top) == tmp_path / "pyproject.toml"


def test_pipeforge_toml_beats_pyproject_in_the_same_folder(tmp_path: Path) -> None:
    pyproject(tmp_path, 'ignore = ["PF205"]\n')
    dotfile(tmp_path, 'ignore = ["PF502"]\n')
    rules = rules_of(write(tmp_path / "wf.yaml"))
    assert "PF502" not in rules and "PF205" in rules


def test_a_pyproject_without_the_pipeforge_table_is_not_a_configuration(tmp_path: Path) -> None:
    pyproject(tmp_path, 'ignore = ["PF205"]\n')
    write(tmp_path / "app" / "pyproject.toml", "[tool.ruff]\nline-length = 100\n")
    path = write(tmp_path / "app" / "wf.yaml")
    assert find_config_file(path) == tmp_path / "pyproject.toml"
    assert "PF205" not in rules_of(path)


def test_load_config_gives_the_deadline_and_kubernetes_version_for_harden(tmp_path: Path) -> None:
    dotfile(tmp_path, 'default-deadline-seconds = 900\nkubernetes-version = "v1.30"\nignore = ["no-retry"]\n')
    config = load_config(tmp_path / "sub" / "wf.yaml")
    assert config.path == tmp_path / ".pipeforge.toml"
    assert config.default_deadline_seconds == 900 and config.kubernetes_version == "1.30"
    assert "PF205" not in config.rules_for(tmp_path / "wf.yaml")
    defaults = load_config(tmp_path.parent)
    assert defaults.path is None and defaults.default_deadline_seconds == DEFAULT_DEADLINE_SECONDS


def test_config_option_names_one_file_and_isolated_reads_none(tmp_path: Path) -> None:
    dotfile(tmp_path, 'ignore = ["PF205"]\n')
    other = write(tmp_path / "elsewhere" / "strict.toml", '[lint]\nselect = ["PF103"]\n')
    path = write(tmp_path / "wf.yaml")
    assert rules_of(path, config=other) == {"PF103"}
    assert "PF205" in rules_of(path, isolated=True)
    assert "PF205" not in rules_of(path)


# ---------------------------------------------------------------- select / extend-select / ignore


def test_command_line_select_replaces_the_configuration_and_extend_select_adds(tmp_path: Path) -> None:
    dotfile(tmp_path, 'select = ["PF1"]\nignore = ["PF502"]\n')
    path = write(tmp_path / "wf.yaml")
    assert rules_of(path) == {"PF103"}
    assert rules_of(path, extend_select=["PF205"]) == {"PF103", "PF205"}
    assert rules_of(path, select=["PF5"]) == {"PF502", "PF503", "PF504", "PF505", "PF507"}  # config's ignore gone
    assert rules_of(path, ignore=["PF103"]) == set()


def test_a_more_specific_selector_wins_and_ignore_wins_a_tie() -> None:
    def enabled(select: Sequence[str] | None = None, ignore: Sequence[str] = ()) -> frozenset[str]:
        chosen = None if select is None else selectors(select, where="t")
        layer = RuleSelection(chosen, (), selectors(ignore, where="t"))
        return resolve_rules([layer])

    assert "PF205" in enabled(["PF205"], ["PF2"]) and "PF201" not in enabled(["PF205"], ["PF2"])
    assert "PF205" not in enabled(["PF2"], ["PF205"]) and "PF201" in enabled(["PF2"], ["PF205"])
    assert "PF205" not in enabled(["PF205"], ["no-retry"])  # a name is as specific as its code
    assert enabled(["ALL"], ["PF"]) == frozenset()
    assert enabled(None, []) == frozenset(RULES)


def test_lint_text_filters_while_linting_with_select_ignore_and_severity() -> None:
    assert {f.rule for f in lint_text(MINI, "wf.yaml", select=["PF1", "PF2"], ignore=["PF205"])} == {"PF103"}
    [finding] = lint_text(MINI, "wf.yaml", select=["PF205"], severity={"PF205": "error"})
    assert finding.severity == "error"
    assert lint_text("a: [\n", "bad.yaml", ignore=["yaml-syntax"]) == []
    with pytest.raises(UsageError, match="'PF9' is not a rule"):
        lint_text(MINI, select=["PF9"])
    with pytest.raises(UsageError, match=r"severity must be one of error, warning, info; got PF205='fatal'"):
        lint_text(MINI, severity={"PF205": "fatal"})


_SELECTORS = st.sampled_from(["ALL", "PF", "PF1", "PF2", "PF20", "PF5", *sorted(RULES)[::3], "no-retry"])
_LAYERS = st.builds(
    RuleSelection,
    select=st.none() | st.lists(_SELECTORS, max_size=3).map(lambda s: selectors(s, where="t")),
    extend_select=st.lists(_SELECTORS, max_size=3).map(lambda s: selectors(s, where="t")),
    ignore=st.lists(_SELECTORS, max_size=3).map(lambda s: selectors(s, where="t")),
)


@settings(max_examples=examples(200), deadline=None)
@given(config=_LAYERS, command_line=_LAYERS)
def test_precedence_properties_hold_for_any_configuration_and_command_line(
        config: RuleSelection, command_line: RuleSelection) -> None:
    result = resolve_rules([config, command_line])
    for selector in command_line.ignore:
        if selector.specificity == 5:  # a rule ignored on the command line is off, whatever else says
            assert not selector.codes & result
    rule_level_ignores = {c for s in command_line.ignore if s.specificity == 5 for c in s.codes}
    for selector in command_line.extend_select:
        if selector.specificity == 5:
            assert selector.codes - rule_level_ignores <= result
    if command_line.select is not None:  # --select makes the configuration's choice irrelevant
        assert result == resolve_rules([command_line])
    else:  # without --select, everything the configuration enabled stays on unless the command line ignores it
        ignored = {c for s in command_line.ignore for c in s.codes}
        assert resolve_rules([config]) - ignored <= result


# ---------------------------------------------------------------- per-file-ignores and exclude


def test_per_file_ignores_are_globs_relative_to_the_configuration_folder(tmp_path: Path) -> None:
    pyproject(tmp_path, '[tool.pipeforge.lint.per-file-ignores]\n"generated/*.yaml" = ["PF205", "PF5"]\n'
              '"*.draft.yaml" = ["step-no-deadline"]\n"!strict/**" = ["PF507"]\n')
    write(tmp_path / "generated" / "gen.yaml")
    write(tmp_path / "nested" / "generated" / "anchored.yaml")  # 'generated/*.yaml' is anchored at the root
    write(tmp_path / "deep" / "er" / "x.draft.yaml")  # no '/': matches the name at any depth
    write(tmp_path / "strict" / "s.yaml")
    found = rules_by_file([tmp_path])
    assert found["gen.yaml"] == {"PF103"}
    assert {"PF205", "PF502"} <= found["anchored.yaml"] and "PF507" not in found["anchored.yaml"]
    assert "PF103" not in found["x.draft.yaml"] and "PF205" in found["x.draft.yaml"]
    assert "PF507" in found["s.yaml"]  # '!strict/**': everything but strict/ ignores PF507


def test_exclude_skips_folders_and_files_found_by_the_walk_but_not_named_ones(tmp_path: Path) -> None:
    dotfile(tmp_path, 'exclude = ["vendor/", "*.generated.yaml", "charts/*/templates"]\n')
    write(tmp_path / "keep.yaml")
    skipped = [write(tmp_path / "vendor" / "v.yaml"), write(tmp_path / "a" / "x.generated.yaml"),
               write(tmp_path / "charts" / "c" / "templates" / "t.yaml")]
    write(tmp_path / "node_modules" / "n.yaml")  # 'exclude' replaces the defaults, as in ruff
    assert lint_paths([tmp_path]).files == 2
    assert set(rules_by_file([tmp_path])) == {"keep.yaml", "n.yaml"}
    assert lint_paths(skipped).files == 3  # named explicitly: linted
    assert lint_paths(skipped, force_exclude=True).files == 0
    assert lint_paths([tmp_path / "vendor"], force_exclude=True).files == 0
    assert lint_paths([tmp_path / "a" / ".." / "vendor" / "v.yaml"], force_exclude=True).files == 0


def test_default_excludes_and_extend_exclude_and_command_line_exclude(tmp_path: Path) -> None:
    dotfile(tmp_path, 'extend-exclude = ["legacy"]\n')
    write(tmp_path / "keep.yaml")
    write(tmp_path / "legacy" / "old.yaml")
    write(tmp_path / "node_modules" / "n.yaml")
    write(tmp_path / "venv" / "v.yml")
    assert set(rules_by_file([tmp_path])) == {"keep.yaml"}
    with working_folder(tmp_path):  # command-line globs are relative to the working folder
        # --exclude replaces the file's exclude (and the defaults); its extend-exclude still applies
        assert set(rules_by_file([Path()], exclude=["keep.yaml"])) == {"n.yaml", "v.yml"}
        assert set(rules_by_file([Path()], extend_exclude=["keep.yaml"])) == set()


def test_severity_overrides_apply_by_specificity(tmp_path: Path) -> None:
    dotfile(tmp_path, '[lint.severity]\nPF5 = "error"\nPF503 = "info"\nno-retry = "error"\n')
    report = lint_paths([write(tmp_path / "wf.yaml")])
    severity = {f.rule: f.severity for f in report.findings}
    assert severity["PF205"] == severity["PF502"] == severity["PF507"] == "error"
    assert severity["PF503"] == "info" and severity["PF103"] == "error"


# ---------------------------------------------------------------- errors


@pytest.mark.parametrize(("body", "expected"), [
    ('selct = ["PF1"]\n', ["[tool.pipeforge.lint] selct: unknown key; did you mean 'select'?", "valid keys:"]),
    ('per_file_ignores = {}\n', ["did you mean 'per-file-ignores'?"]),
    ('ignore = ["PF999", "no-such-rule"]\n', ["ignore: 'PF999', 'no-such-rule' are not rules",
                                              "a rule code (PF205), a rule name (no-retry)"]),
    ('select = "PF1"\n', ["select: expected a list of strings, got a string ('PF1')"]),
    ('default-deadline-seconds = "1h"\n', ["default-deadline-seconds: expected a whole number of seconds"]),
    ('force-exclude = 1\n', ["force-exclude: expected true or false, got a number (1)"]),
    ('kubernetes-version = "latest"\n', ["kubernetes-version: expected a version such as \"1.30\""]),
    ('[tool.pipeforge.lint.severity]\nPF205 = "fatal"\n', ["severity.PF205: expected one of error, warning, info"]),
    ('[tool.pipeforge.lint.per-file-ignores]\n"a/*" = "PF205"\n', ["per-file-ignores.'a/*': expected a list"]),
])
def test_configuration_errors_name_the_file_the_key_and_what_is_valid(
        tmp_path: Path, body: str, expected: list[str]) -> None:
    config = pyproject(tmp_path, body)
    with pytest.raises(ConfigError) as raised:
        lint_paths([write(tmp_path / "wf.yaml")])
    assert str(config) in raised.value.message
    for text in expected:
        assert text in raised.value.message


def test_every_problem_of_a_configuration_file_is_reported_at_once(tmp_path: Path) -> None:
    dotfile(tmp_path, 'select = ["PF9"]\nexclude = 3\nbogus = true\n')
    with pytest.raises(ConfigError, match="3 configuration problems") as raised:
        load_config(tmp_path)
    assert all(key in raised.value.message for key in ("[lint] select", "[lint] exclude", "[lint] bogus"))


def test_the_cli_exits_2_with_the_configuration_problem_and_no_traceback(tmp_path: Path) -> None:
    config = dotfile(tmp_path, 'ignore = ["PF999"]\n')
    write(tmp_path / "wf.yaml")
    result = run("lint", ".", cwd=tmp_path)
    assert result.returncode == 2 and result.stdout == "" and "Traceback" not in result.stderr
    assert f"pipeforge: error: {config}: 1 configuration problem" in result.stderr
    assert "[lint] ignore: 'PF999' is not a rule" in result.stderr
    write(tmp_path / ".pipeforge.toml", "[lint\nselect = [")
    broken = run("lint", cwd=tmp_path)
    assert broken.returncode == 2 and "not valid TOML" in broken.stderr and ".pipeforge.toml" in broken.stderr
    write(tmp_path / ".pipeforge.toml", "[harden]\ndeadline = 3\n")
    assert "a .pipeforge.toml holds only a [lint] table" in run("lint", cwd=tmp_path).stderr
    bad = run("lint", "--select", "PF9", "--isolated", cwd=tmp_path)
    assert bad.returncode == 2 and "--select: 'PF9' is not a rule" in bad.stderr
    missing = run("lint", "--config", "nope.toml", cwd=tmp_path)
    assert missing.returncode == 2 and "nope.toml: cannot read: No such file" in missing.stderr
    both = run("lint", "--config", "nope.toml", "--isolated", cwd=tmp_path)
    assert both.returncode == 2 and "--config and --isolated contradict each other" in both.stderr


def test_the_cli_honours_the_configuration_and_shows_the_settings(tmp_path: Path) -> None:
    config = pyproject(tmp_path, 'select = ["PF1", "PF2"]\nignore = ["PF205"]\nkubernetes-version = "1.29"\n'
                       '[tool.pipeforge.lint.per-file-ignores]\n"drafts/" = ["PF103"]\n')
    write(tmp_path / "drafts" / "d.yaml")
    write(tmp_path / "wf.yaml")
    report = json.loads(run("lint", "--format", "json", cwd=tmp_path).stdout)
    assert sorted((f["file"], f["rule"]) for f in report["findings"]) == [("wf.yaml", "PF103")]
    shown = run("lint", "--show-settings", "wf.yaml", cwd=tmp_path)
    assert shown.returncode == 0
    assert f"configuration file: {config}" in shown.stdout and "kubernetes-version: 1.29" in shown.stdout
    assert "PF205" not in shown.stdout.split("rules: ")[1].splitlines()[0]
    assert "drafts/ = PF103" in shown.stdout


def test_selectors_are_case_insensitive_codes_names_prefixes_or_all() -> None:
    assert parse_selector("pf205").codes == parse_selector("PF205").codes == {"PF205"}  # type: ignore[union-attr]
    assert parse_selector("No-Retry") is not None and parse_selector("all") is not None
    assert parse_selector("PF") is not None and parse_selector("P") is None and parse_selector("") is None
    assert parse_selector("E501") is None and parse_selector("PF9") is None


def test_the_documented_example_configuration_is_valid_and_means_what_its_comments_say(tmp_path: Path) -> None:
    readme = (ROOT / "docs" / "lint.md").read_text(encoding="utf-8")
    block = readme.split("```toml\n[tool.pipeforge.lint]\n", 1)[1].split("```", 1)[0]
    config = load_config(pyproject(tmp_path, block).parent)
    assert config.force_exclude and config.default_deadline_seconds == 1800 and config.kubernetes_version == "1.30"
    assert config.severity["PF501"] == "error" and config.severity["PF502"] == "info"
    assert "PF507" not in config.enabled_rules() and "PF205" not in config.enabled_rules()
    assert "PF103" not in config.rules_for(tmp_path / "drafts" / "x" / "a.yaml")
    assert "PF504" in config.rules_for(tmp_path / "prod" / "a.yaml")
    assert "PF504" not in config.rules_for(tmp_path / "dev" / "a.yaml")
    assert config.is_excluded(tmp_path / "a" / "b.generated.yaml") and config.is_excluded(tmp_path / "vendor" / "x")


def test_the_help_example_configuration_is_valid(tmp_path: Path) -> None:
    help_text = run("lint", "--help").stdout
    block = help_text.split("  [tool.pipeforge.lint]\n", 1)[1].split("\n\n", 1)[0]
    body = "\n".join(line.removeprefix("  ") for line in block.splitlines()) + "\n"
    config = load_config(pyproject(tmp_path, body).parent)
    assert config.severity == {"PF205": "error"} and "PF507" not in config.enabled_rules()
    assert "PF103" not in config.rules_for(tmp_path / "drafts" / "a.yaml")


def test_the_configured_kubernetes_version_is_the_one_resource_manifests_are_checked_against(tmp_path: Path) -> None:
    dotfile(tmp_path, 'select = ["PF010"]\nkubernetes-version = "1.29"\n')
    path = write(tmp_path / "wf.yaml", MINI.replace("""    container:
      image: alpine/k8s:1.29.0
      command: [sh, -c, ./process.sh]
""", """    resource:
      action: create
      manifest: |
        apiVersion: v1
        kind: PersistentVolumeClaim
        metadata: {name: scratch}
        spec:
          accesModes: [ReadWriteOnce]
"""))
    [finding] = lint_paths([path]).findings
    assert finding.rule == "PF010" and "accesModes" in finding.message and "Kubernetes 1.29" in finding.message
    [isolated] = lint_paths([path], isolated=True, select=["PF010"]).findings
    assert "Kubernetes 1.29" not in isolated.message
