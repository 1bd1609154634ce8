"""The async event queue as a JetStream work-queue stream, shared by every node.

Each event is one message on `<namespace>.events.<target>` in the stream `<NAMESPACE>_EVENTS`
(work-queue retention: a message is gone once acknowledged); its counters travel in headers.
Each target has a durable pull consumer of its own (filtered on its subject, shared by every
node, made by the first node that needs it, removed by NATS after an idle hour), so each event
is handed to one node at a time.

Fairness: JetStream hands one consumer's messages out in stream order, so with one consumer
for all, a backlog of one function would delay every other function's events behind it. So
a claim serves the targets in turn: it asks the stream which subjects hold messages (one
round trip), then takes an equal share of the free slots from each, starting after the
target the previous claim started with. An event of a function with no backlog waits for
one claim at most, however long another function's backlog. A claim that finds nothing
waits (at most `CLAIM_WAIT_SECONDS`) for a doorbell: a plain NATS message that `enqueue`
publishes after storing its events, so an event enqueued on any node is claimed at once;
redeliveries and delayed events are found by the next claim after the wait.

How the `EventQueue` guarantees carry over:
- Durable on return: `enqueue` returns once JetStream has stored the message (a node killed
  after the 202 loses nothing; what NATS itself keeps across a crash of NATS is its own
  storage's promise: file storage, and replicas on several servers where configured).
- At least once: a claimed message is acknowledged only in `ack` (after the outcome and its
  follow-ups are stored) or replaced in `reschedule`. While it runs, the node tells JetStream
  it is still working on it every third of `ack_wait`; a node that dies stops doing so, and
  JetStream hands the event to another node once `ack_wait` has passed (the `lease_seconds`
  callers pass is not used: the lease is this heartbeat). `recover` has nothing to do.
- Stale claims lose: `ack` and `reschedule` act only on a message this node still holds for
  that very claim (id and attempts).
- Follow-ups and rescheduled copies are published before the original is acknowledged: a
  crash between the two runs the event again (a duplicate, never a loss).
- Not kept from the single-node queue: the exact "id already queued" check (JetStream's
  duplicate window of two minutes stands in for it), and the `delayed` count (a delayed
  event counts as in flight).
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import logging
import time
from collections import Counter
from collections.abc import Mapping, Sequence
from typing import Any

from nats.aio.msg import Msg
from nats.errors import TimeoutError as NatsTimeout
from nats.js.api import AckPolicy, ConsumerConfig, RetentionPolicy, StreamConfig
from nats.js.client import JetStreamContext
from nats.js.errors import NotFoundError, ServiceUnavailableError

from hearth.cluster.keys import segment
from hearth.cluster.link import NatsLink, NatsUnavailable
from hearth.events.queue import Event, Kind, QueueCounts

logger = logging.getLogger("hearth.cluster")

DEFAULT_ACK_WAIT_SECONDS = 30.0
# How long one claim waits for an event to arrive when none is ready (a long poll: an event
# enqueued on any node is picked up at once, without the dispatcher's idle polling).
CLAIM_WAIT_SECONDS = 1.0
# The one consumer of every subject of earlier Hearths: removed at start (a work-queue stream
# takes no consumers whose subjects overlap), its events go to the per-target consumers.
LEGACY_CONSUMER = "dispatchers"
# A target's consumer that no node has pulled from for this long is removed by NATS (its
# events, if any, stay in the stream for the next one).
IDLE_CONSUMER_SECONDS = 3600.0
# How long a claim waits on one target's consumer for what it said it holds.
FETCH_WAIT_SECONDS = 0.05
# A rescheduled event whose time has not come is handed back with a delay this long at most,
# so a clock that jumped does not park it for ever.
MAX_DEFER_SECONDS = 3600.0

_H = "Hearth-"


def _headers(event: Event, not_before: float | None = None) -> dict[str, str]:
    headers = {
        "Nats-Msg-Id": f"{event.id}:{event.attempts}",
        f"{_H}Id": event.id,
        f"{_H}Kind": event.kind.value,
        f"{_H}Target": event.target,
        f"{_H}Enqueued-At": repr(event.enqueued_at),
        f"{_H}Attempts": str(event.attempts),
        f"{_H}Function-Errors": str(event.function_errors),
        f"{_H}Requeues": str(event.requeues),
    }
    if event.qualifier is not None:
        headers[f"{_H}Qualifier"] = event.qualifier
    if event.attributes:
        headers[f"{_H}Attributes"] = json.dumps(event.attributes, separators=(",", ":"))
    if not_before is not None:
        headers[f"{_H}Not-Before"] = repr(not_before)
    return headers


def _event(msg: Msg, claims: int) -> Event:
    h: Mapping[str, str] = msg.headers or {}
    attributes: dict[str, Any] = json.loads(h.get(f"{_H}Attributes", "{}"))
    stored = int(h.get(f"{_H}Attempts", "0"))
    return Event(
        id=h[f"{_H}Id"],
        kind=Kind(h[f"{_H}Kind"]),
        target=h[f"{_H}Target"],
        payload=msg.data,
        enqueued_at=float(h[f"{_H}Enqueued-At"]),
        qualifier=h.get(f"{_H}Qualifier"),
        attributes=attributes,
        attempts=stored + claims,
        function_errors=int(h.get(f"{_H}Function-Errors", "0")),
        requeues=int(h.get(f"{_H}Requeues", "0")),
        redelivered=claims > 1,
    )


class JetStreamEventQueue:
    def __init__(
        self,
        link: NatsLink,
        *,
        replicas: int = 1,
        ack_wait_seconds: float = DEFAULT_ACK_WAIT_SECONDS,
        namespace: str = "hearth",
    ) -> None:
        self._link = link
        self._stream = f"{namespace.upper()}_EVENTS"
        self._prefix = f"{namespace}.events"
        self._ack_wait = ack_wait_seconds
        self._held: dict[str, tuple[Msg, int]] = {}  # event id -> message, attempts
        self._closed = False
        self._doorbell_subject = f"{namespace}.doorbell"
        self._bell = asyncio.Event()  # on the NATS loop: an event was enqueued somewhere
        self._subs: dict[str, JetStreamContext.PullSubscription] = {}  # subject -> consumer
        self._turn = ""  # the subject the last claim started with
        link.run(self._open(replicas))
        self._heartbeat = link.spawn(self._keep_leases())

    async def _open(self, replicas: int) -> None:
        js = self._link.js
        try:
            await js.stream_info(self._stream)
        except NotFoundError:
            await js.add_stream(
                StreamConfig(
                    name=self._stream,
                    subjects=[f"{self._prefix}.>"],
                    retention=RetentionPolicy.WORK_QUEUE,
                    num_replicas=replicas,
                    duplicate_window=120.0,
                )
            )
        try:
            await js.delete_consumer(self._stream, LEGACY_CONSUMER)
            logger.warning("cluster: removed the shared event consumer of an earlier Hearth")
        except NotFoundError:
            pass

        async def ring(msg: Msg) -> None:
            self._bell.set()

        await self._link.nc.subscribe(self._doorbell_subject, cb=ring)

    async def _consumer(self, subject: str) -> JetStreamContext.PullSubscription:
        """The target's consumer, made (or joined: every node shares it) on first use."""
        sub = self._subs.get(subject)
        if sub is None:
            name = "t-" + hashlib.sha256(subject.encode()).hexdigest()[:24]
            config = ConsumerConfig(
                durable_name=name,
                filter_subject=subject,
                ack_policy=AckPolicy.EXPLICIT,
                ack_wait=self._ack_wait,
                max_deliver=-1,
                max_ack_pending=100_000,
                inactive_threshold=IDLE_CONSUMER_SECONDS,
            )
            sub = await self._link.js.pull_subscribe(
                subject, durable=name, stream=self._stream, config=config
            )
            self._subs[subject] = sub
        return sub

    def _check_open(self) -> None:
        if self._closed:
            raise RuntimeError("the event queue is closed")

    # Writing ------------------------------------------------------------------------------
    async def enqueue(self, events: Sequence[Event]) -> None:
        self._check_open()
        ids = [e.id for e in events]
        if len(set(ids)) != len(ids):
            raise ValueError("an event with this id is already queued")
        fresh = [_fresh(e) for e in events]
        await self._link.call(self._publish_and_ring(fresh), translate=True)

    async def _publish_and_ring(self, events: Sequence[Event]) -> None:
        await self._publish_all(events, None, check_new=True)
        # After the events are stored: whoever hears it finds them. Lost (a node that
        # misses it): the claims' wait runs out and finds them a second later.
        self._bell.set()
        await self._link.nc.publish(self._doorbell_subject, b"")

    async def _publish_all(
        self, events: Sequence[Event], not_before: float | None, *, check_new: bool = False
    ) -> None:
        js = self._link.js
        for event in events:
            subject = f"{self._prefix}.{segment(event.target)}"
            ack = await js.publish(
                subject, event.payload, headers=_headers(event, not_before), stream=self._stream
            )
            if check_new and ack.duplicate:
                raise ValueError("an event with this id is already queued")

    async def claim(self, limit: int, *, now: float, lease_seconds: float) -> list[Event]:
        self._check_open()
        if limit <= 0:
            return []
        try:
            messages = await self._link.call(self._fetch(limit), translate=True)
        except NatsUnavailable:
            # NATS is out of reach (the link says so once, and reconnects): nothing to claim
            # meanwhile. Waiting here, not failing, keeps the dispatcher from spinning.
            await asyncio.sleep(CLAIM_WAIT_SECONDS)
            return []
        claimed: list[Event] = []
        for msg in messages:
            headers = msg.headers or {}
            not_before = float(headers.get(f"{_H}Not-Before", "0"))
            deferred = 1 if not_before else 0  # its first delivery was handed back, below
            if not_before > now and msg.metadata.num_delivered <= deferred:
                delay = min(not_before - now, MAX_DEFER_SECONDS)
                await self._link.call(msg.nak(delay=delay), translate=True)
                continue
            event = _event(msg, max(1, msg.metadata.num_delivered - deferred))
            self._held[event.id] = (msg, event.attempts)
            claimed.append(event)
        return claimed

    async def _fetch(self, limit: int) -> list[Msg]:
        self._bell.clear()
        found = await self._round(limit)
        if found:
            return found
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._bell.wait(), CLAIM_WAIT_SECONDS)
        return await self._round(limit)

    async def _round(self, limit: int) -> list[Msg]:
        """Up to `limit` messages, an equal share from each target that holds any, in turn."""
        counts = await self._subject_counts()
        # What this node runs already is no use asking for: a target whose messages are all
        # held here is skipped (a fetch that finds nothing waits FETCH_WAIT_SECONDS).
        here = Counter(msg.subject for msg, _ in self._held.values())
        subjects = sorted(s for s, count in counts.items() if count > here[s])
        if not subjects:
            return []
        # Start after the subject the last round started with: each target comes first in turn.
        start = next((i for i, s in enumerate(subjects) if s > self._turn), 0)
        order = subjects[start:] + subjects[:start]
        self._turn = order[0]
        # Shares add up to `limit` (the first in turn get the remainder); all asked at once.
        shares = [limit // len(order) + (i < limit % len(order)) for i in range(len(order))]
        batches = await asyncio.gather(
            *(self._take_from(s, n) for s, n in zip(order, shares, strict=True) if n)
        )
        return [msg for batch in batches for msg in batch]

    async def _subject_counts(self) -> dict[str, int]:
        """The subjects holding messages (ready, delayed or in flight), with how many."""
        info = await self._link.js.stream_info(self._stream, subjects_filter=f"{self._prefix}.>")
        return {s: count for s, count in (info.state.subjects or {}).items() if count}

    async def _subjects(self) -> list[str]:
        return sorted(await self._subject_counts())

    async def _take_from(self, subject: str, count: int) -> list[Msg]:
        for _ in range(2):
            sub = await self._consumer(subject)
            try:
                return await sub.fetch(count, timeout=FETCH_WAIT_SECONDS)
            except (TimeoutError, NatsTimeout):
                return []  # all of its messages are in flight (or delayed)
            except (ServiceUnavailableError, NotFoundError):
                self._forget(subject)  # NATS removed it (idle for an hour): made again
        return []

    def _forget(self, subject: str) -> None:
        sub = self._subs.pop(subject, None)
        if sub is not None:
            self._unsubscribing = asyncio.get_running_loop().create_task(_quietly(sub))

    def _take(self, event: Event) -> Msg | None:
        held = self._held.get(event.id)
        if held is None or held[1] != event.attempts:
            return None
        return held[0]

    async def ack(self, event: Event, follow_ups: Sequence[Event] = ()) -> bool:
        self._check_open()
        msg = self._take(event)
        if msg is None:
            return False
        if len({e.id for e in follow_ups}) != len(follow_ups):
            raise ValueError("an event with this id is already queued")
        await self._link.call(
            self._finish(msg, [_fresh(e) for e in follow_ups], None), translate=True
        )
        self._held.pop(event.id, None)
        return True

    async def reschedule(self, event: Event, *, now: float, delay_seconds: float) -> bool:
        self._check_open()
        msg = self._take(event)
        if msg is None:
            return False
        # A copy with the new counters, visible after the delay; then the original goes.
        await self._link.call(self._finish(msg, [event], now + delay_seconds), translate=True)
        self._held.pop(event.id, None)
        return True

    async def _finish(self, msg: Msg, publish: Sequence[Event], not_before: float | None) -> None:
        await self._publish_all(publish, not_before)
        await msg.ack_sync(timeout=10)

    async def recover(self, *, now: float) -> int:
        return 0  # a dead node's events come back by themselves once their ack_wait passes

    async def next_visible_at(self) -> float | None:
        # Always "now": the dispatcher comes straight back to `claim`, whose long poll is
        # what waits (an event enqueued on another node wakes it there).
        return time.time()

    async def counts(self, *, now: float) -> QueueCounts:
        return await self._link.call(self._counts(), translate=True)

    async def _counts(self) -> QueueCounts:
        ready = in_flight = redelivered = 0
        for subject in await self._subjects():
            try:
                info = await (await self._consumer(subject)).consumer_info()
            except NotFoundError:
                self._forget(subject)  # removed by NATS since: made again
                info = await (await self._consumer(subject)).consumer_info()
            ready += int(info.num_pending or 0)
            in_flight += int(info.num_ack_pending or 0)
            redelivered += int(info.num_redelivered or 0)
        return QueueCounts(ready=ready, delayed=0, in_flight=in_flight, redelivered=redelivered)

    async def _keep_leases(self) -> None:
        while True:
            await asyncio.sleep(self._ack_wait / 3)
            for msg, _ in list(self._held.values()):
                try:
                    await msg.in_progress()
                except Exception as exc:
                    logger.debug("cluster: extending an event's lease failed: %s", exc)

    async def close(self) -> None:
        """Hand the events still held back to JetStream, at once, for other nodes."""
        self._closed = True
        self._heartbeat.cancel()
        held = [msg for msg, _ in self._held.values()]
        self._held.clear()

        async def give_back() -> None:
            for msg in held:
                try:
                    await msg.nak()
                except Exception as exc:
                    logger.debug("cluster: handing an event back failed: %s", exc)

        if held:
            try:
                await self._link.call(give_back(), translate=True)
            except NatsUnavailable as down:
                # Stopping while NATS is out of reach: they run elsewhere after ack_wait.
                logger.warning("cluster: could not hand %d events back: %s", len(held), down)


async def _quietly(sub: JetStreamContext.PullSubscription) -> None:
    try:
        await sub.unsubscribe()
    except Exception as exc:  # its consumer is gone already; only the local interest goes
        logger.debug("cluster: dropping a removed consumer's subscription: %s", exc)


def _fresh(event: Event) -> Event:
    return Event(
        id=event.id,
        kind=event.kind,
        target=event.target,
        payload=event.payload,
        enqueued_at=event.enqueued_at,
        qualifier=event.qualifier,
        attributes=event.attributes,
    )
