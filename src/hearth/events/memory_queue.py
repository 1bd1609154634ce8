"""An in-memory `EventQueue`: the fake for tests of the dispatcher (durable only in spirit)."""

from __future__ import annotations

import dataclasses
import itertools
from collections.abc import Sequence
from dataclasses import dataclass

from hearth.events.queue import Event, QueueCounts, take_in_turn, turn_order


@dataclass
class _Row:
    event: Event
    seq: int
    visible_at: float
    claimed: bool = False


class MemoryEventQueue:
    def __init__(self) -> None:
        self._rows: dict[str, _Row] = {}
        self._seq = itertools.count()
        self._redelivered = 0
        self._closed = False
        self._last_served: str | None = None

    def _check_open(self) -> None:
        if self._closed:
            raise RuntimeError("the event queue is closed")

    async def enqueue(self, events: Sequence[Event]) -> None:
        self._check_open()
        self._insert(events)

    def _check_new(self, events: Sequence[Event]) -> None:
        ids = [e.id for e in events]
        if len(set(ids)) != len(ids) or any(i in self._rows for i in ids):
            raise ValueError("an event with this id is already queued")

    def _insert(self, events: Sequence[Event]) -> None:
        self._check_new(events)
        for event in events:
            fresh = dataclasses.replace(event, attempts=0, redelivered=False)
            self._rows[event.id] = _Row(fresh, next(self._seq), event.enqueued_at)

    async def claim(self, limit: int, *, now: float, lease_seconds: float) -> list[Event]:
        self._check_open()
        lanes: dict[str, list[_Row]] = {}
        for row in sorted(self._rows.values(), key=lambda r: (r.visible_at, r.seq)):
            if row.visible_at <= now:
                lanes.setdefault(row.event.target, []).append(row)
        order = turn_order(list(lanes), self._last_served)
        visible = take_in_turn([lanes[t] for t in order], max(0, limit))
        if visible:
            self._last_served = visible[-1].event.target
        claimed = []
        for row in visible:
            redelivered = row.claimed
            self._redelivered += redelivered
            row.event = dataclasses.replace(
                row.event, attempts=row.event.attempts + 1, redelivered=redelivered
            )
            row.claimed = True
            row.visible_at = now + lease_seconds
            claimed.append(row.event)
        return claimed

    def _current(self, event: Event) -> _Row | None:
        row = self._rows.get(event.id)
        if row is None or not row.claimed or row.event.attempts != event.attempts:
            return None
        return row

    async def ack(self, event: Event, follow_ups: Sequence[Event] = ()) -> bool:
        self._check_open()
        if self._current(event) is None:
            return False
        self._check_new(follow_ups)  # before anything changes: all or nothing
        del self._rows[event.id]
        self._insert(follow_ups)
        return True

    async def reschedule(self, event: Event, *, now: float, delay_seconds: float) -> bool:
        self._check_open()
        row = self._current(event)
        if row is None:
            return False
        row.event = dataclasses.replace(
            row.event, function_errors=event.function_errors, requeues=event.requeues
        )
        row.claimed = False
        row.visible_at = now + delay_seconds
        return True

    async def recover(self, *, now: float) -> int:
        self._check_open()
        leased = [r for r in self._rows.values() if r.claimed]
        for row in leased:
            row.visible_at = now  # still `claimed`: its next claim counts as a redelivery
        return len(leased)

    async def next_visible_at(self) -> float | None:
        return min((r.visible_at for r in self._rows.values()), default=None)

    async def counts(self, *, now: float) -> QueueCounts:
        rows = self._rows.values()
        return QueueCounts(
            ready=sum(1 for r in rows if not r.claimed and r.visible_at <= now),
            delayed=sum(1 for r in rows if not r.claimed and r.visible_at > now),
            in_flight=sum(1 for r in rows if r.claimed),
            redelivered=self._redelivered,
        )

    async def close(self) -> None:
        self._closed = True
