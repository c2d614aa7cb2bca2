"""cookiecutter's own meaning of ``cookiecutter.json``, computed inside pipeforge's sandbox.

A template may be an ordinary cookiecutter template, with no ``template.yaml``: its parameters are then
the public keys of ``cookiecutter.json`` (text, choice lists, booleans, numbers, dicts), ``_`` keys are
passed through as they are, ``__`` keys are computed, and a default may itself be a template
(``"{{ cookiecutter.project_name|slugify }}"``). The order and the rules are cookiecutter's
(``cookiecutter.prompt.prompt_for_config`` with ``--no-input``): each value is rendered with what came
before it, dicts in a second pass; the rendering itself is ``cookiecutter.prompt.render_variable``, given
pipeforge's bounded sandbox instead of cookiecutter's unrestricted environment. One deliberate difference:
a value a person gives is data and is never rendered as a template (cookiecutter renders it).

``~/.cookiecutterrc`` (or ``$COOKIECUTTER_CONFIG``) is read by cookiecutter's ``get_user_config``, and its
``default_context`` presets the parameters a template has.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from jinja2 import TemplateError

from generator.errors import BudgetExceeded, TemplateDefinitionError
from generator.sandbox import BoundedSandbox, budgeted

PROMPTS_KEY = "__prompts__"
SCHEMA_DIALECT = "https://json-schema.org/draft/2020-12/schema"


def is_private(key: str) -> bool:
    """``_x`` keys are cookiecutter's settings and raw values: never asked for, never rendered."""
    return key.startswith("_") and not key.startswith("__")


def _templated(raw: Any, env: BoundedSandbox) -> bool:
    if isinstance(raw, dict):
        return any(_templated(k, env) or _templated(v, env) for k, v in raw.items())
    if isinstance(raw, list):
        return any(_templated(v, env) for v in raw)
    return isinstance(raw, str) and any(mark in raw for mark in (env.variable_start_string, env.block_start_string))


def needs_rendering(cookiecutter: Mapping[str, Any], env: BoundedSandbox) -> bool:
    """True when some key is computed (``__``) or some default is itself a template."""
    return any((key.startswith("__") and key != PROMPTS_KEY) or (not is_private(key) and _templated(raw, env))
               for key, raw in cookiecutter.items())


def _render(env: BoundedSandbox, key: str, raw: Any, so_far: dict[str, Any]) -> Any:
    from cookiecutter.prompt import render_variable  # lazy: cookiecutter.prompt loads rich

    try:
        return render_variable(env, raw, so_far)
    except BudgetExceeded as exc:
        raise BudgetExceeded(f"cookiecutter.json: '{key}': {exc.message}", budget=exc.budget) from None
    except (TemplateError, ArithmeticError, ValueError, TypeError, LookupError, AttributeError) as exc:
        raise TemplateDefinitionError(f"cookiecutter.json: the value of '{key}' does not render: {exc}") from None


def _first_pass(cookiecutter: Mapping[str, Any], given: Mapping[str, Any], env: BoundedSandbox,
                out: dict[str, Any]) -> None:
    for key, raw in cookiecutter.items():
        if key == PROMPTS_KEY or (isinstance(raw, dict) and not key.startswith("_")):
            continue
        if is_private(key):
            out[key] = raw
        elif key in given:
            out[key] = given[key]
        elif isinstance(raw, list):
            out[key] = _render(env, key, raw, out)[0] if raw else None
        elif isinstance(raw, bool) or (not key.startswith("__") and not _templated(raw, env)):
            out[key] = raw  # cookiecutter would make a number text; printed, both read the same
        else:
            out[key] = _render(env, key, raw, out)


def context(cookiecutter: Mapping[str, Any], given: Mapping[str, Any], env: BoundedSandbox) -> dict[str, Any]:
    """The ``cookiecutter`` variable a render sees: every key of cookiecutter.json, in cookiecutter's order,
    with ``given`` in place of the public defaults. Raises TemplateDefinitionError or BudgetExceeded."""
    out: dict[str, Any] = {}
    with budgeted(None):
        _first_pass(cookiecutter, given, env, out)
        for key, raw in cookiecutter.items():  # second pass: dicts may use everything above
            if isinstance(raw, dict) and not is_private(key) and key != PROMPTS_KEY:
                out[key] = given[key] if key in given else _render(env, key, raw, out)
    return out


def _property(raw: Any, default: Any) -> dict[str, Any]:
    if isinstance(raw, bool):
        return {"type": "boolean", "default": default}
    if isinstance(raw, list):
        prop: dict[str, Any] = {"enum": list(raw), "default": default}
        if all(isinstance(o, str) for o in raw):
            prop["type"] = "string"
        return prop
    if isinstance(raw, dict):
        return {"type": "object", "default": default}
    if isinstance(raw, int):
        return {"type": "integer", "default": raw}
    if isinstance(raw, float):
        return {"type": "number", "default": raw}
    return {"type": "string", "default": default}


def _title(prompts: Any, key: str) -> str | None:
    prompt = prompts.get(key) if isinstance(prompts, dict) else None
    if isinstance(prompt, dict):
        prompt = prompt.get("__prompt__")
    return prompt if isinstance(prompt, str) else None


def derive_schema(cookiecutter: Mapping[str, Any], env: BoundedSandbox) -> dict[str, Any]:
    """The JSON Schema of a cookiecutter.json: one property per public key, defaults as cookiecutter
    computes them with no input; a default that is a template is kept in ``x-cookiecutter`` too."""
    defaults = context(cookiecutter, {}, env)
    choices = {key: _render(env, key, raw, defaults) for key, raw in cookiecutter.items()
               if isinstance(raw, list) and not key.startswith("_") and _templated(raw, env)}
    properties: dict[str, Any] = {}
    for key, raw in cookiecutter.items():
        if key.startswith("_"):
            continue
        prop = _property(raw, defaults[key])
        if key in choices:
            prop["enum"] = choices[key]
        if _templated(raw, env) and not isinstance(raw, list):
            prop["x-cookiecutter"] = raw
        title = _title(cookiecutter.get(PROMPTS_KEY), key)
        if title:
            prop["title"] = title
        properties[key] = prop
    return {"$schema": SCHEMA_DIALECT, "type": "object", "additionalProperties": False,
            "required": list(properties), "properties": properties}


def user_default_context(parameters: list[str]) -> dict[str, Any]:
    """``default_context`` of the user's cookiecutter configuration, for the parameters a template has
    (the configuration is shared by every template, so other keys are ignored, not refused)."""
    # get_user_config's own rule, applied here: importing cookiecutter costs more than a render, and its default
    # path is the home folder at the time it was imported, not at the time of the call.
    path = os.environ.get("COOKIECUTTER_CONFIG") or str(Path("~/.cookiecutterrc").expanduser())
    if not os.environ.get("COOKIECUTTER_CONFIG") and not Path(path).exists():
        return {}
    from cookiecutter.config import get_user_config  # lazy: importing cookiecutter costs more than a render
    from cookiecutter.exceptions import (  # lazy: importing cookiecutter costs more than a render
        ConfigDoesNotExistException,
        InvalidConfiguration,
    )

    try:
        config = get_user_config(config_file=path)
    except (ConfigDoesNotExistException, InvalidConfiguration) as exc:
        raise TemplateDefinitionError(f"cookiecutter configuration: {exc}") from None
    preset = config.get("default_context") or {}
    return {key: preset[key] for key in parameters if key in preset}
