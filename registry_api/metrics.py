"""The registry's operational metrics beyond requests: build info, the process, the job queue, job outcomes,
roll-out targets and forge calls, in the same ``CollectorRegistry`` as the request metrics.

Queue and roll-out figures are read from the shared database when Prometheus scrapes (a custom collector,
prometheus_client's own pattern for values that live elsewhere), so every replica reports the same
cluster-wide queue; outcomes and forge calls are counted by the process that saw them."""

from __future__ import annotations

import logging
import platform
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

from prometheus_client import CollectorRegistry, Counter, Info, ProcessCollector
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from catalog.jobs import queue_figures

if TYPE_CHECKING:
    from catalog.db import Catalog

log = logging.getLogger("pipeforge.registry")


class QueueCollector(Collector):
    """Jobs by kind and state, the age of the oldest queued job per kind, roll-out targets by status."""

    def __init__(self, catalog: Callable[[], Catalog | None]) -> None:
        self.catalog = catalog

    def describe(self) -> list[Any]:
        return []  # values come from the database at scrape time: nothing to check at registration

    def collect(self) -> Iterator[GaugeMetricFamily]:
        catalog = self.catalog()
        if catalog is None:
            return
        try:
            with catalog.session() as session:
                figures = queue_figures(session)
        except Exception as exc:  # a scrape while the database is away: no queue series, /readyz says why
            log.debug("queue metrics skipped: %s", type(exc).__name__)
            return
        jobs = GaugeMetricFamily("pipeforge_jobs", "Pull-request jobs in the shared queue by kind and state",
                                 labels=["kind", "state"])
        for (kind, state), count in sorted(figures.by_state.items()):
            jobs.add_metric([kind, state], count)
        oldest = GaugeMetricFamily("pipeforge_jobs_oldest_queued_age_seconds",
                                   "Age of the oldest queued job by kind (0: none queued)", labels=["kind"])
        for kind, age in sorted(figures.oldest_queued_age.items()):
            oldest.add_metric([kind], age)
        targets = GaugeMetricFamily("pipeforge_rollout_targets", "Roll-out targets (upgrade jobs) by status",
                                    labels=["status"])
        for status, count in sorted(figures.rollout_targets.items()):
            targets.add_metric([status], count)
        yield from (jobs, oldest, targets)


def add_operational_metrics(registry: CollectorRegistry, version: str) -> tuple[Counter, Counter]:
    """Register build info and process metrics; return the job-outcome and forge-call counters."""
    Info("pipeforge_build", "The running pipeforge", registry=registry).info(
        {"version": version, "python": platform.python_version()})
    ProcessCollector(registry=registry)  # process_cpu_seconds_total, process_resident_memory_bytes, ...
    outcomes = Counter("pipeforge_jobs_finished", "Pull-request jobs this process finished, by kind and outcome",
                       ["kind", "outcome"], registry=registry)
    forge_calls = Counter("pipeforge_forge_calls", "Forge API calls by forge and HTTP status ('error': no answer)",
                          ["forge", "status"], registry=registry)
    return outcomes, forge_calls
