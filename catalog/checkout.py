"""A catalog version as a template folder to render: the stored bundle, checked against its digest and
the bundle rules again, extracted into a private temporary folder that is removed afterwards
(``checked_out``), or kept unpacked per digest for a server that renders the same versions again and
again (``TemplateCache``; a digest's content never changes)."""

from __future__ import annotations

import shutil
import tempfile
import threading
from collections import OrderedDict
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

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


@dataclass(eq=False)
class _Entry:
    template: TemplateSpec
    folder: Path  # the entry's own folder (a digest unpacked again gets another one)
    users: int = 0
    evicted: bool = False


class TemplateCache:
    """Unpacked catalog versions by digest, least recently used evicted. Renders hold a version with
    ``lease``: an evicted version's folder is removed when the last render reading it has finished, never
    while one still reads its files."""

    def __init__(self, *, size: int) -> None:
        self.size = size
        self._root = Path(tempfile.mkdtemp(prefix="pipeforge-registry-"))
        self._items: OrderedDict[str, _Entry] = OrderedDict()
        self._lock = threading.Lock()

    @contextmanager
    def lease(self, catalog: Catalog, row: TemplateVersion) -> Iterator[TemplateSpec]:
        """The version's template, its folder kept on disk until the ``with`` block ends."""
        entry = self._acquire(catalog, row)
        try:
            yield entry.template
        finally:
            self._release(entry)

    def _acquire(self, catalog: Catalog, row: TemplateVersion) -> _Entry:
        with self._lock:
            entry = self._items.get(row.digest)
            if entry is not None:
                self._items.move_to_end(row.digest)
            else:
                entry = self._items[row.digest] = self._unpack(catalog, row)
            entry.users += 1
            while len(self._items) > self.size:
                _, old = self._items.popitem(last=False)
                old.evicted = True
                if old.users == 0:
                    shutil.rmtree(old.folder, ignore_errors=True)
            return entry

    def _release(self, entry: _Entry) -> None:
        with self._lock:
            entry.users -= 1
            unused = entry.evicted and entry.users == 0
        if unused:
            shutil.rmtree(entry.folder, ignore_errors=True)

    def _unpack(self, catalog: Catalog, row: TemplateVersion) -> _Entry:
        with reporting(catalog.engine.url), catalog.session() as session:
            data = bundle_bytes(session, digest=row.digest)
        source = f"{row.name}@{row.version} ({row.digest})"
        folder = Path(tempfile.mkdtemp(prefix=row.digest.replace(":", "-") + "-", dir=self._root))
        try:
            with unpacked(data, source=source) as unpacked_folder:  # checked again: the database is not trusted
                shutil.copytree(unpacked_folder, folder / "template")
            return _Entry(load_unpacked(folder / "template", source, name=row.name), folder)
        except BaseException:
            shutil.rmtree(folder, ignore_errors=True)
            raise

    def clear(self) -> None:
        with self._lock:
            self._items.clear()
            shutil.rmtree(self._root, ignore_errors=True)
