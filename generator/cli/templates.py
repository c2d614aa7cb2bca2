"""``pipeforge templates [NAME]``: the templates there are, or one template's parameters."""

from __future__ import annotations

import argparse
import json
import shutil
import textwrap
from typing import Any, TextIO

from generator.cli.common import command
from generator.exit_codes import ExitCode


def add_command(commands: Any) -> None:
    templates = command(
        commands, "templates", "list the available templates",
        "List the templates pipeforge can scaffold from (built-in, plus folders in "
        "PIPEFORGE_TEMPLATE_PATH), with their versions and summaries; with NAME, that template's parameters.",
        "examples:\n  pipeforge templates\n  pipeforge templates saga-compensation\n\n",
    )
    templates.add_argument("name", metavar="NAME", nargs="?",
                           help="show this template's parameters: name, type, default, what is allowed")
    templates.add_argument("--json", action="store_true", help="print JSON, parameter schemas included")
    templates.set_defaults(handler=_cmd_templates)


def _cmd_templates(args: argparse.Namespace, out: TextIO) -> int:
    from generator.template_spec import list_templates  # lazy: templates load only for this command

    if args.name:
        return show_template(args.name, as_json=args.json, out=out)
    specs = list_templates()
    if args.json:
        json.dump([s.describe() for s in specs], out, indent=2)
        out.write("\n")
        return ExitCode.OK
    width = max((len(s.name) for s in specs), default=0)
    for spec in specs:
        out.write(f"{spec.name:<{width}}  {spec.version:<8}  {spec.summary.split('. ')[0].rstrip('.')}\n")
    return ExitCode.OK


def _allowed(schema: dict[str, Any]) -> str:
    """What a value must be, in words: the template's own rule, else its enum or bounds."""
    if isinstance(schema.get("x-rule"), str):
        return str(schema["x-rule"])
    if isinstance(schema.get("enum"), list):
        return "one of " + ", ".join(map(str, schema["enum"]))
    bounds = [text.format(schema[key]) for key, text in (("minimum", "at least {}"), ("maximum", "at most {}"),
                                                         ("maxLength", "at most {} characters")) if key in schema]
    return "; ".join(bounds) or _ANY.get(str(schema.get("type")), "any text")


#: What ``--set`` takes for a type with no rule of its own (``generator.params.coerce``).
_ANY = {"boolean": "true or false (yes, no)", "integer": "any whole number", "number": "any number (JSON)",
        "object": "a JSON object", "array": "a JSON list"}


def show_template(name: str, *, as_json: bool, out: TextIO) -> int:
    """``pipeforge templates NAME``: the template's summary and a table of its parameters."""
    from generator.template_spec import find_template  # lazy: templates load only for this command
    from generator.terminal import table  # lazy: terminal tables load only for commands that print them

    template = find_template(name)
    if as_json:
        json.dump(template.describe(), out, indent=2)
        out.write("\n")
        return ExitCode.OK
    summary = textwrap.fill(template.summary, width=shutil.get_terminal_size().columns)
    out.write(f"{template.name} {template.version}\n{summary}\n\n")
    rows = [[p.name + (" *" if p.required else ""), p.type, json.dumps(p.default), _allowed(p.schema), p.description]
            for p in template.parameters]
    out.write(table(("Parameter", "Type", "Default", "Allowed", "Meaning"), rows))
    out.write(f"\n* required. Set a parameter with:\n  pipeforge new {template.name} --set NAME=VALUE\n")
    return ExitCode.OK
