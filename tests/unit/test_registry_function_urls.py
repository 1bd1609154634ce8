"""The `Registry` contract for function URLs, run against every adapter."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest

from hearth.models import FunctionRecord, FunctionUrlConfig
from hearth.store.memory import MemoryRegistry
from hearth.store.registry import Registry
from hearth.store.sqlite import SqliteRegistry


@pytest.fixture(params=["memory", "sqlite"])
def registry(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Registry]:
    adapter: Registry = (
        MemoryRegistry() if request.param == "memory" else SqliteRegistry(tmp_path / "r.sqlite3")
    )
    yield adapter
    adapter.close()


def url(
    function_name: str = "fn", qualifier: str = "", url_id: str = "a" * 32
) -> FunctionUrlConfig:
    return FunctionUrlConfig(
        url_id=url_id,
        function_name=function_name,
        qualifier=qualifier,
        auth_type="NONE",
        creation_time="2026-01-01T00:00:00.000000Z",
        last_modified_time="2026-01-01T00:00:00.000000Z",
    )


def test_function_url_round_trips_every_field(registry: Registry) -> None:
    rich = replace(
        url(),
        auth_type="AWS_IAM",
        invoke_mode="RESPONSE_STREAM",
        invoke_mode_set=True,
        cors={"AllowOrigins": ["*"], "MaxAge": 10, "AllowCredentials": True},
    )
    with registry.transaction() as tx:
        tx.put_function_url(rich)
    with registry.transaction() as tx:
        assert tx.get_function_url("fn", "") == rich
        assert tx.find_function_url("a" * 32) == rich
        assert tx.get_function_url("fn", "live") is None
        assert tx.find_function_url("b" * 32) is None


def test_put_function_url_replaces_and_lists_sorted(registry: Registry) -> None:
    with registry.transaction() as tx:
        tx.put_function_url(url("fn", "live", "l" * 32))
        tx.put_function_url(url("fn", "", "u" * 32))
        tx.put_function_url(url("other", "", "o" * 32))
        tx.put_function_url(replace(url("fn", "live", "l" * 32), auth_type="AWS_IAM"))
    with registry.transaction() as tx:
        listed = tx.list_function_urls("fn")
        assert [(u.qualifier, u.auth_type) for u in listed] == [("", "NONE"), ("live", "AWS_IAM")]
        assert [u.url_id for u in tx.list_function_urls("other")] == ["o" * 32]


def test_url_ids_are_unique(registry: Registry) -> None:
    with registry.transaction() as tx:
        tx.put_function_url(url("fn", "", "x" * 32))
    with pytest.raises((ValueError, sqlite3.IntegrityError)), registry.transaction() as tx:
        tx.put_function_url(url("other", "", "x" * 32))
    with registry.transaction() as tx:
        assert tx.list_function_urls("other") == []


def test_delete_function_url_and_cascade(registry: Registry) -> None:
    with registry.transaction() as tx:
        tx.put_function(FunctionRecord(name="fn", created="now"))
        tx.put_function_url(url("fn", "", "u" * 32))
        tx.put_function_url(url("fn", "live", "l" * 32))
        tx.put_function_url(url("other", "", "o" * 32))
    with registry.transaction() as tx:
        tx.delete_function_url("fn", "live")
        tx.delete_function_url("fn", "absent")
    with registry.transaction() as tx:
        assert tx.find_function_url("l" * 32) is None
        assert tx.find_function_url("u" * 32) is not None
        tx.delete_function("fn")
    with registry.transaction() as tx:
        assert tx.list_function_urls("fn") == []
        assert tx.find_function_url("u" * 32) is None
        assert tx.find_function_url("o" * 32) is not None


def test_a_raising_block_keeps_no_url(registry: Registry) -> None:
    with pytest.raises(RuntimeError), registry.transaction() as tx:
        tx.put_function_url(url())
        raise RuntimeError
    with registry.transaction() as tx:
        assert tx.find_function_url("a" * 32) is None


def test_schema_1_file_gains_the_url_table(tmp_path: Path) -> None:
    path = tmp_path / "old.sqlite3"
    conn = sqlite3.connect(path)
    conn.execute("CREATE TABLE functions (name TEXT PRIMARY KEY, data TEXT NOT NULL)")
    conn.execute("PRAGMA user_version = 1")
    conn.commit()
    conn.close()
    registry = SqliteRegistry(path)
    with registry.transaction() as tx:
        tx.put_function_url(url())
    with registry.transaction() as tx:
        assert tx.find_function_url("a" * 32) == url()
    registry.close()
