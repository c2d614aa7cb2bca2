"""A fleet roll-out through the registry that meets GitHub's rate limit (403, ``x-ratelimit-remaining: 0``, a
reset a second away, twice per repository) waits it out and completes: every target opened, one PR each."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path

import pytest

from tests.catalog.test_rollouts import (
    BRANCH,
    TEMPLATE,
    Fleet,
    deliver,
    new_version,
    publish,
    registry_for,
    wait_rollout,
)
from tests.conftest import tokens_for
from tests.fake_forge import DIALECTS, FakeForge
from tests.fake_forge import serving as forge_serving
from tests.gitserver import SEED, serving

REPOSITORIES = 3


def short_github_limits() -> list[tuple[int, dict[str, str]]]:
    reset = {"x-ratelimit-limit": "5000", "x-ratelimit-remaining": "0", "x-ratelimit-used": "5000",
             "x-ratelimit-reset": str(int(time.time()) + 1)}
    return [(403, reset), (403, reset)]


@pytest.fixture
def small_fleet(tmp_path: Path, git_token: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[Fleet]:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.setenv("PIPEFORGE_GIT_TOKEN", git_token)
    monkeypatch.delenv("PIPEFORGE_GIT_AUTHOR", raising=False)
    monkeypatch.delenv("PIPEFORGE_FORGE_MAX_WAIT", raising=False)
    with ExitStack() as stack:
        (tmp_path / "git").mkdir()
        server = stack.enter_context(serving(tmp_path / "git", git_token))
        fleet = Fleet(tmp_path, git_token, server, server)
        for index in range(REPOSITORIES):
            name = f"team{index:02d}/acme/deploy"
            fake = stack.enter_context(forge_serving(FakeForge(DIALECTS["github"], git_token,
                                                               server.create(name, SEED))))
            fleet.forges[server.url(name)] = fake
        yield fleet
        assert all(fake.violations == [] for fake in fleet.forges.values())


def test_a_rollout_that_meets_githubs_rate_limit_waits_and_completes(small_fleet: Fleet, tmp_path: Path,
                                                                     registry_url_for_test: str) -> None:
    fleet = small_fleet
    with registry_for(fleet, registry_url_for_test) as server:
        tokens = tokens_for(server)
        for fake in fleet.forges.values():
            fake.limit_next = short_github_limits()
        delivered = deliver(server, tokens["pr"], fleet.repos)
        assert [job["status"] for job in delivered] == ["succeeded"] * REPOSITORIES, [j["error"] for j in delivered]
        for url in fleet.repos:
            fleet.merge(url)
        publish(server, new_version(tmp_path))

        for fake in fleet.forges.values():
            fake.limit_next = short_github_limits()
        with server.client(tokens["pr"]) as client:
            answer = client.post("/api/v1/rollouts", json={"template": TEMPLATE, "to": "1.1.0"})
            assert answer.status_code == 202, answer.text
            rollout = wait_rollout(client, answer.json()["id"])
    assert rollout["done"] and rollout["counts"]["opened"] == REPOSITORIES, rollout
    assert rollout["counts"]["failed"] == 0, [t["reason"] for t in rollout["targets"]]
    for fake in fleet.forges.values():
        assert fake.limit_next == []  # both rate-limit answers were given, and waited out
        assert sum(1 for _, _, status in fake.requests if status == 403) == 4
        assert [r["head"] for r in fake.open_records()] == [BRANCH]
