"""Stream positions: the last sequence number of each shard whose batch has settled.

`Positions` guarantees: a `commit` has returned only once it is durable (SqlitePositions:
in the WAL, so a kill -9 keeps it); `get` returns the last committed value. A poller commits
after a batch settled (succeeded, sent to its OnFailure destination, or dropped by age), so a
crash at any point replays at most the batch in flight: at least once, as on AWS.
`SHARD_END` marks a shard read to its end (its children may start).
"""

from __future__ import annotations

import sqlite3
import threading
from pathlib import Path
from typing import Protocol

SHARD_END = "SHARD_END"


class Positions(Protocol):
    def get(self, mapping: str, shard: str) -> str | None: ...

    def commit(self, mapping: str, shard: str, sequence: str) -> None: ...

    def forget(self, mapping: str) -> None:
        """Drop every position of a deleted mapping."""
        ...

    def close(self) -> None: ...


class MemoryPositions:
    def __init__(self) -> None:
        self._data: dict[tuple[str, str], str] = {}

    def get(self, mapping: str, shard: str) -> str | None:
        return self._data.get((mapping, shard))

    def commit(self, mapping: str, shard: str, sequence: str) -> None:
        self._data[mapping, shard] = sequence

    def forget(self, mapping: str) -> None:
        self._data = {k: v for k, v in self._data.items() if k[0] != mapping}

    def close(self) -> None:
        pass


class SqlitePositions:
    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self._conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        self._lock = threading.Lock()
        # WAL + synchronous=NORMAL: a commit survives a process crash (kill -9) once returned.
        self._conn.execute("PRAGMA journal_mode = WAL")
        self._conn.execute("PRAGMA synchronous = NORMAL")
        self._conn.execute(
            """CREATE TABLE IF NOT EXISTS positions (
                mapping TEXT NOT NULL,
                shard TEXT NOT NULL,
                sequence TEXT NOT NULL,
                PRIMARY KEY (mapping, shard)
            )"""
        )

    def get(self, mapping: str, shard: str) -> str | None:
        with self._lock:
            row = self._conn.execute(
                "SELECT sequence FROM positions WHERE mapping = ? AND shard = ?", (mapping, shard)
            ).fetchone()
        return None if row is None else str(row[0])

    def commit(self, mapping: str, shard: str, sequence: str) -> None:
        with self._lock:
            self._conn.execute(
                """INSERT INTO positions (mapping, shard, sequence) VALUES (?, ?, ?)
                ON CONFLICT (mapping, shard) DO UPDATE SET sequence = excluded.sequence""",
                (mapping, shard, sequence),
            )

    def forget(self, mapping: str) -> None:
        with self._lock:
            self._conn.execute("DELETE FROM positions WHERE mapping = ?", (mapping,))

    def close(self) -> None:
        with self._lock:
            self._conn.close()
