"""One contract for both log stores: order by position, groups and streams made on append,
deletes that take their events, retention."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from hearth.logs.store import LogGroup, LogStore, MemoryLogStore, SqliteLogStore

DAY = 86_400_000
# Recent times: the store's own bound (30 days by default) would prune 1970's at once.
T = int(time.time() * 1000) - DAY


@pytest.fixture(params=["memory", "sqlite"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[LogStore]:
    made: LogStore = (
        MemoryLogStore() if request.param == "memory" else SqliteLogStore(tmp_path / "l.db")
    )
    yield made
    made.close()


def test_append_creates_groups_and_streams(store: LogStore) -> None:
    store.append([("/g", "s1", T + 200, "b"), ("/g", "s2", T + 100, "a"), ("/h", "s", T, "x")])
    assert [g.name for g in store.list_groups()] == ["/g", "/h"]
    assert [g.name for g in store.list_groups("/g")] == ["/g"]
    streams = store.list_streams("/g")
    assert [(s.name, s.first_event_ms, s.last_event_ms) for s in streams] == [
        ("s1", T + 200, T + 200),
        ("s2", T + 100, T + 100),
    ]
    assert streams[0].stored_bytes == 1 + 26
    group = store.get_group("/g")
    assert group is not None and group.stored_bytes == 2 * 27


def test_reads_are_ordered_by_timestamp_then_arrival(store: LogStore) -> None:
    store.append([("/g", "s", T + 300, "c"), ("/g", "s", T + 100, "a"), ("/g", "t", T + 100, "a2")])
    store.append([("/g", "s", T + 200, "b")])
    assert [e.message for e in store.read("/g")] == ["a", "a2", "b", "c"]
    assert [e.message for e in store.read("/g", stream="s")] == ["a", "b", "c"]
    first = store.read("/g", limit=2)
    assert [e.message for e in store.read("/g", after=first[-1].position)] == ["b", "c"]
    newest = store.read("/g", newest_first=True, limit=2)
    assert [e.message for e in newest] == ["c", "b"]
    older = store.read("/g", before=newest[-1].position, newest_first=True)
    assert [e.message for e in older] == ["a2", "a"]
    assert [e.message for e in store.read("/g", start_ms=T + 150, end_ms=T + 300)] == ["b"]


def test_deletes_take_their_events(store: LogStore) -> None:
    store.append([("/g", "s", T + 1, "a"), ("/g", "t", T + 2, "b")])
    assert store.delete_stream("/g", "s") and not store.delete_stream("/g", "s")
    assert [e.message for e in store.read("/g")] == ["b"]
    assert store.delete_group("/g") and not store.delete_group("/g")
    assert store.read("/g") == [] and store.list_streams("/g") == []
    assert store.create_group(LogGroup("/g", 5)) and not store.create_group(LogGroup("/g", 6))
    assert store.create_stream("/g", "s", 7) and not store.create_stream("/g", "s", 8)


def test_retention_expires_only_old_events(store: LogStore) -> None:
    now = T + DAY
    store.append([("/g", "s", now - 3 * DAY, "old"), ("/g", "s", now, "new")])
    store.append([("/h", "s", now - 20 * DAY, "kept: no retention")])
    group = store.get_group("/g")
    assert group is not None
    store.update_group(LogGroup("/g", group.created_ms, retention_days=1, tags={"a": "b"}))
    assert store.expire(now) == 1
    assert [e.message for e in store.read("/g")] == ["new"]
    assert len(store.read("/h")) == 1
    updated = store.get_group("/g")
    assert updated is not None and updated.tags == {"a": "b"} and updated.retention_days == 1
