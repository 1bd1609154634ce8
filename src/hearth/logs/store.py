"""Where log events are kept: log group → log stream → events, in arrival order.

`SqliteLogStore` keeps them in their own database file (logs are written far more often than
the registry); `MemoryLogStore` is the fake. Both give every event an increasing id, so a
reader can follow a group by asking for events after the last id it saw. Appending to a group
or stream that does not exist creates it, as Lambda's log delivery does.
"""

from __future__ import annotations

import json
import logging
import sqlite3
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
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

# (group, stream, timestamp_ms, message)
NewEvent = tuple[str, str, int, str]
# Where an event sits in a group's order: (timestamp_ms, id).
Position = tuple[int, int]
END_OF_TIME = 2**62


@dataclass(frozen=True)
class LogEvent:
    id: int
    group: str
    stream: str
    timestamp_ms: int
    message: str
    ingestion_ms: int = 0

    @property
    def position(self) -> Position:
        return (self.timestamp_ms, self.id)


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


@dataclass(frozen=True)
class LogGroup:
    name: str
    created_ms: int
    retention_days: int | None = None
    tags: dict[str, str] = field(default_factory=dict)
    stored_bytes: int = 0


@dataclass(frozen=True)
class LogStream:
    group: str
    name: str
    created_ms: int
    first_event_ms: int | None = None
    last_event_ms: int | None = None
    last_ingestion_ms: int | None = None
    stored_bytes: int = 0


class LogStore(Protocol):
    """Guarantees: `append` is atomic and keeps order; ids only grow; a deleted group takes
    its streams and events with it; reads see every committed append."""

    def append(self, events: Sequence[NewEvent]) -> None:
        """Store events atomically, in order, creating missing groups and streams. On a
        full disk the batch is dropped and counted (logs must not fail an invoke)."""
        ...

    def counts(self) -> LogCounts:
        """What is held and what was dropped, and why."""
        ...

    def read(
        self,
        group: str,
        *,
        stream: str | None = None,
        start_ms: int = 0,
        end_ms: int = END_OF_TIME,
        after: Position | None = None,
        before: Position | None = None,
        newest_first: bool = False,
        limit: int = 1000,
    ) -> list[LogEvent]:
        """Events of a group (or one stream of it) with start_ms <= timestamp < end_ms and a
        position strictly between `after` and `before`, ordered by position (timestamp,
        then id), oldest first unless newest_first."""
        ...

    def create_group(self, group: LogGroup) -> bool:
        """False when a group of that name exists."""
        ...

    def delete_group(self, name: str) -> bool: ...

    def get_group(self, name: str) -> LogGroup | None: ...

    def list_groups(self, prefix: str = "") -> list[LogGroup]:
        """Ordered by name."""
        ...

    def update_group(self, group: LogGroup) -> None:
        """Replace retention and tags of an existing group."""
        ...

    def create_stream(self, group: str, name: str, created_ms: int) -> bool:
        """False when the stream exists (the group must exist)."""
        ...

    def delete_stream(self, group: str, name: str) -> bool: ...

    def list_streams(self, group: str) -> list[LogStream]:
        """Ordered by name."""
        ...

    def expire(self, now_ms: int) -> int:
        """Delete events older than their group's retention; how many went."""
        ...

    def close(self) -> None: ...


_DAY_MS = 86_400_000

_SCHEMA = """
CREATE TABLE IF NOT EXISTS log_events (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    log_group TEXT NOT NULL,
    log_stream TEXT NOT NULL,
    timestamp_ms INTEGER NOT NULL,
    message TEXT NOT NULL,
    ingestion_ms INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS log_events_by_time ON log_events (timestamp_ms);
CREATE INDEX IF NOT EXISTS log_events_by_group_time
    ON log_events (log_group, timestamp_ms, id);
CREATE INDEX IF NOT EXISTS log_events_by_stream
    ON log_events (log_group, log_stream, timestamp_ms, id);
CREATE TABLE IF NOT EXISTS log_groups (
    name TEXT PRIMARY KEY,
    created_ms INTEGER NOT NULL,
    retention_days INTEGER,
    tags TEXT NOT NULL DEFAULT '{}'
);
CREATE TABLE IF NOT EXISTS log_streams (
    log_group TEXT NOT NULL,
    name TEXT NOT NULL,
    created_ms INTEGER NOT NULL,
    first_event_ms INTEGER,
    last_event_ms INTEGER,
    last_ingestion_ms INTEGER,
    stored_bytes INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (log_group, name)
);
"""
# Retention: the newest id old enough to go; everything up to it goes (ids follow arrival).
_EXPIRED_UP_TO = "SELECT MAX(id) FROM log_events WHERE timestamp_ms < ?"
_OLDEST_IDS = "SELECT MIN(id), MAX(id) FROM log_events"
_DELETE_UP_TO = "DELETE FROM log_events WHERE id <= ?"
_USED_BYTES = (
    "SELECT (page_count - freelist_count) * page_size "
    "FROM pragma_page_count(), pragma_freelist_count(), pragma_page_size()"
)
_EVENT_COLUMNS = "id, log_group, log_stream, timestamp_ms, message, ingestion_ms"
_INSERT = (
    "INSERT INTO log_events (log_group, log_stream, timestamp_ms, message, ingestion_ms) "
    "VALUES (?,?,?,?,?)"
)
_GROUP_IF_MISSING = "INSERT OR IGNORE INTO log_groups (name, created_ms) VALUES (?, ?)"
_STREAM_IF_MISSING = (
    "INSERT OR IGNORE INTO log_streams (log_group, name, created_ms) VALUES (?, ?, ?)"
)
_GROUPS = (
    "SELECT g.name, g.created_ms, g.retention_days, g.tags, "
    "(SELECT COALESCE(SUM(stored_bytes), 0) FROM log_streams s WHERE s.log_group = g.name) "
    "FROM log_groups g WHERE "
)
_STREAM_SEEN = """
UPDATE log_streams SET
    first_event_ms = MIN(COALESCE(first_event_ms, :first), :first),
    last_event_ms = MAX(COALESCE(last_event_ms, :last), :last),
    last_ingestion_ms = :ingested,
    stored_bytes = stored_bytes + :bytes
WHERE log_group = :group AND name = :stream
"""


def _now_ms() -> int:
    return int(time.time() * 1000)


def _summaries(events: Sequence[NewEvent]) -> dict[tuple[str, str], tuple[int, int, int]]:
    """(group, stream) → (first timestamp, last timestamp, bytes) of a batch."""
    seen: dict[tuple[str, str], tuple[int, int, int]] = {}
    for group, stream, timestamp, message in events:
        first, last, size = seen.get((group, stream), (timestamp, timestamp, 0))
        seen[(group, stream)] = (
            min(first, timestamp),
            max(last, timestamp),
            size + len(message.encode()) + 26,  # AWS counts 26 bytes of overhead per event
        )
    return seen


class SqliteLogStore:
    """Bounded by age and by size: every few seconds an append deletes events older than
    the store's retention, and the oldest events while the database holds more than
    `max_bytes` (SQLite reuses the freed pages, so the file stops growing there). Each drop
    is counted. A log group's own retention (PutRetentionPolicy) applies on top (`expire`)."""

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
        self._clock = clock
        self._counts = LogCounts(max_bytes=max_bytes, retention_seconds=retention_seconds)
        self._next_prune = 0.0
        self._lock = threading.Lock()
        self._db = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        # WAL + NORMAL: a committed batch survives a crash of the process (not of the host).
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        columns = {row[1] for row in self._db.execute("PRAGMA table_info(log_events)")}
        if columns and "ingestion_ms" not in columns:  # a data dir from before streams
            self._db.execute(
                "ALTER TABLE log_events ADD COLUMN ingestion_ms INTEGER NOT NULL DEFAULT 0"
            )
        self._db.executescript(_SCHEMA)

    def append(self, events: Sequence[NewEvent]) -> None:
        if not events:
            return
        ingested = _now_ms()
        with self._lock:
            try:
                self._require_room()
                self._insert(events, ingested)
            except (sqlite3.Error, OSError) as exc:
                if not is_disk_full(exc):
                    raise
                self._drop_for_disk(events)
            if self._clock() >= self._next_prune:
                self._prune()

    def _insert(self, events: Sequence[NewEvent], ingested: int) -> None:
        """One transaction: the groups and streams, their figures, the events; lock held."""
        self._db.execute("BEGIN")
        try:
            summaries = _summaries(events)
            for (group, stream), (first, last, size) in summaries.items():
                self._db.execute(_GROUP_IF_MISSING, (group, ingested))
                self._db.execute(_STREAM_IF_MISSING, (group, stream, ingested))
                self._db.execute(
                    _STREAM_SEEN,
                    {
                        "first": first,
                        "last": last,
                        "ingested": ingested,
                        "bytes": size,
                        "group": group,
                        "stream": stream,
                    },
                )
            self._db.executemany(_INSERT, [(*event, ingested) for event in events])
            self._db.execute("COMMIT")
        except BaseException:
            if self._db.in_transaction:
                self._db.execute("ROLLBACK")
            raise

    def _drop_for_disk(self, events: Sequence[NewEvent]) -> None:
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
        self,
        group: str,
        *,
        stream: str | None = None,
        start_ms: int = 0,
        end_ms: int = END_OF_TIME,
        after: Position | None = None,
        before: Position | None = None,
        newest_first: bool = False,
        limit: int = 1000,
    ) -> list[LogEvent]:
        order = "DESC" if newest_first else "ASC"
        where = "log_group = ? AND timestamp_ms >= ? AND timestamp_ms < ?"
        args: list[object] = [group, start_ms, end_ms]
        if stream is not None:
            where += " AND log_stream = ?"
            args.append(stream)
        if after is not None:
            where += " AND (timestamp_ms, id) > (?, ?)"
            args.extend(after)
        if before is not None:
            where += " AND (timestamp_ms, id) < (?, ?)"
            args.extend(before)
        index = "log_events_by_stream" if stream is not None else "log_events_by_group_time"
        # Only fixed fragments go into the text; every value is a bound parameter.
        query = (
            f"SELECT {_EVENT_COLUMNS} FROM log_events INDEXED BY {index} WHERE {where} "  # noqa: S608
            f"ORDER BY timestamp_ms {order}, id {order} LIMIT ?"
        )
        with self._lock:
            rows = self._db.execute(query, (*args, limit)).fetchall()
        return [LogEvent(*row) for row in rows]

    def create_group(self, group: LogGroup) -> bool:
        with self._lock:
            cursor = self._db.execute(
                "INSERT OR IGNORE INTO log_groups (name, created_ms, retention_days, tags) "
                "VALUES (?, ?, ?, ?)",
                (group.name, group.created_ms, group.retention_days, json.dumps(group.tags)),
            )
            return cursor.rowcount == 1

    def delete_group(self, name: str) -> bool:
        with self._lock:
            self._db.execute("BEGIN")
            cursor = self._db.execute("DELETE FROM log_groups WHERE name = ?", (name,))
            self._db.execute("DELETE FROM log_streams WHERE log_group = ?", (name,))
            self._db.execute("DELETE FROM log_events WHERE log_group = ?", (name,))
            self._db.execute("COMMIT")
            return cursor.rowcount == 1

    def _groups(self, where: str, args: tuple[str, ...]) -> list[LogGroup]:
        with self._lock:
            rows = self._db.execute(_GROUPS + where + " ORDER BY g.name", args).fetchall()
        return [LogGroup(n, c, r, json.loads(t), b) for n, c, r, t, b in rows]

    def get_group(self, name: str) -> LogGroup | None:
        found = self._groups("g.name = ?", (name,))
        return found[0] if found else None

    def list_groups(self, prefix: str = "") -> list[LogGroup]:
        escaped = prefix.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        return self._groups("g.name LIKE ? ESCAPE '\\'", (escaped + "%",))

    def update_group(self, group: LogGroup) -> None:
        with self._lock:
            self._db.execute(
                "UPDATE log_groups SET retention_days = ?, tags = ? WHERE name = ?",
                (group.retention_days, json.dumps(group.tags), group.name),
            )

    def create_stream(self, group: str, name: str, created_ms: int) -> bool:
        with self._lock:
            cursor = self._db.execute(_STREAM_IF_MISSING, (group, name, created_ms))
            return cursor.rowcount == 1

    def delete_stream(self, group: str, name: str) -> bool:
        with self._lock:
            self._db.execute("BEGIN")
            cursor = self._db.execute(
                "DELETE FROM log_streams WHERE log_group = ? AND name = ?", (group, name)
            )
            self._db.execute(
                "DELETE FROM log_events WHERE log_group = ? AND log_stream = ?", (group, name)
            )
            self._db.execute("COMMIT")
            return cursor.rowcount == 1

    def list_streams(self, group: str) -> list[LogStream]:
        with self._lock:
            rows = self._db.execute(
                "SELECT log_group, name, created_ms, first_event_ms, last_event_ms, "
                "last_ingestion_ms, stored_bytes FROM log_streams WHERE log_group = ? "
                "ORDER BY name",
                (group,),
            ).fetchall()
        return [LogStream(*row) for row in rows]

    def expire(self, now_ms: int) -> int:
        with self._lock:
            groups = self._db.execute(
                "SELECT name, retention_days FROM log_groups WHERE retention_days IS NOT NULL"
            ).fetchall()
            removed = 0
            for name, days in groups:
                cursor = self._db.execute(
                    "DELETE FROM log_events WHERE log_group = ? AND timestamp_ms < ?",
                    (name, now_ms - days * _DAY_MS),
                )
                removed += cursor.rowcount
            return removed

    def close(self) -> None:
        with self._lock:
            self._db.close()


class MemoryLogStore:
    def counts(self) -> LogCounts:
        return LogCounts(bytes=sum(len(e.message) for e in self._events))

    def __init__(self) -> None:
        self._events: list[LogEvent] = []
        self._groups: dict[str, LogGroup] = {}
        self._streams: dict[tuple[str, str], LogStream] = {}
        self._next_id = 1

    def append(self, events: Sequence[NewEvent]) -> None:
        ingested = _now_ms()
        for (group, stream), (first, last, size) in _summaries(events).items():
            self._groups.setdefault(group, LogGroup(group, ingested))
            known = self._streams.setdefault((group, stream), LogStream(group, stream, ingested))
            self._streams[(group, stream)] = replace(
                known,
                first_event_ms=min(first, known.first_event_ms or first),
                last_event_ms=max(last, known.last_event_ms or last),
                last_ingestion_ms=ingested,
                stored_bytes=known.stored_bytes + size,
            )
        for group, stream, timestamp, message in events:
            self._events.append(
                LogEvent(self._next_id, group, stream, timestamp, message, ingested)
            )
            self._next_id += 1

    def read(
        self,
        group: str,
        *,
        stream: str | None = None,
        start_ms: int = 0,
        end_ms: int = END_OF_TIME,
        after: Position | None = None,
        before: Position | None = None,
        newest_first: bool = False,
        limit: int = 1000,
    ) -> list[LogEvent]:
        found = sorted(
            (
                e
                for e in self._events
                if e.group == group
                and (stream is None or e.stream == stream)
                and start_ms <= e.timestamp_ms < end_ms
                and (after is None or e.position > after)
                and (before is None or e.position < before)
            ),
            key=lambda e: e.position,
            reverse=newest_first,
        )
        return found[:limit]

    def create_group(self, group: LogGroup) -> bool:
        if group.name in self._groups:
            return False
        self._groups[group.name] = group
        return True

    def delete_group(self, name: str) -> bool:
        if self._groups.pop(name, None) is None:
            return False
        self._streams = {k: v for k, v in self._streams.items() if k[0] != name}
        self._events = [e for e in self._events if e.group != name]
        return True

    def get_group(self, name: str) -> LogGroup | None:
        group = self._groups.get(name)
        if group is None:
            return None
        size = sum(s.stored_bytes for (g, _), s in self._streams.items() if g == name)
        return replace(group, stored_bytes=size)

    def list_groups(self, prefix: str = "") -> list[LogGroup]:
        return [
            g
            for name in sorted(self._groups)
            if name.startswith(prefix) and (g := self.get_group(name)) is not None
        ]

    def update_group(self, group: LogGroup) -> None:
        if group.name in self._groups:
            self._groups[group.name] = group

    def create_stream(self, group: str, name: str, created_ms: int) -> bool:
        if (group, name) in self._streams:
            return False
        self._streams[(group, name)] = LogStream(group, name, created_ms)
        return True

    def delete_stream(self, group: str, name: str) -> bool:
        if self._streams.pop((group, name), None) is None:
            return False
        self._events = [e for e in self._events if (e.group, e.stream) != (group, name)]
        return True

    def list_streams(self, group: str) -> list[LogStream]:
        return [s for (g, n), s in sorted(self._streams.items()) if g == group]

    def expire(self, now_ms: int) -> int:
        before = len(self._events)
        retention = {n: g.retention_days for n, g in self._groups.items() if g.retention_days}
        self._events = [
            e
            for e in self._events
            if e.group not in retention
            or e.timestamp_ms >= now_ms - (retention[e.group] or 0) * _DAY_MS
        ]
        return before - len(self._events)

    def close(self) -> None:
        pass
