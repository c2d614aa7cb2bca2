"""FastAPI dependencies as ``Annotated`` aliases: the registry, settings, and the caller's token."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated

import anyio.to_thread
from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from catalog.db import reporting
from catalog.tokens import Principal, authenticate
from registry_api.problems import ProblemError
from registry_api.services.registry import Registry
from registry_api.settings import Settings

_bearer = HTTPBearer(auto_error=False, description="a token from `pipeforge token create`")


# Dependencies are ``async`` (a plain ``def`` would cost a thread-pool hop per request); the token lookup,
# which queries the database, runs in a worker thread only when a token is presented.


async def get_registry(request: Request) -> Registry:
    """The opened registry, or a 503 naming the (masked) database while it is still being opened."""
    return current_registry(request)


def current_registry(request: Request) -> Registry:
    registry: Registry | None = getattr(request.app.state, "registry", None)
    if registry is None:
        opener = getattr(request.app.state, "opener", None)
        detail = opener.waiting() if opener is not None else "the registry is starting"
        raise ProblemError(503, "catalog-unavailable", "Catalog unavailable", detail, headers={"Retry-After": "5"})
    return registry


RegistryDep = Annotated[Registry, Depends(get_registry)]


async def get_settings(registry: RegistryDep) -> Settings:
    return registry.settings


SettingsDep = Annotated[Settings, Depends(get_settings)]
Credentials = Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]


def _unauthorized(detail: str) -> ProblemError:
    return ProblemError(401, "unauthorized", "Authentication required", detail,
                        headers={"WWW-Authenticate": 'Bearer realm="pipeforge"'})


def _lookup(registry: Registry, token: str) -> Principal | None:
    catalog = registry.catalog
    with reporting(catalog.engine.url), catalog.session() as session:
        return authenticate(session, token=token)


async def _principal(registry: Registry, credentials: HTTPAuthorizationCredentials | None) -> Principal | None:
    if credentials is None:
        return None
    principal = await anyio.to_thread.run_sync(_lookup, registry, credentials.credentials)
    if principal is None:
        raise _unauthorized("the bearer token is unknown or revoked; an administrator of this registry creates a "
                            "new one on its host with `pipeforge token create --name NAME --scope SCOPE`")
    return principal


def require(scope: str) -> Callable[[Registry, HTTPAuthorizationCredentials | None], Awaitable[Principal]]:
    """A dependency: the caller's token, which must carry ``scope`` (or ``admin``)."""

    async def check(registry: RegistryDep, credentials: Credentials) -> Principal:
        principal = await _principal(registry, credentials)
        if principal is None:
            raise _unauthorized(f"this needs a bearer token with scope '{scope}' (Authorization: Bearer pft_...); "
                                "an administrator of this registry creates one on its host with "
                                f"`pipeforge token create --name NAME --scope {scope}`")
        if not principal.allows(scope):
            raise ProblemError(403, "forbidden", "Missing scope",
                               f"token '{principal.name}' has scopes {sorted(principal.scopes)}; "
                               f"this needs '{scope}'", required_scope=scope)
        return principal

    return check


def _presented(request: Request) -> HTTPAuthorizationCredentials | None:
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    return HTTPAuthorizationCredentials(scheme="Bearer", credentials=token.strip())


async def read_access(registry: RegistryDep, request: Request) -> Principal | None:
    """Reads are open unless PIPEFORGE_REQUIRE_READ_TOKEN is set; a token sent anyway must be valid.
    (The header is read here rather than through ``HTTPBearer`` so that the OpenAPI document does not
    call the token required; ``registry_api.app`` documents it as optional or required per setting.)"""
    credentials = _presented(request)
    if registry.settings.require_read_token:
        return await require("read")(registry, credentials)
    return await _principal(registry, credentials) if credentials is not None else None


PublisherDep = Annotated[Principal, Depends(require("publish"))]
AdminDep = Annotated[Principal, Depends(require("admin"))]
ReaderDep = Annotated[Principal | None, Depends(read_access)]
