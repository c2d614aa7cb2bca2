"""The roll-out and upgrade API over real HTTP, on SQLite and PostgreSQL, without git: scope pr, problems for
an unknown template or a bad spec, a roll-out with no target, Idempotency-Key, which deliveries a roll-out
selects (and with which base and provider), ``POST /api/v1/upgrades`` checks, deliveries recorded by
succeeded upgrade jobs, and PIPEFORGE_PR_API_URLS."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest

from catalog import worker
from tests.conftest import RegistryServer, private_catalog, tokens_for

TEMPLATE = "provision-process-publish"
REPO = "https://git.example.com/acme/deploy.git"


@pytest.fixture
def idle(registry_url_for_test: str) -> Iterator[tuple[RegistryServer, dict[str, str]]]:
    """A registry whose workers do not run: jobs stay pending."""
    with RegistryServer(registry_url_for_test, pr_allowed_repos=["https://git.example.com/"], pr_workers=0) as server:
        yield server, tokens_for(server)


def deliver(server: RegistryServer, *rows: tuple[str, str, str, str, str]) -> None:
    from catalog.rollouts import record_delivery

    with private_catalog(server.database_url) as catalog, catalog.session() as session, session.begin():
        for repo, template, version, base, provider in rows:
            record_delivery(session, repo=repo, path="apps/orders", template=template, version=version, digest=None,
                            base=base, provider=provider)


def test_scope_pr_is_required(idle: tuple[RegistryServer, dict[str, str]]) -> None:
    server, tokens = idle
    for token, status in ((None, 401), ("pft_unknown", 401), (tokens["read"], 403)):
        with server.client(token) as client:
            assert client.post("/api/v1/rollouts", json={"template": TEMPLATE}).status_code == status
            assert client.get("/api/v1/rollouts").status_code == status
            assert client.get("/api/v1/rollouts/1").status_code == status
            assert client.post("/api/v1/upgrades", json={"repo": REPO, "path": "a"}).status_code == status


def test_unknown_templates_and_bad_specs_are_problems_and_make_nothing(
        idle: tuple[RegistryServer, dict[str, str]]) -> None:
    server, tokens = idle
    with server.client(tokens["pr"]) as client:
        for body, status in (({"template": "no-such-template"}, 404), ({"template": TEMPLATE, "to": "9.9.9"}, 404),
                             ({"template": TEMPLATE, "to": "not a spec"}, 422),
                             ({"template": TEMPLATE, "extra": 1}, 422)):
            answer = client.post("/api/v1/rollouts", json=body)
            assert answer.status_code == status, (body, answer.text)
            assert answer.headers["content-type"] == "application/problem+json" and answer.json()["detail"]
        missing = client.get("/api/v1/rollouts/4242")
        assert missing.status_code == 404 and "no roll-out 4242" in missing.json()["detail"]
        assert client.get("/api/v1/rollouts").json() == {"items": []}


def test_a_rollout_with_no_delivery_below_the_target_says_so(idle: tuple[RegistryServer, dict[str, str]]) -> None:
    server, tokens = idle
    deliver(server, (REPO, TEMPLATE, "1.0.0", "main", "none"))  # already at the target
    with server.client(tokens["pr"]) as client:
        answer = client.post("/api/v1/rollouts", json={"template": TEMPLATE, "to": "1.0.0"})
        assert answer.status_code == 200, answer.text
        rollout = answer.json()
        assert rollout["total"] == 0 and rollout["done"] is True and rollout["targets"] == []
        assert set(rollout["counts"].values()) == {0}
        assert client.get(answer.headers["Location"]).json() == rollout
    with server.client() as anonymous:  # the pages follow the catalog's read rules (open by default)
        page = anonymous.get(f"/rollouts/{rollout['id']}")
        assert page.status_code == 200 and "nothing to do" in page.text and 'http-equiv="refresh"' not in page.text
        assert anonymous.get("/rollouts/4242").status_code == 404
        assert f'href="/rollouts/{rollout["id"]}"' in anonymous.get("/rollouts").text


def test_a_rollout_selects_the_deliveries_below_the_target_with_their_base_and_provider(
        idle: tuple[RegistryServer, dict[str, str]], tmp_path: Any) -> None:
    server, tokens = idle
    from tests.catalog.test_rollouts import new_version, publish

    publish(server, new_version(tmp_path))
    deliver(server, ("https://git.example.com/a/one.git", TEMPLATE, "1.0.0", "main", "github"),
            ("https://git.example.com/b/two.git", TEMPLATE, "0.9.0", "release", "gitea"),
            ("https://git.example.com/c/three.git", TEMPLATE, "1.1.0", "main", "github"),  # at the target
            ("https://git.example.com/d/four.git", "saga-compensation", "1.0.0", "main", "github"),  # another template
            ("https://elsewhere.example/e/five.git", TEMPLATE, "1.0.0", "main", "none"))  # no longer allowed
    with server.client(tokens["pr"]) as client:
        answer = client.post("/api/v1/rollouts", json={"template": TEMPLATE, "to": "^1.1"})
        assert answer.status_code == 202, answer.text
        rollout = answer.json()
        assert rollout["to"] == "^1.1" and rollout["to_version"] == "1.1.0" and rollout["total"] == 3
        by_repo = {t["repo"]: t for t in rollout["targets"]}
        assert set(by_repo) == {"https://git.example.com/a/one.git", "https://git.example.com/b/two.git",
                                "https://elsewhere.example/e/five.git"}
        refused = by_repo.pop("https://elsewhere.example/e/five.git")
        assert refused["status"] == "failed" and "does not push to" in refused["reason"]
        assert {t["status"] for t in by_repo.values()} == {"pending"} and rollout["done"] is False
        job = client.get(f"/api/v1/pull-requests/{by_repo['https://git.example.com/b/two.git']['job']}").json()
        assert job["kind"] == "upgrade" and job["rollout"] == rollout["id"] and job["status"] == "queued"
        assert job["request"] == {"template": TEMPLATE, "repo": "https://git.example.com/b/two.git",
                                       "path": "apps/orders", "to": "1.1.0", "base": "release", "provider": "gitea",
                                       "from": "0.9.0"}
        assert rollout["counts"] == {"pending": 2, "opened": 0, "up-to-date": 0, "conflict": 0, "declined": 0,
                                     "failed": 1}
        page = client.get(f"/rollouts/{rollout['id']}").text
        assert 'http-equiv="refresh"' in page and "does not push to https://elsewhere.example/e/five.git" in page


def test_an_idempotency_key_names_one_rollout(idle: tuple[RegistryServer, dict[str, str]]) -> None:
    server, tokens = idle
    deliver(server, (REPO, TEMPLATE, "0.1.0", "main", "none"))
    with server.client(tokens["pr"]) as client:
        first = client.post("/api/v1/rollouts", json={"template": TEMPLATE}, headers={"Idempotency-Key": "r-1"})
        again = client.post("/api/v1/rollouts", json={"template": TEMPLATE}, headers={"Idempotency-Key": "r-1"})
        other = client.post("/api/v1/rollouts", json={"template": TEMPLATE, "to": "1.0.0"},
                            headers={"Idempotency-Key": "r-1"})
        assert first.status_code == 202 and again.status_code == 200
        assert again.json()["id"] == first.json()["id"] and again.json()["total"] == 1
        assert other.status_code == 409 and other.json() == {
            "type": "https://pipeforge.dev/problems/idempotency-key-reused", "title": "Idempotency-Key reused",
            "status": 409, "detail": f"this Idempotency-Key already names roll-out {first.json()['id']}, for another "
            "request; use a new key for a new roll-out", "instance": "/api/v1/rollouts", "rollout": first.json()["id"]}
        assert len(client.get("/api/v1/rollouts").json()["items"]) == 1

    def post(_: int) -> int:
        with server.client(tokens["pr"]) as racer:
            answer = racer.post("/api/v1/rollouts", json={"template": TEMPLATE}, headers={"Idempotency-Key": "r-2"})
            assert answer.status_code in (200, 202), answer.text
            return int(answer.json()["id"])

    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(8) as pool:
        assert len(set(pool.map(post, range(8)))) == 1  # concurrent retries: one roll-out, one job per target
    with server.client(tokens["pr"]) as client:
        assert len(client.get("/api/v1/rollouts").json()["items"]) == 2


def test_an_upgrade_request_is_checked_then_queued_as_an_upgrade_job(
        idle: tuple[RegistryServer, dict[str, str]]) -> None:
    server, tokens = idle
    with server.client(tokens["pr"]) as client:
        for body, status in (({"repo": "https://other.example/x.git", "path": "apps/x"}, 403),
                             ({"repo": REPO, "path": "../x"}, 400), ({"repo": REPO, "path": "a", "to": "~>1"}, 422),
                             ({"repo": REPO, "path": "a", "provider": "svn"}, 422),
                             ({"repo": REPO.replace("https://", "https://u:secret@"), "path": "a"}, 400)):
            answer = client.post("/api/v1/upgrades", json=body)
            assert answer.status_code == status, (body, answer.text)
            assert "secret" not in answer.text
        answer = client.post("/api/v1/upgrades", json={"repo": REPO, "path": "apps/orders", "provider": "github"})
        assert answer.status_code == 202, answer.text
        job = client.get(answer.headers["Location"]).json()
    assert job["kind"] == "upgrade" and job["rollout"] is None and job["status"] == "queued"
    assert job["request"] == {"repo": REPO, "path": "apps/orders", "to": "latest", "base": "main",
                              "provider": "github"}


@pytest.mark.parametrize("status, recorded", [("opened", "1.0.0"), ("up-to-date", "1.1.0"), ("conflict", "1.0.0")])
def test_a_succeeded_upgrade_job_records_what_the_base_holds(status: str, recorded: str, tmp_path: Any,
                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    """The upgrade itself is the library's (tests of open_upgrade_pull_request); here its outcome is given."""
    calls: list[dict[str, Any]] = []

    class Outcome:
        def as_dict(self) -> dict[str, Any]:
            return {"branch": "pipeforge/apps-orders", "commit": "c" * 40, "changed": status != "up-to-date",
                    "pull_request": None, "upgrade": {"template": TEMPLATE, "from": "1.0.0", "to": "1.1.0",
                                                      "digest": "sha256:" + "d" * 64, "status": status,
                                                      "conflicts": ["README.md"] if status == "conflict" else [],
                                                      "changes": [], "renamed": {}, "dropped": [], "added": {}}}

    def open_upgrade_pull_request(**kwargs: Any) -> Outcome:
        calls.append(kwargs)
        template, digest = kwargs["resolve"](TEMPLATE, "1.0.0")
        assert template.version == "1.0.0" and digest.startswith("sha256:")
        return Outcome()

    monkeypatch.setattr(worker, "open_upgrade_pull_request", open_upgrade_pull_request)
    with RegistryServer(f"sqlite:///{tmp_path / 'catalog.db'}", pr_allowed_repos=[REPO], pr_workers=1,
                        pr_api_urls={"https://git.example.com/": "https://api.git.example.com/v3"}) as server:
        tokens = tokens_for(server)
        deliver(server, (REPO, TEMPLATE, "0.5.0", "main", "github"))
        with server.client(tokens["pr"]) as client:
            rollout = client.post("/api/v1/rollouts", json={"template": TEMPLATE, "to": "1.0.0"}).json()
            deadline = time.monotonic() + 60
            while not rollout["done"] and time.monotonic() < deadline:
                time.sleep(0.1)
                rollout = client.get(f"/api/v1/rollouts/{rollout['id']}").json()
        from catalog.models import Delivery

        with private_catalog(server.database_url) as catalog, catalog.session() as session:
            [row] = session.query(Delivery).all()
    [target] = rollout["targets"]
    assert target["status"] == status and target["from"] == "1.0.0"
    assert target["conflicts"] == (["README.md"] if status == "conflict" else [])
    assert row.version == recorded and row.provider == "github"
    assert calls[0]["api_url"] == "https://api.git.example.com/v3" and calls[0]["to"] == "1.0.0"
    assert calls[0]["repo"] == REPO and calls[0]["base"] == "main" and calls[0]["provider"] == "github"


def test_deliveries_are_one_per_repository_and_path_however_the_url_is_spelt(tmp_path: Any) -> None:
    from catalog.models import Delivery
    from catalog.rollouts import record_delivery, repo_key

    assert repo_key("HTTPS://Git.Example.com/acme/deploy.git/") == "https://git.example.com/acme/deploy"
    with private_catalog(f"sqlite:///{tmp_path / 'catalog.db'}") as catalog:
        for spelling, version in (("https://git.example.com/acme/deploy.git", "1.0.0"),
                                  ("https://GIT.example.com/acme/deploy/", "1.2.0")):
            with catalog.session() as session, session.begin():
                record_delivery(session, repo=spelling, path="apps/x", template=TEMPLATE, version=version,
                                digest=None, base="main", provider="none")
        with catalog.session() as session:
            [row] = session.query(Delivery).all()
    assert (row.repo, row.version) == ("https://GIT.example.com/acme/deploy/", "1.2.0")


def test_forge_api_urls_come_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    from pydantic import ValidationError

    from registry_api.settings import Settings

    monkeypatch.setenv("PIPEFORGE_PR_API_URLS", "https://git.corp/=https://api.corp/v1, "
                                                "https://git.corp/team/=http://127.0.0.1:9/api")
    settings = Settings()
    assert settings.api_url_for("https://git.corp/team/deploy.git") == "http://127.0.0.1:9/api"  # longest prefix
    assert settings.api_url_for("https://git.corp/ops/deploy.git") == "https://api.corp/v1"
    assert settings.api_url_for("https://github.com/acme/deploy.git") is None
    monkeypatch.setenv("PIPEFORGE_PR_API_URLS", "https://git.corp/")
    with pytest.raises(ValidationError, match="REPO_PREFIX=API_URL"):
        Settings()


class _Terminal:
    """An output stream that says it is a terminal."""

    def __init__(self) -> None:
        self.parts: list[str] = []

    def write(self, text: str) -> int:
        self.parts.append(text)
        return len(text)

    def flush(self) -> None:
        pass

    def isatty(self) -> bool:
        return True

    def getvalue(self) -> str:
        return "".join(self.parts)


def test_the_cli_follows_shows_and_explains_refusals(idle: tuple[RegistryServer, dict[str, str]],
                                                     monkeypatch: pytest.MonkeyPatch,
                                                     capsys: pytest.CaptureFixture[str]) -> None:
    import io
    import json

    from generator.cli import main

    server, tokens = idle
    deliver(server, (REPO, TEMPLATE, "0.1.0", "main", "none"), ("https://elsewhere.example/x.git", TEMPLATE,
                                                                 "0.1.0", "main", "none"))
    monkeypatch.delenv("PIPEFORGE_REGISTRY_URL", raising=False)
    monkeypatch.setenv("PIPEFORGE_TOKEN", tokens["pr"])
    terminal = _Terminal()
    # with no worker, one target stays pending: --no-wait prints the roll-out and its table at once
    assert main(["rollout", TEMPLATE, "--registry", server.base_url, "--no-wait"], terminal) == 4
    shown = terminal.getvalue()
    first = shown.split(":", 1)[0].removeprefix("Roll-out ")
    assert shown.startswith(f"Roll-out {first}: provision-process-publish to 1.0.0, 2 targets\n")
    assert "pending" in shown and "does not push to https://elsewhere.example/x.git" in shown
    out = io.StringIO()
    assert main(["rollout", "--show", first, "--registry", server.base_url, "--json"], out) == 4
    assert json.loads(out.getvalue())["counts"]["pending"] == 1
    monkeypatch.setenv("PIPEFORGE_REGISTRY_URL", server.base_url)
    with private_catalog(server.database_url) as catalog, catalog.session() as session, session.begin():
        from catalog.models import PullRequestJob

        for job in session.query(PullRequestJob).filter_by(status="queued"):
            job.status, job.result = "succeeded", {"upgrade": {"status": "conflict", "conflicts": ["README.md"]}}
        session.query(PullRequestJob).filter_by(status="failed").delete()
    terminal = _Terminal()
    assert main(["rollout", "--show", first], terminal) == 1  # conflicts to resolve
    assert "conflicts: README.md" in terminal.getvalue()
    deliver(server, (REPO, TEMPLATE, "1.0.0", "main", "none"),
            ("https://elsewhere.example/x.git", TEMPLATE, "1.0.0", "main", "none"))
    terminal = _Terminal()
    assert main(["rollout", TEMPLATE, "--to", "1.0.0", "--interval", "0.05"], terminal) == 0
    assert "\r[" in terminal.getvalue() and "nothing to do" in terminal.getvalue()  # the bar, drawn in place
    listing = io.StringIO()
    assert main(["rollout", "--list"], listing) == 0
    lines = listing.getvalue().splitlines()
    assert lines[0].split() == ["ID", "TEMPLATE", "TO", "STATE", "CREATED", "TARGETS"] and len(lines) == 3
    assert lines[2].split()[:4] == [first, TEMPLATE, "1.0.0", "done"] and "1 conflict" in lines[2]
    listing = io.StringIO()
    assert main(["rollout", "--list", "saga-compensation", "--json"], listing) == 0
    assert json.loads(listing.getvalue()) == []
    capsys.readouterr()
    for argv, code, message in ((["rollout", "no-such-template"], 2, "404"),
                                (["rollout", TEMPLATE, "--to", "not a spec"], 2, "422"),
                                (["rollout", "--show", "9999"], 2, "no roll-out 9999"),
                                (["rollout"], 2, "name a TEMPLATE"),
                                (["rollout", "--list", "--show", "1"], 2, "do not go together"),
                                (["rollout", TEMPLATE, "--registry", "http://127.0.0.1:9"], 4, "cannot be reached")):
        assert main(argv, io.StringIO()) == code, argv
        assert message in capsys.readouterr().err, argv
    monkeypatch.setenv("PIPEFORGE_TOKEN", "pft_wrong")
    assert main(["rollout", "--show", first], io.StringIO()) == 4
    assert "PIPEFORGE_TOKEN" in capsys.readouterr().err
    monkeypatch.setenv("PIPEFORGE_TOKEN", tokens["read"])
    assert main(["rollout", "--show", first], io.StringIO()) == 4
    refused = capsys.readouterr().err
    assert "403" in refused and "scope" in refused and tokens["read"] not in refused
    monkeypatch.delenv("PIPEFORGE_TOKEN")
    assert main(["rollout", "--show", first], io.StringIO()) == 2
    assert "set PIPEFORGE_TOKEN" in capsys.readouterr().err


def test_rollout_pages_need_a_read_token_when_reads_do(tmp_path: Any) -> None:
    with RegistryServer(f"sqlite:///{tmp_path / 'catalog.db'}", require_read_token=True, pr_workers=0) as server:
        from catalog.tokens import create

        with private_catalog(server.database_url) as catalog, catalog.session() as session:
            _, reader = create(session, name="reader", scopes=["read"])
        with server.client() as anonymous:
            assert anonymous.get("/rollouts").status_code == 401
            assert anonymous.get("/rollouts/1").status_code == 401
        with server.client(reader) as client:
            assert client.get("/rollouts").status_code == 200
            assert client.get("/rollouts/1").status_code == 404
