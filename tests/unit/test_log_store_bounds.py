"""The log store's retention and size bounds, with a clock the test moves."""

from __future__ import annotations

from pathlib import Path

from hearth.logs.store import PRUNE_INTERVAL_SECONDS, SqliteLogStore


class Clock:
    def __init__(self) -> None:
        self.now = 1_000_000.0

    def __call__(self) -> float:
        return self.now


def test_events_older_than_the_retention_are_deleted_and_counted(tmp_path: Path) -> None:
    clock = Clock()
    store = SqliteLogStore(tmp_path / "logs.sqlite3", retention_seconds=60, clock=clock)
    old_ms = int(clock.now * 1000)
    store.append([("g", "s", old_ms, f"old {n}") for n in range(5)])
    clock.now += 61 + PRUNE_INTERVAL_SECONDS
    store.append([("g", "s", int(clock.now * 1000), "new")])
    assert [e.message for e in store.read("g")] == ["new"]
    assert store.counts().dropped_retention == 5
    store.close()


def test_the_oldest_events_go_when_the_store_is_over_its_size(tmp_path: Path) -> None:
    clock = Clock()
    store = SqliteLogStore(tmp_path / "logs.sqlite3", max_bytes=256 * 1024, clock=clock)
    for batch in range(40):
        now_ms = int(clock.now * 1000)
        store.append([("g", "s", now_ms, f"{batch} " + "x" * 1000) for _ in range(20)])
        clock.now += PRUNE_INTERVAL_SECONDS
    counts = store.counts()
    assert counts.dropped_size > 0
    assert counts.bytes <= 300 * 1024, counts
    kept = store.read("g", limit=10_000)
    assert kept[-1].message.startswith("39 ")  # the newest stay
    assert len(kept) + counts.dropped_size == 800
    store.close()
