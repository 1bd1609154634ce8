"""One node's part of a cluster: its NATS link and the adapters built on it."""

from __future__ import annotations

import asyncio
import secrets
import socket
from dataclasses import dataclass
from pathlib import Path

from hearth.cluster.code import ClusterCodeStore
from hearth.cluster.leases import KvLeases
from hearth.cluster.link import NatsLink
from hearth.cluster.members import Membership
from hearth.cluster.registry import KvRegistry
from hearth.cluster.rpc import Rpc
from hearth.config import Settings
from hearth.invoke.leases import Limits
from hearth.store.notifying import NotifyingRegistry


@dataclass
class ClusterNode:
    name: str
    link: NatsLink
    registry: KvRegistry
    code: ClusterCodeStore
    members: Membership
    # Calls between nodes: forwarded invokes, log and metric queries.
    rpc: Rpc
    # Who polls which mapping, who serves the embedded services.
    leases: KvLeases

    @classmethod
    def join(cls, settings: Settings, code_root: Path) -> ClusterNode:
        name = settings.node_name or f"{socket.gethostname()}-{settings.port}-{_suffix()}"
        link = NatsLink(settings.cluster, f"hearth {name}")
        try:
            replicas = settings.cluster_replicas
            registry = KvRegistry(link, name, replicas=replicas)
            code = ClusterCodeStore(code_root, link, replicas=replicas)
            members = Membership(link, name, replicas=replicas)
            # A commit naming new code checks that the shared bucket holds it (a sweep may
            # have taken it between its upload and the commit).
            registry.set_code_check(code.ensure_shared)
            leases = KvLeases(link, name, replicas=replicas)
        except BaseException:
            link.close()
            raise
        return cls(name, link, registry, code, members, Rpc(link, members), leases)

    def follow(self, registry: NotifyingRegistry, loop: asyncio.AbstractEventLoop) -> None:
        """After each other node's commit: tell `registry`'s listeners (on `loop`, where they
        live) and fetch any code it named that this node lacks."""
        reads = registry.reader()

        def changed() -> None:
            registry.changed()
            with reads.transaction() as tx:
                digests = tx.code_digests_in_use()
            self.code.prefetch(digests)

        def on_commit() -> None:
            loop.call_soon_threadsafe(changed)

        self.registry.set_listener(on_commit)

    def share(self, limits: Limits) -> Limits:
        """This node's part of the cluster's concurrency limits (see `share_limits`)."""
        return share_limits(limits, [r["node"] for r in self.members.alive()], self.name)

    def status(self) -> dict[str, object]:
        # `connected`: whether this node's link to NATS is up; false while it reconnects (NATS
        # restarting, or a partition), when its writes answer 503 and its member list ages.
        return {
            "node": self.name,
            "connected": self.link.connected,
            "members": self.members.alive(),
        }

    def close(self) -> None:
        self.leases.close()
        self.rpc.close()
        self.members.close()
        self.link.close()


def _suffix() -> str:
    # Port 0 nodes on one host would share a name: a few random characters tell them apart.
    return secrets.token_hex(3)


def share_limits(limits: Limits, nodes: list[str], me: str) -> Limits:
    """Node `me`'s part of the limits, split between the live `nodes`.

    Each limit (the account's, each function's reservation) is divided evenly, the remainder
    going to the first nodes by name, so the parts add up to the limit exactly while every
    node sees the same members. Provisioned concurrency is not split: each node keeps the
    configured environments of its own (see the README)."""
    names = sorted(set(nodes) | {me})
    count, rank = len(names), names.index(me)

    def part(total: int) -> int:
        return total // count + (1 if rank < total % count else 0)

    reserved = {name: part(value) for name, value in limits.reserved.items()}
    return Limits(part(limits.account), reserved, limits.provisioned)
