"""Publish 1,000 versions of a template into the catalog, then resolve specs over them.

For each database (a fresh SQLite file; and PostgreSQL when reachable, in a database this script creates
and drops), prints the time per publish, split into preparing the bundle (check, pack, render with
defaults, lint: no database) and recording it (one transaction), and the median and 95th percentile time
per resolve of each spec. The issue's target: a resolve takes at most 5 ms at 1,000 versions.

    .venv/bin/python bench/bench_catalog.py [--versions 1000] [--resolves 200] [--postgres URL | --no-postgres]
"""

from __future__ import annotations

import argparse
import re
import secrets
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from catalog.migrate import open_catalog  # noqa: E402
from catalog.publication import Publication, prepare_folder  # noqa: E402
from catalog.service import publish, resolve  # noqa: E402

DEFAULT_POSTGRES = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
SPECS = ["latest", "^4.2", "~7.3.1", ">=2.0,<5", "5.5.5", "^9.9.0-rc.1", "<1"]


def version_numbers(count: int) -> list[str]:
    """MAJOR.MINOR.PATCH over 0..9 each (1,000 of them), a prerelease every 100th."""
    numbers = []
    for index in range(count):
        major, minor, patch = index // 100 % 10, index // 10 % 10, index % 10
        numbers.append(f"{major}.{minor}.{patch}" + (f"-rc.{index // 1000 + 1}" if index % 100 == 99 else ""))
    return numbers


def prepare_all(count: int) -> tuple[list[Publication], float]:
    with tempfile.TemporaryDirectory() as scratch:
        folder = Path(scratch) / "bench-pipeline"
        shutil.copytree(ROOT / "templates" / "provision-process-publish", folder)
        meta = folder / "template.yaml"
        text = re.sub(r"(?m)^name: .*$", "name: bench-pipeline", meta.read_text(encoding="utf-8"), count=1)
        publications, start = [], time.perf_counter()
        for number in version_numbers(count):
            meta.write_text(re.sub(r"(?m)^version: .*$", f"version: {number}", text, count=1), encoding="utf-8")
            publications.append(prepare_folder(folder))
        return publications, time.perf_counter() - start


@contextmanager
def postgres_database(admin_url: str) -> Iterator[str | None]:
    from sqlalchemy import create_engine, make_url, text
    from sqlalchemy.exc import OperationalError

    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    name = f"pipeforge_bench_{secrets.token_hex(4)}"
    try:
        with admin.connect() as connection:
            connection.execute(text(f'CREATE DATABASE "{name}"'))
    except OperationalError as exc:
        print(f"PostgreSQL at {make_url(admin_url).render_as_string()} unreachable, skipped: {exc.orig}")
        yield None
        return
    url = make_url(admin_url).set(database=name).render_as_string(hide_password=False)
    try:
        yield url
    finally:
        from catalog.db import engine_for

        engine_for(url).dispose()
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE "{name}" WITH (FORCE)'))
        admin.dispose()


def bench(label: str, url: str, publications: list[Publication], prepare_seconds: float, resolves: int) -> None:
    catalog = open_catalog(url)
    start = time.perf_counter()
    for publication in publications:
        with catalog.session() as session:
            publish(session, publication=publication, publisher="bench")
    record = (time.perf_counter() - start) / len(publications) * 1000
    prepare = prepare_seconds / len(publications) * 1000
    print(f"\n{label}: {len(publications)} versions published")
    print(f"  per publish: {prepare + record:6.2f} ms  (prepare: check, pack, render, lint {prepare:.2f} ms; "
          f"record in the database {record:.2f} ms)")
    print(f"  per resolve, {resolves} runs each:      median    p95   -> version")
    worst = 0.0
    with catalog.session() as session:
        for spec in SPECS:
            times = []
            for _ in range(resolves):
                begin = time.perf_counter()
                found = resolve(session, name="bench-pipeline", spec=spec)
                times.append((time.perf_counter() - begin) * 1000)
                session.expunge_all()  # no identity-map shortcut: each resolve loads its row again
            p95 = statistics.quantiles(times, n=20)[-1]
            worst = max(worst, statistics.median(times))
            print(f"    {spec:<14}                  {statistics.median(times):6.2f} {p95:6.2f} ms -> {found.version}")
    verdict = "met" if worst <= 5 else "MISSED"
    print(f"  slowest median resolve {worst:.2f} ms: target of at most 5 ms {verdict}")
    catalog.engine.dispose()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--versions", type=int, default=1000)
    parser.add_argument("--resolves", type=int, default=200)
    parser.add_argument("--postgres", default=DEFAULT_POSTGRES, help="admin URL used to create a scratch database")
    parser.add_argument("--no-postgres", action="store_true")
    args = parser.parse_args()
    publications, prepare_seconds = prepare_all(args.versions)
    with tempfile.TemporaryDirectory() as scratch:
        bench("SQLite", f"sqlite:///{Path(scratch) / 'bench.db'}", publications, prepare_seconds, args.resolves)
    if not args.no_postgres:
        with postgres_database(args.postgres) as url:
            if url:
                bench("PostgreSQL", url, publications, prepare_seconds, args.resolves)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
