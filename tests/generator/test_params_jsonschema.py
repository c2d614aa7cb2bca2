"""Parameter values are checked against their JSON Schema (draft 2020-12, through jsonschema) for every
keyword a form can show, patterns match the whole value, and every problem is reported at once."""

from __future__ import annotations

import re
import shutil
from pathlib import Path
from typing import Any

import pytest

from catalog.publication import prepare_folder
from generator.errors import InvalidParametersError, TemplateDefinitionError
from generator.params import check_value, validate
from generator.template_spec import ParameterSpec, TemplateSpec, find_template, load_template


def rule(schema: dict[str, Any], value: Any) -> str | None:
    return check_value(ParameterSpec("p", schema, True), value)


@pytest.mark.parametrize(("schema", "good", "bad", "said"), [
    ({"const": "prod"}, "prod", "dev", "must be 'prod'"),
    ({"enum": ["a", "b"]}, "b", "c", "must be one of a, b"),
    ({"type": "integer", "multipleOf": 5}, 15, 12, "must be a multiple of 5"),
    ({"type": "number", "multipleOf": 0.5}, 1.5, 1.2, "must be a multiple of 0.5"),
    ({"type": "integer", "minimum": 1, "maximum": 9}, 9, 10, "must be between 1 and 9"),
    ({"type": "integer", "minimum": 1}, 1, 0, "must be at least 1"),
    ({"type": "integer", "exclusiveMinimum": 0}, 1, 0, "must be more than 0"),
    ({"type": "integer", "exclusiveMaximum": 10}, 9, 10, "must be less than 10"),
    ({"type": "string", "minLength": 3}, "abc", "ab", "must be at least 3 characters long"),
    ({"type": "string", "minLength": 1}, "a", "", "must not be empty"),
    ({"type": "string", "maxLength": 2}, "ab", "abc", "must be at most 2 characters long (it has 3)"),
    ({"type": "string", "pattern": "[a-z]+"}, "abc", "abc1", "must be text matching [a-z]+"),
    ({"type": "string", "pattern": "[a-z]+", "x-rule": "lowercase letters"}, "x", "X", "must be lowercase letters"),
    ({"type": "number"}, 2.5, "2.5x", "must be a number"),
    ({"type": "integer"}, 3, 3.5, "must be a whole number"),
    ({"type": "integer"}, 3, True, "must be a whole number"),
    ({"type": "boolean"}, False, "no", "must be true or false"),
    ({"type": "string"}, "x", 3, "must be text"),
    ({"type": "array", "items": {"type": "string"}}, ["a"], "a", "must be a list"),
    ({"type": "object"}, {"k": "v"}, ["k"], "must be a mapping"),
])
def test_each_keyword_accepts_good_values_and_names_the_rule_for_bad_ones(
        schema: dict[str, Any], good: Any, bad: Any, said: str) -> None:
    assert rule(schema, good) is None
    assert rule(schema, bad) == said


def test_pattern_must_match_the_whole_value_not_a_part_of_it() -> None:
    assert rule({"type": "string", "pattern": "[0-9]+"}, "abc123") == "must be text matching [0-9]+"
    assert rule({"type": "string", "pattern": "^[0-9]+"}, "123abc") is not None


def test_every_rule_one_value_breaks_is_said_together() -> None:
    said = rule({"type": "integer", "minimum": 10, "multipleOf": 4}, 6)
    assert said == "must be at least 10; must be a multiple of 4"


def test_universal_text_rules_still_come_first() -> None:
    assert rule({"type": "string", "maxLength": 3}, "{{x}}") == \
        "must not contain '{{' or '}}': Argo would evaluate it as an expression"


def test_item_rules_inside_a_list_name_the_position() -> None:
    said = rule({"type": "array", "items": {"type": "integer"}}, [1, "two"])
    assert said is not None and said.startswith("1: ")


def _template(tmp_path: Path, extra: dict[str, Any]) -> TemplateSpec:
    base = find_template("saga-compensation")
    schema = dict(base.schema)
    schema["properties"] = {**schema["properties"], **extra}
    return TemplateSpec(path=tmp_path, name="t", version="1.0.0", summary="s", tags=(),
                        parameters=tuple(ParameterSpec(k, v, k in schema.get("required", []))
                                         for k, v in schema["properties"].items()),
                        schema=schema, cookiecutter={})


def test_all_bad_fields_are_reported_at_once(tmp_path: Path) -> None:
    template = _template(tmp_path, {"ratio": {"type": "number", "exclusiveMaximum": 1, "default": 0.5},
                                    "stage": {"const": "prod", "default": "prod"}})
    with pytest.raises(InvalidParametersError) as raised:
        validate(template, {"ratio": "1.5", "stage": "dev", "retry_limit": "-1", "namespace": "Bad_NS"})
    found = {p.field: p.rule for p in raised.value.problems}
    assert set(found) == {"ratio", "stage", "retry_limit", "namespace"}
    assert found["ratio"] == "must be less than 1"
    assert found["stage"] == "must be 'prod'"


def test_a_number_from_the_command_line_is_parsed(tmp_path: Path) -> None:
    template = _template(tmp_path, {"ratio": {"type": "number", "maximum": 1, "default": 0.5}})
    assert validate(template, {"ratio": "0.25"})["ratio"] == 0.25


def _broken_copy(tmp_path: Path) -> Path:
    folder = tmp_path / "broken"
    shutil.copytree(find_template("saga-compensation").path, folder)
    meta = folder / "template.yaml"
    text = meta.read_text(encoding="utf-8")
    text = re.sub(r"(    pipeline_name:\n(?:      .*\n)*?)      type: string\n",
                  r"\1      type: text\n      minLength: -1\n", text, count=1)
    assert "type: text" in text
    meta.write_text(text, encoding="utf-8")
    return folder


def test_an_invalid_parameter_schema_is_refused_at_publish_with_every_problem(tmp_path: Path) -> None:
    with pytest.raises(TemplateDefinitionError) as raised:
        prepare_folder(_broken_copy(tmp_path))
    message = raised.value.message
    assert "not a valid JSON Schema" in message
    assert "properties/pipeline_name/type" in message and "properties/pipeline_name/minLength" in message


def test_a_local_template_with_an_invalid_schema_is_a_clear_error_not_a_traceback(tmp_path: Path) -> None:
    template = load_template(_broken_copy(tmp_path))
    with pytest.raises(TemplateDefinitionError) as raised:
        validate(template, {})
    assert "not a valid JSON Schema" in raised.value.message
    assert "pipeline_name/type" in raised.value.message
