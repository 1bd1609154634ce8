"""Where metrics are kept: one row per (namespace, metric, dimensions, minute), for at least
15 days, in their own SQLite file in the data dir. `MemoryMetricStore` is the fake."""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from hearth.metrics.series import Aggregate

RETENTION_SECONDS = 15 * 86_400
Dimensions = tuple[tuple[str, str], ...]  # sorted (name, value) pairs


@dataclass(frozen=True)
class MetricKey:
    namespace: str
    name: str
    dimensions: Dimensions


@dataclass(frozen=True)
class Point:
    key: MetricKey
    minute: int  # epoch seconds, a multiple of 60
    unit: str
    aggregate: Aggregate


class MetricStore(Protocol):
    """Guarantees: `add` merges into what a minute already holds (adding twice counts twice);
    `read` returns a key's minutes in [start, end) in time order; `expire` drops minutes
    older than its cut-off and nothing newer."""

    def add(self, points: Sequence[Point]) -> None: ...

    def read(self, key: MetricKey, start: int, end: int) -> list[Point]: ...

    def keys(self, since: int = 0) -> list[MetricKey]:
        """Every key with a minute at or after `since`."""
        ...

    def expire(self, before: int) -> None: ...

    def close(self) -> None: ...


def _dims(text: str) -> Dimensions:
    return tuple((k, v) for k, v in json.loads(text))


def _encode(aggregate: Aggregate) -> str:
    return json.dumps(
        [aggregate.count, aggregate.total, aggregate.minimum, aggregate.maximum,
         sorted(aggregate.histogram.items())]
    )  # fmt: skip


def _decode(text: str) -> Aggregate:
    count, total, low, high, histogram = json.loads(text)
    return Aggregate(count, total, low, high, {int(k): c for k, c in histogram})


_SCHEMA = """
CREATE TABLE IF NOT EXISTS datapoints (
    namespace TEXT NOT NULL,
    name TEXT NOT NULL,
    dimensions TEXT NOT NULL,
    minute INTEGER NOT NULL,
    unit TEXT NOT NULL,
    aggregate TEXT NOT NULL,
    PRIMARY KEY (namespace, name, dimensions, minute)
);
CREATE INDEX IF NOT EXISTS datapoints_by_minute ON datapoints (minute);
"""


class SqliteMetricStore:
    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        self._db = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.executescript(_SCHEMA)

    def add(self, points: Sequence[Point]) -> None:
        if not points:
            return
        with self._lock:
            self._db.execute("BEGIN")
            try:
                for point in points:
                    row = (
                        point.key.namespace,
                        point.key.name,
                        json.dumps(point.key.dimensions),
                        point.minute,
                    )
                    found = self._db.execute(
                        "SELECT aggregate FROM datapoints WHERE namespace = ? AND name = ? "
                        "AND dimensions = ? AND minute = ?",
                        row,
                    ).fetchone()
                    aggregate = Aggregate()
                    if found is not None:
                        aggregate.merge(_decode(found[0]))
                    aggregate.merge(point.aggregate)
                    self._db.execute(
                        "INSERT OR REPLACE INTO datapoints VALUES (?, ?, ?, ?, ?, ?)",
                        (*row, point.unit, _encode(aggregate)),
                    )
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")

    def read(self, key: MetricKey, start: int, end: int) -> list[Point]:
        with self._lock:
            rows = self._db.execute(
                "SELECT minute, unit, aggregate FROM datapoints WHERE namespace = ? AND name = ? "
                "AND dimensions = ? AND minute >= ? AND minute < ? ORDER BY minute",
                (key.namespace, key.name, json.dumps(key.dimensions), start, end),
            ).fetchall()
        return [Point(key, minute, unit, _decode(text)) for minute, unit, text in rows]

    def keys(self, since: int = 0) -> list[MetricKey]:
        with self._lock:
            rows = self._db.execute(
                "SELECT DISTINCT namespace, name, dimensions FROM datapoints WHERE minute >= ? "
                "ORDER BY namespace, name, dimensions",
                (since,),
            ).fetchall()
        return [MetricKey(n, m, _dims(d)) for n, m, d in rows]

    def expire(self, before: int) -> None:
        with self._lock:
            self._db.execute("DELETE FROM datapoints WHERE minute < ?", (before,))

    def close(self) -> None:
        with self._lock:
            self._db.close()


class MemoryMetricStore:
    def __init__(self) -> None:
        self._points: dict[tuple[MetricKey, int], Point] = {}

    def add(self, points: Sequence[Point]) -> None:
        for point in points:
            known = self._points.get((point.key, point.minute))
            aggregate = Aggregate()
            if known is not None:
                aggregate.merge(known.aggregate)
            aggregate.merge(point.aggregate)
            self._points[(point.key, point.minute)] = Point(
                point.key, point.minute, point.unit, aggregate
            )

    def read(self, key: MetricKey, start: int, end: int) -> list[Point]:
        return sorted(
            (p for (k, m), p in self._points.items() if k == key and start <= m < end),
            key=lambda p: p.minute,
        )

    def keys(self, since: int = 0) -> list[MetricKey]:
        found: Iterable[MetricKey] = {k for (k, m) in self._points if m >= since}
        return sorted(found, key=lambda k: (k.namespace, k.name, k.dimensions))

    def expire(self, before: int) -> None:
        self._points = {k: p for k, p in self._points.items() if k[1] >= before}

    def close(self) -> None:
        pass
