"""The durable `EventQueue`: one SQLite file (WAL, fsync on commit) and group commit.

Every operation is handed to one writer thread that owns the connection. The thread takes
all operations waiting at that moment, runs each inside its own SAVEPOINT of one
transaction, commits once (one fsync), and only then answers all of them. Under load a
commit carries hundreds of enqueues, so accepting an `Event` invoke costs a share of an fsync
rather than a whole one; when idle, a lone operation commits at once.

`synchronous = FULL` makes each commit fsync the WAL, so an acknowledged event survives a
power loss as well as kill -9.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import queue
import sqlite3
import threading
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, TypeVar

from hearth.events.queue import Event, Kind, QueueCounts, take_in_turn, turn_order

logger = logging.getLogger("hearth.events")

T = TypeVar("T")
_Op = tuple[Callable[[sqlite3.Connection], Any], asyncio.AbstractEventLoop, "asyncio.Future[Any]"]

SCHEMA_VERSION = 1
# The most operations one commit carries; bounds the latency of the first one in a batch.
MAX_BATCH = 4096

CREATE_TABLES = (
    """CREATE TABLE events (
        seq INTEGER PRIMARY KEY AUTOINCREMENT,
        id TEXT NOT NULL UNIQUE,
        kind TEXT NOT NULL,
        target TEXT NOT NULL,
        qualifier TEXT,
        payload BLOB NOT NULL,
        attributes TEXT NOT NULL,
        enqueued_at REAL NOT NULL,
        -- When the event can next be claimed: now for new events, after a retry delay, or
        -- when the lease of a claim ends.
        visible_at REAL NOT NULL,
        -- 1 while a claim is outstanding; a claim of a row still at 1 is a redelivery.
        claimed INTEGER NOT NULL DEFAULT 0,
        attempts INTEGER NOT NULL DEFAULT 0,
        function_errors INTEGER NOT NULL DEFAULT 0,
        requeues INTEGER NOT NULL DEFAULT 0
    )""",
    "CREATE INDEX events_visible ON events (visible_at, seq)",
    "CREATE INDEX events_by_target ON events (target, visible_at, seq)",
    # The targets that have events, each with a lower bound of its earliest visible_at, so a
    # claim looks only at targets that may have something visible. Triggers keep it in step
    # in the same transaction: the bound only ever moves down here, and a claim that finds
    # nothing visible for a target raises it to the exact value.
    """CREATE TABLE targets (
        target TEXT PRIMARY KEY,
        events INTEGER NOT NULL,
        next_visible REAL NOT NULL
    )""",
    """CREATE TRIGGER events_in AFTER INSERT ON events BEGIN
        INSERT INTO targets (target, events, next_visible) VALUES (new.target, 1, new.visible_at)
        ON CONFLICT (target) DO UPDATE SET
            events = events + 1, next_visible = MIN(next_visible, excluded.next_visible);
    END""",
    """CREATE TRIGGER events_moved AFTER UPDATE OF visible_at ON events BEGIN
        UPDATE targets SET next_visible = MIN(next_visible, new.visible_at)
        WHERE target = new.target;
    END""",
    """CREATE TRIGGER events_out AFTER DELETE ON events BEGIN
        UPDATE targets SET events = events - 1 WHERE target = old.target;
        DELETE FROM targets WHERE target = old.target AND events = 0;
    END""",
    "CREATE TABLE meta (key TEXT PRIMARY KEY, value INTEGER NOT NULL)",
    "INSERT INTO meta (key, value) VALUES ('redelivered', 0)",
)

INSERT_EVENT = """
    INSERT INTO events (id, kind, target, qualifier, payload, attributes, enqueued_at, visible_at)
    VALUES (?, ?, ?, ?, ?, ?, ?, ?)"""
DUE_TARGETS = "SELECT target FROM targets WHERE next_visible <= ?"
SELECT_VISIBLE = """
    SELECT seq, id, kind, target, qualifier, payload, attributes, enqueued_at, claimed,
           attempts, function_errors, requeues
    FROM events WHERE target = ? AND visible_at <= ? ORDER BY visible_at, seq LIMIT ?"""
EXACT_NEXT_VISIBLE = """
    UPDATE targets SET next_visible = (SELECT MIN(visible_at) FROM events WHERE target = ?)
    WHERE target = ?"""
LEASE = "UPDATE events SET visible_at = ?, claimed = 1, attempts = attempts + 1 WHERE seq = ?"
COUNT_REDELIVERED = "UPDATE meta SET value = value + ? WHERE key = 'redelivered'"
DELETE_CLAIMED = "DELETE FROM events WHERE id = ? AND claimed = 1 AND attempts = ?"
RESCHEDULE = """
    UPDATE events SET visible_at = ?, claimed = 0, function_errors = ?, requeues = ?
    WHERE id = ? AND claimed = 1 AND attempts = ?"""
RECOVER = "UPDATE events SET visible_at = ? WHERE claimed = 1"
NEXT_VISIBLE = "SELECT MIN(visible_at) FROM events"
COUNTS = """
    SELECT
        COALESCE(SUM(claimed = 0 AND visible_at <= ?), 0),
        COALESCE(SUM(claimed = 0 AND visible_at > ?), 0),
        COALESCE(SUM(claimed = 1), 0),
        (SELECT value FROM meta WHERE key = 'redelivered')
    FROM events"""


def _row(event: Event) -> tuple[Any, ...]:
    return (
        event.id,
        event.kind.value,
        event.target,
        event.qualifier,
        event.payload,
        json.dumps(event.attributes),
        event.enqueued_at,
        event.enqueued_at,
    )


def _insert(conn: sqlite3.Connection, events: Sequence[Event]) -> None:
    try:
        conn.executemany(INSERT_EVENT, [_row(e) for e in events])
    except sqlite3.IntegrityError as exc:
        raise ValueError("an event with this id is already queued") from exc


class SqliteEventQueue:
    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self._conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        self._conn.execute("PRAGMA journal_mode = WAL")
        self._conn.execute("PRAGMA synchronous = FULL")
        self._migrate()
        self._ops: queue.SimpleQueue[_Op | None] = queue.SimpleQueue()
        self._closed = False
        # The target the last claim took from; only the writer thread touches it.
        self._last_served: str | None = None
        # Transactions committed so far: with group commit, far fewer than operations.
        self.commits = 0
        self._writer = threading.Thread(target=self._run, name="hearth-queue", daemon=True)
        self._writer.start()

    def _migrate(self) -> None:
        self._conn.execute("BEGIN IMMEDIATE")
        (current,) = self._conn.execute("PRAGMA user_version").fetchone()
        if current > SCHEMA_VERSION:
            self._conn.execute("ROLLBACK")
            raise RuntimeError(f"queue schema {current} is newer than this Hearth")
        if current == 0:
            for statement in CREATE_TABLES:
                self._conn.execute(statement)
            self._conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
        self._conn.execute("COMMIT")

    # The writer thread ------------------------------------------------------------------
    async def _submit(self, op: Callable[[sqlite3.Connection], T]) -> T:
        if self._closed:
            raise RuntimeError("the event queue is closed")
        loop = asyncio.get_running_loop()
        future: asyncio.Future[T] = loop.create_future()
        self._ops.put((op, loop, future))
        return await future

    def _run(self) -> None:
        while True:
            first = self._ops.get()
            if first is None:
                return
            batch = [first]
            stop = False
            while len(batch) < MAX_BATCH:
                try:
                    more = self._ops.get_nowait()
                except queue.Empty:
                    break
                if more is None:
                    stop = True
                    break
                batch.append(more)
            self._commit(batch)
            if stop:
                return

    def _commit(self, batch: list[_Op]) -> None:
        outcomes: list[tuple[bool, Any]] = []
        conn = self._conn
        try:
            conn.execute("BEGIN IMMEDIATE")
            for op, _, _ in batch:
                # A failing operation (a duplicate id, say) undoes only its own writes.
                conn.execute("SAVEPOINT op")
                try:
                    outcomes.append((True, op(conn)))
                except Exception as exc:
                    conn.execute("ROLLBACK TO op")
                    outcomes.append((False, exc))
                conn.execute("RELEASE op")
            conn.execute("COMMIT")
            self.commits += 1
        except Exception as exc:
            logger.exception("event queue commit failed")
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            outcomes = [(False, exc)] * len(batch)
        by_loop: dict[asyncio.AbstractEventLoop, list[tuple[asyncio.Future[Any], bool, Any]]] = {}
        for (_, loop, future), (ok, value) in zip(batch, outcomes, strict=True):
            by_loop.setdefault(loop, []).append((future, ok, value))
        for loop, answers in by_loop.items():
            # One wake-up of the event loop per commit, not one per operation.
            with contextlib.suppress(RuntimeError):  # a closed loop: nobody waits any more
                loop.call_soon_threadsafe(_answer, answers)

    # EventQueue --------------------------------------------------------------------------
    async def enqueue(self, events: Sequence[Event]) -> None:
        await self._submit(lambda conn: _insert(conn, events))

    async def claim(self, limit: int, *, now: float, lease_seconds: float) -> list[Event]:
        def op(conn: sqlite3.Connection) -> list[Event]:
            due = [target for (target,) in conn.execute(DUE_TARGETS, (now,))]
            lanes = []
            for target in turn_order(due, self._last_served):
                lane = conn.execute(SELECT_VISIBLE, (target, now, max(0, limit))).fetchall()
                if lane:
                    lanes.append(lane)
                else:  # its bound was stale: make it exact, so it is skipped until due
                    conn.execute(EXACT_NEXT_VISIBLE, (target, target))
            rows = take_in_turn(lanes, max(0, limit))
            if rows:
                self._last_served = rows[-1][3]
            conn.executemany(LEASE, [(now + lease_seconds, row[0]) for row in rows])
            redelivered = sum(row[8] for row in rows)
            if redelivered:
                conn.execute(COUNT_REDELIVERED, (redelivered,))
            return [
                Event(
                    id=row[1],
                    kind=Kind(row[2]),
                    target=row[3],
                    qualifier=row[4],
                    payload=bytes(row[5]),
                    attributes=json.loads(row[6]),
                    enqueued_at=row[7],
                    redelivered=bool(row[8]),
                    attempts=row[9] + 1,
                    function_errors=row[10],
                    requeues=row[11],
                )
                for row in rows
            ]

        return await self._submit(op)

    async def ack(self, event: Event, follow_ups: Sequence[Event] = ()) -> bool:
        def op(conn: sqlite3.Connection) -> bool:
            if conn.execute(DELETE_CLAIMED, (event.id, event.attempts)).rowcount == 0:
                return False
            _insert(conn, follow_ups)
            return True

        return await self._submit(op)

    async def reschedule(self, event: Event, *, now: float, delay_seconds: float) -> bool:
        params = (
            now + delay_seconds,
            event.function_errors,
            event.requeues,
            event.id,
            event.attempts,
        )
        return await self._submit(lambda conn: conn.execute(RESCHEDULE, params).rowcount == 1)

    async def recover(self, *, now: float) -> int:
        return await self._submit(lambda conn: conn.execute(RECOVER, (now,)).rowcount)

    async def next_visible_at(self) -> float | None:
        def op(conn: sqlite3.Connection) -> float | None:
            (value,) = conn.execute(NEXT_VISIBLE).fetchone()
            return None if value is None else float(value)

        return await self._submit(op)

    async def counts(self, *, now: float) -> QueueCounts:
        def op(conn: sqlite3.Connection) -> QueueCounts:
            ready, delayed, in_flight, redelivered = conn.execute(COUNTS, (now, now)).fetchone()
            return QueueCounts(ready, delayed, in_flight, redelivered)

        return await self._submit(op)

    async def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        self._ops.put(None)
        await asyncio.to_thread(self._writer.join)
        self._conn.close()


def _answer(answers: list[tuple[asyncio.Future[Any], bool, Any]]) -> None:
    for future, ok, value in answers:
        if future.done():  # the caller gave up waiting (cancelled)
            continue
        if ok:
            future.set_result(value)
        else:
            future.set_exception(value)
