"""`GET /metrics`: the AWS/Lambda figures and Hearth's own, in Prometheus' text format."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from hearth.api.http import Request, Response, Router


@dataclass(frozen=True)
class Snapshot:
    """Hearth's state at a scrape."""

    idle_environments: int
    busy_environments: int
    pool_memory_mb: int
    concurrent_executions: dict[str, int]
    queue_ready: int
    queue_delayed: int
    queue_in_flight: int


class _StateCollector(Collector):
    def __init__(self) -> None:
        self.snapshot: Snapshot | None = None

    def collect(self) -> Iterator[GaugeMetricFamily]:
        snap = self.snapshot
        if snap is None:
            return
        environments = GaugeMetricFamily(
            "hearth_environments", "Execution environments by state", labels=["state"]
        )
        environments.add_metric(["idle"], snap.idle_environments)
        environments.add_metric(["busy"], snap.busy_environments)
        yield environments
        yield GaugeMetricFamily(
            "hearth_pool_memory_mb", "Memory held by live environments", value=snap.pool_memory_mb
        )
        concurrency = GaugeMetricFamily(
            "hearth_lambda_concurrent_executions",
            "AWS/Lambda ConcurrentExecutions, now",
            labels=["function_name"],
        )
        for name, count in sorted(snap.concurrent_executions.items()):
            concurrency.add_metric([name], count)
        yield concurrency
        queue = GaugeMetricFamily(
            "hearth_async_queue_depth", "Async events in the durable queue", labels=["state"]
        )
        queue.add_metric(["ready"], snap.queue_ready)
        queue.add_metric(["delayed"], snap.queue_delayed)
        queue.add_metric(["in_flight"], snap.queue_in_flight)
        yield queue


class PrometheusApi:
    def __init__(
        self, registry: CollectorRegistry, snapshot: Callable[[float], Awaitable[Snapshot]]
    ) -> None:
        self._registry = registry
        self._snapshot = snapshot
        self._state = _StateCollector()
        registry.register(self._state)

    def register(self, router: Router) -> None:
        # Scrapers do not sign requests; the figures name functions and nothing secret.
        router.add("Metrics", "GET", "/metrics", self.scrape, authenticated=False, max_body=0)

    async def scrape(self, request: Request) -> Response:
        self._state.snapshot = await self._snapshot(time.time())
        return Response(
            200, generate_latest(self._registry), content_type="text/plain; version=0.0.4"
        )
