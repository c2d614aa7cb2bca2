"""A client of the registry's JSON API for the commands that talk to a registry (``pipeforge rollout``):
the URL and token from the environment, and every failure a message and an exit code."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any

from generator.errors import RemoteError, UsageError
from generator.tls import client_context

if TYPE_CHECKING:
    import httpx

REGISTRY_ENV, TOKEN_ENV = "PIPEFORGE_REGISTRY_URL", "PIPEFORGE_TOKEN"


class RegistryError(RemoteError):
    """The registry could not be reached, or refused the request."""


class Client:
    """The registry's API with the token from the environment; every failure a RegistryError."""

    def __init__(self, url: str, token: str) -> None:
        import httpx  # lazy: httpx loads only when a command talks to the registry

        self.url = url.rstrip("/")
        self.http = httpx.Client(base_url=self.url, timeout=30.0, verify=client_context(), headers={
            "Authorization": f"Bearer {token}", "Accept": "application/json", "User-Agent": "pipeforge"})

    def close(self) -> None:
        self.http.close()

    def call(self, method: str, path: str, **kwargs: Any) -> dict[str, Any]:
        import httpx  # lazy: httpx loads only when a command talks to the registry

        try:
            response = self.http.request(method, path, **kwargs)
        except httpx.TransportError as exc:
            raise RegistryError(f"the registry at {self.url} cannot be reached ({type(exc).__name__}); check "
                                f"--registry or {REGISTRY_ENV} and that it is running") from None
        return self._checked(response)

    def _checked(self, response: httpx.Response) -> dict[str, Any]:
        try:
            body = response.json()
        except ValueError:
            body = None
        detail = body.get("detail") if isinstance(body, dict) else None
        status = response.status_code
        if status == 401:
            raise RegistryError(f"the registry refused the token (401): {detail or 'unknown token'}; set "
                                f"{TOKEN_ENV} to a token from `pipeforge token create --scope pr`")
        if status == 403:
            raise RegistryError(f"the registry refused (403): {detail or 'the token lacks scope pr'}")
        if status in (404, 409, 422):
            raise UsageError(f"the registry answered {status}: {detail or response.reason_phrase}")
        if status >= 400 or not isinstance(body, dict):
            raise RegistryError(f"the registry answered {status} to {response.request.method} "
                                f"{response.request.url.path}: {detail or response.text[:200]}")
        return body


def settings(registry: str | None) -> tuple[str, str]:
    """(URL, token): the registry from --registry or PIPEFORGE_REGISTRY_URL, the token from PIPEFORGE_TOKEN
    only (a secret on the command line ends up in shell histories and process listings)."""
    url = (registry or os.environ.get(REGISTRY_ENV, "")).strip()
    if not url:
        raise UsageError(f"which registry? pass --registry URL or set {REGISTRY_ENV}")
    if not url.startswith(("http://", "https://")):
        raise UsageError(f"--registry {url!r}: expected an http:// or https:// URL")
    token = os.environ.get(TOKEN_ENV, "").strip()
    if not token:
        raise UsageError(f"set {TOKEN_ENV} to a registry token with scope pr (`pipeforge token create --name "
                         "rollouts --scope pr` on the registry); it is never read from the command line")
    return url, token
