"""Logs queryable from any node: a LogStore that answers with the whole cluster's logs.

Each node keeps writing its own environments' lines into its own SQLite store, as on one
machine; a read asks every other live node at once over request/reply (`hearth.logs.<node>`,
cluster/rpc.py) and merges the answers with its own. Why scatter-gather and not the lines in
a JetStream stream: writes are the hot path (every invoke writes START / END / REPORT) and
reads are rare (a person, a CLI, a test), so the cost goes to the reads: an invoke pays no
NATS publish, nothing is stored twice, and retention and size limits stay each node's. The
price: a node that is down takes its lines out of every answer until it is back, and a read
waits for the slowest node (at most QUERY_TIMEOUT_SECONDS).

Event ids are per node; across the cluster an event's id is its node's id shifted left by
NODE_BITS with a hash of the node's name below, so positions (timestamp, id) still order and
page every node's events together, and each node turns a position back into its own ids.
Writes that name a group or stream (delete, retention, tags) go to every node that has it.
"""

from __future__ import annotations

import asyncio
import json
import zlib
from collections.abc import Callable, Sequence
from dataclasses import asdict, replace
from typing import Any

from hearth.cluster.rpc import Message, Rpc, everywhere, flush_on
from hearth.logs.store import (
    END_OF_TIME,
    LogCounts,
    LogEvent,
    LogGroup,
    LogStore,
    LogStream,
    NewEvent,
    Position,
)

TOPIC = "logs"
NODE_BITS = 20
QUERY_TIMEOUT_SECONDS = 2.0
# How long a node asked for its lines waits for its own buffered ones to be written first.
FLUSH_WAIT_SECONDS = 0.2


def node_tag(node: str) -> int:
    return zlib.crc32(node.encode()) & ((1 << NODE_BITS) - 1)


def to_cluster_id(local_id: int, tag: int) -> int:
    return (local_id << NODE_BITS) | tag


def after_here(position: Position | None, tag: int) -> Position | None:
    """The local position that `after` (a cluster position) means on the node `tag`: its
    events with id << NODE_BITS | tag > A are those with id > floor((A - tag) / 2**bits)."""
    if position is None:
        return None
    return position[0], (position[1] - tag) >> NODE_BITS


def before_here(position: Position | None, tag: int) -> Position | None:
    """As `after_here`, for `before`: id < ceil((B - tag) / 2**bits)."""
    if position is None:
        return None
    return position[0], -((tag - position[1]) >> NODE_BITS)


def merge_groups(groups: Sequence[LogGroup]) -> LogGroup:
    """One group as the cluster sees it: the earliest creation, the bytes of every node."""
    first = min(groups, key=lambda g: g.created_ms)
    return replace(first, stored_bytes=sum(g.stored_bytes for g in groups))


def merge_streams(streams: Sequence[LogStream]) -> LogStream:
    def pick(values: list[int | None], choose: Callable[[list[int]], int]) -> int | None:
        known = [v for v in values if v is not None]
        return choose(known) if known else None

    return LogStream(
        streams[0].group,
        streams[0].name,
        min(s.created_ms for s in streams),
        pick([s.first_event_ms for s in streams], min),
        pick([s.last_event_ms for s in streams], max),
        pick([s.last_ingestion_ms for s in streams], max),
        sum(s.stored_bytes for s in streams),
    )


class NodeLogs:
    """What one node answers about its own store (in the cluster's ids)."""

    def __init__(
        self,
        store: LogStore,
        node: str,
        flush: Callable[[], None] = lambda: None,
        loop: asyncio.AbstractEventLoop | None = None,
    ) -> None:
        self.store = store
        self.tag = node_tag(node)
        # Writes this node's buffered lines (on `loop`) before it answers another node.
        self._flush = flush
        self._loop = loop

    def run(self, op: str, args: dict[str, Any]) -> Any:
        """One operation of the whitelist below, its result as JSON-able data."""
        operation = getattr(self, f"_op_{op}", None)
        if operation is None:
            raise ValueError(f"unknown log operation {op!r}")
        return operation(args)

    def _op_read(self, args: dict[str, Any]) -> Any:
        events = self.store.read(
            args["group"],
            stream=args.get("stream"),
            start_ms=int(args.get("start_ms", 0)),
            end_ms=int(args.get("end_ms", END_OF_TIME)),
            after=after_here(_position(args.get("after")), self.tag),
            before=before_here(_position(args.get("before")), self.tag),
            newest_first=bool(args.get("newest_first")),
            limit=int(args.get("limit", 1000)),
        )
        return [asdict(replace(e, id=to_cluster_id(e.id, self.tag))) for e in events]

    def _op_get_group(self, args: dict[str, Any]) -> Any:
        group = self.store.get_group(args["name"])
        return None if group is None else asdict(group)

    def _op_list_groups(self, args: dict[str, Any]) -> Any:
        return [asdict(g) for g in self.store.list_groups(args.get("prefix", ""))]

    def _op_list_streams(self, args: dict[str, Any]) -> Any:
        return [asdict(s) for s in self.store.list_streams(args["group"])]

    def _op_delete_group(self, args: dict[str, Any]) -> Any:
        return self.store.delete_group(args["name"])

    def _op_update_group(self, args: dict[str, Any]) -> Any:
        self.store.update_group(LogGroup(**args["group"]))

    def _op_delete_stream(self, args: dict[str, Any]) -> Any:
        return self.store.delete_stream(args["group"], args["name"])

    def _op_expire(self, args: dict[str, Any]) -> Any:
        return self.store.expire(int(args["now_ms"]))

    async def serve(self, head: bytes, body: bytes) -> Message:
        """An Rpc handler: the store's SQLite is thread-safe, and a query in a thread keeps
        the NATS loop (heartbeats, other calls) moving."""
        call = json.loads(head)
        await flush_on(self._loop, self._flush, FLUSH_WAIT_SECONDS)
        result = await asyncio.to_thread(self.run, str(call["op"]), dict(call["args"]))
        return b"{}", json.dumps(result).encode()


class ClusterLogStore:
    """The LogStore Protocol over every live node's store: appends stay here, reads merge
    every node's answer, deletes and group changes reach every node."""

    def __init__(
        self,
        local: LogStore,
        rpc: Rpc,
        flush: Callable[[], None] = lambda: None,
        loop: asyncio.AbstractEventLoop | None = None,
    ) -> None:
        self._local = NodeLogs(local, rpc.node, flush, loop)
        self._rpc = rpc

    def serve(self) -> None:
        self._rpc.serve(TOPIC, self._local.serve)

    def _everywhere(self, op: str, **args: Any) -> list[Any]:
        """This node's result, then every other live node's."""
        return everywhere(self._rpc, TOPIC, self._local.run, op, args, QUERY_TIMEOUT_SECONDS)

    # Stays on this node ------------------------------------------------------------------
    def append(self, events: Sequence[NewEvent]) -> None:
        self._local.store.append(events)

    def counts(self) -> LogCounts:
        return self._local.store.counts()

    def close(self) -> None:
        self._local.store.close()

    # Reads the whole cluster --------------------------------------------------------------
    def read(
        self,
        group: str,
        *,
        stream: str | None = None,
        start_ms: int = 0,
        end_ms: int = END_OF_TIME,
        after: Position | None = None,
        before: Position | None = None,
        newest_first: bool = False,
        limit: int = 1000,
    ) -> list[LogEvent]:
        answers = self._everywhere(
            "read",
            group=group,
            stream=stream,
            start_ms=start_ms,
            end_ms=end_ms,
            after=after,
            before=before,
            newest_first=newest_first,
            limit=limit,
        )
        events = [LogEvent(**event) for answer in answers for event in answer]
        events.sort(key=lambda e: e.position, reverse=newest_first)
        return events[:limit]

    def get_group(self, name: str) -> LogGroup | None:
        found = [LogGroup(**g) for g in self._everywhere("get_group", name=name) if g]
        return merge_groups(found) if found else None

    def list_groups(self, prefix: str = "") -> list[LogGroup]:
        by_name: dict[str, list[LogGroup]] = {}
        for answer in self._everywhere("list_groups", prefix=prefix):
            for group in answer:
                by_name.setdefault(group["name"], []).append(LogGroup(**group))
        return [merge_groups(by_name[name]) for name in sorted(by_name)]

    def list_streams(self, group: str) -> list[LogStream]:
        by_name: dict[str, list[LogStream]] = {}
        for answer in self._everywhere("list_streams", group=group):
            for stream in answer:
                by_name.setdefault(stream["name"], []).append(LogStream(**stream))
        return [merge_streams(by_name[name]) for name in sorted(by_name)]

    # Writes: made here, or everywhere the group is ------------------------------------------
    def create_group(self, group: LogGroup) -> bool:
        if self.get_group(group.name) is not None:
            return False
        return self._local.store.create_group(group)

    def delete_group(self, name: str) -> bool:
        return any(self._everywhere("delete_group", name=name))

    def update_group(self, group: LogGroup) -> None:
        self._everywhere("update_group", group=asdict(group))

    def create_stream(self, group: str, name: str, created_ms: int) -> bool:
        if any(s.name == name for s in self.list_streams(group)):
            return False
        store = self._local.store
        if store.get_group(group) is None:  # the group is another node's so far
            known = self.get_group(group)
            if known is None:
                return False
            store.create_group(replace(known, stored_bytes=0))
        return store.create_stream(group, name, created_ms)

    def delete_stream(self, group: str, name: str) -> bool:
        return any(self._everywhere("delete_stream", group=group, name=name))

    def expire(self, now_ms: int) -> int:
        return sum(self._everywhere("expire", now_ms=now_ms))


def _position(raw: Any) -> Position | None:
    if raw is None:
        return None
    return int(raw[0]), int(raw[1])
