"""The forges' pull-request APIs: find the open pull (merge) request of pipeforge's branch, create it, update it.

Each provider speaks its forge's REST API through httpx. Never a duplicate: the open request for the branch
is looked up first, and a create answered "one exists already" (GitHub 422, GitLab and Gitea 409) returns
None so the caller looks again. Retries go through tenacity: a rate limit (``generator.gitops.ratelimit``)
is waited out within ``PIPEFORGE_FORGE_MAX_WAIT`` seconds and the call made again, else the error names the
wait; server errors (5xx) and cut connections are retried a few times for idempotent calls, while a create
that may have arrived is reported to the caller (:class:`MaybeCreated`), which asks the forge before creating
again. 401/403 name the token's variable, never its value.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, ClassVar
from urllib.parse import quote, urlsplit

import httpx
import tenacity

from generator.errors import RemoteError, UsageError
from generator.gitops.git import TOKEN_ENV, scrub
from generator.gitops.ratelimit import MAX_WAIT_ENV, RateLimit, rate_limit
from generator.gitops.ratelimit import max_wait as _max_wait
from generator.tls import client_context

_ATTEMPTS = 3
RETRY_PAUSE = 0.5  # seconds before the first retry of a 5xx or a cut connection; then 2x, 3x...
#: Called with (forge label, HTTP status or "error") after every API call; the registry counts them for
#: /metrics (the library itself imports no metrics package).
CALL_OBSERVERS: list[Callable[[str, str], None]] = []
_RATE_ATTEMPTS = 10  # rate limits waited out in one call at most (the wait bound comes first)
DECLINED_PAGES = 4  # pages of 50 closed Gitea pulls read when looking for a declined one


@dataclass(frozen=True)
class Found:
    number: int
    url: str
    title: str
    body: str


class MaybeCreated(RemoteError):
    """A create failed in a way that may have created the pull request: ask the forge before creating again."""


class _RateLimited(Exception):
    """Private control flow for the retry loop below; what a user sees of it is a RemoteError."""

    def __init__(self, limit: RateLimit) -> None:
        super().__init__(limit)
        self.limit = limit


class _Transient(Exception):
    """Private control flow for the retry loop below; what a user sees of it is a RemoteError."""

    def __init__(self, problem: str) -> None:
        super().__init__(problem)
        self.problem = problem


def _repository_path(url: str) -> list[str]:
    parts = [p for p in urlsplit(url).path.split("/") if p]
    if len(parts) < 2:
        raise UsageError(f"--repo {url!r}: expected a forge repository URL such as https://HOST/OWNER/NAME.git")
    parts[-1] = parts[-1].removesuffix(".git")
    return parts


def _observe(forge: str, status: str) -> None:
    for observer in CALL_OBSERVERS:
        observer(forge, status)


class Forge:
    """What every provider shares: the client, retries, and errors a person can act on."""

    label: ClassVar[str]
    api_path: ClassVar[str]  # the API's path on a self-hosted server
    duplicate: ClassVar[int]  # the status of "an open request for this branch exists already"
    forbidden_is_rate_limit: ClassVar[bool] = False  # GitHub also says "rate-limited" with a 403

    def __init__(self, *, repo: str, token: str | None, api_url: str | None = None,
                 transport: httpx.BaseTransport | None = None, pause: float | None = None,
                 max_wait: float | None = None, sleep: Callable[[float], None] = time.sleep) -> None:
        if not token:
            raise RemoteError(f"the {self.label} provider needs a token: set {TOKEN_ENV}")
        self.path = _repository_path(repo)
        self.token, self.sleep = token, sleep
        self.pause = RETRY_PAUSE if pause is None else pause
        self.max_wait = _max_wait() if max_wait is None else max_wait
        self.waited = 0.0  # seconds spent waiting out rate limits, over this forge's life (one run)
        headers = {"User-Agent": "pipeforge", "Accept": "application/json"} | self.auth_headers(token)
        self.client = httpx.Client(base_url=(api_url or self.default_api_url(repo)).rstrip("/"), headers=headers,
                                   timeout=30.0, transport=transport, verify=client_context())

    def default_api_url(self, repo: str) -> str:
        parts = urlsplit(repo)
        return f"{parts.scheme}://{parts.netloc}{self.api_path}"

    def auth_headers(self, token: str) -> dict[str, str]:
        raise NotImplementedError

    def find(self, branch: str, base: str) -> Found | None:
        raise NotImplementedError

    def declined(self, branch: str, base: str) -> list[Found]:
        """The pull requests of ``branch`` that were closed without being merged (people declined them)."""
        raise NotImplementedError

    def create(self, branch: str, base: str, title: str, body: str) -> Found | None:
        raise NotImplementedError

    def update(self, number: int, title: str, body: str) -> None:
        raise NotImplementedError

    def close(self) -> None:
        self.client.close()

    def request(self, method: str, path: str, *, expect: tuple[int, ...], **kwargs: Any) -> httpx.Response:
        """One API call through tenacity: a rate limit is waited out (within ``max_wait`` seconds in all) and
        the call made again; a 5xx or a cut connection is retried a few times for an idempotent call only (a
        POST raises :class:`MaybeCreated` instead, so the caller asks the forge first); 401/403/404
        explained; the duplicate status of a create is returned to the caller; any other status outside
        ``expect`` is an error."""
        retrying = tenacity.Retrying(
            retry=tenacity.retry_if_exception_type((_RateLimited, _Transient)), stop=self._stop,
            wait=self._wait, sleep=self.sleep, reraise=True)
        try:
            response: httpx.Response = retrying(self._once, method, path, **kwargs)
        except _RateLimited as exc:  # limits that lift at once, again and again
            raise RemoteError(f"{exc.limit.describe(self.label)} after {_RATE_ATTEMPTS} waits already; retry later "
                              f"({method} {path})") from None
        except _Transient as exc:
            if method == "POST":
                raise MaybeCreated(f"{self.label} POST {path} failed ({exc.problem})") from None
            raise RemoteError(f"{self.label} {method} {path} failed {_ATTEMPTS} times ({exc.problem}); the branch "
                              "is pushed, so running again will open or update the pull request") from None
        return self._checked(response, expect)

    def _once(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        try:
            response = self.client.request(method, path, **kwargs)
        except httpx.TransportError as exc:
            _observe(self.label, "error")
            raise _Transient(f"{type(exc).__name__}: {scrub(str(exc), (self.token,))}") from None
        _observe(self.label, str(response.status_code))
        limit = rate_limit(response, forbidden_counts=self.forbidden_is_rate_limit)
        if limit is not None:
            if self.waited + limit.wait > self.max_wait:
                raise self._limit_error(limit, method, path)
            raise _RateLimited(limit)
        if response.status_code >= 500:
            raise _Transient(f"HTTP {response.status_code}")
        return response

    def _stop(self, state: tenacity.RetryCallState) -> bool:
        """A POST is never sent twice after a failure that may have created it; other calls get a few tries;
        rate limits stop only at the wait bound (checked in :meth:`_once`)."""
        error = state.outcome.exception() if state.outcome is not None else None
        if isinstance(error, _RateLimited):
            return state.attempt_number >= _RATE_ATTEMPTS
        return state.args[0] == "POST" or state.attempt_number >= _ATTEMPTS

    def _wait(self, state: tenacity.RetryCallState) -> float:
        error = state.outcome.exception() if state.outcome is not None else None
        if isinstance(error, _RateLimited):
            self.waited += error.limit.wait
            return error.limit.wait
        return self.pause * state.attempt_number

    def _limit_error(self, limit: RateLimit, method: str, path: str) -> RemoteError:
        return RemoteError(f"{limit.describe(self.label)}, more than the {self.max_wait:,g} s pipeforge waits "
                           f"({MAX_WAIT_ENV}); retry later ({method} {path})")

    def _checked(self, response: httpx.Response, expect: tuple[int, ...]) -> httpx.Response:
        status = response.status_code
        where = "/".join(self.path)
        if status in (401, 403):
            raise RemoteError(f"{self.label} refused the token ({status}): check {TOKEN_ENV} and its "
                              f"pull-request rights on {where}")
        if status == 404:
            raise RemoteError(f"{self.label} has no repository {where} visible to this token (404): check --repo "
                              "and --api-url")
        if status not in expect and (status, response.request.method) != (self.duplicate, "POST"):
            detail = scrub(response.text[:300], (self.token,))
            raise RemoteError(f"{self.label} answered {status} to {response.request.method} "
                              f"{response.request.url.path}: {detail}")
        return response


class GitHub(Forge):
    label, api_path, duplicate = "GitHub", "/api/v3", 422
    forbidden_is_rate_limit = True

    def default_api_url(self, repo: str) -> str:
        return "https://api.github.com" if urlsplit(repo).hostname == "github.com" else super().default_api_url(repo)

    def auth_headers(self, token: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {token}", "X-GitHub-Api-Version": "2022-11-28",
                "Accept": "application/vnd.github+json"}

    @property
    def prefix(self) -> str:
        return f"/repos/{self.path[-2]}/{self.path[-1]}/pulls"

    def find(self, branch: str, base: str) -> Found | None:
        params = {"head": f"{self.path[-2]}:{branch}", "base": base, "state": "open", "per_page": 100}
        pulls = self.request("GET", self.prefix, params=params, expect=(200,)).json()
        return _first(pulls, "number", "html_url", "title", "body")

    def declined(self, branch: str, base: str) -> list[Found]:
        params = {"head": f"{self.path[-2]}:{branch}", "base": base, "state": "closed", "per_page": 100}
        pulls = self.request("GET", self.prefix, params=params, expect=(200,)).json()
        return [_found(p, "number", "html_url", "title", "body") for p in pulls if p.get("merged_at") is None]

    def create(self, branch: str, base: str, title: str, body: str) -> Found | None:
        data = {"title": title, "head": branch, "base": base, "body": body, "maintainer_can_modify": False}
        response = self.request("POST", self.prefix, json=data, expect=(201,))
        if response.status_code == 422:
            if "already exists" in response.text:
                return None
            raise RemoteError(f"GitHub refused to open the pull request (422): {response.text[:300]}")
        return _first([response.json()], "number", "html_url", "title", "body")

    def update(self, number: int, title: str, body: str) -> None:
        self.request("PATCH", f"{self.prefix}/{number}", json={"title": title, "body": body}, expect=(200,))


class GitLab(Forge):
    label, api_path, duplicate = "GitLab", "/api/v4", 409

    def auth_headers(self, token: str) -> dict[str, str]:
        return {"PRIVATE-TOKEN": token}

    @property
    def prefix(self) -> str:
        return f"/projects/{quote('/'.join(self.path), safe='')}/merge_requests"

    def find(self, branch: str, base: str) -> Found | None:
        params = {"source_branch": branch, "target_branch": base, "state": "opened", "per_page": 100}
        requests = self.request("GET", self.prefix, params=params, expect=(200,)).json()
        return _first(requests, "iid", "web_url", "title", "description")

    def declined(self, branch: str, base: str) -> list[Found]:
        params = {"source_branch": branch, "target_branch": base, "state": "closed", "per_page": 100}
        requests = self.request("GET", self.prefix, params=params, expect=(200,)).json()
        return [_found(r, "iid", "web_url", "title", "description") for r in requests]  # merged is another state

    def create(self, branch: str, base: str, title: str, body: str) -> Found | None:
        data = {"source_branch": branch, "target_branch": base, "title": title, "description": body,
                "remove_source_branch": True}
        response = self.request("POST", self.prefix, json=data, expect=(201,))
        if response.status_code == 409:
            return None
        return _first([response.json()], "iid", "web_url", "title", "description")

    def update(self, number: int, title: str, body: str) -> None:
        self.request("PUT", f"{self.prefix}/{number}", json={"title": title, "description": body}, expect=(200,))


class Gitea(Forge):
    label, api_path, duplicate = "Gitea", "/api/v1", 409

    def auth_headers(self, token: str) -> dict[str, str]:
        return {"Authorization": f"token {token}"}

    @property
    def prefix(self) -> str:
        return f"/repos/{self.path[-2]}/{self.path[-1]}/pulls"

    def find(self, branch: str, base: str) -> Found | None:
        mine = self._pulls("open", branch, base, pages=None, stop_at_first=True)
        return _first(mine, "number", "html_url", "title", "body")

    def declined(self, branch: str, base: str) -> list[Found]:
        # Closed pulls pile up over the years: only the recently updated pages are read.
        closed = self._pulls("closed", branch, base, pages=DECLINED_PAGES, stop_at_first=False)
        return [_found(p, "number", "html_url", "title", "body") for p in closed if not p.get("merged")]

    def _pulls(self, state: str, branch: str, base: str, *, pages: int | None,
               stop_at_first: bool) -> list[dict[str, Any]]:
        """Gitea cannot filter pulls by head: read them a page at a time and keep the branch's."""
        found: list[dict[str, Any]] = []
        page = 1
        while pages is None or page <= pages:
            params = {"state": state, "sort": "recentupdate", "page": page, "limit": 50}
            pulls = self.request("GET", self.prefix, params=params, expect=(200,)).json()
            found += [p for p in pulls if p["head"]["ref"] == branch and p["base"]["ref"] == base]
            if (found and stop_at_first) or len(pulls) < 50:
                break
            page += 1
        return found

    def create(self, branch: str, base: str, title: str, body: str) -> Found | None:
        data = {"head": branch, "base": base, "title": title, "body": body}
        response = self.request("POST", self.prefix, json=data, expect=(201,))
        if response.status_code == 409:
            return None
        return _first([response.json()], "number", "html_url", "title", "body")

    def update(self, number: int, title: str, body: str) -> None:
        self.request("PATCH", f"{self.prefix}/{number}", json={"title": title, "body": body}, expect=(200, 201))


def _first(items: list[dict[str, Any]], number: str, url: str, title: str, body: str) -> Found | None:
    """The oldest of ``items`` (the one people have been reviewing), as a Found."""
    if not items:
        return None
    return _found(min(items, key=lambda i: int(i[number])), number, url, title, body)


def _found(item: dict[str, Any], number: str, url: str, title: str, body: str) -> Found:
    return Found(int(item[number]), str(item[url]), str(item[title]), str(item.get(body) or ""))


FORGES: dict[str, type[Forge]] = {"github": GitHub, "gitlab": GitLab, "gitea": Gitea}
