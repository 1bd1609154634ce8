"""Turns what happened (an invoke, a throttle, an async event) into AWS/Lambda metrics.

The invoke path only appends a tuple to a list (`invoked`, `throttled`, ...: well under a
microsecond); a timer folds the list into per-minute aggregates, the store and the Prometheus
counters once a second, off the invoke path's critical section.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from prometheus_client import CollectorRegistry, Counter, Histogram

from hearth.metrics.series import Aggregate
from hearth.metrics.store import Dimensions, MetricKey, MetricStore, Point

NAMESPACE = "AWS/Lambda"
FLUSH_INTERVAL_SECONDS = 1.0
_DURATION_BUCKETS_MS = (1, 2, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000, 60000)


class Sample(NamedTuple):
    metric: str
    unit: str
    value: float
    dimensions: tuple[Dimensions, ...]  # every dimension set the value is published under
    at: float


@functools.lru_cache(maxsize=4096)
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
        self._children: dict[tuple[str, str], tuple[Any, Any, Any]] = {}
        self.cold_starts = Counter(
            "hearth_cold_starts", "Environments started", ("function_name",), registry=self.registry
        )

    def invoke_children(self, labels: tuple[str, str]) -> tuple[Any, Any, Any]:
        """The per-function series an invoke updates (looked up once per function)."""
        found = self._children.get(labels)
        if found is None:
            found = (
                self.invocations.labels(*labels),
                self.duration.labels(*labels),
                self.errors.labels(*labels),
            )
            self._children[labels] = found
        return found


class Invoked(NamedTuple):
    function: str
    qualifier: str | None
    executed: str
    duration_ms: float
    error: bool
    concurrency: int  # the function's executions in flight, this one included
    unreserved: int  # the account's unreserved executions in flight
    on_provisioned: bool  # ran on provisioned concurrency
    provisioned_in_use: int  # of the version's provisioned concurrency (0: none configured)
    provisioned_allocated: int
    at: float


class Throttled(NamedTuple):
    function: str
    qualifier: str | None
    at: float


class AsyncReceived(NamedTuple):
    function: str
    qualifier: str | None
    at: float


class EventAge(NamedTuple):
    function: str
    qualifier: str | None
    age_ms: float
    at: float


class Dropped(NamedTuple):
    function: str
    qualifier: str | None
    at: float


class RecursionStopped(NamedTuple):
    function: str
    qualifier: str | None
    at: float


class DeliveryFailed(NamedTuple):
    function: str | None
    dead_letter: bool
    at: float


class IteratorAge(NamedTuple):
    function: str
    qualifier: str | None
    age_ms: float
    at: float


class ColdStart(NamedTuple):
    function: str
    at: float


Record = (
    Invoked
    | Throttled
    | AsyncReceived
    | EventAge
    | Dropped
    | RecursionStopped
    | DeliveryFailed
    | ColdStart
    | IteratorAge
)


class LambdaMetrics:
    """Implements the dispatcher's AsyncObserver too."""

    def __init__(self, store: MetricStore, clock: Callable[[], float] = time.time) -> None:
        self._store = store
        self._clock = clock
        self._pending: list[Record] = []
        self._task: asyncio.Task[None] | None = None
        self.prometheus = _Prometheus()

    @property
    def registry(self) -> CollectorRegistry:
        return self.prometheus.registry

    # The invoke and dispatch paths: append only.
    def invoked(
        self,
        function: str,
        qualifier: str | None,
        executed: str,
        duration_ms: float,
        error: bool,
        concurrency: int,
        unreserved: int,
        on_provisioned: bool = False,
        provisioned_in_use: int = 0,
        provisioned_allocated: int = 0,
    ) -> None:
        self._pending.append(
            Invoked(function, qualifier, executed, duration_ms, error, concurrency, unreserved,
                    on_provisioned, provisioned_in_use, provisioned_allocated, self._clock())
        )  # fmt: skip

    def throttled(self, function: str, qualifier: str | None) -> None:
        self._pending.append(Throttled(function, qualifier, self._clock()))

    def async_received(self, function: str, qualifier: str | None) -> None:
        self._pending.append(AsyncReceived(function, qualifier, self._clock()))

    def event_age(self, function: str, qualifier: str | None, age_ms: float) -> None:
        self._pending.append(EventAge(function, qualifier, age_ms, self._clock()))

    def dropped(self, function: str, qualifier: str | None) -> None:
        self._pending.append(Dropped(function, qualifier, self._clock()))

    def recursion_stopped(self, function: str, qualifier: str | None) -> None:
        self._pending.append(RecursionStopped(function, qualifier, self._clock()))

    def delivery_failed(self, function: str | None, dead_letter: bool) -> None:
        self._pending.append(DeliveryFailed(function, dead_letter, self._clock()))

    def cold_start(self, function: str) -> None:
        self._pending.append(ColdStart(function, self._clock()))

    def iterator_age(self, function: str, qualifier: str | None, age_ms: float) -> None:
        """A stream mapping sent a batch whose last record was `age_ms` old."""
        self._pending.append(IteratorAge(function, qualifier, age_ms, self._clock()))

    # Off those paths.
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
        # Invocations and errors per Prometheus series, counted here and added once each:
        # one `inc` per series and flush rather than one per invoke (a locked call each).
        tallies: dict[tuple[str, str], list[int]] = {}
        for record in pending:
            samples.extend(self._samples(record, tallies))
        for labels, (count, errors) in tallies.items():
            invocations, _, failed = self.prometheus.invoke_children(labels)
            invocations.inc(count)
            if errors:
                failed.inc(errors)
        self._store.add(fold(samples))

    def _samples(  # noqa: PLR0911 - one per kind
        self, record: Record, tallies: dict[tuple[str, str], list[int]]
    ) -> list[Sample]:
        prom = self.prometheus
        if isinstance(record, ColdStart):
            prom.cold_starts.labels(record.function).inc()
            return []
        if isinstance(record, DeliveryFailed):
            name = "DeadLetterErrors" if record.dead_letter else "DestinationDeliveryFailures"
            sets = dimension_sets(record.function, None, None)[:2] if record.function else ((),)
            return [Sample(name, "Count", 1, sets, record.at)]
        function, qualifier, at = record.function, record.qualifier, record.at
        labels = (function, f"{function}:{qualifier}" if qualifier else function)
        if isinstance(record, Throttled):
            prom.throttles.labels(*labels).inc()
            return [Sample("Throttles", "Count", 1, dimension_sets(function, qualifier, None), at)]
        if isinstance(record, AsyncReceived):
            prom.async_received.labels(*labels).inc()
            sets = dimension_sets(function, qualifier, None)
            return [Sample("AsyncEventsReceived", "Count", 1, sets, at)]
        if isinstance(record, EventAge):
            sets = dimension_sets(function, qualifier, None)
            return [Sample("AsyncEventAge", "Milliseconds", record.age_ms, sets, at)]
        if isinstance(record, IteratorAge):
            sets = dimension_sets(function, qualifier, None)
            return [Sample("IteratorAge", "Milliseconds", record.age_ms, sets, at)]
        if isinstance(record, Dropped):
            sets = dimension_sets(function, qualifier, None)
            return [Sample("AsyncEventsDropped", "Count", 1, sets, at)]
        if isinstance(record, RecursionStopped):
            sets = dimension_sets(function, qualifier, None)
            return [Sample("RecursiveInvocationsDropped", "Count", 1, sets, at)]
        return self._invoked(record, labels, tallies)

    def _invoked(
        self, record: Invoked, labels: tuple[str, str], tallies: dict[tuple[str, str], list[int]]
    ) -> list[Sample]:
        _, duration, _ = self.prometheus.invoke_children(labels)
        duration.observe(record.duration_ms)
        tally = tallies.get(labels)
        if tally is None:
            tally = tallies[labels] = [0, 0]
        tally[0] += 1
        tally[1] += record.error
        at = record.at
        sets = dimension_sets(record.function, record.qualifier, record.executed)
        found = [
            Sample("Invocations", "Count", 1, sets, at),
            Sample("Errors", "Count", 1 if record.error else 0, sets, at),
            Sample("Duration", "Milliseconds", record.duration_ms, sets, at),
            Sample("ConcurrentExecutions", "Count", record.concurrency, sets[:2], at),
            Sample("UnreservedConcurrentExecutions", "Count", record.unreserved, sets[:1], at),
        ]
        if record.provisioned_allocated:
            # AWS publishes these under FunctionName + Resource (the version or alias).
            provisioned = sets[1:3]
            in_use, allocated = record.provisioned_in_use, record.provisioned_allocated
            found += [
                Sample(
                    "ProvisionedConcurrencyInvocations" if record.on_provisioned
                    else "ProvisionedConcurrencySpilloverInvocations",
                    "Count", 1, provisioned, at,
                ),
                Sample("ProvisionedConcurrentExecutions", "Count", in_use, provisioned, at),
                Sample("ProvisionedConcurrencyUtilization", "None", in_use / allocated,
                       provisioned, at),
            ]  # fmt: skip
        return found


def fold(samples: list[Sample], namespace: str = NAMESPACE) -> list[Point]:
    """Samples → one aggregate per (metric, dimension set, minute). Values are aggregated
    once per (metric, dimension sets, minute) and copied to each set: every set of a sample
    sees the same values."""
    groups: dict[tuple[str, str, tuple[Dimensions, ...], int], list[float]] = {}
    for sample in samples:
        minute = int(sample.at // 60 * 60)
        groups.setdefault((sample.metric, sample.unit, sample.dimensions, minute), []).append(
            sample.value
        )
    points: dict[tuple[MetricKey, int], Point] = {}
    for (metric, unit, sets, minute), values in groups.items():
        aggregate = Aggregate()
        aggregate.add_all(values)
        for dimensions in sets:
            key = MetricKey(namespace, metric, dimensions)
            known = points.get((key, minute))
            if known is None:
                copy = Aggregate()
                copy.merge(aggregate)
                points[(key, minute)] = Point(key, minute, unit, copy)
            else:
                known.aggregate.merge(aggregate)
    return list(points.values())
