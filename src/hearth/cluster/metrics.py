"""Metrics queryable from any node: a MetricStore that answers with the whole cluster's.

As with logs (cluster/logs.py, which says why scatter-gather): each node records the
invokes it ran into its own store; a read asks every other live node at once
(`hearth.metrics.<node>`) and merges each minute's aggregates (counts and sums add, minimum
and maximum hold, histograms add, so percentiles stay right). A node asked folds its pending
figures in first (waiting at most FLUSH_WAIT_SECONDS for its loop), so a read sees what every
node has recorded. Prometheus's `/metrics` stays per node: a Prometheus scrapes every node
and adds them up itself.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable, Sequence
from typing import Any

from hearth.cluster.rpc import Message, Rpc, everywhere, flush_on
from hearth.metrics.series import Aggregate
from hearth.metrics.store import MetricKey, MetricStore, Point

TOPIC = "metrics"
QUERY_TIMEOUT_SECONDS = 2.0
# How long a node asked for its figures waits for its pending ones to be folded in first.
FLUSH_WAIT_SECONDS = 0.2


def key_to_json(key: MetricKey) -> dict[str, Any]:
    return {"namespace": key.namespace, "name": key.name, "dimensions": key.dimensions}


def key_from_json(data: dict[str, Any]) -> MetricKey:
    dimensions = tuple((str(n), str(v)) for n, v in data["dimensions"])
    return MetricKey(str(data["namespace"]), str(data["name"]), dimensions)


def point_to_json(point: Point) -> dict[str, Any]:
    a = point.aggregate
    return {
        "minute": point.minute,
        "unit": point.unit,
        # json writes the empty aggregate's infinities as Infinity, and reads them back.
        "aggregate": [a.count, a.total, a.minimum, a.maximum, a.histogram],
    }


def point_from_json(key: MetricKey, data: dict[str, Any]) -> Point:
    count, total, minimum, maximum, histogram = data["aggregate"]
    aggregate = Aggregate(
        float(count),
        float(total),
        float(minimum),
        float(maximum),
        {int(bucket): float(n) for bucket, n in histogram.items()},
    )
    return Point(key, int(data["minute"]), str(data["unit"]), aggregate)


def merge_points(points: Sequence[Point]) -> list[Point]:
    """One point per minute, in time order, each the merge of that minute's points."""
    by_minute: dict[int, Point] = {}
    for point in points:
        known = by_minute.get(point.minute)
        aggregate = Aggregate()
        if known is not None:
            aggregate.merge(known.aggregate)
        aggregate.merge(point.aggregate)
        by_minute[point.minute] = Point(point.key, point.minute, point.unit, aggregate)
    return [by_minute[minute] for minute in sorted(by_minute)]


class NodeMetrics:
    """What one node answers about its own store."""

    def __init__(
        self,
        store: MetricStore,
        flush: Callable[[], None] = lambda: None,
        loop: asyncio.AbstractEventLoop | None = None,
    ) -> None:
        self.store = store
        # Folds this node's pending figures into the store (on `loop`) before it answers.
        self._flush = flush
        self._loop = loop

    def run(self, op: str, args: dict[str, Any]) -> Any:
        if op == "read":
            key = key_from_json(args["key"])
            points = self.store.read(key, int(args["start"]), int(args["end"]))
            return [point_to_json(p) for p in points]
        if op == "keys":
            return [key_to_json(k) for k in self.store.keys(int(args["since"]))]
        raise ValueError(f"unknown metrics operation {op!r}")

    async def serve(self, head: bytes, body: bytes) -> Message:
        call = json.loads(head)
        await flush_on(self._loop, self._flush, FLUSH_WAIT_SECONDS)
        result = await asyncio.to_thread(self.run, str(call["op"]), dict(call["args"]))
        return b"{}", json.dumps(result).encode()


class ClusterMetricStore:
    """The MetricStore Protocol over every live node's store: adds stay here, reads merge."""

    def __init__(
        self,
        local: MetricStore,
        rpc: Rpc,
        flush: Callable[[], None] = lambda: None,
        loop: asyncio.AbstractEventLoop | None = None,
    ) -> None:
        self._local = NodeMetrics(local, flush, loop)
        self._rpc = rpc

    def serve(self) -> None:
        self._rpc.serve(TOPIC, self._local.serve)

    def _everywhere(self, op: str, **args: Any) -> list[Any]:
        """This node's result, then every other live node's."""
        return everywhere(self._rpc, TOPIC, self._local.run, op, args, QUERY_TIMEOUT_SECONDS)

    def add(self, points: Sequence[Point]) -> None:
        self._local.store.add(points)

    def read(self, key: MetricKey, start: int, end: int) -> list[Point]:
        answers = self._everywhere("read", key=key_to_json(key), start=start, end=end)
        return merge_points([point_from_json(key, p) for answer in answers for p in answer])

    def keys(self, since: int = 0) -> list[MetricKey]:
        found = {
            key_from_json(k) for answer in self._everywhere("keys", since=since) for k in answer
        }
        return sorted(found, key=lambda k: (k.namespace, k.name, k.dimensions))

    def expire(self, before: int) -> None:
        self._local.store.expire(before)

    def close(self) -> None:
        self._local.store.close()
