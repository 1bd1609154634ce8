"""Leases with expiry in a JetStream KV bucket: which node does a piece of work now.

Guarantees:
- At most one node holds a key's lease at a time, as far as the bucket decides: a lease is
  taken with KV create (or a compare-and-set over an expired one) and renewed with a
  compare-and-set on the revision this node last wrote, so two nodes can never both renew.
- A holder renews its leases every `ttl / 3` seconds on the NATS loop; a renewal refused or
  not answered within the lease's life drops the lease at once (`holds` turns False and the
  `on_lost` callback runs), before another node may take it. So a node that stops (kill -9,
  lost NATS) is replaced `ttl` seconds after its last renewal at the latest.
- `release` deletes the lease (compare-and-set), so a clean hand-over does not wait `ttl`.

The expiry is decided from the time written in the lease: nodes' clocks must agree to well
under `ttl` (NTP does that by orders of magnitude).
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Callable

from nats.js.errors import KeyDeletedError, KeyNotFoundError, KeyWrongLastSequenceError
from nats.js.kv import KeyValue

from hearth.cluster.link import NatsLink
from hearth.cluster.registry import open_bucket

logger = logging.getLogger("hearth.cluster")

LEASE_SECONDS = 4.0


class KvLeases:
    def __init__(
        self,
        link: NatsLink,
        node: str,
        *,
        bucket: str = "hearth_leases",
        replicas: int = 1,
        ttl: float = LEASE_SECONDS,
    ) -> None:
        self._link = link
        self.node = node
        self._ttl = ttl
        self._held: dict[str, tuple[int, float]] = {}  # key -> (revision, until)
        self._listeners: list[Callable[[str], None]] = []
        self._kv: KeyValue = link.run(open_bucket(link.js, bucket, replicas))
        self._renewing = link.spawn(self._renew_forever())

    def on_lost(self, listener: Callable[[str], None]) -> None:
        """Called (on the NATS thread) with a key whose lease this node lost."""
        self._listeners.append(listener)

    def holds(self, key: str) -> bool:
        held = self._held.get(key)
        return held is not None and held[1] > time.time()

    def held(self) -> set[str]:
        return {key for key in self._held if self.holds(key)}

    async def take(self, key: str) -> bool:
        """Take the lease if it is free or expired (or renew it if held); whether held."""
        return await self._link.call(self._take(key))

    async def holder(self, key: str) -> str | None:
        """The node holding the key's lease now (None: free or expired)."""
        return await self._link.call(self._holder(key))

    async def release(self, key: str) -> None:
        await self._link.call(self._release(key))

    async def release_all(self) -> None:
        await self._link.call(self._release_all())

    def _value(self) -> tuple[bytes, float]:
        until = time.time() + self._ttl
        return json.dumps({"node": self.node, "until": until}).encode(), until

    async def _take(self, key: str) -> bool:
        if key in self._held:
            return await self._renew(key)
        value, until = self._value()
        try:
            self._held[key] = (await self._kv.create(key, value), until)
            return True
        except KeyWrongLastSequenceError:
            pass
        try:
            current = await self._kv.get(key)
        except (KeyNotFoundError, KeyDeletedError):
            return False  # deleted meanwhile: taken again at the next try
        lease = _parse(current.value)
        if _until(lease) >= time.time() and lease.get("node") != self.node:
            return False
        # Expired (its holder stopped renewing), or this node's own from before a restart.
        value, until = self._value()
        try:
            revision = await self._kv.update(key, value, last=current.revision)
        except KeyWrongLastSequenceError:
            return False  # another node took it first
        self._held[key] = (revision, until)
        return True

    async def _holder(self, key: str) -> str | None:
        try:
            current = await self._kv.get(key)
        except (KeyNotFoundError, KeyDeletedError):
            return None
        lease = _parse(current.value)
        if _until(lease) < time.time():
            return None
        node = lease.get("node")
        return node if isinstance(node, str) else None

    async def _renew(self, key: str) -> bool:
        held = self._held.get(key)
        if held is None:
            return False
        revision, until = held
        value, new_until = self._value()
        try:
            if until <= time.time():
                raise TimeoutError("the lease expired before it was renewed")
            revision = await asyncio.wait_for(
                self._kv.update(key, value, last=revision), until - time.time()
            )
        except Exception as exc:
            self._lose(key, exc)
            return False
        if key in self._held:
            self._held[key] = (revision, new_until)
        return True

    def _lose(self, key: str, why: Exception) -> None:
        if self._held.pop(key, None) is None:
            return
        logger.warning("cluster: lost the lease %s: %s", key, why or type(why).__name__)
        for listener in self._listeners:
            try:
                listener(key)
            except Exception:
                logger.exception("cluster: a lease listener failed")

    async def _renew_forever(self) -> None:
        while True:
            await asyncio.sleep(self._ttl / 3)
            for key in list(self._held):
                await self._renew(key)

    async def _release(self, key: str) -> None:
        held = self._held.pop(key, None)
        if held is None:
            return
        try:
            await self._kv.delete(key, last=held[0])
        except Exception as exc:
            logger.debug("cluster: releasing the lease %s: %s", key, exc)

    async def _release_all(self) -> None:
        for key in list(self._held):
            await self._release(key)

    def close(self) -> None:
        """Hand every lease back (a clean stop: the others need not wait for the expiry)."""
        self._renewing.cancel()
        try:
            self._link.run(self._release_all(), timeout=3)
        except Exception as exc:
            logger.debug("cluster: releasing leases at close: %s", exc)


def _parse(value: bytes | None) -> dict[str, object]:
    try:
        parsed = json.loads(value or b"{}")
    except ValueError:
        return {}
    return parsed if isinstance(parsed, dict) else {}


def _until(lease: dict[str, object]) -> float:
    until = lease.get("until")
    return float(until) if isinstance(until, int | float) else 0.0
