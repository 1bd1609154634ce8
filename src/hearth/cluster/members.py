"""Membership by heartbeats: each node puts its record in a KV bucket every
`HEARTBEAT_SECONDS`; a node not heard from for `ALIVE_SECONDS` is gone.

The bucket's entries expire (its max age) so the dead leave no trace after a while; which
nodes are alive is decided by the time in each record, as every node sees the same records.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Callable
from typing import Any

from nats.js.kv import KeyValue

from hearth.cluster.keys import segment
from hearth.cluster.link import NatsLink
from hearth.cluster.registry import open_bucket

logger = logging.getLogger("hearth.cluster")

HEARTBEAT_SECONDS = 1.0
# Three missed heartbeats: a stopped (or partitioned) node is noticed within this many seconds.
ALIVE_SECONDS = 3.5


class Membership:
    def __init__(
        self, link: NatsLink, node: str, *, replicas: int = 1, namespace: str = "hearth"
    ) -> None:
        self._link = link
        self.node = node
        self._key = segment(node)
        self._bucket = f"{namespace}_members"
        self._record: dict[str, Any] = {"node": node, "started": time.time()}
        self._seen: dict[str, dict[str, Any]] = {}
        self._listener: Callable[[], None] | None = None
        # What this node tells the others with each heartbeat besides being alive.
        self._hints: Callable[[], dict[str, Any]] = dict
        self._alive: frozenset[str] = frozenset()
        self._watcher: KeyValue.KeyWatcher | None = None
        self._kv: KeyValue = link.run(open_bucket(link.js, self._bucket, replicas, ttl=60.0))
        link.run(self._beat())  # this node is a member before it serves
        self._tasks = [link.spawn(self._watch()), link.spawn(self._heartbeats())]
        # After a reconnect the watch's consumer may be gone (see KvRegistry._rewatch): a new
        # one, or every other node would look gone from here for 10 s and more.
        link.on_reconnect(self._rewatch)

    def _rewatch(self) -> None:
        self._tasks[0].cancel()
        watcher, self._watcher = self._watcher, None
        if watcher is not None:
            self._stopping = asyncio.get_running_loop().create_task(_stop(watcher))
        self._tasks[0] = self._link.spawn(self._watch())

    def set_endpoint(self, url: str) -> None:
        self._record["endpoint"] = url

    def set_hints(self, hints: Callable[[], dict[str, Any]]) -> None:
        """Called (on the NATS thread) before each heartbeat: fields to add to this node's
        record, as fresh as the heartbeat (a second)."""
        self._hints = hints

    def set_listener(self, listener: Callable[[], None]) -> None:
        """Called (on the NATS thread) when the set of live nodes changes."""
        self._listener = listener

    def alive(self) -> list[dict[str, Any]]:
        """The live nodes' records, by name, each with `last_seen_seconds`."""
        now = time.time()
        return [
            {**record, "last_seen_seconds": round(now - record["at"], 3)}
            for _, record in sorted(self._seen.items())
            if now - record["at"] < ALIVE_SECONDS
        ]

    def count(self) -> int:
        """How many nodes are alive (this one at least)."""
        return max(1, len(self.alive()))

    async def _beat(self) -> None:
        try:
            self._record.update(self._hints())
        except Exception as exc:  # a hint is never worth a missed heartbeat
            logger.debug("cluster: the heartbeat's hints failed: %s", exc)
        self._record["at"] = time.time()
        await self._kv.put(self._key, json.dumps(self._record).encode())

    async def _heartbeats(self) -> None:
        while True:
            await asyncio.sleep(HEARTBEAT_SECONDS)
            if not self._link.connected:
                continue  # the link said it dropped, once; it beats again once back
            try:
                # A beat NATS does not answer (a partition not noticed yet) is given up on
                # after a beat's time, not the client's 10 s: the next one goes out on time,
                # so a node whose link comes back is seen again within a second.
                await asyncio.wait_for(self._beat(), HEARTBEAT_SECONDS)
            except Exception as exc:
                logger.warning("cluster: heartbeat failed: %s", exc or type(exc).__name__)
            alive = frozenset(r["node"] for r in self.alive())
            if alive != self._alive:
                joined, left = alive - self._alive, self._alive - alive
                if self._alive:
                    logger.warning(
                        "cluster: nodes now %s (joined: %s; gone: %s)",
                        ", ".join(sorted(alive)),
                        ", ".join(sorted(joined)) or "none",
                        ", ".join(sorted(left)) or "none",
                    )
                self._alive = alive
                if self._listener is not None:
                    self._listener()

    async def _watch(self) -> None:
        watcher = await self._kv.watchall()
        self._watcher = watcher
        async for entry in watcher:
            if entry is None:
                continue
            if entry.operation in ("DEL", "PURGE") or not entry.value:
                self._seen.pop(entry.key, None)
                continue
            try:
                self._seen[entry.key] = json.loads(entry.value)
            except ValueError:
                continue

    def close(self) -> None:
        """Leave: the others see this node gone at once, not after ALIVE_SECONDS."""
        for task in self._tasks:
            task.cancel()
        try:
            self._link.run(self._kv.delete(self._key), timeout=2)
        except Exception as exc:
            logger.debug("cluster: leaving the member list failed: %s", exc)


async def _stop(watcher: KeyValue.KeyWatcher) -> None:
    try:
        await watcher.stop()  # type: ignore[no-untyped-call]
    except Exception as exc:  # its consumer may be gone already
        logger.debug("cluster: stopping a member watch: %s", exc)
