"""Template resolution: a template reference (NAME and a version SPEC) turned into a template to render.

The CLI (``new``, ``pr``, ``upgrade``), the MCP server and the registry all resolve through here, so "local
folder or catalog, which version, which error" has one answer. ``sources`` says where to look and in
which order: the local (built-in or PIPEFORGE_TEMPLATE_PATH) templates, the catalog, or one then the
other. A version spec is exact (``1.2.3``, also when yanked), a range (``^1.2``) or ``latest``.

Importing this module loads no database code: a local lookup never pays for SQLAlchemy, and a lookup
never creates the default catalog (a typo in a template name should not make a database).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractContextManager, ExitStack, contextmanager, nullcontext
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from catalog.errors import UnknownTemplateError
from generator.errors import TemplateNotFoundError, UsageError
from generator.semver import parse_spec, parse_version
from generator.template_spec import TemplateSpec, find_template

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from catalog.db import Catalog
    from catalog.models import TemplateVersion

Source = Literal["local", "catalog"]
LOCAL: Source = "local"
CATALOG: Source = "catalog"
#: ``pipeforge new``: a local template of that name wins; the catalog is asked only when there is none.
LOCAL_FIRST: tuple[Source, ...] = (LOCAL, CATALOG)
#: ``pipeforge upgrade``: the catalog's versions when it has the name, else the local template.
CATALOG_FIRST: tuple[Source, ...] = (CATALOG, LOCAL)

#: Opens a catalog for one lookup: a context manager yielding an open ``catalog.db.Catalog``.
Opener = Callable[[], AbstractContextManager["Catalog"]]
#: A catalog version as a template, its files kept until the context ends (the registry leases them from
#: its render cache; by default the bundle is unpacked into a private temporary folder).
Checkout = Callable[["Catalog", "TemplateVersion"], AbstractContextManager[TemplateSpec]]
#: (name, spec) -> (template, digest or None for a local template), as ``generator.upgrade`` asks for them.
Resolver = Callable[[str, str], tuple[TemplateSpec, "str | None"]]
#: (name, after, upto) -> (version, changelog) of each catalog version in (after, upto], oldest first.
History = Callable[[str, str, str], list[tuple[str, "str | None"]]]


@dataclass(frozen=True)
class Resolved:
    """A template to render and, when it came from the catalog, the catalog version it is."""

    template: TemplateSpec
    row: TemplateVersion | None = None

    @property
    def digest(self) -> str | None:
        """The catalog version's content digest; None for a local template (the render computes one)."""
        return self.row.digest if self.row is not None else None

    @property
    def yanked(self) -> bool:
        """Only an exact pin resolves to a yanked version; callers say why it was pulled."""
        return self.row is not None and self.row.yanked


def split_reference(reference: str) -> tuple[str, str]:
    """``NAME[@SPEC]`` as (NAME, SPEC or ""); a folder whose path holds an ``@`` stays whole."""
    if "@" in reference and not Path(reference).is_dir():
        name, _, spec = reference.rpartition("@")
        return name, spec
    return reference, ""


def default_catalog_exists() -> bool:
    """Whether PIPEFORGE_DATABASE_URL is set or the default SQLite file exists (else there is nothing to
    look up, and looking must not create it)."""
    from catalog.db import DATABASE_URL_ENV, default_database_url  # lazy: catalog.db loads SQLAlchemy

    return bool(os.environ.get(DATABASE_URL_ENV)) or Path(default_database_url()[len("sqlite:///"):]).exists()


@contextmanager
def open_default_catalog(*, migrate: bool = True) -> Iterator[Catalog]:
    """The catalog of PIPEFORGE_DATABASE_URL or the default SQLite file, for one command; its connections
    are closed when the block ends. Unlike a lookup, this creates the database (and migrates it)."""
    from catalog.migrate import open_catalog  # lazy: the catalog loads SQLAlchemy

    catalog = open_catalog(migrate=migrate)
    try:
        yield catalog
    finally:
        catalog.engine.dispose()


@contextmanager
def default_session(*, migrate: bool = True) -> Iterator[tuple[Catalog, Session]]:
    """:func:`open_default_catalog` and one session on it, database failures reported as catalog errors
    (a message naming the database, never a driver's traceback)."""
    with _session(lambda: open_default_catalog(migrate=migrate)) as opened:
        yield opened


@contextmanager
def _session(opener: Opener) -> Iterator[tuple[Catalog, Session]]:
    from catalog.db import reporting  # lazy: catalog.db loads SQLAlchemy

    with opener() as catalog, reporting(catalog.engine.url), catalog.session() as session:
        yield catalog, session


@contextmanager
def unpacked_version(catalog: Catalog, row: TemplateVersion) -> Iterator[TemplateSpec]:
    """The default checkout: the stored bundle, checked again, unpacked until the block ends."""
    from catalog.checkout import version_folder  # lazy: catalog.checkout loads SQLAlchemy

    with version_folder(catalog, row) as template:
        yield template


@contextmanager
def resolved(name: str, spec: str = "", *, sources: Sequence[Source] = LOCAL_FIRST, catalog: Opener | None = None,
             checkout: Checkout = unpacked_version) -> Iterator[Resolved]:
    """NAME@SPEC from ``sources``, in order; the template's files last until the block ends.

    ``catalog`` opens the catalog to ask (default: the user's, never created by the lookup). The errors
    name what exists: the local templates, the catalog's templates, or its versions of NAME."""
    with ExitStack() as stack:
        found = _resolve(stack, name, spec, tuple(sources), catalog, checkout)
        yield found  # outside any handler: an error of the caller's block is never taken for a lookup's


def resolver(stack: ExitStack, *, sources: Sequence[Source] = CATALOG_FIRST, catalog: Opener | None = None,
             checkout: Checkout = unpacked_version) -> Resolver:
    """:func:`resolved` as the (name, spec) -> (template, digest) callable an upgrade takes; every template it
    returns stays valid until ``stack`` closes."""

    def resolve(name: str, spec: str) -> tuple[TemplateSpec, str | None]:
        found = stack.enter_context(resolved(name, spec, sources=sources, catalog=catalog, checkout=checkout))
        return found.template, found.digest

    return resolve


def versions(name: str, *, catalog: Opener | None = None) -> list[TemplateVersion]:
    """Every catalog version of NAME, oldest first (yanked ones included); none without a default catalog.
    An UnknownTemplateError names the templates the catalog has."""
    from catalog import service  # lazy: the catalog's service loads SQLAlchemy

    if catalog is None and not default_catalog_exists():
        return []
    with _session(catalog or open_default_catalog) as (_, session):
        return service.versions(session, name=name)


def history(*, catalog: Opener | None = None) -> History | None:
    """The changelog reader an upgrade's pull request lists; None without a default catalog (the upgrade
    then shows the target version's own changelog)."""
    if catalog is None and not default_catalog_exists():
        return None
    opener = catalog or open_default_catalog

    def read(name: str, after: str, upto: str) -> list[tuple[str, str | None]]:
        from catalog import service  # lazy: the catalog's service loads SQLAlchemy

        with _session(opener) as (_, session):
            return service.changelog(session, name=name, after=after, upto=upto)

    return read


def _resolve(stack: ExitStack, name: str, spec: str, sources: tuple[Source, ...], catalog: Opener | None,
             checkout: Checkout) -> Resolved:
    local_problem: str | None = None
    for position, source in enumerate(sources):
        later = sources[position + 1:]
        if source == LOCAL:
            try:
                template = find_template(name)
            except TemplateNotFoundError as exc:
                if not later:
                    raise
                local_problem = exc.message
                continue
            _check_local(template, name, spec, catalog_next=CATALOG in later, catalog_asked=position > 0)
            return Resolved(template)
        try:
            found = _from_catalog(stack, name, spec, catalog, checkout)
        except UnknownTemplateError as exc:
            if later:
                continue
            if local_problem is not None:
                raise TemplateNotFoundError(
                    f"{local_problem}; the catalog has none either (published there: {exc.published_text})"
                ) from None
            raise
        if found is not None:
            return found
        if later:
            continue
        if local_problem is not None:
            raise TemplateNotFoundError(f"{local_problem}; the catalog is empty")
        raise UnknownTemplateError(name, [])
    raise ValueError(f"no source to resolve {name} from: {sources!r}")


def _from_catalog(stack: ExitStack, name: str, spec: str, catalog: Opener | None,
                  checkout: Checkout) -> Resolved | None:
    """NAME@SPEC from the catalog; None when there is no default catalog to ask."""
    from catalog import service  # lazy: the catalog's service loads SQLAlchemy

    if catalog is None and not default_catalog_exists():
        return None
    opened = stack.enter_context((catalog or open_default_catalog)())
    with _session(lambda: nullcontext(opened)) as (_, session):
        row = service.resolve(session, name=name, spec=spec or "latest")
    return Resolved(stack.enter_context(checkout(opened, row)), row)


def _check_local(template: TemplateSpec, name: str, spec: str, *, catalog_next: bool, catalog_asked: bool) -> None:
    """A local template answers a spec only when its version matches; which hint helps depends on what
    else was or could be asked."""
    wanted = parse_spec(spec)
    if wanted.is_latest or wanted.admits(parse_version(template.version)):
        return
    if catalog_asked:
        raise UsageError(f"{name}@{spec}: the local template is {template.version} and the catalog has no such "
                         "version (publish it with `pipeforge catalog publish`)")
    hint = f"; to take {name}@{spec} from the catalog, add --from-catalog" if catalog_next else ""
    raise UsageError(f"the local template {name} is version {template.version}, which does not match '{spec}'"
                     + hint)
