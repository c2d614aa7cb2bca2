"""The GitHub provider: find the open pull request for pipeforge's branch and update it, or create it.

Never a duplicate: the open PR for ``owner:branch`` is looked up first, and a 422 on create (someone
created it meanwhile) is answered by looking it up again. Server errors (5xx) and cut connections are
retried a few times; 401/403 name the token's variable, never its value.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import httpx

from generator.errors import UsageError
from generator.gitops.git import TOKEN_ENV, RemoteError, scrub

API_VERSION = "2022-11-28"
_ATTEMPTS = 3


def repository(url: str) -> tuple[str, str]:
    """``(owner, name)`` of a GitHub repository URL."""
    parts = [p for p in urlsplit(url).path.split("/") if p]
    if len(parts) < 2:
        raise UsageError(f"--repo {url!r}: expected a GitHub repository URL such as https://github.com/OWNER/NAME.git")
    name = parts[-1].removesuffix(".git")
    return parts[-2], name


def default_api_url(url: str) -> str:
    parts = urlsplit(url)
    if parts.hostname == "github.com":
        return "https://api.github.com"
    return f"{parts.scheme}://{parts.netloc}/api/v3"  # GitHub Enterprise Server


@dataclass(frozen=True)
class Found:
    number: int
    url: str
    title: str
    body: str


class GitHub:
    def __init__(self, *, repo: str, token: str | None, api_url: str | None = None,
                 transport: httpx.BaseTransport | None = None, pause: float = 0.5) -> None:
        if not token:
            raise RemoteError(f"the GitHub provider needs a token: set {TOKEN_ENV}")
        self.owner, self.name = repository(repo)
        self.token, self.pause = token, pause
        headers = {"Authorization": f"Bearer {token}", "Accept": "application/vnd.github+json",
                   "X-GitHub-Api-Version": API_VERSION, "User-Agent": "pipeforge"}
        self.client = httpx.Client(base_url=(api_url or default_api_url(repo)).rstrip("/"), headers=headers,
                                   timeout=30.0, transport=transport)
        self.prefix = f"/repos/{self.owner}/{self.name}"

    def close(self) -> None:
        self.client.close()

    def _request(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        """One API call, retried on 5xx and on a connection cut; 401/403/404 explained."""
        for attempt in range(_ATTEMPTS):
            try:
                response = self.client.request(method, self.prefix + path, **kwargs)
            except httpx.TransportError as exc:
                problem = f"{type(exc).__name__}: {scrub(str(exc), (self.token,))}"
            else:
                if response.status_code < 500:
                    return self._checked(response)
                problem = f"HTTP {response.status_code}"
            if attempt + 1 < _ATTEMPTS:
                time.sleep(self.pause * (attempt + 1))
        raise RemoteError(f"GitHub {method} {self.prefix}{path} failed {_ATTEMPTS} times ({problem}); the branch is "
                          "pushed, so running again will open or update the pull request")

    def _checked(self, response: httpx.Response) -> httpx.Response:
        if response.status_code in (401, 403):
            raise RemoteError(f"GitHub refused the token ({response.status_code}): check {TOKEN_ENV} and its "
                              f"pull-request rights on {self.owner}/{self.name}")
        if response.status_code == 404:
            raise RemoteError(f"GitHub has no repository {self.owner}/{self.name} visible to this token (404)")
        return response

    def find(self, branch: str, base: str) -> Found | None:
        response = self._request("GET", "/pulls", params={"head": f"{self.owner}:{branch}", "base": base,
                                                          "state": "open", "per_page": 100})
        self._expect(response, 200)
        pulls = response.json()
        if not pulls:
            return None
        pull = min(pulls, key=lambda p: int(p["number"]))
        return Found(int(pull["number"]), str(pull["html_url"]), str(pull["title"]), str(pull.get("body") or ""))

    def create(self, branch: str, base: str, title: str, body: str) -> Found | None:
        """The new PR, or None when GitHub says one exists already (422): the caller looks again."""
        response = self._request("POST", "/pulls", json={"title": title, "head": branch, "base": base,
                                                         "body": body, "maintainer_can_modify": False})
        if response.status_code == 422 and "already exists" in response.text:
            return None
        self._expect(response, 201)
        pull = response.json()
        return Found(int(pull["number"]), str(pull["html_url"]), title, body)

    def update(self, number: int, title: str, body: str) -> None:
        self._expect(self._request("PATCH", f"/pulls/{number}", json={"title": title, "body": body}), 200)

    def _expect(self, response: httpx.Response, status: int) -> None:
        if response.status_code != status:
            detail = scrub(response.text[:300], (self.token,))
            raise RemoteError(f"GitHub answered {response.status_code} to {response.request.method} "
                              f"{response.request.url.path}: {detail}")
