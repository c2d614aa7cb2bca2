"""``pipeforge mcp``'s composition root: the MCP tools (``generator.mcp_tools``) wired to the user's catalog.

Versioned describe_template and render_pipeline calls read the catalog of ``PIPEFORGE_DATABASE_URL`` or the
default SQLite file, as ``pipeforge catalog`` does; a lookup never creates it. The registry serves the same
tools over HTTP with its own catalog (``registry_api.mcp``).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from catalog.resolution import CatalogTemplates, Opener, default_catalog_exists, open_default_catalog
from generator import mcp_tools
from generator.mcp_tools import ToolInputError

if TYPE_CHECKING:
    from catalog.db import Catalog


@contextmanager
def default_catalog() -> Iterator[Catalog]:
    """The catalog of ``PIPEFORGE_DATABASE_URL`` or the default SQLite file (never created here)."""
    if not default_catalog_exists():
        raise ToolInputError("the catalog is empty (no PIPEFORGE_DATABASE_URL and no catalog file): publish "
                             "templates with `pipeforge catalog publish`, or leave out the version")
    with open_default_catalog() as catalog:
        yield catalog


def build_server(catalog: Opener | None = None) -> Any:
    """The MCP server with every tool and the review prompt; ``catalog`` opens the catalog that versioned
    describe/render calls read (default: the user's)."""
    return mcp_tools.build_server(CatalogTemplates(catalog or default_catalog))


def serve_stdio() -> None:
    build_server().run("stdio")
