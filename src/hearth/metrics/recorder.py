"""Turns what happened (an invoke, a throttle, an async event) into AWS/Lambda metrics.

The invoke path only appends a tuple to a list (`invoked`, `throttled`, ...: well under a
microsecond); a timer folds the list into per-minute aggregates, the store and the Prometheus
counters once a second, off the invoke path's critical section.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from prometheus_client import CollectorRegistry, Counter, Histogram

from hearth.metrics.series import Aggregate
from hearth.metrics.store import Dimensions, MetricKey, MetricStore, Point

NAMESPACE = "AWS/Lambda"
FLUSH_INTERVAL_SECONDS = 1.0
_DURATION_BUCKETS_MS = (1, 2, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000, 60000)


@dataclass(frozen=True)
class Sample:
    metric: str
    unit: str
    value: float
    dimensions: tuple[Dimensions, ...]  # every dimension set the value is published under
    at: float


def dimension_sets(
    function: str, qualifier: str | None, executed: str | None
) -> tuple[Dimensions, ...]:
    """The dimension sets AWS publishes a function's metric under: none (the account),
    FunctionName, FunctionName + Resource, and for a qualified invoke ExecutedVersion too."""
    resource = f"{function}:{qualifier}" if qualifier else function
    sets: list[Dimensions] = [(), (("FunctionName", function),)]
    sets.append((("FunctionName", function), ("Resource", resource)))
    if qualifier and executed:
        sets.append(
            (("ExecutedVersion", executed), ("FunctionName", function), ("Resource", resource))
        )
    return tuple(sets)


@dataclass
class _Prometheus:
    registry: CollectorRegistry = field(default_factory=CollectorRegistry)

    def __post_init__(self) -> None:
        labels = ("function_name", "resource")
        self.invocations = Counter(
            "hearth_lambda_invocations", "AWS/Lambda Invocations", labels, registry=self.registry
        )
        self.errors = Counter(
            "hearth_lambda_errors", "AWS/Lambda Errors", labels, registry=self.registry
        )
        self.throttles = Counter(
            "hearth_lambda_throttles", "AWS/Lambda Throttles", labels, registry=self.registry
        )
        self.async_received = Counter(
            "hearth_lambda_async_events_received",
            "AWS/Lambda AsyncEventsReceived",
            labels,
            registry=self.registry,
        )
        self.duration = Histogram(
            "hearth_lambda_duration_milliseconds",
            "AWS/Lambda Duration",
            labels,
            buckets=_DURATION_BUCKETS_MS,
            registry=self.registry,
        )
        self.cold_starts = Counter(
            "hearth_cold_starts", "Environments started", ("function_name",), registry=self.registry
        )


class LambdaMetrics:
    def __init__(self, store: MetricStore, clock: Callable[[], float] = time.time) -> None:
        self._store = store
        self._clock = clock
        self._pending: list[tuple[object, ...]] = []
        self._task: asyncio.Task[None] | None = None
        self.prometheus = _Prometheus()

    @property
    def registry(self) -> CollectorRegistry:
        return self.prometheus.registry

    # The invoke path: append only.
    def invoked(
        self,
        function: str,
        qualifier: str | None,
        executed: str,
        duration_ms: float,
        error: bool,
        concurrency: int,
        unreserved: int,
        provisioned: bool,
    ) -> None:
        self._pending.append(
            ("invoke", function, qualifier, executed, duration_ms, error, concurrency,
             unreserved, provisioned, self._clock())
        )  # fmt: skip

    def throttled(self, function: str, qualifier: str | None) -> None:
        self._pending.append(("throttle", function, qualifier, self._clock()))

    def async_received(self, function: str, qualifier: str | None) -> None:
        self._pending.append(("async", function, qualifier, self._clock()))

    def cold_start(self, function: str) -> None:
        self._pending.append(("cold", function, self._clock()))

    # Off the invoke path.
    def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self._run())

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(FLUSH_INTERVAL_SECONDS)
            self.flush()

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        self.flush()

    def flush(self) -> None:
        pending, self._pending = self._pending, []
        samples: list[Sample] = []
        for record in pending:
            samples.extend(self._samples(record))
        self._store.add(fold(samples))

    def _samples(self, record: tuple[object, ...]) -> list[Sample]:
        kind = record[0]
        prom = self.prometheus
        if kind == "invoke":
            (_, function, qualifier, executed, duration, error, concurrency, unreserved,
             provisioned, at) = record  # fmt: skip
            assert isinstance(function, str) and isinstance(at, float)
            qual = qualifier if isinstance(qualifier, str) else None
            sets = dimension_sets(function, qual, str(executed))
            labels = (function, f"{function}:{qual}" if qual else function)
            prom.invocations.labels(*labels).inc()
            prom.duration.labels(*labels).observe(float(duration))  # type: ignore[arg-type]
            if error:
                prom.errors.labels(*labels).inc()
            found = [
                Sample("Invocations", "Count", 1, sets, at),
                Sample("Errors", "Count", 1 if error else 0, sets, at),
                Sample("Duration", "Milliseconds", float(duration), sets, at),  # type: ignore[arg-type]
                Sample("ConcurrentExecutions", "Count", float(concurrency), sets[:2], at),  # type: ignore[arg-type]
                Sample("UnreservedConcurrentExecutions", "Count", float(unreserved), sets[:1], at),  # type: ignore[arg-type]
            ]
            if provisioned:
                found.append(Sample("ProvisionedConcurrencyInvocations", "Count", 1, sets, at))
            return found
        if kind == "throttle":
            _, function, qualifier, at = record
            assert isinstance(function, str) and isinstance(at, float)
            qual = qualifier if isinstance(qualifier, str) else None
            prom.throttles.labels(function, f"{function}:{qual}" if qual else function).inc()
            return [Sample("Throttles", "Count", 1, dimension_sets(function, qual, None), at)]
        if kind == "async":
            _, function, qualifier, at = record
            assert isinstance(function, str) and isinstance(at, float)
            qual = qualifier if isinstance(qualifier, str) else None
            prom.async_received.labels(function, f"{function}:{qual}" if qual else function).inc()
            sets = dimension_sets(function, qual, None)
            return [Sample("AsyncEventsReceived", "Count", 1, sets, at)]
        if kind == "cold":
            _, function, _at = record
            prom.cold_starts.labels(function).inc()
        return []


def fold(samples: list[Sample], namespace: str = NAMESPACE) -> list[Point]:
    """Samples → one aggregate per (metric, dimension set, minute)."""
    points: dict[tuple[MetricKey, int], tuple[str, Aggregate]] = {}
    for sample in samples:
        minute = int(sample.at // 60 * 60)
        for dimensions in sample.dimensions:
            key = MetricKey(namespace, sample.metric, dimensions)
            _, aggregate = points.setdefault((key, minute), (sample.unit, Aggregate()))
            aggregate.add(sample.value)
    return [Point(k, m, unit, agg) for (k, m), (unit, agg) in points.items()]
