from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from generator.errors import ManifestError, YamlLimitError
from generator.lint import lint_file
from generator.yamlevents import _Unsupported, read_events
from generator.yamlio import LineDict, LineList, _node_documents, load_documents, read_documents


def test_lines_of_mappings_keys_and_items_are_one_based() -> None:
    docs = load_documents("a: 1\nb:\n  - x\n  - y: 2\n---\nc: 3\n")
    first, second = docs
    assert isinstance(first, LineDict) and first.line == 1
    assert first.line_of("b") == 2
    assert isinstance(first["b"], LineList)
    assert first["b"].line_of(1) == 4
    assert second.line_of("c") == 6


def test_scalars_resolve_like_kubernetes_yaml_1_1() -> None:
    (doc,) = load_documents("a: yes\nb: 'yes'\nc: 10\nd: ~\ne: 1.5\nf: 2026-11-24\n")
    assert doc == {"a": True, "b": "yes", "c": 10, "d": None, "e": 1.5, "f": "2026-11-24"}


def test_malformed_yaml_is_an_error_with_its_line_not_a_traceback() -> None:
    with pytest.raises(ManifestError) as info:
        load_documents("a: 1\nb: [unclosed\nc: 2\n", file="broken.yaml")
    assert info.value.file == "broken.yaml"
    assert info.value.line is not None and info.value.line >= 2
    assert "broken.yaml:" in info.value.message


def test_duplicate_keys_are_recorded() -> None:
    (doc,) = load_documents("a: 1\na: 2\n")
    assert doc["a"] == 2
    assert doc.duplicate_keys == [("a", 2)]


def test_anchors_and_merge_keys_are_expanded() -> None:
    (doc,) = load_documents("base: &b {x: 1}\nchild:\n  <<: *b\n  y: 2\n")
    assert doc["child"] == {"x": 1, "y": 2}


def test_unreadable_and_non_utf8_files_are_manifest_errors(tmp_path: Path) -> None:
    with pytest.raises(ManifestError, match="cannot read"):
        read_documents(tmp_path / "missing.yaml")
    binary = tmp_path / "latin1.yaml"
    binary.write_bytes(b"a: \xe9\n")
    with pytest.raises(ManifestError, match="not UTF-8"):
        read_documents(binary)


# ---------------------------------------------------------------- the event builder against the node builder


def _shape(value: object) -> object:
    """Everything a reader of the documents can see: values, types, every line, duplicate keys."""
    if isinstance(value, LineDict):
        return ("map", value.line, [(k, value.line_of(k), _shape(v)) for k, v in value.items()], value.duplicate_keys)
    if isinstance(value, LineList):
        return ("seq", value.line, [(value.line_of(i), _shape(v)) for i, v in enumerate(value)])
    return (type(value).__name__, value)


def _by_nodes(text: str) -> list[object]:
    return [_shape(doc) for doc in _node_documents(text, "<string>")]


SHAPES = {
    "scalars": "a: yes\nb: 'yes'\nc: 0x1f\nd: ~\ne: 1.5\nf: 2026-11-24\ng: !!str 10\nh: !!int '7'\ni: ! 12\nj: =\n",
    "lines": "a:\n  - x\n  -\n    y: 2\n  - [1, {z: 3}]\nb: |\n  text\n  more\nc: >-\n  folded\n",
    "duplicates": "a: 1\nb: 2\na: 3\n1: x\n'1': y\ntrue: t\nTrue: u\n",
    "aliases": "base: &b {x: 1, y: [2, 3]}\nuse: *b\nlist: [*b, *b]\ns: &s word\nt: *s\n*s : key\n",
    "long scalar aliases": "s: &s '" + "x" * 300 + "'\nt: [*s, *s]\n",
    "complex keys": "? [a, b]\n: 1\n? {c: d}\n: 2\n",
    "documents": "a: 1\n---\n---\n- b\n...\n--- !tagged\nc: &a 3\nd: *a\n",
    "empty": "",
    "comment only": "# nothing\n",
    "flow and nesting": "{a: [b, {c: [d, [e]]}], f: {}}\n",
}


@pytest.mark.parametrize("name", sorted(SHAPES))
def test_the_event_builder_reads_what_the_node_builder_reads(name: str) -> None:
    text = SHAPES[name]
    assert [_shape(doc) for doc in read_events(text)] == _by_nodes(text)  # read_events raising fails too
    assert [_shape(doc) for doc in load_documents(text)] == _by_nodes(text)


def test_an_aliased_value_is_shared_as_the_node_builder_shares_it() -> None:
    (doc,) = read_events("base: &b {x: 1}\nuse: *b\n")
    assert doc["use"] is doc["base"]


FALLBACKS = {
    "merge key": "base: &b {x: 1, y: 2}\nchild:\n  <<: *b\n  y: 3\n",
    "explicit merge tag": "base: &b {x: 1}\nchild: {!!merge a: *b}\n",
    "malformed": "a: [unclosed\nb: 2\n",
    "undefined alias": "a: *nope\n",
    "duplicate anchor": "a: &x 1\nb: &x 2\n",
    "recursive alias": "a: &r [1, *r]\n",
    "too deep": "[" * 150 + "]" * 150,
    "bad tagged scalar": "a: !!int twelve\n",
}


@pytest.mark.parametrize("name", sorted(FALLBACKS))
def test_what_the_event_builder_leaves_alone_is_read_by_the_node_builder(name: str) -> None:
    text = FALLBACKS[name]
    with pytest.raises(_Unsupported):
        read_events(text)
    try:
        expected: object = _by_nodes(text)
    except Exception as exc:  # the node builder's error is what load_documents must raise
        with pytest.raises(type(exc)) as info:
            load_documents(text)
        assert str(info.value) == str(exc)
    else:
        assert [_shape(doc) for doc in load_documents(text)] == expected


def test_an_alias_bomb_stops_the_event_builder_where_the_node_builder_stops() -> None:
    def laughs(fanout: int) -> str:
        return 'l0: &l0 "lol"\n' + "".join(f"l{i}: &l{i} [{', '.join([f'*l{i - 1}'] * fanout)}]\n" for i in range(1, 6))

    # five levels of fan-out 9 stand for about 66,000 nodes, of fan-out 11 for about 177,000
    assert [_shape(doc) for doc in read_events(laughs(9))] == _by_nodes(laughs(9))
    with pytest.raises(_Unsupported):
        read_events(laughs(11))
    with pytest.raises(YamlLimitError, match="MAX_ALIAS_NODES"):
        load_documents(laughs(11))


_text = st.text(alphabet="ab1 -:&*[]{},\n'!<>|", max_size=50)


@settings(max_examples=300, deadline=None)
@given(_text)
def test_on_any_text_the_event_builder_agrees_with_the_node_builder_or_leaves_it(text: str) -> None:
    try:
        ours = [_shape(doc) for doc in read_events(text)]
    except _Unsupported:
        return
    assert ours == _by_nodes(text)


_leaf = st.one_of(st.integers(), st.floats(allow_nan=False), st.booleans(), st.none(),
                  st.text(alphabet="ab: -#'\n\"yesno1.~", max_size=12))
_data = st.recursive(_leaf, lambda kids: st.one_of(st.lists(kids, max_size=4),
                                                   st.dictionaries(st.text(alphabet="abk1", max_size=4), kids,
                                                                   max_size=4)), max_leaves=20)


@settings(max_examples=200, deadline=None)
@given(_data, st.sampled_from([False, True, None]))
def test_on_dumped_data_the_event_builder_reads_every_line_as_the_node_builder(data: object, flow: bool | None) -> None:
    text = yaml.safe_dump({"top": data, "again": [data]}, default_flow_style=flow)
    assert [_shape(doc) for doc in read_events(text)] == _by_nodes(text)


_bad_scalar = st.sampled_from(["int", "float", "bool"]).flatmap(
    lambda tag: st.tuples(st.just(tag), st.text(alphabet="abcmy-_:.x0", max_size=6).filter(
        lambda text: not _constructs(tag, text))))


def _constructs(tag: str, text: str) -> bool:
    try:
        yaml.safe_load(f"!!{tag} '{text}'")
    except (ValueError, KeyError, IndexError):
        return False
    return True


@settings(max_examples=100, deadline=None)
@given(_bad_scalar)
def test_a_value_its_tag_cannot_read_is_malformed_yaml_at_its_line(case: tuple[str, str]) -> None:
    tag, text = case
    with pytest.raises(ManifestError) as info:
        load_documents(f"a: 1\nb: !!{tag} '{text}'\n", file="bad.yaml")
    assert (info.value.file, info.value.line) == ("bad.yaml", 2)
    assert f"is not a valid !!{tag}" in info.value.message


@pytest.mark.parametrize("text", ["a: !!int abc\n", "a: !!bool maybe\n", "a: !!float ''\n", "a: " + "9" * 5000 + "\n"])
def test_lint_reports_an_unreadable_scalar_as_a_yaml_error_not_a_traceback(tmp_path: Path, text: str) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(text)
    (finding,) = lint_file(path)
    assert (finding.rule, finding.line) == ("PF001", 1)
    assert "is not a valid" in finding.message
