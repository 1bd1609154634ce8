"""Where log events are kept: log group → log stream → events, in arrival order.

`SqliteLogStore` keeps them in their own database file (logs are written far more often than
the registry); `MemoryLogStore` is the fake. Both give every event an increasing id, so a
reader can follow a group by asking for events after the last id it saw.
"""

from __future__ import annotations

import logging
import sqlite3
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from hearth.errors import is_disk_full

logger = logging.getLogger("hearth.logs")

# What the store holds at most, unless told otherwise (--log-retention-days, --log-max-mb).
DEFAULT_RETENTION_SECONDS = 30 * 86400
DEFAULT_MAX_BYTES = 512 * 1024 * 1024
# How often appends check the bounds, and the most rows one check deletes (it runs on the
# event loop's thread, between batches of log lines).
PRUNE_INTERVAL_SECONDS = 2.0
PRUNE_MAX_ROWS = 20_000
# A store over its size limit is cut back to this share of it, so it is not pruned again
# with every batch.
PRUNE_TARGET_SHARE = 0.8


@dataclass(frozen=True)
class LogEvent:
    id: int
    group: str
    stream: str
    timestamp_ms: int
    message: str


@dataclass
class LogCounts:
    """What a store holds and what it let go since the server started."""

    bytes: int = 0
    max_bytes: int = 0
    retention_seconds: float = 0.0
    # Events deleted because they were older than the retention, or to stay under max_bytes.
    dropped_retention: int = 0
    dropped_size: int = 0
    # Events never stored because the disk was full.
    dropped_disk_full: int = 0
    by_group_dropped: dict[str, int] = field(default_factory=dict)


class LogStore(Protocol):
    def append(self, events: Sequence[tuple[str, str, int, str]]) -> None:
        """Store (group, stream, timestamp_ms, message) tuples atomically, in order. On a
        full disk the batch is dropped and counted (logs must not fail an invoke)."""
        ...

    def counts(self) -> LogCounts:
        """What is held and what was dropped, and why."""
        ...

    def read(
        self, group: str, *, after_id: int = 0, limit: int = 1000, stream: str | None = None
    ) -> list[LogEvent]:
        """Events of a group (optionally one stream) with id > after_id, oldest first."""
        ...

    def close(self) -> None: ...


_SCHEMA = """
CREATE TABLE IF NOT EXISTS log_events (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    log_group TEXT NOT NULL,
    log_stream TEXT NOT NULL,
    timestamp_ms INTEGER NOT NULL,
    message TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS log_events_by_group ON log_events (log_group, id);
CREATE INDEX IF NOT EXISTS log_events_by_time ON log_events (timestamp_ms);
"""
# Retention: the newest id old enough to go; everything up to it goes (ids follow arrival).
_EXPIRED_UP_TO = "SELECT MAX(id) FROM log_events WHERE timestamp_ms < ?"
_OLDEST_IDS = "SELECT MIN(id), MAX(id) FROM log_events"
_DELETE_UP_TO = "DELETE FROM log_events WHERE id <= ?"
_USED_BYTES = (
    "SELECT (page_count - freelist_count) * page_size "
    "FROM pragma_page_count(), pragma_freelist_count(), pragma_page_size()"
)
_INSERT = "INSERT INTO log_events (log_group, log_stream, timestamp_ms, message) VALUES (?,?,?,?)"
_READ = (
    "SELECT id, log_group, log_stream, timestamp_ms, message FROM log_events "
    "WHERE log_group = ? AND id > ? ORDER BY id LIMIT ?"
)
_READ_STREAM = (
    "SELECT id, log_group, log_stream, timestamp_ms, message FROM log_events "
    "WHERE log_group = ? AND id > ? AND log_stream = ? ORDER BY id LIMIT ?"
)


class SqliteLogStore:
    """Bounded by age and by size: every few seconds an append deletes events older than
    the retention, and the oldest events while the database holds more than `max_bytes`
    (SQLite reuses the freed pages, so the file stops growing there). Each drop is counted."""

    def __init__(
        self,
        path: Path,
        *,
        retention_seconds: float = DEFAULT_RETENTION_SECONDS,
        max_bytes: int = DEFAULT_MAX_BYTES,
        clock: Callable[[], float] = time.time,
        require_room: Callable[[], None] = lambda: None,
    ) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        # Raises ENOSPC while the disk is full and Hearth runs on its reserve, which is kept
        # for deletes and acknowledgements (store/reserve.py), not log lines.
        self._require_room = require_room
        self._lock = threading.Lock()
        self._db = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        # WAL + NORMAL: a committed batch survives a crash of the process (not of the host).
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.executescript(_SCHEMA)
        self._clock = clock
        self._counts = LogCounts(max_bytes=max_bytes, retention_seconds=retention_seconds)
        self._next_prune = 0.0

    def append(self, events: Sequence[tuple[str, str, int, str]]) -> None:
        if not events:
            return
        with self._lock:
            try:
                self._require_room()
                self._db.execute("BEGIN")
                try:
                    self._db.executemany(_INSERT, events)
                    self._db.execute("COMMIT")
                except BaseException:
                    if self._db.in_transaction:
                        self._db.execute("ROLLBACK")
                    raise
            except (sqlite3.Error, OSError) as exc:
                if not is_disk_full(exc):
                    raise
                self._drop_for_disk(events)
            if self._clock() >= self._next_prune:
                self._prune()

    def _drop_for_disk(self, events: Sequence[tuple[str, str, int, str]]) -> None:
        if not self._counts.dropped_disk_full:
            logger.warning("the data dir's disk is full: log lines are dropped (and counted)")
        self._counts.dropped_disk_full += len(events)
        for group, *_ in events:
            dropped = self._counts.by_group_dropped
            dropped[group] = dropped.get(group, 0) + 1
        self._next_prune = 0.0  # deleting old lines may make room

    def _prune(self) -> None:
        """Enforce both bounds, a bounded amount of work at a time; lock held."""
        now = self._clock()
        self._next_prune = now + PRUNE_INTERVAL_SECONDS
        try:
            cutoff_ms = int((now - self._counts.retention_seconds) * 1000)
            (expired,) = self._db.execute(_EXPIRED_UP_TO, (cutoff_ms,)).fetchone()
            if expired is not None:
                self._counts.dropped_retention += self._delete_up_to(expired)
            (used,) = self._db.execute(_USED_BYTES).fetchone()
            if used > self._counts.max_bytes:
                low, high = self._db.execute(_OLDEST_IDS).fetchone()
                if low is not None:
                    # Ids are dense enough that a share of the id range is that share of rows.
                    excess = 1 - self._counts.max_bytes * PRUNE_TARGET_SHARE / used
                    up_to = low + max(1, int((high - low + 1) * excess)) - 1
                    self._counts.dropped_size += self._delete_up_to(up_to)
                    self._next_prune = 0.0  # keep going next batch until under the bound
        except sqlite3.Error as exc:
            if not is_disk_full(exc):
                raise
            # Deleting needs a little space too; the next check tries again.

    def _delete_up_to(self, last_id: int) -> int:
        (low,) = self._db.execute("SELECT MIN(id) FROM log_events").fetchone()
        if low is None:
            return 0
        up_to = min(last_id, low + PRUNE_MAX_ROWS - 1)
        deleted = self._db.execute(_DELETE_UP_TO, (up_to,)).rowcount
        if up_to < last_id:
            self._next_prune = 0.0
        return max(0, deleted)

    def counts(self) -> LogCounts:
        with self._lock:
            (used,) = self._db.execute(_USED_BYTES).fetchone()
            counts = self._counts
            return LogCounts(
                used,
                counts.max_bytes,
                counts.retention_seconds,
                counts.dropped_retention,
                counts.dropped_size,
                counts.dropped_disk_full,
                dict(counts.by_group_dropped),
            )

    def read(
        self, group: str, *, after_id: int = 0, limit: int = 1000, stream: str | None = None
    ) -> list[LogEvent]:
        with self._lock:
            if stream is None:
                rows = self._db.execute(_READ, (group, after_id, limit)).fetchall()
            else:
                rows = self._db.execute(_READ_STREAM, (group, after_id, stream, limit)).fetchall()
        return [LogEvent(*row) for row in rows]

    def close(self) -> None:
        with self._lock:
            self._db.close()


class MemoryLogStore:
    def __init__(self) -> None:
        self._events: list[LogEvent] = []

    def counts(self) -> LogCounts:
        return LogCounts(bytes=sum(len(e.message) for e in self._events))

    def append(self, events: Sequence[tuple[str, str, int, str]]) -> None:
        start = len(self._events)
        self._events.extend(
            LogEvent(start + i + 1, g, s, t, m) for i, (g, s, t, m) in enumerate(events)
        )

    def read(
        self, group: str, *, after_id: int = 0, limit: int = 1000, stream: str | None = None
    ) -> list[LogEvent]:
        found = [
            e
            for e in self._events[after_id:]
            if e.group == group and (stream is None or e.stream == stream)
        ]
        return found[:limit]

    def close(self) -> None:
        pass
