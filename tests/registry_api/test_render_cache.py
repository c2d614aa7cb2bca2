"""The registry's render cache under eviction: a version evicted while a render still reads it keeps its
files until that render is done, so concurrent renders of more versions than the cache holds never fail."""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import TEMPLATE_NAMES, RegistryServer, private_catalog


@pytest.fixture
def catalog(tmp_path: Path) -> Iterator[Any]:
    from registry_api.services.registry import publish_builtins

    with private_catalog(f"sqlite:///{tmp_path / 'catalog.db'}") as opened:
        publish_builtins(opened)
        yield opened


def _row(catalog: Any, name: str) -> Any:
    from catalog import service

    with catalog.session() as session:
        return service.resolve(session, name=name)


def test_an_evicted_version_keeps_its_files_while_a_render_reads_them(catalog: Any) -> None:
    from catalog.checkout import TemplateCache

    cache = TemplateCache(size=1)
    first, second = (_row(catalog, name) for name in TEMPLATE_NAMES[:2])
    try:
        with cache.lease(catalog, first) as held:
            with cache.lease(catalog, second) as other:  # evicts ``first`` from the cache
                assert other.path.is_dir()
            assert held.path.is_dir() and (held.path / "template.yaml").is_file()
            with cache.lease(catalog, first) as again:  # unpacked anew, into a folder of its own
                assert again.path != held.path and again.path.is_dir()
            assert held.path.is_dir()
        assert not held.path.exists()
    finally:
        cache.clear()


def test_a_stored_bundle_that_does_not_load_leaves_no_folder_behind(catalog: Any) -> None:
    import hashlib
    import io
    import tarfile

    from catalog.checkout import TemplateCache
    from catalog.models import Bundle, TemplateVersion
    from generator.errors import TemplateDefinitionError

    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        info = tarfile.TarInfo("template.yaml")
        info.size = 5
        tar.addfile(info, io.BytesIO(b"- a\n-"))
    data = buffer.getvalue()
    digest = "sha256:" + hashlib.sha256(data).hexdigest()
    with catalog.session() as session, session.begin():
        session.add(Bundle(digest=digest, size=len(data), data=data))
    cache = TemplateCache(size=2)
    try:
        with pytest.raises(TemplateDefinitionError), cache.lease(catalog, TemplateVersion(
                name="broken", version="1.0.0", digest=digest)):
            pass
        assert list(cache._root.iterdir()) == []
    finally:
        cache.clear()


@pytest.mark.race
def test_concurrent_renders_of_more_versions_than_the_cache_holds_never_fail(tmp_path: Path) -> None:
    with RegistryServer(f"sqlite:///{tmp_path / 'catalog.db'}", render_cache_size=1) as server:
        def render(index: int) -> int:
            with server.client() as client:
                name = TEMPLATE_NAMES[index % len(TEMPLATE_NAMES)]
                return int(client.post("/api/v1/render", json={"template": name}).status_code)

        with ThreadPoolExecutor(max_workers=6) as pool:
            statuses = list(pool.map(render, range(36)))
    assert statuses == [200] * 36
