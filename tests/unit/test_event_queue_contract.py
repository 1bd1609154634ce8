"""The `EventQueue` contract (hearth/events/queue.py), run against the fake and the SQLite queue."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

import pytest

from hearth.events.memory_queue import MemoryEventQueue
from hearth.events.queue import Event, EventQueue, Kind
from hearth.events.sqlite_queue import SqliteEventQueue

T = TypeVar("T")
NOW = 1_700_000_000.0
LEASE = 30.0


def event(id: str, at: float = NOW, **changes: Any) -> Event:
    fields: dict[str, Any] = {
        "id": id,
        "kind": Kind.INVOKE,
        "target": "fn",
        "payload": b'{"n": 1}',
        "enqueued_at": at,
    }
    fields.update(changes)
    return Event(**fields)


QueueRunner = Callable[[Callable[[EventQueue], Awaitable[T]]], T]


@pytest.fixture(params=["memory", "sqlite"])
def run(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[QueueRunner[Any]]:
    """Run a coroutine against a fresh queue of each kind, in its own event loop."""

    def runner(body: Callable[[EventQueue], Awaitable[T]]) -> T:
        async def main() -> T:
            queue: EventQueue = (
                MemoryEventQueue()
                if request.param == "memory"
                else SqliteEventQueue(tmp_path / "queue.sqlite3")
            )
            try:
                return await body(queue)
            finally:
                await queue.close()

        return asyncio.run(main())

    yield runner


def test_claims_in_order_and_leases_hide_claimed_events(run: QueueRunner[Any]) -> None:
    async def body(queue: EventQueue) -> None:
        await queue.enqueue([event("a"), event("b", payload=b"[1]", qualifier="live")])
        await queue.enqueue([event("c")])
        first = await queue.claim(2, now=NOW, lease_seconds=LEASE)
        assert [e.id for e in first] == ["a", "b"]
        assert first[1].payload == b"[1]" and first[1].qualifier == "live"
        assert all(e.attempts == 1 and not e.redelivered for e in first)
        second = await queue.claim(10, now=NOW + 1, lease_seconds=LEASE)
        assert [e.id for e in second] == ["c"]
        assert await queue.claim(10, now=NOW + LEASE - 1, lease_seconds=LEASE) == []

    run(body)


def test_targets_take_turns_so_a_backlog_holds_up_no_one(run: QueueRunner[Any]) -> None:
    async def body(queue: EventQueue) -> None:
        await queue.enqueue([event(f"a{i}", target="a") for i in range(50)])
        await queue.enqueue([event("b0", target="b"), event("b1", target="b")])
        await queue.enqueue([event("c0", at=NOW + 100, target="c")])  # not visible yet
        first = await queue.claim(3, now=NOW, lease_seconds=3600)
        assert [e.id for e in first] == ["a0", "b0", "a1"]
        # Turns continue after the target served last.
        assert [e.id for e in await queue.claim(1, now=NOW, lease_seconds=3600)] == ["b1"]
        assert [e.id for e in await queue.claim(2, now=NOW, lease_seconds=3600)] == ["a2", "a3"]
        later = await queue.claim(3, now=NOW + 100, lease_seconds=3600)
        assert [e.id for e in later] == ["c0", "a4", "a5"]

    run(body)


def test_a_target_with_only_delayed_events_wakes_when_due(run: QueueRunner[Any]) -> None:
    async def body(queue: EventQueue) -> None:
        await queue.enqueue([event("a0", target="a"), event("b0", target="b")])
        claimed = await queue.claim(2, now=NOW, lease_seconds=LEASE)
        for e in claimed:
            assert await queue.reschedule(e, now=NOW, delay_seconds=10 if e.id == "a0" else 20)
        assert await queue.claim(5, now=NOW + 5, lease_seconds=LEASE) == []
        assert [e.id for e in await queue.claim(5, now=NOW + 10, lease_seconds=LEASE)] == ["a0"]
        assert [e.id for e in await queue.claim(5, now=NOW + 20, lease_seconds=LEASE)] == ["b0"]

    run(body)


def test_ack_finishes_and_a_stale_claim_loses(run: QueueRunner[Any]) -> None:
    async def body(queue: EventQueue) -> None:
        await queue.enqueue([event("a")])
        (old,) = await queue.claim(1, now=NOW, lease_seconds=LEASE)
        # The lease runs out and someone else claims it: the first claim is stale now.
        (new,) = await queue.claim(1, now=NOW + LEASE, lease_seconds=LEASE)
        assert new.attempts == 2 and new.redelivered
        assert not await queue.ack(old)
        assert not await queue.reschedule(old, now=NOW, delay_seconds=0)
        assert await queue.ack(new)
        assert not await queue.ack(new)
        assert await queue.claim(1, now=NOW + 10 * LEASE, lease_seconds=LEASE) == []
        counts = await queue.counts(now=NOW + 10 * LEASE)
        assert (counts.ready, counts.delayed, counts.in_flight, counts.redelivered) == (0, 0, 0, 1)

    run(body)


def test_reschedule_delays_and_keeps_the_counters(run: QueueRunner[Any]) -> None:
    async def body(queue: EventQueue) -> None:
        await queue.enqueue([event("a")])
        (claimed,) = await queue.claim(1, now=NOW, lease_seconds=LEASE)
        retry = claimed.counted(function_errors=1, requeues=3)
        assert await queue.reschedule(retry, now=NOW + 1, delay_seconds=5)
        assert await queue.next_visible_at() == NOW + 6
        counts = await queue.counts(now=NOW + 2)
        assert (counts.ready, counts.delayed, counts.in_flight) == (0, 1, 0)
        assert await queue.claim(1, now=NOW + 5.9, lease_seconds=LEASE) == []
        (again,) = await queue.claim(1, now=NOW + 6, lease_seconds=LEASE)
        assert (again.attempts, again.function_errors, again.requeues) == (2, 1, 3)
        assert not again.redelivered  # rescheduled properly: not a redelivery
        assert again.enqueued_at == NOW

    run(body)


def test_recover_ends_every_lease_and_counts_redeliveries(run: QueueRunner[Any]) -> None:
    async def body(queue: EventQueue) -> None:
        await queue.enqueue([event("a"), event("b"), event("c")])
        await queue.claim(2, now=NOW, lease_seconds=3600)
        assert (await queue.counts(now=NOW)).in_flight == 2
        assert await queue.recover(now=NOW + 1) == 2
        claimed = await queue.claim(10, now=NOW + 1, lease_seconds=LEASE)
        assert sorted(e.id for e in claimed) == ["a", "b", "c"]
        assert {e.id for e in claimed if e.redelivered} == {"a", "b"}
        assert (await queue.counts(now=NOW + 1)).redelivered == 2

    run(body)


def test_follow_ups_are_written_with_the_ack_or_not_at_all(run: QueueRunner[Any]) -> None:
    async def body(queue: EventQueue) -> None:
        await queue.enqueue([event("a"), event("b")])
        claimed = await queue.claim(2, now=NOW, lease_seconds=LEASE)
        a = next(e for e in claimed if e.id == "a")
        record = event("a-record", at=NOW + 1, kind=Kind.DELIVER, target="arn:aws:sqs:x")
        clash = event("b", at=NOW + 1)  # an id still queued: the whole ack must fail
        with pytest.raises(ValueError):
            await queue.ack(a, [record, clash])
        assert (await queue.counts(now=NOW)).in_flight == 2
        attrs = {"RequestID": {"DataType": "String", "StringValue": "a"}}
        record = event("a-record", at=NOW + 1, kind=Kind.DELIVER, target="arn", attributes=attrs)
        assert await queue.ack(a, [record])
        (follow_up,) = await queue.claim(5, now=NOW + 1, lease_seconds=LEASE)
        assert follow_up.kind is Kind.DELIVER and follow_up.attributes == attrs
        assert follow_up.target == "arn" and follow_up.attempts == 1

    run(body)


def test_a_duplicate_id_stores_nothing_of_that_call(run: QueueRunner[Any]) -> None:
    async def body(queue: EventQueue) -> None:
        await queue.enqueue([event("a")])
        with pytest.raises(ValueError):
            await queue.enqueue([event("b"), event("a")])
        with pytest.raises(ValueError):
            await queue.enqueue([event("c"), event("c")])
        claimed = await queue.claim(10, now=NOW, lease_seconds=LEASE)
        assert [e.id for e in claimed] == ["a"]
        assert await queue.next_visible_at() == NOW + LEASE

    run(body)


def test_an_empty_queue(run: QueueRunner[Any]) -> None:
    async def body(queue: EventQueue) -> None:
        assert await queue.next_visible_at() is None
        assert await queue.claim(10, now=NOW, lease_seconds=LEASE) == []
        counts = await queue.counts(now=NOW)
        assert (counts.ready, counts.delayed, counts.in_flight, counts.redelivered) == (0, 0, 0, 0)

    run(body)


# SQLite only ---------------------------------------------------------------------------------


def test_sqlite_queue_keeps_everything_across_a_reopen(tmp_path: Path) -> None:
    path = tmp_path / "queue.sqlite3"

    async def before() -> None:
        queue = SqliteEventQueue(path)
        await queue.enqueue([event("a"), event("b"), event("c")])
        await queue.claim(1, now=NOW, lease_seconds=3600)  # a: in flight at the crash
        (b,) = await queue.claim(1, now=NOW, lease_seconds=3600)
        await queue.ack(b)
        await queue.close()

    async def after() -> list[Event]:
        queue = SqliteEventQueue(path)
        try:
            assert await queue.recover(now=NOW + 1) == 1
            return await queue.claim(10, now=NOW + 1, lease_seconds=LEASE)
        finally:
            await queue.close()

    asyncio.run(before())
    claimed = asyncio.run(after())
    assert sorted((e.id, e.attempts, e.redelivered) for e in claimed) == [
        ("a", 2, True),
        ("c", 1, False),
    ]


def test_sqlite_queue_commits_concurrent_enqueues_together(tmp_path: Path) -> None:
    async def body() -> tuple[int, int]:
        queue = SqliteEventQueue(tmp_path / "queue.sqlite3")
        try:
            await asyncio.gather(*(queue.enqueue([event(f"e{i}")]) for i in range(2000)))
            return (await queue.counts(now=NOW)).ready, queue.commits
        finally:
            await queue.close()

    ready, commits = asyncio.run(body())
    assert ready == 2000
    # One commit per enqueue would be 2000; group commit takes a handful.
    assert commits < 200
