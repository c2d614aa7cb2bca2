"""A catalog version as a template folder to render: the stored bundle, checked against its digest and
the bundle rules again, extracted into a private temporary folder that is removed afterwards."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from catalog.db import Catalog, reporting
from catalog.models import TemplateVersion
from catalog.publication import load_unpacked
from catalog.safety import unpacked
from catalog.service import bundle_bytes, resolve
from generator.template_spec import TemplateSpec


@dataclass(frozen=True)
class CheckedOut:
    version: TemplateVersion
    template: TemplateSpec

    @property
    def digest(self) -> str:
        return self.version.digest


@contextmanager
def checked_out(catalog: Catalog, *, name: str, spec: str) -> Iterator[CheckedOut]:
    """Resolve NAME@SPEC and yield the template, valid until the block ends."""
    with reporting(catalog.engine.url), catalog.session() as session:
        row = resolve(session, name=name, spec=spec)
        data = bundle_bytes(session, digest=row.digest)
    with _unpacked_template(row, data) as template:
        yield CheckedOut(row, template)


@contextmanager
def version_folder(catalog: Catalog, row: TemplateVersion) -> Iterator[TemplateSpec]:
    """The template of a version already resolved, valid until the block ends."""
    with reporting(catalog.engine.url), catalog.session() as session:
        data = bundle_bytes(session, digest=row.digest)
    with _unpacked_template(row, data) as template:
        yield template


@contextmanager
def _unpacked_template(row: TemplateVersion, data: bytes) -> Iterator[TemplateSpec]:
    source = f"{row.name}@{row.version} ({row.digest})"
    with unpacked(data, source=source) as folder:
        yield load_unpacked(folder, source, name=row.name)
