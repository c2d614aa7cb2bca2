"""The forges' pull-request APIs: find the open pull (merge) request of pipeforge's branch, create it, update it.

Each provider speaks its forge's REST API through httpx. Never a duplicate: the open request for the branch
is looked up first, and a create answered "one exists already" (GitHub 422, GitLab and Gitea 409) returns
None so the caller looks again. Server errors (5xx) and cut connections are retried a few times; 401/403
name the token's variable, never its value.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, ClassVar
from urllib.parse import quote, urlsplit

import httpx

from generator.errors import UsageError
from generator.gitops.git import TOKEN_ENV, RemoteError, scrub

_ATTEMPTS = 3
#: Called with (forge label, HTTP status or "error") after every API call; the registry counts them for
#: /metrics (the library itself imports no metrics package).
CALL_OBSERVERS: list[Callable[[str, str], None]] = []
DECLINED_PAGES = 4  # pages of 50 closed Gitea pulls read when looking for a declined one


@dataclass(frozen=True)
class Found:
    number: int
    url: str
    title: str
    body: str


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

    def __init__(self, *, repo: str, token: str | None, api_url: str | None = None,
                 transport: httpx.BaseTransport | None = None, pause: float = 0.5) -> None:
        if not token:
            raise RemoteError(f"the {self.label} provider needs a token: set {TOKEN_ENV}")
        self.path = _repository_path(repo)
        self.token, self.pause = token, pause
        headers = {"User-Agent": "pipeforge", "Accept": "application/json"} | self.auth_headers(token)
        self.client = httpx.Client(base_url=(api_url or self.default_api_url(repo)).rstrip("/"), headers=headers,
                                   timeout=30.0, transport=transport)

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
        """One API call, retried on 5xx and on a cut connection; 401/403/404 explained; the duplicate status
        status of a create is returned to the caller; any other status outside ``expect`` is an error."""
        for attempt in range(_ATTEMPTS):
            try:
                response = self.client.request(method, path, **kwargs)
            except httpx.TransportError as exc:
                problem = f"{type(exc).__name__}: {scrub(str(exc), (self.token,))}"
                _observe(self.label, "error")
            else:
                _observe(self.label, str(response.status_code))
                if response.status_code < 500:
                    return self._checked(response, expect)
                problem = f"HTTP {response.status_code}"
            if attempt + 1 < _ATTEMPTS:
                time.sleep(self.pause * (attempt + 1))
        raise RemoteError(f"{self.label} {method} {path} failed {_ATTEMPTS} times ({problem}); the branch is "
                          "pushed, so running again will open or update the pull request")

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
