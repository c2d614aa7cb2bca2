"""Settings from the environment, prefix ``PIPEFORGE_`` (``PIPEFORGE_DATABASE_URL`` is the catalog's)."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from catalog.safety import MAX_BUNDLE_BYTES


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
    index_ttl_seconds: float = Field(
        default=1.0, ge=0, description="how often the cached template index checks the database for changes "
        "made by other processes (this process's own writes show at once)",
    )
    pr_allowed_repos: Annotated[list[str], NoDecode] = Field(
        default_factory=list, description="repository URLs the registry may push pull requests to (exact, or a "
        "prefix ending in '/'), separated by commas or spaces; anything else is refused with 403 before any "
        "network call",
    )
    pr_workers: int = Field(default=1, ge=0, description="pull-request workers in this process (0: none)")
    pr_lease_seconds: float = Field(default=300, gt=0, description="how long a worker holds a job before "
                                    "another may take it over (a crashed worker's job is then retried)")
    render_cache_size: int = Field(default=64, ge=1, description="catalog versions kept unpacked for renders")

    @field_validator("pr_allowed_repos", mode="before")
    @classmethod
    def _split_repos(cls, value: object) -> object:
        """PIPEFORGE_PR_ALLOWED_REPOS="https://git.example/a.git, https://git.example/team/" (or a list)."""
        if isinstance(value, str):
            return [item for item in value.replace(",", " ").split() if item]
        return value
