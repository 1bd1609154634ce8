"""The embedded AWS services of a cluster: one state, served by one node at a time.

One node holds the `services` lease (`hearth.cluster.leases`) and runs the embedded services
(moto) for the whole cluster; every node listens on `<namespace>.services.<node>`, and the
holder is the one that answers (the others say they are not).
Every node's gateway authenticates a request itself (its own keys and functions' sessions),
then calls `SharedServices.call`: run here when this node holds the lease, else sent to the
holder by NATS request/reply. Bodies larger than NATS's max_payload go through a JetStream
object store bucket (`<namespace>_transfers`), by name, either way.

The holder pickles the services' state (`hearth.services.snapshots`) into the object store
`<namespace>_services` every `interval` seconds when a request may have changed it, and once
when it stops cleanly. A node that takes the lease over restores the last snapshot before it
answers anything: a holder killed with `kill -9` loses what changed after its last snapshot
(at most `interval` seconds of writes), a clean stop loses nothing. While nobody holds the
lease (a takeover: up to the lease's 4 s) requests wait, then are answered 503.

Triggers follow: moto's hooks run on the holder and put their events in the cluster's
event queue, which any node runs; pollers on any node read the services through their own
node's port.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
import uuid
from collections.abc import Callable
from concurrent.futures import Future
from typing import Any

from nats.aio.msg import Msg
from nats.aio.subscription import Subscription
from nats.errors import NoRespondersError
from nats.errors import TimeoutError as NatsTimeout
from nats.js.api import ObjectStoreConfig
from nats.js.errors import BucketNotFoundError, NotFoundError, ObjectNotFoundError
from nats.js.object_store import ObjectStore

from hearth.cluster.keys import segment
from hearth.cluster.leases import KvLeases
from hearth.cluster.link import NatsLink, NatsUnavailable
from hearth.errors import LambdaError
from hearth.services import snapshots
from hearth.services.embedded import EmbeddedServices, WireRequest, WireResponse
from hearth.services.role_policies import Decision, EmbeddedIamPolicies

logger = logging.getLogger("hearth.cluster")

LEASE_KEY = "services"
SNAPSHOT_NAME = "snapshot"
# How long a request waits for a holder (a takeover) before it is answered 503.
HOLDER_WAIT_SECONDS = 15.0
# A forwarded request's answer: moto's operations are in-memory, but S3 bodies can be large.
CALL_TIMEOUT_SECONDS = 120.0
# How often a request waiting for its answer checks that the node it asked still holds the
# lease (a holder killed mid-request never answers).
HOLDER_CHECK_SECONDS = 1.0
# Room kept for the envelope (JSON head) within NATS's max_payload.
_ENVELOPE_ROOM = 64 * 1024


class NotHolder(Exception):
    """The node asked does not hold the services' lease (any more)."""


def unavailable() -> LambdaError:
    return LambdaError(
        "ServiceUnavailable",
        503,
        "The embedded services are moving to another node; retry.",
    )


class SharedServices:
    def __init__(
        self,
        link: NatsLink,
        leases: KvLeases,
        embedded: EmbeddedServices,
        *,
        interval_seconds: float,
        region: str,
        replicas: int = 1,
        namespace: str = "hearth",
        on_serving: Callable[[], None] | None = None,
    ) -> None:
        self._link = link
        self._leases = leases
        self._embedded = embedded
        self._interval = interval_seconds
        # Each node listens on a subject of its own for as long as it runs (a subscription
        # made and dropped with the lease could be restored twice by a reconnect); it answers
        # "not the holder" while it is not. Callers address the lease's holder by name.
        self._namespace = namespace
        self._serving = False  # restored: answers requests
        self._sub: Subscription | None = None
        self._answering: set[asyncio.Task[None]] = set()
        self._snapshot_at: float | None = None
        self._on_serving = on_serving
        self._policies = EmbeddedIamPolicies(embedded, region)
        self._snapshots, self._transfers = link.run(
            self._open(f"{namespace}_services", f"{namespace}_transfers", replicas)
        )
        self._task: Future[None] | None = None

    def _subject(self, node: str) -> str:
        return f"{self._namespace}.services.{segment(node)}"

    def start(self) -> None:
        """Take part in holding the services (after moto's hooks were queued to install)."""

        async def subscribe() -> Subscription:
            return await self._link.nc.subscribe(
                self._subject(self._leases.node),
                cb=self._spawn_answer,
                pending_bytes_limit=256 * 1024 * 1024,
            )

        self._sub = self._link.run(subscribe())
        self._task = self._link.spawn(self._hold_forever())

    async def _open(self, *names_and_replicas: Any) -> tuple[ObjectStore, ObjectStore]:
        *names, replicas = names_and_replicas
        stores = []
        for name in names:
            try:
                stores.append(await self._link.js.object_store(name))
            except (BucketNotFoundError, NotFoundError):
                stores.append(
                    await self._link.js.create_object_store(
                        name, ObjectStoreConfig(replicas=replicas)
                    )
                )
        return stores[0], stores[1]

    @property
    def serving(self) -> bool:
        return self._serving and self._leases.holds(LEASE_KEY)

    async def status(self) -> dict[str, Any]:
        """Which node serves the services now (None: a take-over is under way, or NATS is
        out of reach and nobody can say: the status still answers then)."""
        try:
            holder = await self._leases.holder(LEASE_KEY)
        except NatsUnavailable:
            holder = None
        return {
            "holder": holder,
            "here": self.serving,
            # When this node (as the holder) last stored a snapshot: what a kill -9 keeps.
            "snapshot_at": self._snapshot_at,
        }

    # The gateway's side --------------------------------------------------------------------
    async def call(self, backend: str, request: WireRequest) -> WireResponse:
        """Answer one (authenticated) request from the cluster's one state."""
        if self.serving:
            return await self._embedded.call(backend, request)
        head = {
            "kind": "call",
            "backend": backend,
            "method": request.method,
            "path": request.raw_path,
            "query": request.query_string,
            "headers": dict(request.headers),
            "client": request.client,
        }
        answer, body = await self._ask(head, request.body)
        return WireResponse(int(answer["status"]), [tuple(h) for h in answer["headers"]], body)

    async def decide(self, role_arn: str, action: str, resource: str) -> Decision:
        """A role's policies' decision, read from the cluster's IAM (`RolePolicies`)."""
        if self.serving:
            return await self._policies.decide(role_arn, action, resource)
        head = {"kind": "decide", "role": role_arn, "action": action, "resource": resource}
        answer, _ = await self._ask(head, b"")
        return Decision(answer["decision"])

    async def _ask(self, head: dict[str, Any], body: bytes) -> tuple[dict[str, Any], bytes]:
        deadline = time.monotonic() + HOLDER_WAIT_SECONDS
        while True:
            if self.serving:  # took the lease over meanwhile
                return await self._local(head, body)
            try:
                return await self._link.call(self._request(head, body))
            except (NoRespondersError, NotHolder, NatsTimeout) as exc:
                if time.monotonic() > deadline:
                    logger.warning("cluster: no node serves the embedded services: %s", exc)
                    raise unavailable() from None
            await asyncio.sleep(0.1)

    async def _request(self, head: dict[str, Any], body: bytes) -> tuple[dict[str, Any], bytes]:
        holder = await self._leases.holder(LEASE_KEY)
        if holder is None:
            raise NotHolder("nobody")  # a take-over under way: wait for the next holder
        data = await self._wrap(head, body)
        asked = asyncio.ensure_future(
            self._link.nc.request(self._subject(holder), data, timeout=CALL_TIMEOUT_SECONDS)
        )
        while True:
            done, _ = await asyncio.wait({asked}, timeout=HOLDER_CHECK_SECONDS)
            if done:
                break
            if await self._leases.holder(LEASE_KEY) != holder:
                # The holder died with this request: whether it ran is unknown (and lost with
                # the holder's unsnapshotted state if it did), so the client is told to retry.
                asked.cancel()
                raise unavailable()
        reply = asked.result()
        answer, answer_body = await self._unwrap(reply.data)
        if answer.get("not_holder"):
            raise NotHolder(answer.get("node", "?"))
        return answer, answer_body

    # The holder's side ---------------------------------------------------------------------
    async def _local(self, head: dict[str, Any], body: bytes) -> tuple[dict[str, Any], bytes]:
        if head.get("kind") == "decide":
            decision = await self._policies.decide(head["role"], head["action"], head["resource"])
            return {"decision": decision.value}, b""
        request = WireRequest(
            str(head["method"]),
            str(head["path"]),
            str(head["query"]),
            {str(k): str(v) for k, v in dict(head["headers"]).items()},
            body,
            str(head.get("client", "127.0.0.1")),
        )
        response = await self._embedded.call(str(head["backend"]), request)
        return {"status": response.status, "headers": response.headers}, response.body

    async def _answer(self, msg: Msg) -> None:
        try:
            head, body = await self._unwrap(msg.data)
            if not self.serving:
                answer: tuple[dict[str, Any], bytes] = (
                    {"not_holder": True, "node": self._leases.node},
                    b"",
                )
            else:
                answer = await self._local(head, body)
            await msg.respond(await self._wrap(*answer))
        except Exception:
            logger.exception("cluster: answering an embedded-services request failed")
            failed = {"status": 500, "headers": [["Content-Type", "text/plain"]]}
            try:
                await msg.respond(await self._wrap(failed, b"InternalFailure"))
            except Exception as exc:
                logger.debug("cluster: could not answer at all: %s", exc)

    async def _hold_forever(self) -> None:
        last_snapshot = time.monotonic()
        while True:
            try:
                if not self._serving:
                    if await self._leases.take(LEASE_KEY):
                        await self._take_over()
                elif not self._leases.holds(LEASE_KEY):
                    await self._step_down()
                elif time.monotonic() - last_snapshot >= self._interval:
                    last_snapshot = time.monotonic()
                    await self._snapshot(only_if_changed=True)
            except Exception:
                logger.exception("cluster: holding the embedded services failed")
            await asyncio.sleep(min(self._interval, 1.0))

    async def _take_over(self) -> None:
        try:
            info = await self._snapshots.get(SNAPSHOT_NAME)
            data: bytes | None = info.data
        except (ObjectNotFoundError, NotFoundError):
            data = None
        restored = await self._embedded.run(lambda: self._restore(data))
        self._serving = True
        logger.warning(
            "cluster: this node serves the embedded services now (restored: %s)",
            ", ".join(restored) or "nothing",
        )
        if self._on_serving is not None:
            self._on_serving()

    def _restore(self, data: bytes | None) -> list[str]:
        snapshots.forget(self._embedded)
        if data is None:
            return []
        restored = snapshots.apply(snapshots.load(data))
        self._embedded.touched.update(restored)
        return restored

    async def _spawn_answer(self, msg: Msg) -> None:
        # One task per request: a slow one (a large S3 body) does not hold up the rest. Kept
        # referenced until done (the loop itself holds tasks only weakly).
        task = asyncio.get_running_loop().create_task(self._answer(msg))
        self._answering.add(task)
        task.add_done_callback(self._answering.discard)

    async def _step_down(self) -> None:
        self._serving = False
        await self._embedded.run(lambda: snapshots.forget(self._embedded))
        logger.warning("cluster: this node no longer serves the embedded services")

    async def _snapshot(self, *, only_if_changed: bool) -> None:
        def take() -> bytes | None:
            if only_if_changed and not self._embedded.take_changed():
                return None
            return snapshots.dump(self._embedded)

        taken_at = time.time()
        data = await self._embedded.run(take)
        if data is not None and self._leases.holds(LEASE_KEY):
            await self._snapshots.put(SNAPSHOT_NAME, data)
            self._snapshot_at = taken_at

    # Envelopes -----------------------------------------------------------------------------
    async def _wrap(self, head: dict[str, Any], body: bytes) -> bytes:
        if len(body) > self._link.nc.max_payload - _ENVELOPE_ROOM:
            name = uuid.uuid4().hex
            await self._transfers.put(name, body)
            head, body = {**head, "transfer": name}, b""
        return json.dumps(head, separators=(",", ":")).encode() + b"\n" + body

    async def _unwrap(self, data: bytes) -> tuple[dict[str, Any], bytes]:
        line, _, body = data.partition(b"\n")
        head: dict[str, Any] = json.loads(line)
        name = head.pop("transfer", None)
        if isinstance(name, str):
            body = (await self._transfers.get(name)).data or b""
            await self._transfers.delete(name)
        return head, body

    def close(self) -> None:
        """A clean stop: a last snapshot, then the lease handed back for the next holder."""
        if self._task is not None:
            self._task.cancel()

        async def leave() -> None:
            if self._serving:
                await self._snapshot(only_if_changed=False)
                self._serving = False  # from here on, callers are told to ask the next one
                await self._leases.release(LEASE_KEY)
            if self._sub is not None:
                await self._sub.unsubscribe()

        try:
            self._link.run(leave(), timeout=30)
        except Exception as exc:
            logger.warning("cluster: the last snapshot of the embedded services failed: %s", exc)
