"""Per-function fairness of the JetStream event queue (a real nats-server): a backlog of one
function does not hold back another function's events, on one node or two."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Iterator

import pytest

from hearth.arns import ArnFormatter, FunctionRef
from hearth.cluster.link import NatsLink
from hearth.cluster.local import LocalNats
from hearth.cluster.queue import JetStreamEventQueue
from hearth.events.config import AsyncConfigs
from hearth.events.destinations import MemorySink
from hearth.events.dispatcher import Dispatcher
from hearth.events.queue import Event, Kind
from hearth.invoke.types import InvokeResult
from hearth.store.memory import MemoryRegistry
from tests.unit.factories import put_function


@pytest.fixture(scope="module")
def link(tmp_path_factory: pytest.TempPathFactory) -> Iterator[NatsLink]:
    server = LocalNats(tmp_path_factory.mktemp("nats")).start()
    connected = NatsLink((server.url,), "fairness")
    yield connected
    connected.close()
    server.stop()


def _event(target: str) -> Event:
    return Event(
        id=uuid.uuid4().hex,
        kind=Kind.INVOKE,
        target=target,
        payload=b"{}",
        enqueued_at=time.time(),
    )


def test_one_event_of_b_is_claimed_next_to_a_backlog_of_2000_of_a(link: NatsLink) -> None:
    async def run() -> None:
        namespace = f"f{uuid.uuid4().hex[:8]}"
        queue = JetStreamEventQueue(link, ack_wait_seconds=30, namespace=namespace)
        other = JetStreamEventQueue(link, ack_wait_seconds=30, namespace=namespace)  # a node
        await queue.enqueue([_event("a") for _ in range(2000)])
        late = _event("b")
        await queue.enqueue([late])
        started = time.monotonic()
        claims = 0
        seen: list[str] = []
        while late.id not in seen:
            assert claims < 4, f"b's event not claimed after {claims} claims: {seen[-8:]}"
            # Two nodes, each with one free slot, as busy dispatchers claim.
            for node in (queue, other):
                claimed = await node.claim(1, now=time.time(), lease_seconds=60)
                claims += 1
                seen += [e.id for e in claimed]
                for event in claimed:
                    assert await node.ack(event)
        assert time.monotonic() - started < 3
        # With more slots free, a claim splits them between the targets that have events.
        b_events = [_event("b") for _ in range(3)]
        await queue.enqueue(b_events)
        claimed = await queue.claim(8, now=time.time(), lease_seconds=60)
        targets = sorted(e.target for e in claimed)
        assert targets == ["a"] * 4 + ["b"] * 3 or targets == ["a"] * 5 + ["b"] * 3, targets
        for event in claimed:
            assert await queue.ack(event)
        counts = await queue.counts(now=time.time())
        assert counts.ready == 2000 - len(seen) + 1 - len([t for t in targets if t == "a"])
        await queue.close()
        await other.close()

    asyncio.run(run())


def test_a_claim_with_nothing_ready_wakes_when_another_node_enqueues(link: NatsLink) -> None:
    async def run() -> None:
        namespace = f"f{uuid.uuid4().hex[:8]}"
        waiting = JetStreamEventQueue(link, ack_wait_seconds=30, namespace=namespace)
        sender = JetStreamEventQueue(link, ack_wait_seconds=30, namespace=namespace)
        sent = _event("c")

        async def send_soon() -> None:
            await asyncio.sleep(0.2)
            await sender.enqueue([sent])

        started = time.monotonic()
        claimed, _ = await asyncio.gather(
            waiting.claim(4, now=time.time(), lease_seconds=60), send_soon()
        )
        took = time.monotonic() - started
        assert [e.id for e in claimed] == [sent.id]
        assert took < 0.8  # the doorbell, not the claim's 1 s wait running out
        assert await waiting.ack(claimed[0])
        await waiting.close()
        await sender.close()

    asyncio.run(run())


def test_dispatchers_on_two_nodes_run_b_while_a_backlog_of_2000_waits(link: NatsLink) -> None:
    """The real dispatcher on two nodes' queues, its invoke faked (50 ms an event): in
    arrival order B would wait for 2,000 x 50 ms / 8 slots, over 12 s."""

    async def run() -> None:
        namespace = f"f{uuid.uuid4().hex[:8]}"
        registry = MemoryRegistry()
        for name in ("a", "b"):
            put_function(registry, name)
        ran: dict[str, float] = {}

        async def invoke(
            ref: FunctionRef, payload: bytes, *, request_id: str, trace_header: str | None = None
        ) -> InvokeResult:
            ran.setdefault(ref.name, time.monotonic())
            await asyncio.sleep(0.05)
            return InvokeResult(b"null", "$LATEST", None, "")

        queues = [
            JetStreamEventQueue(link, ack_wait_seconds=30, namespace=namespace) for _ in range(2)
        ]
        dispatchers = [
            Dispatcher(
                queue,
                invoke,
                AsyncConfigs(registry),
                MemorySink(),
                ArnFormatter("us-east-1", "123456789012"),
                concurrency=4,
                base_retry_delay_seconds=60.0,
            )
            for queue in queues
        ]
        await queues[0].enqueue([_event("a") for _ in range(2000)])
        for dispatcher in dispatchers:
            dispatcher.start()
        while "a" not in ran:
            await asyncio.sleep(0.01)
        await asyncio.sleep(0.3)  # the backlog is being worked through
        sent = time.monotonic()
        await queues[1].enqueue([_event("b")])
        while "b" not in ran:
            assert time.monotonic() - sent < 3, "b waited behind a's backlog"
            await asyncio.sleep(0.01)
        for dispatcher in dispatchers:
            await dispatcher.stop()
        for queue in queues:
            await queue.close()

    asyncio.run(run())


def test_a_target_whose_consumer_nats_removed_is_served_again(link: NatsLink) -> None:
    async def run() -> None:
        namespace = f"f{uuid.uuid4().hex[:8]}"
        queue = JetStreamEventQueue(link, ack_wait_seconds=30, namespace=namespace)
        await queue.enqueue([_event("idle")])
        (first,) = await queue.claim(4, now=time.time(), lease_seconds=60)
        assert await queue.ack(first)

        async def remove_consumers() -> None:  # as NATS does after an idle hour
            stream = f"{namespace.upper()}_EVENTS"
            for info in await link.js.consumers_info(stream):
                await link.js.delete_consumer(stream, info.name)

        await link.call(remove_consumers())
        later = _event("idle")
        await queue.enqueue([later])
        assert [e.id for e in await queue.claim(4, now=time.time(), lease_seconds=60)] == [later.id]
        assert (await queue.counts(now=time.time())).in_flight == 1
        await queue.close()

    asyncio.run(run())
