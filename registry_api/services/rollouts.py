"""Roll-outs for the API and the pages: made, listed and described from the catalog database."""

from __future__ import annotations

from typing import Any

from catalog import rollouts, service
from catalog.allowlist import refusal
from catalog.db import reporting
from catalog.models import Delivery
from registry_api.services.registry import Registry


def create(registry: Registry, requested_by: str, template: str, to: str,
           key: str | None) -> tuple[dict[str, Any], bool]:
    """Resolve TO (404/422 as for a render), then make the roll-out and one upgrade job per target; the
    roll-out, and False when the Idempotency-Key named an earlier one."""
    catalog = registry.catalog

    def refuse(delivery: Delivery) -> str | None:
        return refusal(registry.settings.pr_allowed_repos, delivery.repo)

    with reporting(catalog.engine.url), catalog.session() as session:
        version = service.resolve(session, name=template, spec=to).version
    with reporting(catalog.engine.url), catalog.session() as session:
        rollout, created = rollouts.create(session, template=template, to_spec=to, to_version=version,
                                            requested_by=requested_by, idempotency_key=key, refuse=refuse)
        return rollouts.describe_rollout(session, rollout), created


def get(registry: Registry, rollout_id: int) -> dict[str, Any] | None:
    catalog = registry.catalog
    with reporting(catalog.engine.url), catalog.session() as session:
        rollout = rollouts.get(session, rollout_id)
        return None if rollout is None else rollouts.describe_rollout(session, rollout)


def recent(registry: Registry, limit: int = 20, template: str | None = None) -> list[dict[str, Any]]:
    catalog = registry.catalog
    with reporting(catalog.engine.url), catalog.session() as session:
        return rollouts.summaries(session, rollouts.recent(session, limit=limit, template=template))
