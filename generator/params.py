"""Parameter validation: every problem at once, each naming the field, the value and the rule.

On top of each template's JSON Schema, every string parameter obeys pipeforge's own rules, because a
value must never change the structure of the generated manifest or reach a field Argo evaluates:
no ``{{`` or ``}}`` (Argo would evaluate it as an expression), no control characters other than tab and
new line, and no unpaired surrogates. Values reach the YAML only as JSON-quoted scalars.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Hashable, Mapping
from typing import Any

from generator.errors import InvalidParametersError, ParameterProblem
from generator.template_spec import ParameterSpec, TemplateSpec

_ALLOWED_CONTROLS = {"\t", "\n"}
_INTEGER = re.compile(r"[+-]?[0-9]+")
#: The most significant digits an integer parameter is read with (64-bit numbers have 19); a longer run of
#: digits is refused by name, before Python's int() is asked (past 4300 digits it raises ValueError).
MAX_DIGITS = 19


def _digits(text: str) -> int:
    return len(text.lstrip("+-").lstrip("0"))


def coerce(spec: ParameterSpec, raw: Any) -> Any:
    """Turn a command-line string into the parameter's type; leave it as given when it does not parse."""
    if not isinstance(raw, str):
        return raw
    if spec.type == "integer":
        # ASCII digits only, around them only ASCII blanks: Python's int() and str.strip() would also take
        # "1_000", other scripts' digits and a trailing control character such as U+001F.
        text = raw.strip(" \t\r\n")
        return int(text, 10) if _INTEGER.fullmatch(text) and _digits(text) <= MAX_DIGITS else raw
    if spec.type == "boolean" and raw.lower() in ("true", "false", "yes", "no"):
        return raw.lower() in ("true", "yes")
    return raw


def _text_rules(value: str) -> str | None:
    if "{{" in value or "}}" in value:
        return "must not contain '{{' or '}}': Argo would evaluate it as an expression"
    for index, char in enumerate(value):
        category = unicodedata.category(char)
        if category == "Cc" and char not in _ALLOWED_CONTROLS:
            return f"must not contain control character U+{ord(char):04X} (at position {index})"
        if category == "Cs":
            return f"must not contain an unpaired surrogate U+{ord(char):04X} (at position {index})"
    return None


def _type_rule(spec: ParameterSpec, value: Any) -> str | None:
    kind = spec.type
    if kind == "integer" and isinstance(value, str) and _INTEGER.fullmatch(value.strip(" \t\r\n")):
        return f"must be a whole number of at most {MAX_DIGITS} digits"
    if kind == "integer" and (isinstance(value, bool) or not isinstance(value, int)):
        return "must be a whole number"
    if kind == "boolean" and not isinstance(value, bool):
        return "must be true or false"
    if kind == "string" and not isinstance(value, str):
        return "must be text"
    return None


def _string_rules(spec: ParameterSpec, value: str) -> str | None:
    schema = spec.schema
    rule = _text_rules(value)
    if rule:
        return rule
    if "minLength" in schema and len(value) < int(schema["minLength"]):
        return f"must be at least {schema['minLength']} characters long" if value else "must not be empty"
    if "maxLength" in schema and len(value) > int(schema["maxLength"]):
        return f"must be at most {schema['maxLength']} characters long (it has {len(value)})"
    pattern = schema.get("pattern")
    # The whole value must match, as an HTML form's pattern does: with re.search, "$" also matches before a
    # final newline, so "orders\n" passed ^[a-z0-9]+$.
    if isinstance(pattern, str) and re.fullmatch(pattern, value) is None:
        return "must be " + str(schema.get("x-rule") or f"text matching {pattern}")
    return None


def _number_rules(spec: ParameterSpec, value: int) -> str | None:
    schema = spec.schema
    low, high = schema.get("minimum"), schema.get("maximum")
    if (low is not None and value < low) or (high is not None and value > high):
        return f"must be between {low} and {high}"
    return None


def check_value(spec: ParameterSpec, value: Any) -> str | None:
    """The rule a value breaks, or None when it is valid."""
    rule = _type_rule(spec, value)
    if rule:
        return rule
    enum = spec.enum
    if enum is not None and value not in enum:
        return "must be one of " + ", ".join(str(v) for v in enum)
    forbidden = spec.schema.get("not", {}).get("enum", []) if isinstance(spec.schema.get("not"), dict) else []
    if value in forbidden:
        return "must not be " + " or ".join(repr(v) for v in forbidden) + _why(spec)
    if isinstance(value, str):
        return _string_rules(spec, value)
    if isinstance(value, int) and not isinstance(value, bool):
        return _number_rules(spec, value)
    return None


def _why(spec: ParameterSpec) -> str:
    reason = spec.schema.get("x-not-rule") or spec.schema.get("x-rule")
    return f" ({reason})" if reason else ""


def _cross_field(template: TemplateSpec, values: Mapping[str, Any]) -> list[ParameterProblem]:
    problems = []
    for group in template.schema.get("x-distinct", []):
        seen: dict[Any, str] = {}
        for name in group:
            value = values.get(name)
            # left out when it broke its own rule (already reported), or is a list or mapping (not comparable)
            if name not in values or not isinstance(value, Hashable):
                continue
            if value in seen:
                problems.append(ParameterProblem(name, value, f"must differ from {seen[value]}"))
            else:
                seen[value] = name
    return problems


def validate(template: TemplateSpec, given: Mapping[str, Any]) -> dict[str, Any]:
    """Defaults overlaid with ``given`` (strings are coerced), checked; raises with every problem."""
    problems = [
        ParameterProblem(name, value, f"is not a parameter of {template.name}; known: "
                         + ", ".join(template.parameter_names))
        for name, value in given.items()
        if template.parameter(name) is None
    ]
    values: dict[str, Any] = {}
    for spec in template.parameters:
        value = coerce(spec, given[spec.name]) if spec.name in given else spec.default
        if value is None and spec.required:
            problems.append(ParameterProblem(spec.name, value, "is required"))
            continue
        rule = check_value(spec, value)
        if rule:
            problems.append(ParameterProblem(spec.name, value, rule))
            continue
        values[spec.name] = value
    problems.extend(_cross_field(template, values))
    if problems:
        raise InvalidParametersError(problems)
    return values
