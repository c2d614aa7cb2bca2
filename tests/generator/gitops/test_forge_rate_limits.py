"""Forge rate limits: waited out within ``PIPEFORGE_FORGE_MAX_WAIT`` and retried, or reported with the wait.

The fake forge answers each dialect's own rate-limit shape on demand: GitHub 403 with ``x-ratelimit-remaining: 0``
and ``x-ratelimit-reset``, GitHub 429 with ``Retry-After``, GitLab 429 with ``RateLimit-Reset``, Gitea 429 with
``Retry-After``. Waits are recorded through the forge's ``sleep`` (no real waiting, no timing asserted)."""

from __future__ import annotations

import io
import json
import re
import time
from collections.abc import Iterator
from contextlib import closing
from datetime import UTC, datetime

import httpx
import pytest

from generator.cli import main
from generator.gitops.forges import FORGES, Forge
from generator.gitops.git import RemoteError
from generator.gitops.ratelimit import max_wait, rate_limit
from tests.fake_forge import DIALECTS, FakeForge
from tests.fake_forge import serving as serving_forge
from tests.generator.gitops.test_pr import TEMPLATE
from tests.gitserver import GitServer

TARGET = "apps/orders/pipeline"
BRANCH = "pipeforge/apps-orders-pipeline"


def limit_for(provider: str, seconds: int) -> tuple[int, dict[str, str]]:
    """The rate-limit answer ``provider`` gives, lifting in ``seconds``."""
    reset = str(int(time.time()) + seconds)
    return {"github": (403, {"x-ratelimit-remaining": "0", "x-ratelimit-reset": reset, "x-ratelimit-limit": "5000"}),
            "github-429": (429, {"Retry-After": str(seconds)}),
            "gitlab": (429, {"RateLimit-Remaining": "0", "RateLimit-Reset": reset}),
            "gitea": (429, {"Retry-After": str(seconds)})}[provider]


CASES = ["github", "github-429", "gitlab", "gitea"]


@pytest.fixture(params=CASES)
def limited(request: pytest.FixtureRequest, git_server: GitServer, git_token: str) -> Iterator[tuple[str, FakeForge]]:
    dialect = DIALECTS[request.param.split("-")[0]]
    with serving_forge(FakeForge(dialect, git_token, git_server.bare)) as fake:
        yield request.param, fake
    assert fake.violations == []


def forge_for(fake: FakeForge, git_server: GitServer, waits: list[float], **options: float) -> Forge:
    return FORGES[fake.dialect.name](repo=git_server.repo_url, token=fake.token, api_url=fake.url,
                                     sleep=waits.append, **options)


def test_each_forges_rate_limit_is_waited_out_and_the_call_retried(limited: tuple[str, FakeForge],
                                                                    git_server: GitServer) -> None:
    case, fake = limited
    fake.limit_next = [limit_for(case, 20), limit_for(case, 20)]
    waits: list[float] = []
    with closing(forge_for(fake, git_server, waits, max_wait=60)) as forge:
        assert forge.find(BRANCH, "main") is None
    assert len(waits) == 2 and all(15 <= w <= 21 for w in waits), waits
    assert [status for _, _, status in fake.requests] == [limit_for(case, 0)[0]] * 2 + [200]


def test_a_rate_limit_beyond_the_bound_names_the_wait_and_is_not_waited(limited: tuple[str, FakeForge],
                                                                        git_server: GitServer) -> None:
    case, fake = limited
    fake.limit_next = [limit_for(case, 3600)]
    waits: list[float] = []
    with closing(forge_for(fake, git_server, waits, max_wait=60)) as forge, pytest.raises(RemoteError) as raised:
        forge.find(BRANCH, "main")
    label = FORGES[fake.dialect.name].label.lower()
    assert f"rate-limited by {label} until " in raised.value.message
    assert re.search(r"UTC \(in 3,(599|600) s\), more than the 60 s pipeforge waits", raised.value.message)
    assert "retry later" in raised.value.message and "refused the token" not in raised.value.message
    assert raised.value.exit_code == 4 and waits == [] and len(fake.requests) == 1


def test_the_bound_counts_every_wait_of_the_run(git_server: GitServer, git_token: str) -> None:
    with serving_forge(FakeForge(DIALECTS["gitea"], git_token, git_server.bare)) as fake:
        fake.limit_next = [limit_for("gitea", 40), limit_for("gitea", 40)]
        waits: list[float] = []
        with closing(forge_for(fake, git_server, waits, max_wait=60)) as forge, \
                pytest.raises(RemoteError, match=r"\(in 40 s\), more than the 60 s"):
            forge.find(BRANCH, "main")
        assert waits == [40.0]


def test_pr_over_the_bound_exits_4_with_the_wait_and_pushes_nothing(
        limited: tuple[str, FakeForge], git_server: GitServer, monkeypatch: pytest.MonkeyPatch,
        capfd: pytest.CaptureFixture[str], git_token: str) -> None:
    case, fake = limited
    monkeypatch.setenv("PIPEFORGE_FORGE_MAX_WAIT", "5")
    fake.limit_next = [limit_for(case, 3600)]
    code = main(["pr", TEMPLATE, "--repo", git_server.repo_url, "--path", TARGET, "--provider", fake.dialect.name,
                 "--api-url", fake.url])
    err = capfd.readouterr().err
    assert code == 4, err
    # the hour counted from when the fake was told, so a loaded machine may have spent a few seconds of it
    assert re.search(r"UTC \(in 3,[0-9]{3} s\), more than the 5 s pipeforge waits \(PIPEFORGE_FORGE_MAX_WAIT\); "
                     "retry later", err), err
    assert "Traceback" not in err and git_token not in err and not fake.branch_exists(BRANCH)


def test_pr_waits_out_a_short_github_rate_limit_and_opens_the_pull_request(
        git_server: GitServer, git_token: str) -> None:
    with serving_forge(FakeForge(DIALECTS["github"], git_token, git_server.bare)) as fake:
        fake.limit_next = [limit_for("github-429", 0), limit_for("github", 0)]
        out = io.StringIO()
        code = main(["pr", TEMPLATE, "--repo", git_server.repo_url, "--path", TARGET, "--provider", "github",
                     "--api-url", fake.url, "--json"], out=out)
        assert code == 0 and json.loads(out.getvalue())["pull_request"]["action"] == "created"
        assert len(fake.records) == 1 and fake.violations == []


def test_a_plain_403_is_still_the_token_and_not_a_rate_limit() -> None:
    plain = httpx.Response(403, headers={"x-ratelimit-remaining": "4999", "x-ratelimit-reset": "1700000000"})
    assert rate_limit(plain, forbidden_counts=True) is None
    assert rate_limit(httpx.Response(403, headers={"Retry-After": "5"})) is None  # only GitHub's 403 counts


def test_retry_after_as_an_http_date_and_a_429_without_headers() -> None:
    now = datetime(2026, 12, 1, 12, 0, 0, tzinfo=UTC)
    dated = rate_limit(httpx.Response(429, headers={"Retry-After": "Tue, 01 Dec 2026 12:00:30 GMT"}), now=now)
    assert dated is not None and dated.wait == 30 and f"{dated.until:%H:%M:%S}" == "12:00:30"
    bare = rate_limit(httpx.Response(429), now=now)
    assert bare is not None and bare.wait == 60


@pytest.mark.parametrize("text", ["soon", "-1", "inf", "nan"])
def test_an_unreadable_max_wait_is_a_usage_error_naming_the_variable(text: str) -> None:
    from generator.errors import UsageError

    with pytest.raises(UsageError, match=f"PIPEFORGE_FORGE_MAX_WAIT={text!r}: expected a number of seconds"):
        max_wait({"PIPEFORGE_FORGE_MAX_WAIT": text})
    assert max_wait({}) == 60 and max_wait({"PIPEFORGE_FORGE_MAX_WAIT": " 0 "}) == 0


def test_a_limit_that_lifts_at_once_but_comes_back_is_not_waited_forever(git_server: GitServer,
                                                                         git_token: str) -> None:
    with serving_forge(FakeForge(DIALECTS["gitlab"], git_token, git_server.bare)) as fake:
        fake.limit_next = [(429, {"Retry-After": "0"})] * 12
        waits: list[float] = []
        with closing(forge_for(fake, git_server, waits, max_wait=60)) as forge, \
                pytest.raises(RemoteError, match=r"rate-limited by gitlab until .* after 10 waits already"):
            forge.find(BRANCH, "main")
        assert len(waits) == 9 and len(fake.requests) == 10


@pytest.mark.parametrize("provider", sorted(DIALECTS))
def test_a_create_answered_5xx_is_not_sent_again_blindly(provider: str, git_server: GitServer,
                                                          git_token: str) -> None:
    from generator.gitops.forges import MaybeCreated

    with serving_forge(FakeForge(DIALECTS[provider], git_token, git_server.bare)) as fake:
        fake.fail_next = [502, 502, 502]
        with closing(forge_for(fake, git_server, [], max_wait=60)) as forge, pytest.raises(MaybeCreated):
            forge.create(BRANCH, "main", "title", "body")
        assert [method for method, _, _ in fake.requests] == ["POST"]  # once: the caller asks before again
        fake.fail_next = [503]
        with closing(forge_for(fake, git_server, [], max_wait=60)) as forge:
            assert forge.find(BRANCH, "main") is None  # a listing is retried
        assert [method for method, _, _ in fake.requests] == ["POST", "GET", "GET"]
