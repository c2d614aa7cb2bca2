"""Publishing under contention and under failure: 50 publishers racing for one name and version, each on
its own connection, and a publisher killed in the middle of its transaction."""

from __future__ import annotations

import hashlib
import os
import signal
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from sqlalchemy import event, func, select
from sqlalchemy.orm import Session
from sqlalchemy.pool import NullPool

from catalog.db import Catalog, begin_write, create_catalog_engine
from catalog.errors import VersionConflictError
from catalog.migrate import open_catalog
from catalog.models import Bundle, TemplateVersion
from catalog.publication import Publication, prepare_folder
from catalog.service import publish, resolve
from tests.conftest import ROOT, template_variant

PUBLISHERS = 50


def race(url: str, publications: list[Publication]) -> list[tuple[str, str]]:
    """Every publication at once, each from its own thread and connection; ("created"|"same"|"conflict", detail)."""
    open_catalog(url)  # migrated beforehand: the race is about the version, not the schema
    engine = create_catalog_engine(url, poolclass=NullPool)
    barrier = threading.Barrier(len(publications))

    def one(index: int) -> tuple[str, str]:
        with Session(engine, expire_on_commit=False) as session:
            if engine.dialect.name == "postgresql":
                begin_write(session)
                session.execute(select(1))  # connected and inside a transaction before the start line
            barrier.wait(timeout=120)
            try:
                result = publish(session, publication=publications[index], publisher=f"publisher-{index}")
            except VersionConflictError as exc:
                return "conflict", exc.message
            return ("created" if result.created else "same"), result.version.digest

    try:
        with ThreadPoolExecutor(max_workers=len(publications)) as pool:
            return list(pool.map(one, range(len(publications))))
    finally:
        engine.dispose()


def stored(url: str) -> tuple[list[tuple[str, str, str]], dict[str, str]]:
    """Version rows (name, version, digest), and each stored bundle's digest -> sha256 of its bytes."""
    with open_catalog(url).session() as session:
        rows = [(r.name, r.version, r.digest) for r in session.scalars(select(TemplateVersion))]
        bundles = {d: "sha256:" + hashlib.sha256(b).hexdigest() for d, b in session.execute(
            select(Bundle.digest, Bundle.data))}
    return rows, bundles


@pytest.fixture(scope="module")
def editions(tmp_path_factory: pytest.TempPathFactory) -> list[Publication]:
    """Fifty publications of one name and version, each with content of its own, prepared once for both
    databases: preparing a publication is not what races."""
    folder = tmp_path_factory.mktemp("editions")
    return [prepare_folder(template_variant(folder, note=f"edition {i}")) for i in range(PUBLISHERS)]


@pytest.mark.race
def test_racing_publishers_with_different_content_one_wins_the_rest_conflict(
    database_url: str, editions: list[Publication]
) -> None:
    publications = editions
    assert len({p.digest for p in publications}) == PUBLISHERS
    outcomes = race(database_url, publications)
    winners = [i for i, (kind, _) in enumerate(outcomes) if kind == "created"]
    assert len(winners) == 1, outcomes
    assert sorted(kind for kind, _ in outcomes) == ["conflict"] * (PUBLISHERS - 1) + ["created"]
    winner = publications[winners[0]]
    for index, (kind, message) in enumerate(outcomes):
        if kind == "conflict":
            assert winner.digest in message and publications[index].digest in message
    rows, bundles = stored(database_url)
    assert rows == [("demo-pipeline", "1.0.0", winner.digest)]
    assert bundles == {winner.digest: winner.digest}, "only the winner's bundle, intact; no orphans"


@pytest.mark.race
def test_racing_publishers_with_identical_content_all_succeed_with_one_row(database_url: str, tmp_path: Path) -> None:
    publication = prepare_folder(template_variant(tmp_path))
    outcomes = race(database_url, [publication] * PUBLISHERS)
    assert sorted(kind for kind, _ in outcomes) == ["created"] + ["same"] * (PUBLISHERS - 1)
    assert {detail for _, detail in outcomes} == {publication.digest}
    rows, bundles = stored(database_url)
    assert rows == [("demo-pipeline", "1.0.0", publication.digest)]
    assert bundles == {publication.digest: publication.digest}


# A publisher process that stops inside its transaction, after both rows were sent to the database and
# before the commit, and tells the test so; the test then kills it with SIGKILL.
STALLING_PUBLISHER = """
import sys, time
from pathlib import Path
from sqlalchemy import event
from sqlalchemy.orm import Session
from catalog.migrate import open_catalog
from catalog.publication import prepare_folder
from catalog.service import publish

folder, marker = Path(sys.argv[1]), Path(sys.argv[2])
publication = prepare_folder(folder)

@event.listens_for(Session, "before_commit")
def stall(session):
    session.flush()
    marker.write_text("rows sent, not committed")
    time.sleep(600)

with open_catalog(sys.argv[3]).session() as session:
    publish(session, publication=publication, publisher="doomed")
"""


def wait_for(path: Path, process: subprocess.Popen[bytes], seconds: float = 120) -> None:
    deadline = time.monotonic() + seconds
    while not path.exists():
        if process.poll() is not None:
            pytest.fail(f"the publisher exited early: {process.stderr.read().decode() if process.stderr else ''}")
        if time.monotonic() > deadline:
            process.kill()
            pytest.fail("the publisher never reached its commit")
        time.sleep(0.05)


def count_versions(catalog: Catalog) -> tuple[int, int]:
    with catalog.session() as session:
        return (session.scalar(select(func.count()).select_from(TemplateVersion)) or 0,
                session.scalar(select(func.count()).select_from(Bundle)) or 0)


def test_a_publish_killed_mid_transaction_leaves_no_partial_version(database_url: str, tmp_path: Path) -> None:
    catalog = open_catalog(database_url)
    doomed, marker = template_variant(tmp_path, note="doomed"), tmp_path / "stalled"
    process = subprocess.Popen(
        [sys.executable, "-c", STALLING_PUBLISHER, str(doomed), str(marker), database_url],
        cwd=ROOT, stderr=subprocess.PIPE, env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    wait_for(marker, process)
    assert count_versions(catalog) == (0, 0), "uncommitted rows are invisible to others"
    process.send_signal(signal.SIGKILL)
    assert process.wait(timeout=30) == -signal.SIGKILL
    if process.stderr:
        process.stderr.close()

    assert count_versions(catalog) == (0, 0), "nothing of the killed publish remains"
    other = prepare_folder(template_variant(tmp_path, note="the real one"))
    with catalog.session() as session:
        assert publish(session, publication=other, publisher="survivor").created, "the version is still free"
    with catalog.session() as session:
        assert resolve(session, name="demo-pipeline", spec="1.0.0").digest == other.digest
    assert count_versions(catalog) == (1, 1)


def test_a_publish_that_fails_before_its_commit_is_rolled_back(database_url: str, tmp_path: Path) -> None:
    catalog = open_catalog(database_url)
    publication = prepare_folder(template_variant(tmp_path))

    def fail(session: Session) -> None:
        session.flush()
        raise RuntimeError("disk full")

    event.listen(Session, "before_commit", fail)
    try:
        with pytest.raises(RuntimeError, match="disk full"), catalog.session() as session:
            publish(session, publication=publication, publisher="unlucky")
    finally:
        event.remove(Session, "before_commit", fail)
    assert count_versions(catalog) == (0, 0)
    with catalog.session() as session:
        assert publish(session, publication=publication, publisher="retry").created
