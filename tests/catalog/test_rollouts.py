"""Fleet roll-outs over real HTTP: 20 GitOps repositories served by git http-backend on loopback (18 on one
server, 2 on a second one that is stopped after delivery, so they are truly unreachable), a registry with
two pull-request workers, and one fake GitHub per repository reached through PIPEFORGE_PR_API_URLS.

The pipelines are delivered by ``POST /api/v1/pull-requests`` (which records the deliveries), merged by a
person, then rolled out to a new template version: 18 upgrade PRs and 2 failures naming their repository;
again: nothing pushed, no new branch or PR; with the second server back: 20. A local edit survives in its
upgrade PR; a repository outside the allowlist fails without a network call; the CLI drives a roll-out.
The fleet runs on PostgreSQL, the others on SQLite."""

from __future__ import annotations

import json
import re
import shutil
import time
from collections.abc import Iterator
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from generator.template_spec import find_template
from tests.conftest import RegistryServer, private_catalog, tokens_for
from tests.fake_forge import DIALECTS, FakeForge
from tests.fake_forge import serving as forge_serving
from tests.gitserver import SEED, GitServer, commit, run, serving

TEMPLATE = "provision-process-publish"
TARGET = "apps/orders/pipeline"
BRANCH = "pipeforge/apps-orders-pipeline"
NEAR, FAR = 18, 2
LOCAL_EDIT = "Owned by the orders team: page #orders-oncall before changing the schedule."
NEW_SECTION = "## Upgrades\n\nThis pipeline follows its template through pipeforge upgrade pull requests.\n"


def new_version(tmp_path: Path, version: str = "1.1.0") -> Path:
    """provision-process-publish at ``version``: a longer step deadline by default, one more README section,
    and a changelog."""
    folder = tmp_path / f"{TEMPLATE}-{version}"
    shutil.copytree(find_template(TEMPLATE).path, folder)
    meta = folder / "template.yaml"
    text = re.sub(r"(?m)^version: .*$", f"version: {version}", meta.read_text(encoding="utf-8"), count=1)
    text = text.replace("default: 1800", "default: 2400", 1)
    meta.write_text(text + 'changelog: "Step deadline 40 minutes by default; README explains upgrades."\n',
                    encoding="utf-8")
    cookiecutter = folder / "cookiecutter.json"
    cookiecutter.write_text(cookiecutter.read_text(encoding="utf-8").replace('"step_deadline_seconds": 1800',
                                                                             '"step_deadline_seconds": 2400'))
    readme = next(folder.glob("*/README.md"))
    readme.write_text(readme.read_text(encoding="utf-8") + "\n" + NEW_SECTION, encoding="utf-8")
    return folder


def publish(server: RegistryServer, folder: Path) -> None:
    from catalog.publication import prepare_folder
    from catalog.service import publish as publish_version

    with private_catalog(server.database_url) as catalog, catalog.session() as session:
        assert publish_version(session, publication=prepare_folder(folder), publisher="platform team").created


def wait_job(client: Any, job_id: int, timeout: float = 120) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        job: dict[str, Any] = client.get(f"/api/v1/pull-requests/{job_id}").json()
        if job["status"] in ("succeeded", "failed") or time.monotonic() > deadline:
            return job
        time.sleep(0.2)


def wait_rollout(client: Any, rollout_id: int, timeout: float = 240) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        answer = client.get(f"/api/v1/rollouts/{rollout_id}")
        assert answer.status_code == 200, answer.text
        rollout: dict[str, Any] = answer.json()
        if rollout["done"] or time.monotonic() > deadline:
            return rollout
        time.sleep(0.2)


@dataclass
class Fleet:
    tmp_path: Path
    token: str
    near: GitServer
    far: GitServer
    forges: dict[str, FakeForge] = field(default_factory=dict)  # repository URL -> its fake GitHub
    stack: ExitStack = field(default_factory=ExitStack)

    @property
    def repos(self) -> list[str]:
        return list(self.forges)

    def far_repos(self) -> list[str]:
        return [url for url in self.forges if f":{self.far.port}/" in url]

    def bare(self, url: str) -> Path:
        server = self.far if f":{self.far.port}/" in url else self.near
        return server.root / (url.split(f":{server.port}/", 1)[1])

    def refs(self) -> dict[str, str]:
        return {url: run("git", "--git-dir", str(self.bare(url)), "for-each-ref", "--format=%(refname) %(objectname)")
                for url in self.repos}

    def merge(self, url: str, *, edit: bool = False) -> None:
        """What a person does with the pull request: merge its branch into main (optionally with an edit of
        their own on top), push, close the request and delete the branch."""
        work = self.tmp_path / "work" / re.sub(r"\W+", "-", url)
        run("git", "clone", "--quiet", str(self.bare(url)), str(work))
        run("git", "-C", str(work), "merge", "--quiet", "--ff-only", f"origin/{BRANCH}")
        if edit:
            readme = next((work / TARGET).glob("README.md"))
            lines = readme.read_text(encoding="utf-8").splitlines(keepends=True)
            readme.write_text("".join([lines[0], "\n", LOCAL_EDIT + "\n", *lines[1:]]), encoding="utf-8")
            run("git", "-C", str(work), "add", "-A")
            commit(work, "README: who owns the pipeline")
        run("git", "-C", str(work), "push", "--quiet", "origin", "main", f":{BRANCH}")
        for record in self.forges[url].records:
            record["open"], record["merged"] = False, True

    def open_pulls(self) -> dict[str, list[dict[str, Any]]]:
        return {url: fake.open_records() for url, fake in self.forges.items()}


def _start_far(fleet: Fleet, root: Path, port: int = 0) -> GitServer:
    return fleet.stack.enter_context(serving(root, fleet.token, port))


@pytest.fixture
def fleet(tmp_path: Path, git_token: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[Fleet]:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.setenv("PIPEFORGE_GIT_TOKEN", git_token)
    monkeypatch.delenv("PIPEFORGE_GIT_AUTHOR", raising=False)
    with ExitStack() as stack:
        roots = [tmp_path / "near", tmp_path / "far"]
        for root in roots:
            root.mkdir()
        near = stack.enter_context(serving(roots[0], git_token))
        far_stack = ExitStack()
        far = far_stack.enter_context(serving(roots[1], git_token))
        fleet = Fleet(tmp_path, git_token, near, far, stack=far_stack)
        for index in range(NEAR + FAR):
            server = near if index < NEAR else far
            name = f"team{index:02d}/acme/deploy"
            bare = server.create(name, SEED)
            fake = stack.enter_context(forge_serving(FakeForge(DIALECTS["github"], git_token, bare)))
            fleet.forges[server.url(name)] = fake
        try:
            yield fleet
        finally:
            fleet.stack.close()


def registry_for(fleet: Fleet, url: str, **settings: Any) -> RegistryServer:
    return RegistryServer(url, pr_allowed_repos=[f"http://127.0.0.1:{fleet.near.port}/",
                                                 f"http://127.0.0.1:{fleet.far.port}/"],
                          pr_api_urls={repo: fake.url for repo, fake in fleet.forges.items()},
                          pr_workers=2, pr_lease_seconds=120, **settings)


def deliver(server: RegistryServer, token: str, repos: list[str]) -> list[dict[str, Any]]:
    with server.client(token) as client:
        queued = []
        for repo in repos:
            answer = client.post("/api/v1/pull-requests", json={
                "template": TEMPLATE, "version": "1.0.0", "parameters": {"namespace": "orders"},
                "repo": repo, "path": TARGET, "provider": "github"})
            assert answer.status_code == 202, answer.text
            queued.append(answer.json()["id"])
        return [wait_job(client, job_id) for job_id in queued]


# On PostgreSQL only, the database a fleet's registry runs on: its sixty pushes are most of the suite's
# slowest test, and the SQLite half of the job and roll-out tables is covered by the tests below and by
# tests/registry_api (test_rollouts_api, test_rollouts_rate_limit).
@pytest.mark.slow
@pytest.mark.parametrize("registry_url_for_test", ["postgresql"], indirect=True)
def test_a_rollout_over_twenty_repositories_with_two_unreachable_converges(
        fleet: Fleet, tmp_path: Path, registry_url_for_test: str, capsys: pytest.CaptureFixture[str],
        monkeypatch: pytest.MonkeyPatch) -> None:
    from catalog.models import Delivery

    with registry_for(fleet, registry_url_for_test) as server:
        tokens = tokens_for(server)
        delivered = deliver(server, tokens["pr"], fleet.repos)
        assert [job["status"] for job in delivered] == ["succeeded"] * 20, [j["error"] for j in delivered]
        assert all(len(pulls) == 1 for pulls in fleet.open_pulls().values())
        with private_catalog(server.database_url) as catalog, catalog.session() as session:
            rows = session.query(Delivery).all()
            assert sorted(r.repo for r in rows) == sorted(fleet.repos)
            assert {(r.template, r.version, r.path, r.provider, r.base) for r in rows} == {
                (TEMPLATE, "1.0.0", TARGET, "github", "main")}
            assert all(r.digest and r.digest.startswith("sha256:") for r in rows)

        edited = fleet.repos[0]
        for url in fleet.repos:
            fleet.merge(url, edit=url == edited)
        publish(server, new_version(tmp_path))
        far_root, far_port = fleet.far.root, fleet.far.port
        fleet.stack.close()  # the second server goes away: connection refused from now on

        with server.client(tokens["pr"]) as client:
            answer = client.post("/api/v1/rollouts", json={"template": TEMPLATE, "to": "1.1.0"})
            assert answer.status_code == 202, answer.text
            assert answer.json()["total"] == 20 and answer.json()["to_version"] == "1.1.0"
            first = wait_rollout(client, answer.json()["id"])
        assert first["done"] and first["counts"] == {"pending": 0, "opened": 18, "up-to-date": 0, "conflict": 0,
                                                     "declined": 0, "failed": 2}, first
        failed = [t for t in first["targets"] if t["status"] == "failed"]
        assert sorted(t["repo"] for t in failed) == sorted(fleet.far_repos())
        for target in failed:
            assert target["repo"] in target["reason"] and fleet.token not in target["reason"]
            assert "cannot be reached" in target["reason"]
        opened = [t for t in first["targets"] if t["status"] == "opened"]
        assert all(t["from"] == "1.0.0" and t["pull_request"]["action"] == "created" for t in opened)
        for url, pulls in fleet.open_pulls().items():
            if url in fleet.far_repos():
                assert pulls == []
            else:
                assert [p["head"] for p in pulls] == [BRANCH], (url, pulls)
        readme = run("git", "--git-dir", str(fleet.bare(edited)), "show", f"{BRANCH}:{TARGET}/README.md")
        assert LOCAL_EDIT in readme and "## Upgrades" in readme  # the local edit kept, the template change in
        manifest = run("git", "--git-dir", str(fleet.bare(edited)), "show", f"{BRANCH}:{TARGET}/workflowtemplate.yaml")
        assert manifest  # the folder is whole on the branch

        # Again, through the CLI (not a TTY: one line per target change, then the table): it converges.
        refs, pushes = fleet.refs(), fleet.near.receive_packs()
        records = {url: len(fake.records) for url, fake in fleet.forges.items()}
        from generator.cli import main

        monkeypatch.setenv("PIPEFORGE_TOKEN", tokens["pr"])
        capsys.readouterr()
        code = main(["rollout", TEMPLATE, "--to", "1.1.0", "--registry", server.base_url])
        printed = capsys.readouterr().out
        assert code == 4, printed  # some targets failed
        assert tokens["pr"] not in printed
        assert "18 opened" in printed and "2 failed" in printed
        for url in fleet.far_repos():
            assert url in printed
        assert fleet.refs() == refs and fleet.near.receive_packs() == pushes  # nothing pushed, no new branch
        assert {url: len(fake.records) for url, fake in fleet.forges.items()} == records  # no new PR

        # The second server is back on its port: every repository converges, still one PR each.
        _start_far(fleet, far_root, far_port)
        with server.client(tokens["pr"]) as client:
            answer = client.post("/api/v1/rollouts", json={"template": TEMPLATE, "to": "1.1.0"})
            third = wait_rollout(client, answer.json()["id"])
            listed = client.get("/api/v1/rollouts").json()["items"]
        assert third["counts"]["opened"] == 20 and third["total"] == 20, third
        assert all(len(pulls) == 1 and pulls[0]["head"] == BRANCH for pulls in fleet.open_pulls().values())
        assert [item["id"] for item in listed][:3] == [third["id"], third["id"] - 1, first["id"]]
        assert fleet.token not in json.dumps(third) + json.dumps(listed)


def test_a_repository_outside_the_allowlist_fails_with_a_reason_and_no_network_call(
        fleet: Fleet, tmp_path: Path) -> None:
    from catalog.rollouts import record_delivery

    outside = fleet.repos[0]
    with RegistryServer(f"sqlite:///{tmp_path / 'catalog.db'}", pr_allowed_repos=fleet.repos[1:],
                        pr_workers=1) as server:
        tokens = tokens_for(server)
        publish(server, new_version(tmp_path))
        with private_catalog(server.database_url) as catalog, catalog.session() as session, session.begin():
            record_delivery(session, repo=outside, path=TARGET, template=TEMPLATE, version="1.0.0", digest=None,
                            base="main", provider="github")
        with server.client(tokens["pr"]) as client:
            answer = client.post("/api/v1/rollouts", json={"template": TEMPLATE, "to": "^1.1"})
            assert answer.status_code == 202, answer.text
            rollout = wait_rollout(client, answer.json()["id"])
    [target] = rollout["targets"]
    assert target["status"] == "failed" and target["repo"] == outside
    assert "does not push to" in target["reason"] and "PIPEFORGE_PR_ALLOWED_REPOS" in target["reason"]
    assert fleet.near.requests == [] and all(fake.requests == [] for fake in fleet.forges.values())


def test_one_upgrade_over_the_api_opens_is_up_to_date_or_says_what_is_missing(
        git_server: GitServer, tmp_path: Path) -> None:
    from catalog.models import Delivery

    repo = git_server.repo_url
    with RegistryServer(f"sqlite:///{tmp_path / 'catalog.db'}", pr_allowed_repos=[repo]) as server:
        tokens = tokens_for(server)
        with server.client(tokens["pr"]) as client:
            answer = client.post("/api/v1/pull-requests", json={"template": TEMPLATE, "repo": repo, "path": TARGET})
            assert wait_job(client, answer.json()["id"])["status"] == "succeeded"
            work = tmp_path / "work"
            run("git", "clone", "--quiet", str(git_server.bare), str(work))
            run("git", "-C", str(work), "merge", "--quiet", "--ff-only", f"origin/{BRANCH}")
            run("git", "-C", str(work), "push", "--quiet", "origin", "main", f":{BRANCH}")
            publish(server, new_version(tmp_path))
            jobs = {}
            for name, body in (("opened", {"repo": repo, "path": TARGET}),
                               ("up-to-date", {"repo": repo, "path": TARGET, "to": "1.0.0"}),
                               ("missing", {"repo": repo, "path": "apps/billing"})):
                answer = client.post("/api/v1/upgrades", json=body, headers={"Idempotency-Key": name})
                assert answer.status_code == 202, answer.text
                jobs[name] = wait_job(client, answer.json()["id"])
        with private_catalog(server.database_url) as catalog, catalog.session() as session:
            [delivery] = session.query(Delivery).all()
    opened = jobs["opened"]
    assert opened["kind"] == "upgrade" and opened["status"] == "succeeded", opened
    assert opened["result"]["upgrade"]["status"] == "opened" and opened["result"]["upgrade"]["to"] == "1.1.0"
    readme = run("git", "--git-dir", str(git_server.bare), "show", f"{BRANCH}:{TARGET}/README.md")
    assert NEW_SECTION.strip() in readme
    assert jobs["up-to-date"]["result"]["upgrade"]["status"] == "up-to-date"
    missing = jobs["missing"]
    assert missing["status"] == "failed" and repo in missing["error"] and "apps/billing" in missing["error"]
    assert (delivery.version, delivery.path) == ("1.0.0", TARGET)  # main still holds 1.0.0 until the PR is merged
