"""``POST /api/v1/render`` and the template page's preview: resolve a catalog version, render it with the
given parameters in memory, lint it, and describe how it fails. No side effects.

The stored bundle is the source of truth: it is checked against its digest and the bundle rules and
unpacked into a private folder once per digest (``catalog.checkout.TemplateCache``), then rendered in
Jinja's sandbox. Templates are data: nothing in a bundle runs as code on the server. The render, its lint
and its fault matrix run in a worker process (``generator.sandbox_worker.run_bounded``), so a template
planted to be expensive costs its budget and a 422, never the event loop or the other requests. What
runs there is ``registry_api.services.preview``.
"""

from __future__ import annotations

from contextlib import nullcontext
from dataclasses import dataclass
from typing import Any

from catalog import resolution
from catalog.checkout import TemplateCache
from catalog.db import Catalog
from catalog.models import TemplateVersion
from generator.delivery import archive, new_command
from generator.sandbox_worker import run_bounded
from registry_api.services.preview import preview


@dataclass(frozen=True)
class Rendered:
    row: TemplateVersion
    body: dict[str, Any]  # everything about the render itself (see ``preview``)

    @property
    def values(self) -> dict[str, Any]:
        return dict(self.body["parameters"])

    def public(self) -> dict[str, Any]:
        return {"template": self.row.name, "version": self.row.version, "digest": self.row.digest,
                "yanked": self.row.yanked, "yank_reason": self.row.yank_reason, **self.body,
                "command": self.command()}

    def command(self) -> str:
        """``pipeforge new NAME@VERSION ... --set`` for the values that differ from the defaults."""
        properties = (self.row.parameters or {}).get("properties") or {}
        defaults = {k: v.get("default") for k, v in properties.items() if isinstance(v, dict)}
        return new_command(template=self.row.name, version=self.row.version, folder=self.body["folder"],
                           values=self.values, defaults=defaults)

    def archive(self, fmt: str) -> bytes:
        """The rendered folder as a ``fmt`` archive (tar.gz or zip), from the files the description carries."""
        return archive(self.body["folder"], self.body["files"], fmt)


def render(catalog: Catalog, cache: TemplateCache, *, name: str, version: str | None,
           parameters: dict[str, Any]) -> Rendered:
    """Render NAME at VERSION (exact, a range, or latest when None) with ``parameters``, in a worker
    process; raises InvalidParametersError naming every bad parameter, BudgetExceeded for a render that
    costs more than its budget."""
    with resolution.resolved(name, version or "latest", sources=(resolution.CATALOG,),
                             catalog=lambda: nullcontext(catalog), checkout=cache.lease) as found:
        assert found.row is not None  # asked of the catalog only: a version of it, or an error
        body = run_bounded(preview, found.template, parameters, found.row.digest)  # files kept till read
    return Rendered(found.row, body)
