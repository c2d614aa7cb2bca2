"""An answers file in a delivered GitOps repository is untrusted: the upgrade reads it within limits and
every value it echoes in an error is bounded, whatever the file holds."""

from __future__ import annotations

from pathlib import Path

import pytest

from generator.errors import (
    MAX_ECHOED_CHARS,
    MAX_LISTED_PROBLEMS,
    InvalidParametersError,
    ParameterProblem,
    YamlLimitError,
)
from generator.upgrade import ANSWERS_SIZE, MAX_ANSWERS_BYTES, Answers
from generator.yamlio import load_documents
from tests.generator.gitops import test_pr_upgrade
from tests.generator.gitops.test_pr_upgrade import TARGET, TEMPLATE, upgrade
from tests.gitserver import GitServer, commit, run

catalog = test_pr_upgrade.catalog  # the fixtures of the upgrade tests: saga-compensation 1.0.0 delivered
deployed = test_pr_upgrade.deployed

ANSWERS = ".pipeforge-answers.yaml"


def plant_answers(work: Path, text: str) -> None:
    (work / TARGET / ANSWERS).write_text(text, encoding="utf-8")
    run("git", "-C", str(work), "add", "-A")
    commit(work, "someone edits the answers")
    run("git", "-C", str(work), "push", "--quiet", "origin", "main")


def answers_with(parameters: str) -> str:
    return f"template: {TEMPLATE}\nversion: 1.0.0\nparameters:\n{parameters}"


def laughs_under(key: str, levels: int, fanout: int) -> str:
    """``key`` set to the last of ``levels`` anchors, each ``fanout`` aliases of the one before."""
    anchors = ["  x-l0: &l0 [lol]"]
    anchors += [f"  x-l{i}: &l{i} [{', '.join([f'*l{i - 1}'] * fanout)}]" for i in range(1, levels + 1)]
    return "\n".join(anchors) + f"\n  {key}: *l{levels}\n"


def test_an_answers_alias_bomb_is_refused_by_the_upgrade_naming_the_limit(
        git_server: GitServer, deployed: Path, capsys: pytest.CaptureFixture[str]) -> None:
    plant_answers(deployed, answers_with(laughs_under("namespace", 8, 12)))
    code, _ = upgrade(git_server, "--to", "1.1.0")
    err = capsys.readouterr().err
    assert code == 2 and "MAX_ALIAS_NODES" in err and ANSWERS in err
    assert len(err) < 2_000


def test_a_large_value_just_under_the_alias_cap_is_echoed_bounded(
        git_server: GitServer, deployed: Path, capsys: pytest.CaptureFixture[str]) -> None:
    plant_answers(deployed, answers_with(laughs_under("namespace", 4, 9)))  # 7,380 nodes: read, then refused
    code, _ = upgrade(git_server, "--to", "1.1.0")
    err = capsys.readouterr().err
    assert code == 2 and "namespace=" in err
    assert len(err) < 8_000


def test_thousands_of_unknown_parameters_list_a_bounded_few(
        git_server: GitServer, deployed: Path, capsys: pytest.CaptureFixture[str]) -> None:
    names = "".join(f"  unknown_{i:05d}_{'p' * 30}: {'v' * 30}\n" for i in range(3000))
    plant_answers(deployed, answers_with(names))
    code, _ = upgrade(git_server, "--to", "1.1.0")
    err = capsys.readouterr().err
    assert code == 2 and f"and {3000 - MAX_LISTED_PROBLEMS} more" in err
    assert len(err) < 30_000


def test_an_oversized_answers_file_is_refused_by_size() -> None:
    text = answers_with("  namespace: '" + "n" * MAX_ANSWERS_BYTES + "'\n")
    with pytest.raises(YamlLimitError, match="MAX_ANSWERS_BYTES"):
        load_documents(text, file=ANSWERS, limit=ANSWERS_SIZE)


def test_a_huge_template_name_is_refused_without_echoing_it_whole() -> None:
    docs = load_documents(f"template: {'t' * 100_000}\nversion: 1.0.0\n")
    with pytest.raises(Exception, match="at most 200") as info:
        Answers.parse(docs, ANSWERS)
    assert len(str(info.value)) < 1_000


def test_parameter_problems_echo_at_most_a_bounded_repr() -> None:
    value = {"deep": [["x" * 10_000] * 1000] * 1000}
    problem = ParameterProblem("f" * 5_000, value, "must be a string")
    text = str(problem)
    assert len(text) <= 3 * MAX_ECHOED_CHARS + len(": must be a string") and text.endswith("must be a string")
    error = InvalidParametersError([problem] * 500)
    assert len(error.message) < 60 * 3 * MAX_ECHOED_CHARS and "and 450 more" in error.message


def test_an_oversized_answers_blob_is_refused_before_it_is_read(
        git_server: GitServer, deployed: Path, capsys: pytest.CaptureFixture[str]) -> None:
    plant_answers(deployed, answers_with("  namespace: '" + "n" * (MAX_ANSWERS_BYTES + 10) + "'\n"))
    code, _ = upgrade(git_server, "--to", "1.1.0")
    err = capsys.readouterr().err
    assert code == 2 and "MAX_ANSWERS_BYTES" in err and len(err) < 1_000
