"""The registry in JetStream KV: one key per record, a replica on every node.

Guarantees (those of `hearth.store.registry`, across nodes):
- Reads of a transaction come from this node's replica, caught up with the latest commit
  before the block runs; reads through `local()` (the invoke path's caches) come from the
  replica as it is, which follows other nodes' commits through a KV watch within
  milliseconds, and tells `set_listener`'s listener after each one.
- Writes are applied all together or not at all: a transaction's puts and deletes go out as
  one JetStream atomic batch whose last message, the commit key, carries a compare-and-set
  on the bucket's last revision. A commit made on a state another node has moved on from is
  refused by the server, so a PublishVersion number or a RevisionId check can never be
  decided on a stale read.
- Transactions are serialized across the cluster by a lease in a second bucket (taken with
  KV create / compare-and-set, held for the block, deleted after): without it two nodes'
  concurrent writes would both run and one would be refused. A node that dies holding it
  delays the others by at most `LOCK_LEASE_SECONDS`; its lease is then taken over, and the
  compare-and-set still refuses anything it might commit late.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from nats.js import JetStreamContext
from nats.js.api import KeyValueConfig
from nats.js.errors import (
    BucketNotFoundError,
    KeyDeletedError,
    KeyNotFoundError,
    KeyWrongLastSequenceError,
    NotFoundError,
)
from nats.js.kv import KeyValue

from hearth.cluster.keys import COMMIT_KEY, Replica, changes
from hearth.cluster.link import CALL_TIMEOUT_SECONDS, NatsLink, NatsUnavailable
from hearth.errors import conflict
from hearth.store.locking import NonNestingLock
from hearth.store.memory import MemoryTransaction, RegistryState
from hearth.store.registry import Registry, RegistryTransaction

logger = logging.getLogger("hearth.cluster")

# Buckets are named `<namespace>_registry` and `<namespace>_locks`; several Hearth clusters
# can share one NATS under namespaces of their own.
DEFAULT_NAMESPACE = "hearth"
LOCK_KEY = "registry"
# A transaction holds the lease for a few round trips; a dead holder's is taken after this.
LOCK_LEASE_SECONDS = 10.0
# How long a transaction waits for the lease before answering ResourceConflictException.
LOCK_WAIT_SECONDS = 15.0
# JetStream's error code for a compare-and-set that found another revision.
WRONG_LAST_SEQUENCE = 10071
_DELETES = ("DEL", "PURGE")
# The keys of the records that name code (function versions, layer versions).
_CODE_KEYS = ("ver.", "lver.")


async def open_bucket(
    js: JetStreamContext, name: str, replicas: int, *, atomic: bool = False, ttl: float = 0
) -> KeyValue:
    """The bucket, made if it does not exist yet (by whichever node comes first)."""
    try:
        kv = await js.key_value(name)
    except (BucketNotFoundError, NotFoundError):
        kv = await js.create_key_value(
            KeyValueConfig(bucket=name, history=1, replicas=replicas, ttl=ttl or None)
        )
    if atomic:
        stream = f"KV_{name}"
        config = (await js.stream_info(stream)).config
        if not config.allow_atomic:
            config.allow_atomic = True  # atomic batches: a transaction's writes as one
            await js.update_stream(config)
    return kv


class KvRegistry(Registry):
    def __init__(
        self, link: NatsLink, node: str, *, replicas: int = 1, namespace: str = DEFAULT_NAMESPACE
    ) -> None:
        self._bucket = f"{namespace}_registry"
        self._lock_bucket = f"{namespace}_locks"
        self._link = link
        self._node = node
        self._replica = Replica()
        self._applied = 0  # the stream sequence of the last commit in the replica
        self._pending: dict[str, tuple[int, str | None]] = {}  # a commit's writes so far
        self._changed = threading.Condition()
        self._lock = NonNestingLock("registry transactions")
        self._listener: Callable[[], None] | None = None
        self._code_check: Callable[[set[str]], None] | None = None
        self._holding: str | None = None  # the token of the lease a transaction holds
        self._kv, self._locks = link.run(self._open(replicas))

    async def _open(self, replicas: int) -> tuple[KeyValue, KeyValue]:
        js = self._link.js
        kv = await open_bucket(js, self._bucket, replicas, atomic=True)
        locks = await open_bucket(js, self._lock_bucket, replicas)
        self._following = await self._watch(kv)
        self._link.on_reconnect(self._rewatch)
        return kv, locks

    async def _watch(self, kv: KeyValue) -> asyncio.Task[None]:
        """Load what the bucket holds now (each key's last value, the commit key last, as it
        is the stream's last message), then follow it: the task that does."""
        watcher = await kv.watchall()
        self._watcher = watcher
        while (entry := await watcher.updates(CALL_TIMEOUT_SECONDS)) is not None:  # type: ignore[no-untyped-call]
            self._take(entry)  # entries of commits already applied are skipped
        return asyncio.get_running_loop().create_task(self._follow(watcher))

    def _rewatch(self) -> None:
        """After a reconnect, on the NATS loop. The watch's consumer may be gone (a NATS
        restart, or a partition long enough for NATS to drop it); the client would notice
        only after two missed idle heartbeats (10 s and more, measured ~20 s), with the
        replica standing still and this node's writes failing meanwhile. So watch afresh:
        the keys' last values bring whatever commits were missed, as one."""

        async def rewatch() -> None:
            self._following.cancel()
            with contextlib.suppress(Exception):  # its consumer may be gone already
                await self._watcher.stop()  # type: ignore[no-untyped-call]
            try:
                self._following = await self._watch(self._kv)
            except Exception as exc:
                # The link dropped again: the next reconnect tries again.
                logger.warning("cluster: following the registry again failed: %s", exc)

        self._rewatching = asyncio.get_running_loop().create_task(rewatch())
        self._clearing = asyncio.get_running_loop().create_task(self._clear_orphan_lease())

    def set_listener(self, listener: Callable[[], None]) -> None:
        """Called (on the NATS thread) after each commit made by another node is applied."""
        self._listener = listener

    def set_code_check(self, check: Callable[[set[str]], None]) -> None:
        """Called, under the lease, with the code digests a commit names that the registry
        did not name before, just before it commits; raising refuses the commit. (The code
        store makes sure the shared bucket still holds them: see cluster/code.py.)"""
        self._code_check = check

    async def _follow(self, watcher: KeyValue.KeyWatcher) -> None:
        async for entry in watcher:
            if entry is not None and self._take(entry) and self._listener is not None:
                try:
                    self._listener()
                except Exception:
                    logger.exception("cluster: a registry listener failed")

    def _take(self, entry: KeyValue.Entry) -> bool:
        """Collect one watched entry; at a commit key apply the commit. Whether it did."""
        revision = entry.revision or 0
        with self._changed:
            if revision <= self._applied:
                return False  # this node's own commit, applied when it was made
            value = None if entry.operation in _DELETES else (entry.value or b"").decode()
            self._pending[entry.key] = (revision, value)
            if entry.key != COMMIT_KEY:
                return False
            self._apply({k: v for k, (_, v) in self._pending.items()}, revision)
            return True

    def _apply(self, writes: dict[str, str | None], revision: int) -> None:
        # Called holding self._changed.
        self._replica.apply(writes)
        self._applied = revision
        # Entries of this very commit that the watcher delivered before it was applied.
        self._pending = {k: p for k, p in self._pending.items() if p[0] > revision}
        self._changed.notify_all()

    # Transactions ---------------------------------------------------------------------------
    @contextmanager
    def transaction(self) -> Iterator[RegistryTransaction]:
        with self._lock:
            # Named before it is asked for: a reconnect while the request is under way must
            # not take this lease for an orphan (see _clear_orphan_lease).
            self._holding = uuid.uuid4().hex
            lease = self._link.run(self._acquire(self._holding), timeout=LOCK_WAIT_SECONDS + 1)
            try:
                base = self._catch_up()
                before = self._replica.state
                working = before.copy()
                tx = MemoryTransaction(working)
                try:
                    yield tx
                finally:
                    tx.closed = True
                writes = changes(before, working)
                if writes:
                    self._check_code(before, working, writes)
                    self._commit(writes, base)
            finally:
                # Released before the next transaction of this node asks for it. With the link
                # down it cannot be: it is deleted after the reconnect, not left to expire.
                self._holding = None
                # The commit (if any) stands whatever the release does: what the block
                # answers is its outcome. A lease not released goes after the reconnect.
                with contextlib.suppress(NatsUnavailable):
                    self._link.run(self._release(lease))

    def _check_code(
        self, before: RegistryState, after: RegistryState, writes: dict[str, str | None]
    ) -> None:
        if self._code_check is None or not any(k.startswith(_CODE_KEYS) for k in writes):
            return
        named = MemoryTransaction(after).code_digests_in_use()
        new = named - MemoryTransaction(before).code_digests_in_use()
        if new:
            self._code_check(new)

    def local(self) -> _LocalReads:
        """Reads of the replica as it is, without the lease: for the caches."""
        return _LocalReads(self)

    def close(self) -> None:
        pass  # the link is closed by its owner

    def _catch_up(self) -> int:
        """Wait until the replica holds the latest commit; its revision."""
        latest = self._link.run(self._latest())
        deadline = time.monotonic() + CALL_TIMEOUT_SECONDS
        with self._changed:
            while self._applied < latest:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise NatsUnavailable("the registry's watch fell behind")
                self._changed.wait(left)
            return self._applied

    async def _latest(self) -> int:
        # The stream's own last sequence, from its leader: every commit ends the stream with
        # its commit key, so this is the latest commit (a direct get could be a follower's).
        info = await self._link.js.stream_info(f"KV_{self._bucket}")
        return info.state.last_seq

    def _commit(self, writes: dict[str, str | None], base: int) -> None:
        marker = json.dumps({"node": self._node, "at": time.time(), "base": base})
        writes = {**writes, COMMIT_KEY: marker}
        revision = self._link.run(self._publish(writes, base))
        with self._changed:
            self._apply(writes, revision)

    async def _publish(self, writes: dict[str, str | None], base: int) -> int:
        batch = uuid.uuid4().hex
        nc = self._link.nc
        items = list(writes.items())  # the commit key last
        for number, (key, value) in enumerate(items, 1):
            headers = {"Nats-Batch-Id": batch, "Nats-Batch-Sequence": str(number)}
            if value is None:
                headers["KV-Operation"] = "DEL"
            subject = f"$KV.{self._bucket}.{key}"
            data = (value or "").encode()
            if number < len(items):
                await nc.publish(subject, data, headers=headers)
                continue
            headers["Nats-Batch-Commit"] = "1"
            headers["Nats-Expected-Last-Subject-Sequence"] = str(base)
            reply = await nc.request(subject, data, headers=headers, timeout=CALL_TIMEOUT_SECONDS)
        answer: dict[str, Any] = json.loads(reply.data)
        error = answer.get("error")
        if error is None:
            return int(answer["seq"])
        if error.get("err_code") == WRONG_LAST_SEQUENCE:
            raise conflict(
                "The operation cannot be performed at this time. Another node changed the "
                "registry first; retry."
            )
        raise NatsUnavailable(f"the registry commit failed: {error.get('description')}")

    async def _acquire(self, token: str) -> int:
        deadline = time.monotonic() + LOCK_WAIT_SECONDS
        wait = 0.001
        while True:
            now = time.time()
            held_until = now + LOCK_LEASE_SECONDS
            lease = json.dumps({"node": self._node, "until": held_until, "token": token}).encode()
            try:
                return await self._locks.create(LOCK_KEY, lease)
            except KeyWrongLastSequenceError:
                pass
            try:
                held = await self._locks.get(LOCK_KEY)
                if json.loads(held.value or b"{}").get("until", 0) < now:
                    # The holder died (or stalled) past its lease: take it over.
                    return await self._locks.update(LOCK_KEY, lease, last=held.revision)
            except (KeyNotFoundError, KeyDeletedError, KeyWrongLastSequenceError):
                continue  # released (or taken) meanwhile: try again at once
            if time.monotonic() > deadline:
                raise conflict(
                    "The operation cannot be performed at this time. An update is in "
                    "progress on another node."
                )
            await asyncio.sleep(wait)
            wait = min(wait * 2, 0.02)

    async def _clear_orphan_lease(self) -> None:
        """After a reconnect: a lease of this node's that no transaction holds (its release,
        or the answer to its request, was lost with the link) is deleted, so the cluster's
        next write does not wait LOCK_LEASE_SECONDS for it to expire. Compare-and-set on its
        revision: one taken over meanwhile is left alone."""
        try:
            held = await self._locks.get(LOCK_KEY)
            lease = json.loads(held.value or b"{}")
            if lease.get("node") == self._node and lease.get("token") != self._holding:
                await self._locks.delete(LOCK_KEY, last=held.revision)
                logger.warning("cluster: deleted this node's registry lease lost with the link")
        except (KeyNotFoundError, KeyDeletedError):
            pass
        except Exception as exc:
            logger.debug("cluster: checking for a lost registry lease: %s", exc)

    async def _release(self, lease: int) -> None:
        try:
            await self._locks.delete(LOCK_KEY, last=lease)
        except Exception as exc:
            logger.debug("cluster: releasing the registry lease: %s", exc)


class _LocalReads:
    """The replica as a read-only registry (wrapped by NotifyingRegistry's reader)."""

    def __init__(self, registry: KvRegistry) -> None:
        self._registry = registry

    @contextmanager
    def transaction(self) -> Iterator[RegistryTransaction]:
        # Only ever read (NotifyingRegistry's reader() offers no writes); the replica's state
        # is replaced at each commit, never changed: no copy, no lock.
        state: RegistryState = self._registry._replica.state
        tx = MemoryTransaction(state)
        try:
            yield tx
        finally:
            tx.closed = True

    def close(self) -> None:
        pass
