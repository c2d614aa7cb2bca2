"""Parameters can never change the structure of a generated manifest.

For every free-text and constrained parameter, 2,000 generated values each: a value is either refused
(InvalidParametersError naming the field) or appears verbatim as one scalar, and the manifest's shape
(every key and list length) is the shape the defaults give. No value smuggles in an Argo expression.
"""

from __future__ import annotations

import operator
import re
import string
from functools import cache
from typing import Any

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from generator.errors import InvalidParametersError
from generator.params import validate
from generator.render import render
from generator.scaffold import MANIFEST_FILE, build
from generator.template_spec import TemplateSpec, find_template
from generator.yamlio import load_documents
from tests.hypokit import examples, measured_first

EXAMPLES = 2000
MEASURED = 200  # examples of each test that coverage traces (see measured_first)

#: (template, parameter, where the value must appear verbatim in the manifest)
STRING_PARAMETERS = [
    ("provision-process-publish", "description", ("metadata", "annotations", "workflows.argoproj.io/description")),
    ("provision-process-publish", "pipeline_name", ("metadata", "name")),
    ("provision-process-publish", "namespace", ("metadata", "namespace")),
    ("provision-process-publish", "service_account", ("spec", "serviceAccountName")),
    ("provision-process-publish", "image", ("spec", "templates", 2, "container", "image")),
    ("provision-process-publish", "input_uri", ("spec", "arguments", "parameters", 1, "value")),
    ("provision-process-publish", "output_uri", ("spec", "arguments", "parameters", 2, "value")),
    ("provision-process-publish", "scratch_size", None),
    ("saga-compensation", "step_2", ("spec", "templates", 0, "steps", 1, 0, "name")),
    ("approval-gated-delete", "target_kind", ("spec", "templates", 1, "container", "args", 1)),
    ("approval-gated-delete", "target_name", ("spec", "templates", 1, "container", "args", 2)),
    ("approval-gated-delete", "target_api_version", None),
]
INTEGER_PARAMETERS = [
    ("provision-process-publish", "retry_limit"),
    ("provision-process-publish", "step_deadline_seconds"),
    ("provision-process-publish", "workflow_deadline_seconds"),
    ("saga-compensation", "compensation_retry_limit"),
]

# Text that tries hard: YAML syntax, quotes, new lines, Argo expressions, and plausible valid values.
_nasty = st.sampled_from([
    "{{workflow.name}}", "{{=sprig.env('X')}}", "}}", "{{", "\n", "\r\n", ": ", "- ", "#", "&a", "*a", "!!python",
    "'", '"', "\\", "\t", "---", "...", "|", ">", "%", "@", "`", "\u2028", "\x85", "\ufeff", "\x00", "\x1b",
    "default", "latest", ":latest", "@sha256:" + "0" * 64, "a", "-", ".", "/", "Gi", "v1", "apps/", "YES", "no",
])
# A DNS label of at most 22 characters: what st.from_regex(r"[a-z0-9]([-a-z0-9]{0,20}[a-z0-9])?") draws,
# without the cost of a regex strategy (an eighth of each example's time).
_ALNUM = string.ascii_lowercase + string.digits
_label = st.builds(operator.add, st.sampled_from(_ALNUM), st.one_of(
    st.just(""), st.builds(operator.add, st.text(alphabet=_ALNUM + "-", max_size=20), st.sampled_from(_ALNUM))))
_text = st.one_of(
    st.text(max_size=80),
    st.lists(st.one_of(_nasty, st.text(alphabet="abcz09-./:", max_size=8)), max_size=8).map("".join),
    _label,
)


def shape(node: Any) -> Any:
    if isinstance(node, dict):
        return {k: shape(v) for k, v in node.items()}
    if isinstance(node, list):
        return [shape(v) for v in node]
    return type(node).__name__ if not isinstance(node, str) else "str"


@cache
def baseline(template: str) -> Any:
    return shape(load_documents(build(find_template(template), {}).rendered[MANIFEST_FILE])[0])


@cache
def _template(name: str) -> TemplateSpec:
    """Looked up once: finding a template by name scans the search path, and is not what is tested here."""
    return find_template(name)


def dig(node: Any, path: tuple[Any, ...]) -> Any:
    for key in path:
        node = node[key]
    return node


def render_or_refuse(template: str, name: str, value: Any) -> Any:
    """The manifest one value renders, parsed; None when the value is refused, naming only its field.
    Validation and rendering are what a value goes through (``build`` adds the checks, the failure-mode
    table and the answers file, the same for every value), so each example costs one render and one parse."""
    spec = _template(template)
    try:
        values = validate(spec, {name: value})
    except InvalidParametersError as exc:
        assert [p.field for p in exc.problems] == [name]
        return None
    _, files = render(spec, values)
    (doc,) = load_documents(next(f.content for f in files if f.path == MANIFEST_FILE))
    return doc


_settings = settings(max_examples=examples(EXAMPLES), deadline=None, suppress_health_check=list(HealthCheck),
                     database=None)


@pytest.mark.parametrize(("template", "name", "path"), STRING_PARAMETERS)
def test_string_parameter_is_verbatim_or_refused(template: str, name: str, path: tuple[Any, ...] | None) -> None:
    @_settings
    @given(value=_text)
    def check(value: str) -> None:
        example_started()
        doc = render_or_refuse(template, name, value)
        if doc is None:
            return
        assert "{{" not in value and "}}" not in value
        assert shape(doc) == baseline(template)
        if path is not None:
            assert dig(doc, path) == value

    with measured_first(MEASURED) as example_started:
        check()


@pytest.mark.parametrize(("template", "name"), INTEGER_PARAMETERS)
def test_integer_parameter_is_in_range_or_refused(template: str, name: str) -> None:
    spec = find_template(template).parameter(name)
    assert spec is not None

    @_settings
    @given(value=st.one_of(st.integers(min_value=-(10**12), max_value=10**12), _text))
    @example(value="1\x1f")  # found by hypothesis: str.strip() took the control character for a blank
    @example(value="1_0")
    @example(value="\u0663")  # ARABIC-INDIC DIGIT THREE: int() takes it, a YAML reader would not
    @example(value=" 3 ")
    def check(value: Any) -> None:
        example_started()
        doc = render_or_refuse(template, name, value if isinstance(value, str) else str(value))
        if doc is None:
            return
        assert re.fullmatch(r"[+-]?[0-9]+", str(value).strip(" \t\r\n"))  # ASCII digits, ASCII blanks around
        assert spec.schema["minimum"] <= int(value) <= spec.schema["maximum"]
        assert shape(doc) == baseline(template)

    with measured_first(MEASURED) as example_started:
        check()
