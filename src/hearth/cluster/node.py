"""One node's part of a cluster: its NATS link and the adapters built on it."""

from __future__ import annotations

import asyncio
import secrets
import socket
from dataclasses import dataclass
from pathlib import Path

from hearth.cluster.code import ClusterCodeStore
from hearth.cluster.link import NatsLink
from hearth.cluster.registry import KvRegistry
from hearth.config import Settings
from hearth.store.notifying import NotifyingRegistry


@dataclass
class ClusterNode:
    name: str
    link: NatsLink
    registry: KvRegistry
    code: ClusterCodeStore

    @classmethod
    def join(cls, settings: Settings, code_root: Path) -> ClusterNode:
        name = settings.node_name or f"{socket.gethostname()}-{settings.port}-{_suffix()}"
        link = NatsLink(settings.cluster, f"hearth {name}")
        try:
            replicas = settings.cluster_replicas
            registry = KvRegistry(link, name, replicas=replicas)
            code = ClusterCodeStore(code_root, link, replicas=replicas)
        except BaseException:
            link.close()
            raise
        return cls(name, link, registry, code)

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

    def close(self) -> None:
        self.link.close()


def _suffix() -> str:
    # Port 0 nodes on one host would share a name: a few random characters tell them apart.
    return secrets.token_hex(3)
