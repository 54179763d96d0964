"""Prometheus metrics: read from the database at scrape time, plus this process's counters."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.registry import Collector

if TYPE_CHECKING:
    from prometheus_client.metrics_core import Metric

    from outdial.dispatch.dialer import Dialer
    from outdial.store.store import Store

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"


class OutdialCollector(Collector):
    """Queue depth, lines in use, outcomes and webhook backlog from the store; dial and
    takeover counts from this process's dialer (if it runs one)."""

    def __init__(self, store: Store, dialer: Dialer | None) -> None:
        self.store = store
        self.dialer = dialer

    def collect(self) -> Iterator[Metric]:
        stats = self.store.stats()
        depth = GaugeMetricFamily(
            "outdial_calls", "Calls by deployment and status", labels=["deployment", "status"]
        )
        for (deployment, status), count in sorted(stats.calls_by_status.items()):
            depth.add_metric([str(deployment), status], count)
        yield depth
        lines = GaugeMetricFamily(
            "outdial_lines_in_use", "Calls dialing or connected, by trunk", labels=["trunk"]
        )
        for trunk, count in sorted(stats.lines_in_use.items()):
            lines.add_metric([trunk], count)
        yield lines
        outcomes = GaugeMetricFamily(
            "outdial_final_calls",
            "Final calls by status and callee type",
            labels=["status", "callee_type"],
        )
        for (status, callee), count in sorted(stats.outcomes.items()):
            outcomes.add_metric([status, callee], count)
        yield outcomes
        backlog = GaugeMetricFamily("outdial_webhook_backlog", "Result callbacks not yet delivered")
        backlog.add_metric([], self.store.webhook_backlog())
        yield backlog
        if self.dialer is not None:
            dials = CounterMetricFamily("outdial_dials", "Dial attempts started by this process")
            dials.add_metric([], self.dialer.dialed)
            yield dials
            takeovers = CounterMetricFamily(
                "outdial_lease_takeovers", "Calls taken over from workers that stopped renewing"
            )
            takeovers.add_metric([], self.dialer.takeovers)
            yield takeovers
            active = GaugeMetricFamily("outdial_dialer_active_calls", "Calls this process holds")
            active.add_metric([], self.dialer.active)
            yield active


def registry_for(store: Store, dialer: Dialer | None) -> CollectorRegistry:
    """A registry of its own per app: nothing global, nothing registered at import."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(OutdialCollector(store, dialer))
    return registry


def render(registry: CollectorRegistry) -> bytes:
    return generate_latest(registry)
