"""Reading untrusted YAML is bounded: size, depth, recursive aliases, alias and merge-key expansion."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from generator.errors import ManifestError, YamlLimitError
from generator.harden import harden_text
from generator.lint import lint_text
from generator.yamlio import (
    MAX_ALIAS_NODES,
    MAX_YAML_BYTES,
    MAX_YAML_DEPTH,
    check_limits,
    load_documents,
    read_documents,
)
from tests.conftest import SHARED
from tests.hypokit import examples

WORKFLOW_HEAD = "apiVersion: argoproj.io/v1alpha1\nkind: Workflow\nmetadata: {name: w}\nspec:\n  entrypoint: main\n"


def laughs(levels: int, fanout: int) -> str:
    """The billion-laughs shape: each anchor a list of ``fanout`` aliases of the previous one."""
    lines = ['l0: &l0 "lol"']
    lines += [f"l{i}: &l{i} [{', '.join([f'*l{i - 1}'] * fanout)}]" for i in range(1, levels + 1)]
    return "\n".join(lines) + "\n"


def workflow_with(arguments: str) -> str:
    """A small Workflow whose spec.arguments is the given YAML (indented under it)."""
    body = "\n".join("    " + line for line in arguments.splitlines())
    return (WORKFLOW_HEAD + "  arguments:\n" + body + "\n  templates:\n    - name: main\n"
            "      container: {image: alpine:3.20, command: [true]}\n")


def limit_of(text: str) -> YamlLimitError:
    with pytest.raises(YamlLimitError) as info:
        load_documents(text, file="bomb.yaml")
    assert "Traceback" not in info.value.message
    return info.value


# ---------------------------------------------------------------- the limits, one payload each


def test_a_recursive_sequence_alias_is_refused_not_walked_forever() -> None:
    error = limit_of("spec: &loop\n  - item\n  - *loop\n")
    assert error.limit == "recursive alias" and error.line == 1  # the anchor


def test_a_recursive_mapping_alias_deep_inside_is_refused() -> None:
    assert limit_of("a:\n  b: &node\n    c:\n      d: [1, {e: *node}]\n").limit == "recursive alias"


def test_a_mapping_merging_itself_is_refused() -> None:
    assert limit_of("x: &self {k: v, <<: *self}\n").limit == "recursive alias"


def test_billion_laughs_is_refused_by_the_alias_cap_quickly() -> None:
    error = limit_of(laughs(9, 9))
    assert error.limit == "MAX_ALIAS_NODES" and f"{MAX_ALIAS_NODES:,}" in error.message


def test_a_wide_alias_fan_out_is_refused() -> None:
    block = "{" + ", ".join(f"k{i}: v" for i in range(500)) + "}"
    text = f"base: &b {block}\nmany: [{', '.join(['*b'] * 400)}]\n"
    assert limit_of(text).limit == "MAX_ALIAS_NODES"


def test_one_long_scalar_aliased_many_times_counts_by_its_length() -> None:
    text = "s: &s '" + "x" * 200_000 + "'\nt: [" + ", ".join(["*s"] * 100) + "]\n"
    assert limit_of(text).limit == "MAX_ALIAS_NODES"


def test_a_large_mapping_merged_into_many_mappings_is_refused() -> None:
    block = "{" + ", ".join(f"k{i}: {i}" for i in range(1000)) + "}"
    text = f"base: &b {block}\nuses: [{', '.join(['{<<: *b}'] * 200)}]\n"
    assert limit_of(text).limit == "MAX_ALIAS_NODES"


def test_chained_merges_that_repeat_keys_are_counted_as_pyyaml_keeps_them() -> None:
    text = "a0: &a0 {x: 1, y: 2}\n" + "".join(f"a{i}: &a{i} {{<<: [*a{i - 1}, *a{i - 1}]}}\n" for i in range(1, 40))
    (doc,) = load_documents(text)
    assert doc["a39"] == {"x": 1, "y": 2}


def test_deep_flow_nesting_is_refused_with_the_depth_limit() -> None:
    error = limit_of("[" * 500 + "]" * 500)
    assert error.limit == "MAX_YAML_DEPTH" and str(MAX_YAML_DEPTH) in error.message


def test_deep_block_nesting_is_refused_with_its_line() -> None:
    text = "".join("  " * i + f"k{i}:\n" for i in range(300)) + "  " * 300 + "end\n"
    error = limit_of(text)
    assert error.limit == "MAX_YAML_DEPTH" and error.line == MAX_YAML_DEPTH + 1


def test_nesting_at_the_depth_limit_is_read() -> None:
    depth = MAX_YAML_DEPTH
    assert load_documents("[" * depth + "]" * depth)


def test_an_oversized_stream_is_refused_before_it_is_parsed() -> None:
    error = limit_of("a: '" + "x" * MAX_YAML_BYTES + "'\n")
    assert error.limit == "MAX_YAML_BYTES"


def test_an_oversized_file_is_refused_by_its_size_on_disk(tmp_path: Path) -> None:
    big = tmp_path / "big.yaml"
    with big.open("wb") as handle:
        handle.truncate(MAX_YAML_BYTES + 1)
    with pytest.raises(YamlLimitError, match="MAX_YAML_BYTES"):
        read_documents(big)


def test_harden_checks_the_limits_before_ruamel_reads() -> None:
    with pytest.raises(YamlLimitError, match="recursive alias"):
        harden_text(WORKFLOW_HEAD + "  templates: &t\n    - *t\n")
    with pytest.raises(YamlLimitError, match="MAX_YAML_DEPTH"):
        harden_text(workflow_with("parameters: " + "[" * 400 + "]" * 400))


def test_lint_refuses_a_bomb_instead_of_reporting_a_finding() -> None:
    with pytest.raises(YamlLimitError, match="MAX_ALIAS_NODES"):
        lint_text(workflow_with(laughs(7, 10)))


def test_limit_errors_are_manifest_errors_with_the_file() -> None:
    with pytest.raises(ManifestError) as info:
        check_limits("a: &a [*a]\n", file="given.yaml")
    assert info.value.message.startswith("given.yaml:1:")


# ---------------------------------------------------------------- generous enough for real manifests


def _corpus() -> list[Path]:
    roots = [SHARED / "argo" / "examples", SHARED / "realworld"]
    return sorted(p for root in roots if root.is_dir() for p in root.rglob("*") if p.suffix in (".yaml", ".yml"))


@pytest.mark.corpus
@pytest.mark.skipif(not _corpus(), reason="needs ../shared (Argo's examples and the real-world corpus)")
def test_every_example_and_real_world_manifest_is_within_the_limits() -> None:
    refused = []
    for path in _corpus():
        try:
            read_documents(path)
        except YamlLimitError as exc:
            refused.append(exc.message)
        except ManifestError:
            pass  # malformed files are another matter; only the limits are under test
    assert refused == []


# ---------------------------------------------------------------- same answer as PyYAML, or the limit

_key = st.text(alphabet="abcdefgh", min_size=1, max_size=4).map(lambda s: "k" + s)
_scalar = st.one_of(st.integers(-10**6, 10**6), st.booleans(), st.none(),
                    st.text(alphabet="xyz -_", max_size=8).map(lambda s: "s" + s))


@st.composite
def _shared_data(draw: st.DrawFn) -> object:
    """Data whose parts are shared, so that dumping it writes anchors and aliases (bombs included)."""
    leaf = draw(st.recursive(_scalar, lambda kids: st.one_of(st.lists(kids, max_size=3),
                                                              st.dictionaries(_key, kids, max_size=3)),
                             max_leaves=6))
    node: object = leaf
    for _ in range(draw(st.integers(0, 8))):
        fanout = draw(st.integers(1, 12))
        node = [node] * fanout if draw(st.booleans()) else {f"k{i}": node for i in range(fanout)}
    return {"top": node, "again": node}


def _expanded(value: object, memo: dict[int, int] | None = None) -> int:
    """How many nodes the data has written out in full (shared parts counted each time, computed once)."""
    memo = {} if memo is None else memo
    if id(value) not in memo:
        if isinstance(value, list):
            memo[id(value)] = 1 + sum(_expanded(v, memo) for v in value)
        elif isinstance(value, dict):
            memo[id(value)] = 1 + sum(1 + _expanded(v, memo) for v in value.values())
        else:
            return 1
    return memo[id(value)]


@settings(max_examples=examples(150), deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_shared_data())
def test_the_bounded_loader_agrees_with_pyyaml_or_names_the_limit(data: object) -> None:
    text = yaml.safe_dump(data)
    try:
        (ours,) = load_documents(text)
    except YamlLimitError as exc:
        assert exc.limit == "MAX_ALIAS_NODES"
        assert _expanded(data) > MAX_ALIAS_NODES
        return
    assert ours == yaml.safe_load(text)


@settings(max_examples=examples(150), deadline=None)
@given(st.text(alphabet="[]{}:,-&*ab \n<", max_size=60))
def test_arbitrary_text_is_read_as_pyyaml_reads_it_or_refused(text: str) -> None:
    try:
        expected = list(yaml.safe_load_all(text))
    except (yaml.YAMLError, RecursionError, TypeError):
        expected = None  # PyYAML refuses it (or its constructor breaks on it): we must refuse it too
    try:
        ours = load_documents(text)
    except ManifestError:
        return
    if expected is not None:
        assert ours == [_str_keys(doc) for doc in expected]


def _str_keys(value: object) -> object:
    """Our mappings have string keys (as Kubernetes' JSON does): PyYAML's result, keys made strings."""
    if isinstance(value, dict):
        return {str(k): _str_keys(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_str_keys(v) for v in value]
    return value


# ---------------------------------------------------------------- through the command line

BOMBS = {
    "lint": WORKFLOW_HEAD + "  templates: &self\n    - name: main\n      steps: *self\n",
    "explain": workflow_with(laughs(9, 9)),
    "simulate": workflow_with("parameters: [{name: p, value: " + "[" * 600 + "]" * 600 + "}]"),
    "harden": workflow_with("".join("  " * i + f"n{i}:\n" for i in range(400)) + "  " * 400 + "leaf"),
}
LIMITS = {"lint": "recursive alias", "explain": "MAX_ALIAS_NODES", "simulate": "MAX_YAML_DEPTH",
          "harden": "MAX_YAML_DEPTH"}


@pytest.mark.parametrize("command", sorted(BOMBS))
def test_each_command_refuses_its_bomb_with_exit_2_and_the_limit(command: str, tmp_path: Path) -> None:
    path = tmp_path / f"{command}.yaml"
    path.write_text(BOMBS[command], encoding="utf-8")
    result = subprocess.run([sys.executable, "-m", "generator", command, str(path)], capture_output=True,
                            text=True, timeout=120, env=os.environ.copy(), stdin=subprocess.DEVNULL, check=False)
    assert result.returncode == 2, result.stderr
    assert LIMITS[command] in result.stderr and str(path) in result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize("depth", [MAX_YAML_DEPTH + 1, 20_000])
def test_deep_json_in_resume_values_is_refused_naming_the_limit(depth: int) -> None:
    from generator.sim.faults import parse_resume

    with pytest.raises(ValueError, match="MAX_YAML_DEPTH"):
        parse_resume('gate:{"msg": ' + "[" * depth + "]" * depth + "}")


def test_simulate_refuses_deep_resume_json_with_exit_2_not_a_traceback(tmp_path: Path) -> None:
    path = tmp_path / "w.yaml"
    path.write_text(workflow_with("parameters: [{name: p, value: v}]"), encoding="utf-8")
    resume = 'approve:{"msg": ' + "[" * 20_000 + "]" * 20_000 + "}"
    result = subprocess.run([sys.executable, "-m", "generator", "simulate", str(path), "--resume", resume],
                            capture_output=True, text=True, timeout=120, env=os.environ.copy(),
                            stdin=subprocess.DEVNULL, check=False)
    assert result.returncode == 2, result.stderr[-2000:]
    assert "MAX_YAML_DEPTH" in result.stderr and "Traceback" not in result.stderr
