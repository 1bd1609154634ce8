"""Logs and metrics read across nodes (cluster/logs.py, cluster/metrics.py), over memory
stores, with the nodes' calls made in-process: ids made cluster-wide, positions turned back
into each node's, pages that cross from one node's events to another's, merged figures."""

from __future__ import annotations

import asyncio
import json
import math
import random
from typing import Any

from hearth.cluster.logs import (
    NODE_BITS,
    ClusterLogStore,
    NodeLogs,
    after_here,
    before_here,
    to_cluster_id,
)
from hearth.cluster.metrics import ClusterMetricStore, NodeMetrics, point_from_json, point_to_json
from hearth.cluster.rpc import Handler, Message
from hearth.logs.store import LogEvent, LogGroup, MemoryLogStore
from hearth.metrics.series import Aggregate
from hearth.metrics.store import MemoryMetricStore, MetricKey, Point


class InProcessRpc:
    """Rpc's surface for the stores: `gather_now` calls the other nodes' handlers here."""

    def __init__(self, node: str, cluster: dict[str, dict[str, Handler]]) -> None:
        self.node = node
        self._cluster = cluster
        cluster.setdefault(node, {})

    def serve(self, topic: str, handler: Handler) -> None:
        self._cluster[self.node][topic] = handler

    def gather_now(self, topic: str, message: Message, timeout: float) -> list[Message]:
        async def ask(handler: Handler) -> Message:
            return await handler(*message)

        return [
            asyncio.run(ask(handlers[topic]))
            for node, handlers in sorted(self._cluster.items())
            if node != self.node and topic in handlers
        ]


def test_positions_turn_back_into_each_nodes_ids() -> None:
    rng = random.Random(7)
    for _ in range(2000):
        tag = rng.randrange(1 << NODE_BITS)
        local, bound = rng.randrange(1, 10_000), rng.randrange(-5, 10_000 << NODE_BITS)
        ours = to_cluster_id(local, tag)
        after = after_here((5, bound), tag)
        before = before_here((5, bound), tag)
        assert after is not None and before is not None
        assert (ours > bound) == (local > after[1])
        assert (ours < bound) == (local < before[1])


def cluster_of(count: int) -> tuple[list[MemoryLogStore], list[ClusterLogStore]]:
    handlers: dict[str, dict[str, Handler]] = {}
    stores = [MemoryLogStore() for _ in range(count)]
    views = []
    for n, store in enumerate(stores):
        view = ClusterLogStore(store, InProcessRpc(f"node-{n}", handlers))  # type: ignore[arg-type]
        view.serve()
        views.append(view)
    return stores, views


def test_reads_page_through_every_nodes_events_in_order_each_once() -> None:
    stores, views = cluster_of(3)
    rng = random.Random(3)
    for n, store in enumerate(stores):
        store.append([("/g", f"s{n}", rng.randrange(100), f"node-{n} line {i}") for i in range(40)])
    everything = views[1].read("/g", limit=1000)
    assert len(everything) == 120
    assert [e.position for e in everything] == sorted(e.position for e in everything)
    for newest_first in (False, True):
        seen: list[LogEvent] = []
        after = before = None
        while True:
            page = views[2].read(
                "/g", after=after, before=before, newest_first=newest_first, limit=7
            )
            if not page:
                break
            seen.extend(page)
            after, before = (None, page[-1].position) if newest_first else (page[-1].position, None)
        assert [e.message for e in seen] == [
            e.message for e in (everything[::-1] if newest_first else everything)
        ]
    assert [e.message for e in views[0].read("/g", stream="s2")] == [
        e.message for e in everything if e.stream == "s2"
    ]


def test_groups_and_streams_are_the_union_and_changes_reach_every_node() -> None:
    stores, views = cluster_of(2)
    stores[0].append([("/g", "a", 1, "x")])
    stores[1].append([("/g", "b", 2, "yy"), ("/other", "c", 3, "z")])
    assert [g.name for g in views[0].list_groups()] == ["/g", "/other"]
    group = views[1].get_group("/g")
    assert group is not None and group.stored_bytes == 27 + 28
    assert [s.name for s in views[0].list_streams("/g")] == ["a", "b"]
    assert not views[0].create_group(LogGroup("/other", 0))  # exists on node-1
    assert not views[0].create_stream("/g", "b", 0)
    assert views[1].create_stream("/g", "new", 5)
    views[0].update_group(LogGroup("/g", 0, retention_days=7, tags={"k": "v"}))
    for store in stores:
        kept = store.get_group("/g")
        assert kept is not None and (kept.retention_days, kept.tags) == (7, {"k": "v"})
    assert views[1].delete_group("/g")
    assert all(store.get_group("/g") is None for store in stores)
    assert not views[0].delete_stream("/g", "a")


def test_a_nodes_unknown_operation_is_refused() -> None:
    try:
        NodeLogs(MemoryLogStore(), "n").run("close", {})
    except ValueError as refused:
        assert "unknown log operation" in str(refused)
    else:
        raise AssertionError("close ran")


KEY = MetricKey("AWS/Lambda", "Duration", (("FunctionName", "f"),))


def aggregate(*values: float) -> Aggregate:
    result = Aggregate()
    for value in values:
        result.add(value)
    return result


def test_metrics_merge_every_nodes_minutes() -> None:
    handlers: dict[str, dict[str, Handler]] = {}
    stores = [MemoryMetricStore() for _ in range(2)]
    views = []
    for n, store in enumerate(stores):
        view = ClusterMetricStore(store, InProcessRpc(f"node-{n}", handlers))  # type: ignore[arg-type]
        view.serve()
        views.append(view)
    stores[0].add(
        [
            Point(KEY, 60, "Milliseconds", aggregate(1, 2)),
            Point(KEY, 120, "Milliseconds", aggregate(5)),
        ]
    )
    stores[1].add([Point(KEY, 60, "Milliseconds", aggregate(10))])
    other = MetricKey("AWS/Lambda", "Errors", ())
    stores[1].add([Point(other, 60, "Count", aggregate(1))])
    points = views[0].read(KEY, 0, 600)
    assert [(p.minute, p.aggregate.count, p.aggregate.total) for p in points] == [
        (60, 3, 13),
        (120, 1, 5),
    ]
    assert points[0].aggregate.maximum == 10 and points[0].aggregate.minimum == 1
    assert views[1].keys() == sorted(
        [KEY, other], key=lambda k: (k.namespace, k.name, k.dimensions)
    )


def test_an_empty_aggregate_survives_json() -> None:
    empty = Point(KEY, 60, "Count", Aggregate())
    back = point_from_json(KEY, json.loads(json.dumps(point_to_json(empty))))
    assert back.aggregate.minimum == math.inf and back.aggregate.maximum == -math.inf
    full = Point(KEY, 60, "Count", aggregate(0.5, 3000))
    assert point_from_json(KEY, json.loads(json.dumps(point_to_json(full)))) == full


def test_metrics_unknown_operation_is_refused() -> None:
    node: Any = NodeMetrics(MemoryMetricStore())
    try:
        node.run("expire", {"before": 0})
    except ValueError as refused:
        assert "unknown metrics operation" in str(refused)
    else:
        raise AssertionError("expire ran")
