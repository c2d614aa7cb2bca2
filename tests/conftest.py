"""Shared fixtures. Tests that need ../shared (Argo's schema and examples) skip without it, with a
reason, except when PIPEFORGE_REQUIRE_SHARED is set (CI sets it), where they fail instead.

Catalog tests run once on SQLite and once on PostgreSQL (``PIPEFORGE_TEST_POSTGRES_URL``, default the
local server's ``test`` database, through which each run creates and drops its own ``pipeforge_test_*``
databases). Without a reachable server the PostgreSQL half skips, except when PIPEFORGE_REQUIRE_POSTGRES
is set (CI sets it), where it fails instead."""

from __future__ import annotations

import atexit
import json
import os
import re
import secrets
import shutil
import signal
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from functools import cache
from pathlib import Path
from typing import Any

import pytest

from generator.model import Manifest, parse_manifest
from generator.scaffold import MANIFEST_FILE, Pipeline, build
from generator.template_spec import find_template, list_templates
from generator.yamlio import load_documents
from tests import httpkit
from tests.gitserver import REPO, SEED, GitServer, serving
from tests.hypokit import PROFILE as HYPOTHESIS_PROFILE


def pytest_configure(config: pytest.Config) -> None:
    """Tests never read or write the user's own catalog: the default SQLite file lives under a private
    XDG_DATA_HOME for the whole run (subprocesses inherit it), and a PIPEFORGE_DATABASE_URL from the
    developer's shell does not leak in. Tests that want a database say which. An xdist worker gets the
    run's own COLUMNS and LINES back."""
    _terminal_size_of_the_run(config)
    data_home = tempfile.mkdtemp(prefix="pipeforge-test-data-")
    atexit.register(shutil.rmtree, data_home, True)
    os.environ["XDG_DATA_HOME"] = data_home
    os.environ.pop("PIPEFORGE_DATABASE_URL", None)


_TERMINAL_SIZE = ("COLUMNS", "LINES")


@pytest.hookimpl(optionalhook=True)
def pytest_configure_node(node: Any) -> None:
    """xdist's workers start with COLUMNS=80 and LINES=24 in their environment; each is told what the run
    itself had, so that tables (and the processes tests start) are as wide as without xdist."""
    for name in _TERMINAL_SIZE:
        node.workerinput[f"environ_{name}"] = os.environ.get(name)


def _terminal_size_of_the_run(config: pytest.Config) -> None:
    given = getattr(config, "workerinput", None)
    if given is None:
        return
    for name in _TERMINAL_SIZE:
        value = given.get(f"environ_{name}")
        if value is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = value


def pytest_report_header() -> str:
    return f"hypothesis profile: {HYPOTHESIS_PROFILE} (HYPOTHESIS_PROFILE: ci, dev or fast)"


_POSTGRES_FIXTURES = {"postgres_databases", "shared_postgres_url"}


ADVERSARIAL_FILE = re.compile(r"tests/registry_api/test_adversarial_[A-Za-z0-9_]+\.py")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Marks each test's PostgreSQL half ``postgres``, so a quick run can leave the server out; and keeps a
    module's tests on one xdist worker when they share a module-scoped fixture (a registry, a server
    process), so that it starts once rather than once per worker. An ``adversarial`` test must live in a
    tests/registry_api/test_adversarial_*.py file: `make test` runs those files alone, and only those."""
    for item in items:
        if item.get_closest_marker("adversarial") and not ADVERSARIAL_FILE.fullmatch(item.nodeid.split("::")[0]):
            raise pytest.UsageError(f"{item.nodeid}: an adversarial test belongs in a "
                                    "tests/registry_api/test_adversarial_*.py file (the Makefile runs them alone)")
        callspec = getattr(item, "callspec", None)
        fixtures = set(getattr(item, "fixturenames", ()))
        if fixtures & _POSTGRES_FIXTURES or (callspec is not None and "postgresql" in callspec.params.values()):
            item.add_marker(pytest.mark.postgres)
        if _shares_a_module_fixture(item):
            item.add_marker(pytest.mark.xdist_group(item.nodeid.split("::")[0]))


def _shares_a_module_fixture(item: pytest.Item) -> bool:
    info = getattr(item, "_fixtureinfo", None)
    if info is None:
        return False
    return any(d.scope in ("module", "package", "class") for defs in info.name2fixturedefs.values() for d in defs)


@pytest.fixture(autouse=True)
def _no_alarm_left_behind() -> Iterator[None]:
    """A render's periodic alarm that outlives it interrupts every later wait in the process; the test that
    leaves one fails, not whichever test the timer happens to hit next."""
    yield
    if hasattr(signal, "getitimer") and signal.getitimer(signal.ITIMER_REAL) != (0.0, 0.0):
        signal.setitimer(signal.ITIMER_REAL, 0)
        pytest.fail("the test left a SIGALRM timer running")


ROOT = Path(__file__).resolve().parent.parent
SHARED = Path(os.environ.get("PIPEFORGE_SHARED_DIR", ROOT.parent / "shared"))
#: How long a registry under attack may take to answer /healthz or a normal render. A liveness bound, not a
#: speed figure (those live in bench/): a starved registry takes the whole 10 s render budget of the bomb
#: that holds it, or never answers; a loaded CI machine takes a second or two.
RESPONSIVE_SECONDS = 5.0
_ANSWER_TIMES: list[float] = []


def responsive(seconds: float) -> bool:
    """Whether one answer of a registry under attack came within the liveness bound; every time is kept,
    and the run ends with the slowest (the figure; the bound only catches a registry that is held)."""
    _ANSWER_TIMES.append(seconds)
    return seconds < RESPONSIVE_SECONDS


def pytest_sessionfinish(session: pytest.Session) -> None:
    """An xdist worker hands its answer times to the run, which prints them all."""
    output = getattr(session.config, "workeroutput", None)
    if output is not None:
        output["answer_times"] = list(_ANSWER_TIMES)


@pytest.hookimpl(optionalhook=True)
def pytest_testnodedown(node: Any) -> None:
    _ANSWER_TIMES.extend(getattr(node, "workeroutput", {}).get("answer_times", ()))


def pytest_terminal_summary(terminalreporter: Any) -> None:
    if _ANSWER_TIMES:
        times = sorted(_ANSWER_TIMES)
        terminalreporter.write_line(
            f"registry under attack: {len(times)} answers to /healthz and normal renders, median "
            f"{times[len(times) // 2]:.3f} s, slowest {times[-1]:.3f} s (liveness bound {RESPONSIVE_SECONDS:g} s)")
TEMPLATE_NAMES = ("approval-gated-delete", "provision-process-publish", "saga-compensation")

#: One non-default parameter set per template, for golden files and default checks.
CUSTOM: dict[str, dict[str, Any]] = {
    "provision-process-publish": {
        "pipeline_name": "clickstream-rollup",
        "description": "Rolls up clickstream: \"daily\" & 'hourly' <partitions> — café ☕ 日本語\nline two",
        "namespace": "analytics",
        "service_account": "rollup-runner",
        "image": "ghcr.io/acme/rollup@sha256:" + "a" * 64,
        "input_uri": "gs://acme-raw/clicks",
        "output_uri": "gs://acme-curated/rollups",
        "scratch_size": "250Gi",
        "retry_limit": 5,
        "step_deadline_seconds": 3600,
        "workflow_deadline_seconds": 14400,
    },
    "saga-compensation": {
        "pipeline_name": "tenant-onboarding",
        "description": "Create a tenant: database, bucket, DNS.",
        "namespace": "platform",
        "service_account": "onboarding",
        "image": "registry.example.com:5000/platform/onboard:2.4.1",
        "step_1": "create-database",
        "step_2": "create-bucket",
        "step_3": "register-dns",
        "retry_limit": 2,
        "compensation_retry_limit": 10,
        "step_deadline_seconds": 900,
        "workflow_deadline_seconds": 7200,
    },
    "approval-gated-delete": {
        "pipeline_name": "drop-legacy-db",
        "description": "Retire the legacy database StatefulSet.",
        "namespace": "legacy",
        "service_account": "legacy-reaper",
        "image": "registry.k8s.io/kubectl:v1.30.0",
        "target_api_version": "apps/v1",
        "target_kind": "StatefulSet",
        "target_name": "legacy-postgres",
        "retry_limit": 1,
        "step_deadline_seconds": 300,
        "workflow_deadline_seconds": 172800,
    },
}
CASES = [(name, case) for name in TEMPLATE_NAMES for case in ("defaults", "custom")]


def case_params(template: str, case: str) -> dict[str, Any]:
    return {} if case == "defaults" else dict(CUSTOM[template])


@cache
def pipeline_for(template: str, case: str) -> Pipeline:
    return build(find_template(template), case_params(template, case))


def manifest_doc(template: str, case: str) -> dict[str, Any]:
    docs = load_documents(pipeline_for(template, case).files[MANIFEST_FILE])
    assert len(docs) == 1
    return docs[0]  # type: ignore[no-any-return]


def manifest_for(template: str, case: str) -> Manifest:
    manifest = parse_manifest(manifest_doc(template, case))
    assert manifest is not None
    return manifest


def shared_path(*parts: str) -> Path:
    path = SHARED.joinpath(*parts)
    if not path.exists():
        message = f"{path} is absent: Argo's schema and examples live in ../shared beside the repository"
        if os.environ.get("PIPEFORGE_REQUIRE_SHARED"):
            pytest.fail(message + " (PIPEFORGE_REQUIRE_SHARED is set, so this cannot skip)")
        pytest.skip(message)
    return path


@cache
def _argo_validator() -> Any:
    import jsonschema

    schema = json.loads(shared_path("argo", "schema.json").read_text(encoding="utf-8"))
    # Strict, as editors read it: IntOrString fields must be strings ("3600"), which is what we generate.
    return jsonschema.validators.validator_for(schema)(schema)


@pytest.fixture
def argo_validator() -> Any:
    return _argo_validator()


def all_builtin_names() -> list[str]:
    return [t.name for t in list_templates()]


# --- The catalog's databases: every catalog test runs on SQLite and on PostgreSQL. -------------------------

POSTGRES_ADMIN_URL = os.environ.get(
    "PIPEFORGE_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
DATABASES = ("sqlite", "postgresql")


def _postgres_unavailable(reason: str) -> None:
    message = f"PostgreSQL is needed for this test and {reason}"
    if os.environ.get("PIPEFORGE_REQUIRE_POSTGRES"):
        pytest.fail(message + " (PIPEFORGE_REQUIRE_POSTGRES is set, so this cannot skip)")
    pytest.skip(message)


class PostgresDatabases:
    """Creates uniquely named databases (``pipeforge_test_<random>``) through the admin URL; drops them."""

    def __init__(self) -> None:
        import secrets

        from sqlalchemy import create_engine, make_url

        self.admin_url = make_url(POSTGRES_ADMIN_URL)
        self.engine = create_engine(self.admin_url, isolation_level="AUTOCOMMIT", poolclass=_null_pool())
        self.prefix = f"pipeforge_test_{secrets.token_hex(4)}"
        self.created: list[str] = []

    def create(self) -> str:
        from sqlalchemy import text
        from sqlalchemy.exc import OperationalError

        name = f"{self.prefix}_{len(self.created)}"
        try:
            with self.engine.connect() as connection:
                connection.execute(text(f'CREATE DATABASE "{name}"'))
        except OperationalError as exc:
            _postgres_unavailable(f"{self.admin_url.render_as_string()} is unreachable: {exc.orig}")
        self.created.append(name)
        return self.admin_url.set(database=name).render_as_string(hide_password=False)

    def drop_all(self) -> None:
        from sqlalchemy import text

        from catalog.db import engine_for

        for name in self.created:
            url = self.admin_url.set(database=name).render_as_string(hide_password=False)
            engine_for(url).dispose()
            with self.engine.connect() as connection:
                connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        self.engine.dispose()


def _null_pool() -> Any:
    from sqlalchemy.pool import NullPool

    return NullPool


@pytest.fixture(scope="session")
def postgres_databases() -> Iterator[PostgresDatabases]:
    databases = PostgresDatabases()
    yield databases
    databases.drop_all()


@pytest.fixture(scope="session")
def shared_postgres_url(postgres_databases: PostgresDatabases) -> str:
    """One PostgreSQL database for the run; ``database_url`` empties it before each test."""
    return postgres_databases.create()


def _empty_catalog(url: str) -> None:
    from sqlalchemy import delete

    from catalog.migrate import open_catalog
    from catalog.models import Bundle, RemovedVersion, TemplateVersion

    catalog = open_catalog(url)
    with catalog.engine.begin() as connection:
        connection.execute(delete(RemovedVersion))
        connection.execute(delete(TemplateVersion))
        connection.execute(delete(Bundle))


@pytest.fixture(params=DATABASES)
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """An empty, migrated catalog: a fresh SQLite file, or the run's PostgreSQL database emptied."""
    from catalog.db import engine_for

    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'catalog.db'}"
    else:
        url = request.getfixturevalue("shared_postgres_url")
    _empty_catalog(url)
    yield url
    engine_for(url).dispose()  # kept in engine_for's cache: clearing it would drop PostgreSQL's engine undisposed


@pytest.fixture(params=DATABASES)
def fresh_database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A database nobody has touched: no tables at all."""
    from catalog.db import engine_for

    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'fresh.db'}"
    else:
        url = request.getfixturevalue("postgres_databases").create()
    yield url
    engine_for(url).dispose()


def template_variant(
    tmp_path: Path, *, name: str = "demo-pipeline", version: str = "1.0.0", note: str = "",
    base: str = "provision-process-publish", folder: str | None = None,
) -> Path:
    """A copy of a built-in template under another name and version; ``note`` changes its content."""
    import hashlib
    import re
    import shutil

    target = tmp_path / (folder or f"{name}-{version}-{hashlib.sha256(note.encode()).hexdigest()[:8]}")
    shutil.copytree(find_template(base).path, target)
    meta = target / "template.yaml"
    text = re.sub(r"(?m)^name: .*$", f"name: {name}", meta.read_text(encoding="utf-8"), count=1)
    text = re.sub(r"(?m)^version: .*$", f"version: {version}", text, count=1)
    if note:
        text += f"changelog: {json.dumps(note)}\n"
    meta.write_text(text, encoding="utf-8")
    return target


# --- The registry: real uvicorn on a free loopback port, over the same two databases. ----------------------


def tokens_for(server: RegistryServer) -> dict[str, str]:
    """A fresh token per scope (pr, read, publish) in the registry's database: scope -> secret."""
    from catalog.tokens import create

    made = {}
    with private_catalog(server.database_url) as catalog:
        for scope in ("pr", "read", "publish"):
            with catalog.session() as session:
                _, made[scope] = create(session, name=f"test-{scope}-{time.monotonic_ns()}", scopes=[scope])
    return made


class RegistryServer:
    """The registry app served by uvicorn in a thread, on a socket bound to a free loopback port."""

    def __init__(self, url: str, **settings: Any) -> None:
        import socket
        import threading

        import uvicorn

        from registry_api.app import create_app
        from registry_api.server import server_config
        from registry_api.settings import Settings

        self.database_url = url
        self.settings = Settings(database_url=url, **settings)
        self.app = create_app(self.settings)
        self._socket = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._socket.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._socket.bind(("127.0.0.1", 0))
        self.port = self._socket.getsockname()[1]
        self.base_url = f"http://127.0.0.1:{self.port}"
        self.server = uvicorn.Server(server_config(self.app, self.settings, log_level="warning"))
        self._thread = threading.Thread(target=self.server.run, kwargs={"sockets": [self._socket]}, daemon=True)

    def __enter__(self) -> RegistryServer:
        import time

        self._thread.start()
        # A liveness bound, not a timing: the first start in a worker imports the app and starts the
        # render workers' fork server, which takes long on a loaded machine.
        deadline = time.monotonic() + 180
        while not self.server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("the registry did not start")
            time.sleep(0.02)
        return self

    def __exit__(self, *_exc: object) -> None:
        self.server.should_exit = True
        self._thread.join(timeout=30)
        self._socket.close()

    def client(self, token: str | None = None) -> Any:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        return httpkit.client(base_url=self.base_url, headers=headers, timeout=60)


@contextmanager
def private_catalog(url: str) -> Iterator[Any]:
    """The catalog at ``url`` on an engine of its own, disposed afterwards. Module-scoped fixtures use it:
    the shared per-URL engines are cleared by function-scoped fixtures, which would drop (not close)
    connections still pooled in them."""
    from catalog.db import Catalog, create_catalog_engine
    from catalog.migrate import ensure_current

    engine = create_catalog_engine(url)
    try:
        ensure_current(engine)
        yield Catalog(engine)
    finally:
        engine.dispose()


def _empty_registry_database(url: str) -> None:
    from sqlalchemy import delete

    from catalog.models import ApiToken, Bundle, Delivery, PullRequestJob, Rollout, TemplateVersion

    with private_catalog(url) as catalog, catalog.engine.begin() as connection:
        for table in (PullRequestJob, Rollout, Delivery, TemplateVersion, Bundle, ApiToken):
            connection.execute(delete(table))


@pytest.fixture(params=DATABASES)
def registry_url_for_test(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """An empty catalog for one test's registry: a fresh SQLite file, or the run's PostgreSQL database emptied
    (jobs, roll-outs and deliveries included)."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'catalog.db'}"
    url: str = request.getfixturevalue("shared_postgres_url")
    _empty_registry_database(url)
    return url


@pytest.fixture(scope="module", params=DATABASES)
def registry_database_url(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> str:
    """An empty catalog for one test module's registry: SQLite, or the run's PostgreSQL database."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path_factory.mktemp('registry') / 'catalog.db'}"
    else:
        url = request.getfixturevalue("shared_postgres_url")
    _empty_registry_database(url)
    return url


@pytest.fixture(scope="module")
def registry(registry_database_url: str) -> Iterator[RegistryServer]:
    """A running registry (built-in templates published on start) for the module's tests."""
    with RegistryServer(registry_database_url) as server:
        yield server


@pytest.fixture(scope="module")
def tokens(registry: RegistryServer) -> dict[str, str]:
    """One token per scope (``none``: a token that exists but was revoked)."""
    from catalog.tokens import SCOPES, create, revoke

    made = {}
    with private_catalog(registry.database_url) as catalog:
        for scope in (*SCOPES, "revoked"):
            with catalog.session() as session:
                _, made[scope] = create(session, name=f"test-{scope}",
                                        scopes=["publish" if scope == "revoked" else scope])
        with catalog.session() as session:
            revoke(session, name="test-revoked")
    return made


@pytest.fixture
def git_token() -> str:
    """A fresh token for the loopback git server (tests check it never lands on disk or in output)."""
    return "pf-" + secrets.token_hex(16)


@pytest.fixture
def git_server(tmp_path: Path, git_token: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[GitServer]:
    """A git server on loopback (git http-backend behind ``git_token``) holding the seeded GitOps repository,
    with the token in PIPEFORGE_GIT_TOKEN and pipeforge's cache under tmp_path."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.setenv("PIPEFORGE_GIT_TOKEN", git_token)
    monkeypatch.delenv("PIPEFORGE_GIT_AUTHOR", raising=False)
    root = tmp_path / "server"
    root.mkdir()
    with serving(root, git_token) as running:
        running.create(REPO, SEED)
        yield running
