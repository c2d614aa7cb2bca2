"""The sandbox a template renders in: Jinja's immutable sandbox with a budget (``generator.sandbox``), the
delimiters of the template's ``_jinja2_env_vars``, cookiecutter's default extensions, and a ``tojson`` whose
output is always one YAML scalar. Rendering uses it, and so does reading a plain cookiecutter template,
whose defaults may themselves be templates.

``tojson`` emits a JSON string, which is also a YAML double-quoted scalar: a parameter rendered through
it is always exactly one scalar, whatever it holds. pipeforge's ``tojson`` keeps non-ASCII text readable
and escapes the few characters YAML treats as line breaks or forbids."""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from functools import cache
from typing import Any

from jinja2 import Environment, StrictUndefined

from generator.errors import TemplateDefinitionError
from generator.sandbox import MAX_STRING, BoundedSandbox, guarded

_ENV_KEYS = {
    "variable_start_string",
    "variable_end_string",
    "block_start_string",
    "block_end_string",
    "comment_start_string",
    "comment_end_string",
    "line_statement_prefix",
    "line_comment_prefix",
    "trim_blocks",
    "lstrip_blocks",
}

# Characters JSON leaves raw that YAML reads as line breaks (U+0085, U+2028, U+2029) or forbids.
_YAML_ESCAPES = {c: f"\\u{ord(c):04x}" for c in "\x7f\x85\u2028\u2029\ufeff\ufffe\uffff"}
_YAML_ESCAPES.update({chr(c): f"\\u{c:04x}" for c in range(0x80, 0xA0)})
_ESCAPE_TABLE = str.maketrans(_YAML_ESCAPES)


def yaml_safe_json(value: Any, **kwargs: Any) -> str:
    """``json.dumps`` whose output is also a valid YAML 1.1/1.2 flow scalar, non-ASCII kept readable."""
    kwargs["ensure_ascii"] = False
    return json.dumps(value, **kwargs).translate(_ESCAPE_TABLE)


def environment(cookiecutter: dict[str, Any], name: str, *, sources: Iterable[str] = ()) -> BoundedSandbox:
    """The sandbox a template renders in: its ``_jinja2_env_vars``, and cookiecutter's default extensions
    (``jsonify``, ``slugify``, ``random_ascii_string``, ``uuid4``, and ``{% now %}`` when one of ``sources``
    uses it), which only add filters, globals and a tag; ``_extensions`` naming any other is refused at
    publish (``catalog.safety``) and never loaded."""
    options = cookiecutter.get("_jinja2_env_vars") or {}
    unknown = set(options) - _ENV_KEYS
    if unknown:
        raise TemplateDefinitionError(f"template {name}: unsupported _jinja2_env_vars {sorted(unknown)}")
    block = re.escape(options.get("block_start_string", "{%"))
    uses_now = re.compile(block + r"[-+]?\s*now\b")
    extensions: list[Any] = []
    if any(uses_now.search(text) for text in (*sources, json.dumps(cookiecutter))):
        from cookiecutter.extensions import TimeExtension  # lazy: imports arrow: only for templates that use it

        extensions.append(TimeExtension)
    env = BoundedSandbox(undefined=StrictUndefined, keep_trailing_newline=True, autoescape=False,
                         extensions=extensions, **options)
    # Jinja's own tojson also escapes <, >, & and ' for HTML; YAML needs none of that, and readers of
    # the generated manifest are better served by `&&` than by `\u0026\u0026`. Plain cookiecutter uses
    # Jinja's filter: its output differs in those escapes only and parses to the same values.
    env.filters["tojson"] = guarded(_tojson)
    env.filters["jsonify"] = guarded(_cookiecutter_function("jsonify"))
    env.filters["slugify"] = guarded(_slugify)
    env.globals["random_ascii_string"] = guarded(_random_ascii_string)
    env.globals["uuid4"] = guarded(_cookiecutter_function("uuid4"))
    return env


@cache
def _cookiecutter_functions() -> dict[str, Any]:
    """The filters and globals of cookiecutter's default extensions, as they register them, loaded on first
    use (importing them costs more than most renders)."""
    from cookiecutter import extensions  # lazy: cookiecutter's extensions cost more than most renders
    env = Environment(extensions=[extensions.JsonifyExtension, extensions.RandomStringExtension,
                                  extensions.SlugifyExtension, extensions.UUIDExtension])
    return {**{k: env.filters[k] for k in ("jsonify", "slugify")},
            **{k: env.globals[k] for k in ("random_ascii_string", "uuid4")}}


def _cookiecutter_function(name: str) -> Any:
    def call(*args: Any, **kwargs: Any) -> Any:
        return _cookiecutter_functions()[name](*args, **kwargs)
    return call


def _slugify(value: str, *args: Any, **kwargs: Any) -> str:
    if len(args) > 8 or "regex_pattern" in kwargs:  # a template's own regular expression could run for ever
        raise TemplateDefinitionError("slugify: regex_pattern is not supported in pipeforge's sandbox")
    return str(_cookiecutter_functions()["slugify"](value, *args, **kwargs))


def _random_ascii_string(length: int, punctuation: bool = False) -> str:
    BoundedSandbox.checked(" " * min(int(length), MAX_STRING + 1))
    return str(_cookiecutter_functions()["random_ascii_string"](length, punctuation))


def _tojson(value: Any) -> str:
    return yaml_safe_json(value)
