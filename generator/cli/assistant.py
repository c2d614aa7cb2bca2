"""``pipeforge mcp``: pipeforge's tools served to a coding assistant over stdio. Its --help lists the
tools the server registers, read from the server itself, so it is built only when the help is asked for."""

from __future__ import annotations

import argparse
import asyncio
import shutil
import textwrap
from collections.abc import Sequence
from typing import Any, TextIO

from generator.cli.common import command
from generator.exit_codes import ExitCode

MCP_HELP = (
    "Run a Model Context Protocol server on stdin/stdout, so a coding assistant can verify and fix its own "
    "Argo drafts. The assistant starts this command itself; see docs/cli.md for how to register it."
)


def mcp_inventory() -> str:
    """The tools and prompts the server registers, one line each, read from the server itself."""
    from generator.mcp_server import build_server  # lazy: the MCP SDK loads only for `pipeforge mcp`

    server = build_server()

    async def listed() -> tuple[list[Any], list[Any]]:
        return await server.list_tools(), await server.list_prompts()

    tools, prompts = asyncio.run(listed())
    lines = ["tools:", *(_entry(t.name, t.description) for t in tools), "", "prompts:",
             *(_entry(p.name, p.description) for p in prompts)]
    return "\n".join(lines)


def _entry(name: str, text: str | None) -> str:
    """``  name  first sentence``, wrapped to the terminal under the description column."""
    flat = " ".join((text or "").split())
    sentence = flat.partition(". ")[0].rstrip(".") + "."
    width = max(60, shutil.get_terminal_size().columns - 2)
    return textwrap.fill(sentence, width=width, initial_indent=f"  {name:<21}", subsequent_indent=" " * 23)


class _InventoryHelp(argparse.Action):
    """-h/--help that appends the server's registered tools (building the server costs a second, so only
    when the help is asked for)."""

    def __init__(self, option_strings: Sequence[str], dest: str = argparse.SUPPRESS, **kwargs: Any) -> None:
        super().__init__(option_strings, dest=dest, nargs=0, default=argparse.SUPPRESS, **kwargs)

    def __call__(self, parser: argparse.ArgumentParser, namespace: argparse.Namespace, values: Any,
                 option_string: str | None = None) -> None:
        del namespace, values, option_string
        parser.description = f"{MCP_HELP}\n\n{mcp_inventory()}"
        parser.print_help()
        parser.exit()


def add_command(commands: Any) -> None:
    mcp = command(commands, "mcp", "serve pipeforge's tools to a coding assistant (Model Context Protocol, stdio)",
                  MCP_HELP, "examples:\n  claude mcp add pipeforge -- pipeforge mcp\n\n", add_help=False)
    mcp.add_argument("-h", "--help", action=_InventoryHelp, help="show this help, with every tool, and exit")
    mcp.set_defaults(handler=_cmd_mcp)


def _cmd_mcp(args: argparse.Namespace, out: TextIO) -> int:
    del args, out  # the protocol owns stdin and stdout
    from generator.mcp_server import serve_stdio  # lazy: the MCP SDK loads only for `pipeforge mcp`

    serve_stdio()
    return ExitCode.OK
