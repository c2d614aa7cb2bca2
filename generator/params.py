"""Parameter validation: every problem at once, each naming the field, the value and the rule.

On top of each template's JSON Schema, every string parameter obeys pipeforge's own rules, because a
value must never change the structure of the generated manifest or reach a field Argo evaluates:
no ``{{`` or ``}}`` (Argo would evaluate it as an expression), no control characters other than tab and
new line, and no unpaired surrogates. Values reach the YAML only as JSON-quoted scalars.
"""

from __future__ import annotations

import json
import re
import unicodedata
from collections.abc import Hashable, Iterator, Mapping
from functools import cache
from typing import Any

from generator.errors import InvalidParametersError, ParameterProblem, TemplateDefinitionError
from generator.render import cookiecutter_context
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
    if spec.type in ("number", "object", "array"):
        try:  # JSON, as ``--set`` and a form give structured values
            parsed = json.loads(raw)
        except ValueError:
            return raw
        return parsed if not isinstance(parsed, str) else raw
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


_TYPES = {"integer": "must be a whole number", "number": "must be a number", "boolean": "must be true or false",
          "string": "must be text", "array": "must be a list", "object": "must be a mapping", "null": "must be null"}


def _fullmatch_pattern(validator: Any, pattern: str, value: Any, schema: Mapping[str, Any]) -> Iterator[Any]:
    """A parameter's ``pattern`` must match the whole value: JSON Schema's (and jsonschema's) search
    semantics would let an unanchored pattern pass text around it that the author never meant."""
    del validator
    if isinstance(value, str) and re.fullmatch(pattern, value) is None:
        from jsonschema.exceptions import ValidationError  # lazy: jsonschema only where parameters are checked

        yield ValidationError("must be " + str(schema.get("x-rule") or f"text matching {pattern}"))


@cache
def _validator_class() -> Any:
    """Draft 2020-12 with whole-value patterns, and booleans or 3.0 never taken for integers."""
    from jsonschema import Draft202012Validator, validators  # lazy: jsonschema only where parameters are checked

    checker = Draft202012Validator.TYPE_CHECKER.redefine(
        "integer", lambda _checker, v: isinstance(v, int) and not isinstance(v, bool))
    return validators.extend(Draft202012Validator, {"pattern": _fullmatch_pattern}, type_checker=checker)


def schema_problems(schema: Mapping[str, Any]) -> list[str]:
    """What is wrong with a parameter schema itself (draft 2020-12's metaschema, regular expressions
    compiled), every problem, each with where it is."""
    from jsonschema import Draft202012Validator  # lazy: jsonschema only where parameters are checked

    meta = Draft202012Validator(Draft202012Validator.META_SCHEMA, format_checker=Draft202012Validator.FORMAT_CHECKER)
    return [f"{'/'.join(map(str, e.absolute_path)) or '(top)'}: {e.message}" for e in meta.iter_errors(schema)]


def _bound(schema: Mapping[str, Any], keyword: str) -> str:
    low, high = schema.get("minimum"), schema.get("maximum")
    if keyword in ("minimum", "maximum") and low is not None and high is not None:
        return f"must be between {low} and {high}"
    return {"minimum": f"must be at least {low}", "maximum": f"must be at most {high}",
            "exclusiveMinimum": f"must be more than {schema.get('exclusiveMinimum')}",
            "exclusiveMaximum": f"must be less than {schema.get('exclusiveMaximum')}"}[keyword]


def _said(error: Any, spec: ParameterSpec, value: Any) -> str:
    """jsonschema's finding, said the way pipeforge's messages say it."""
    keyword, schema = error.validator, spec.schema
    if error.absolute_schema_path and len(error.absolute_schema_path) > 1 and keyword != "not":
        return f"{'/'.join(map(str, error.absolute_path))}: {error.message}" if error.absolute_path \
            else error.message
    if keyword == "type":
        return _TYPES.get(str(schema.get("type")), str(error.message))
    if keyword == "enum":
        return "must be one of " + ", ".join(str(v) for v in schema["enum"])
    if keyword == "const":
        return f"must be {schema['const']!r}"
    if keyword == "not":
        forbidden = schema["not"].get("enum", []) if isinstance(schema["not"], dict) else []
        return "must not be " + (" or ".join(repr(v) for v in forbidden) or "that") + _why(spec)
    if keyword == "minLength":
        return f"must be at least {schema['minLength']} characters long" if value else "must not be empty"
    if keyword == "maxLength":
        return f"must be at most {schema['maxLength']} characters long (it has {len(value)})"
    if keyword == "multipleOf":
        return f"must be a multiple of {schema['multipleOf']}"
    if keyword in ("minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum"):
        return _bound(schema, keyword)
    return str(error.message)


def _errors(spec: ParameterSpec, value: Any) -> list[Any]:
    """jsonschema's findings; a schema it cannot apply is the template's fault, said with every problem
    (publishing checks the whole schema first, a local template meets it here)."""
    from jsonschema.exceptions import SchemaError, UnknownType  # lazy: jsonschema only where parameters are checked

    try:
        return list(_validator(spec.schema).iter_errors(value))
    except (SchemaError, UnknownType, re.error, TypeError, ValueError) as exc:
        problems = schema_problems({"type": "object", "properties": {spec.name: spec.schema}}) or [str(exc)]
        raise TemplateDefinitionError("parameters is not a valid JSON Schema (draft 2020-12): "
                                      + "; ".join(problems)) from None


#: id(schema) -> (schema, its validator). The schema is held, so its id is not reused while it is here;
#: schemas are read from template.yaml and never changed. Keyed by identity because hashing a schema's
#: contents cost as much as checking a value against it.
_VALIDATORS: dict[int, tuple[Mapping[str, Any], Any]] = {}
_MAX_VALIDATORS = 1024


def _validator(schema: Mapping[str, Any]) -> Any:
    """One validator per schema, kept: a fresh one sets itself up on its first value, which cost five
    times the check itself, for every parameter of every render."""
    entry = _VALIDATORS.get(id(schema))
    if entry is None or entry[0] is not schema:
        if len(_VALIDATORS) >= _MAX_VALIDATORS:
            _VALIDATORS.clear()
        entry = _VALIDATORS[id(schema)] = (schema, _validator_class()(schema))
    return entry[1]


def check_value(spec: ParameterSpec, value: Any) -> str | None:
    """Every rule a value breaks, in one sentence, or None when it is valid. The universal text rules
    come first and alone: a value that could change the manifest's structure is not checked further."""
    if isinstance(value, str):
        rule = _text_rules(value)
        if spec.type == "integer" and _INTEGER.fullmatch(value.strip(" \t\r\n")):
            rule = f"must be a whole number of at most {MAX_DIGITS} digits"  # digits coerce() would not read
        if rule:
            return rule
    errors = sorted(_errors(spec, value), key=lambda e: e.validator != "type")
    if errors and errors[0].validator == "type":
        return _said(errors[0], spec, value)
    said = list(dict.fromkeys(_said(e, spec, value) for e in errors))
    return "; ".join(said) or None


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


def _derived_defaults(template: TemplateSpec, chosen: dict[str, Any]) -> dict[str, Any]:
    """A cookiecutter.json default may be computed from other values: computed again from the chosen
    ones, as cookiecutter would (``generator.cookiecutter_compat``)."""
    return cookiecutter_context(template, chosen)


def current_defaults(template: TemplateSpec, given: Mapping[str, Any]) -> dict[str, Any]:
    """The defaults once ``given`` is chosen: what a prompt offers next (a cookiecutter.json default may be
    computed from the answers before it)."""
    if not template.derived:
        return template.defaults()
    chosen = {spec.name: coerce(spec, given[spec.name]) for spec in template.parameters if spec.name in given}
    return _derived_defaults(template, chosen)


def validate(template: TemplateSpec, given: Mapping[str, Any]) -> dict[str, Any]:
    """Defaults overlaid with ``given`` (strings are coerced), checked; raises with every problem."""
    problems = [
        ParameterProblem(name, value, f"is not a parameter of {template.name}; known: "
                         + ", ".join(template.parameter_names))
        for name, value in given.items()
        if template.parameter(name) is None
    ]
    values: dict[str, Any] = {}
    chosen = {spec.name: coerce(spec, given[spec.name]) for spec in template.parameters if spec.name in given}
    defaults = _derived_defaults(template, chosen) if template.derived else template.defaults()
    for spec in template.parameters:
        value = chosen[spec.name] if spec.name in chosen else defaults.get(spec.name)
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
