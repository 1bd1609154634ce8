"""Where log events are kept: log group → log stream → events, in arrival order.

`SqliteLogStore` keeps them in their own database file (logs are written far more often than
the registry); `MemoryLogStore` is the fake. Both give every event an increasing id, so a
reader can follow a group by asking for events after the last id it saw.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol


@dataclass(frozen=True)
class LogEvent:
    id: int
    group: str
    stream: str
    timestamp_ms: int
    message: str


class LogStore(Protocol):
    def append(self, events: Sequence[tuple[str, str, int, str]]) -> None:
        """Store (group, stream, timestamp_ms, message) tuples atomically, in order."""
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
"""
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
    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        self._db = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        # WAL + NORMAL: a committed batch survives a crash of the process (not of the host).
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.executescript(_SCHEMA)

    def append(self, events: Sequence[tuple[str, str, int, str]]) -> None:
        if not events:
            return
        with self._lock:
            self._db.execute("BEGIN")
            try:
                self._db.executemany(_INSERT, events)
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")

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
