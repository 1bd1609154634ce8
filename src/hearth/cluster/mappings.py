"""Event source mappings in a cluster: one node polls each mapping, positions in KV.

`LeasedMappings` is the cluster's `MappingOwnership`. Each mapping has a preferred node,
picked by rendezvous hashing over the live members (every node computes the same one while
they agree on the members; a node joining or leaving moves only the mappings it wins or
held), so mappings spread over the nodes. The preferred node takes the mapping's lease
(`hearth.cluster.leases`); the lease, not the hashing, is what keeps a second node from
polling while members are seen differently for a moment. A holder that is no longer
preferred, while the preferred node is alive, releases its lease once its poller stopped
(its last batch settled and committed): the preferred node resumes from there. A holder that
dies stops renewing; its lease expires and the preferred node among the survivors takes it.

`KvPositions` keeps the stream pollers' positions (the last settled sequence number per
shard) in a KV bucket, so whichever node polls a mapping next resumes from the last committed
position. A commit is written only while this node holds the mapping's lease: a node that
lost it (partitioned, stalled) cannot move the position of a shard another node now polls.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable

from nats.js.errors import KeyDeletedError, KeyNotFoundError
from nats.js.kv import KeyValue

from hearth.cluster.keys import segment
from hearth.cluster.leases import KvLeases
from hearth.cluster.link import NatsLink
from hearth.cluster.members import Membership
from hearth.cluster.registry import open_bucket

logger = logging.getLogger("hearth.cluster")

_PREFIX = "map."


def preferred(mapping: str, nodes: list[str]) -> str:
    """The node that should poll `mapping`: highest rendezvous hash wins (pure)."""

    def score(node: str) -> bytes:
        return hashlib.sha256(f"{mapping}\0{node}".encode()).digest()

    return max(nodes, key=score)


class LeasedMappings:
    def __init__(self, leases: KvLeases, members: Membership) -> None:
        self._leases = leases
        self._members = members
        self._listeners: list[Callable[[], None]] = []
        leases.on_lost(lambda key: self._changed())

    def on_change(self, listener: Callable[[], None]) -> None:
        self._listeners.append(listener)

    def members_changed(self) -> None:
        self._changed()

    def _changed(self) -> None:
        for listener in self._listeners:
            listener()

    def _preferred(self, mapping: str) -> str:
        nodes = [r["node"] for r in self._members.alive()]
        return preferred(mapping, sorted(set(nodes) | {self._leases.node}))

    def decides(self, mapping: str) -> bool:
        return self._preferred(mapping) == self._leases.node

    def holds(self, mapping: str) -> bool:
        return self._leases.holds(_PREFIX + mapping)

    async def claim(self, mapping: str) -> bool:
        # The preferred node is alive by construction (picked among the live nodes): any
        # other holder hands the mapping over (its caller stops the poller, then releases).
        if not self.decides(mapping):
            return False
        return await self._leases.take(_PREFIX + mapping)

    async def release(self, mapping: str) -> None:
        await self._leases.release(_PREFIX + mapping)


class KvPositions:
    """The `Positions` of a cluster: one KV key per (mapping, shard)."""

    def __init__(
        self,
        link: NatsLink,
        owns: Callable[[str], bool],
        *,
        replicas: int = 1,
        bucket: str = "hearth_positions",
    ) -> None:
        self._link = link
        self._owns = owns
        self._bucket = bucket
        self._kv: KeyValue = link.run(open_bucket(link.js, bucket, replicas))

    @staticmethod
    def _key(mapping: str, shard: str) -> str:
        return f"{segment(mapping)}.{segment(shard)}"

    def get(self, mapping: str, shard: str) -> str | None:
        return self._link.run(self._get(self._key(mapping, shard)))

    async def _get(self, key: str) -> str | None:
        try:
            entry = await self._kv.get(key)
        except (KeyNotFoundError, KeyDeletedError):
            return None
        return (entry.value or b"").decode() or None

    def commit(self, mapping: str, shard: str, sequence: str) -> None:
        if not self._owns(mapping):
            # Lost the lease mid-batch: the next owner reads this batch again (at least once).
            logger.warning("cluster: mapping %s is not this node's now; position kept", mapping)
            return
        self._link.run(self._kv.put(self._key(mapping, shard), sequence.encode()))

    def forget(self, mapping: str) -> None:
        # One server-side purge of the mapping's keys (every shard), by subject.
        subject = f"$KV.{self._bucket}.{segment(mapping)}.>"
        self._link.run(self._link.js.purge_stream(f"KV_{self._bucket}", subject=subject))

    def close(self) -> None:
        pass  # the link is closed by its owner
