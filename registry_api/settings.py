"""Settings from the environment, prefix ``PIPEFORGE_`` (``PIPEFORGE_DATABASE_URL`` is the catalog's)."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from catalog.safety import MAX_BUNDLE_BYTES
from generator.gitops.urls import UnsafeURLError, parse_repo_url


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="PIPEFORGE_", extra="ignore")

    database_url: str | None = Field(
        default=None, description="the catalog database (default: the SQLite file of `pipeforge catalog`)"
    )
    require_read_token: bool = Field(default=False, description="reads need a token with scope read")
    publish_builtins: bool = Field(
        default=True, description="publish the built-in templates when the catalog starts out empty"
    )
    max_bundle_bytes: int = Field(default=MAX_BUNDLE_BYTES, ge=1, description="largest bundle upload")
    max_request_bytes: int = Field(default=256 * 1024, ge=1, description="largest body of any other request")
    header_timeout_seconds: float = Field(
        default=10.0, gt=0, description="how long a client may take to send a request's line and headers (from "
        "the connection or the previous answer) before the connection is closed",
    )
    body_timeout_seconds: float = Field(
        default=30.0, gt=0, description="how long a client may take to send a request's whole body before it is "
        "answered 408 and the connection closed",
    )
    index_ttl_seconds: float = Field(
        default=1.0, ge=0, description="how often the cached template index checks the database for changes "
        "made by other processes (this process's own writes show at once)",
    )
    pr_allowed_repos: Annotated[list[str], NoDecode] = Field(
        default_factory=list, description="repository URLs the registry may push pull requests to (exact, or a "
        "prefix ending in '/'), separated by commas or spaces; anything else is refused with 403 before any "
        "network call",
    )
    pr_api_urls: Annotated[dict[str, str], NoDecode] = Field(
        default_factory=dict, description="the forge API of repositories whose API is not at the default place "
        "(a self-hosted forge behind another host): REPO_PREFIX=API_URL pairs separated by commas or spaces; "
        "the longest matching prefix wins (used by render and upgrade pull requests)",
    )
    pr_workers: int = Field(default=1, ge=0, description="pull-request workers in this process (0: none)")
    pr_lease_seconds: float = Field(default=300, gt=0, description="how long a worker holds a job before "
                                    "another may take it over (a crashed worker's job is then retried)")
    shutdown_grace_seconds: float = Field(
        default=25, ge=0, description="on SIGTERM, how long running requests and pull-request jobs may take "
        "to finish; a job still running then has its lease released so another replica takes it at once",
    )
    render_cache_size: int = Field(default=64, ge=1, description="catalog versions kept unpacked for renders")

    @field_validator("pr_allowed_repos", mode="before")
    @classmethod
    def _split_repos(cls, value: object) -> object:
        """PIPEFORGE_PR_ALLOWED_REPOS="https://git.example/a.git, https://git.example/team/" (or a list)."""
        if isinstance(value, str):
            return [item for item in value.replace(",", " ").split() if item]
        return value

    @field_validator("pr_allowed_repos")
    @classmethod
    def _strict_repos(cls, value: list[str]) -> list[str]:
        """Every entry parses strictly (no dot-segments, encoded dots, query or userinfo), so a typo in the
        allowlist stops the registry at start rather than allowing nothing or more than meant."""
        for entry in value:
            try:
                parse_repo_url(entry, what="PIPEFORGE_PR_ALLOWED_REPOS entry")
            except UnsafeURLError as exc:
                raise ValueError(exc.message) from None
        return value

    @field_validator("pr_api_urls", mode="before")
    @classmethod
    def _split_api_urls(cls, value: object) -> object:
        """PIPEFORGE_PR_API_URLS="https://git.corp/=https://git-api.corp/api/v1 https://x/y.git=http://..."."""
        if not isinstance(value, str):
            return value
        pairs: dict[str, str] = {}
        for item in value.replace(",", " ").split():
            prefix, sep, url = item.partition("=")
            if not sep or not prefix or not url.startswith(("http://", "https://")):
                raise ValueError(f"PIPEFORGE_PR_API_URLS: {item!r} is not REPO_PREFIX=API_URL "
                                 "(such as https://git.corp/=https://git-api.corp/api/v1)")
            pairs[prefix] = url
        return pairs

    def api_url_for(self, repo: str) -> str | None:
        """The forge API configured for ``repo`` (longest prefix), or None for the provider's default."""
        matches = [prefix for prefix in self.pr_api_urls if repo.startswith(prefix)]
        return self.pr_api_urls[max(matches, key=len)] if matches else None
