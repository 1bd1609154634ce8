"""The JetStream event queue on a real nats-server: the claim / reschedule / ack cycle, and
a claim held by a queue that went away is handed out again."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Iterator

import pytest

from hearth.cluster.link import NatsLink
from hearth.cluster.local import LocalNats
from hearth.cluster.queue import JetStreamEventQueue
from hearth.events.queue import Event, Kind


@pytest.fixture(scope="module")
def link(tmp_path_factory: pytest.TempPathFactory) -> Iterator[NatsLink]:
    server = LocalNats(tmp_path_factory.mktemp("nats")).start()
    connected = NatsLink((server.url,), "queue")
    yield connected
    connected.close()
    server.stop()


def event(target: str = "fn") -> Event:
    return Event(
        id=uuid.uuid4().hex,
        kind=Kind.INVOKE,
        target=target,
        payload=b'{"n": 1}',
        enqueued_at=time.time(),
        qualifier="live",
        attributes={"A": {"DataType": "String", "StringValue": "x"}},
    )


async def claim_soon(queue: JetStreamEventQueue, timeout: float = 5.0) -> list[Event]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        claimed = await queue.claim(10, now=time.time(), lease_seconds=60)
        if claimed:
            return claimed
    return []


def test_claim_reschedule_ack(link: NatsLink) -> None:
    async def run() -> None:
        queue = JetStreamEventQueue(link, ack_wait_seconds=5, namespace=f"q{uuid.uuid4().hex[:8]}")
        sent = event()
        await queue.enqueue([sent])
        with pytest.raises(ValueError, match="already queued"):
            await queue.enqueue([sent])
        (first,) = await claim_soon(queue)
        assert (first.id, first.payload, first.qualifier, first.attempts) == (
            sent.id,
            sent.payload,
            "live",
            1,
        )
        assert first.attributes == sent.attributes and not first.redelivered
        later = first.counted(function_errors=1, requeues=0)
        assert await queue.reschedule(later, now=time.time(), delay_seconds=1.0)
        assert not await queue.ack(first)  # that claim is over
        assert await queue.claim(10, now=time.time(), lease_seconds=60) == []  # not yet due
        (second,) = await claim_soon(queue)
        assert (second.id, second.attempts, second.function_errors) == (sent.id, 2, 1)
        follow = event("arn:aws:sqs:us-east-1:123456789012:dest")
        assert await queue.ack(second, [follow])
        (delivery,) = await claim_soon(queue)
        assert delivery.id == follow.id and delivery.target == follow.target
        assert await queue.ack(delivery)
        counts = await queue.counts(now=time.time())
        assert (counts.ready, counts.in_flight) == (0, 0)
        await queue.close()

    asyncio.run(run())


def test_events_a_closed_queue_held_are_handed_out_again(link: NatsLink) -> None:
    async def run() -> None:
        namespace = f"q{uuid.uuid4().hex[:8]}"
        first = JetStreamEventQueue(link, ack_wait_seconds=5, namespace=namespace)
        await first.enqueue([event()])
        (held,) = await claim_soon(first)
        await first.close()  # a node stopping hands its events back at once
        second = JetStreamEventQueue(link, ack_wait_seconds=5, namespace=namespace)
        (again,) = await claim_soon(second)
        assert again.id == held.id and again.redelivered and again.attempts == 2
        assert await second.ack(again)
        await second.close()

    asyncio.run(run())
