"""The registry as KV keys (cluster mode): key parts, the writes a transaction makes, and
a node's replica applying commits."""

from __future__ import annotations

import time

import pytest

from hearth.cluster.keys import Replica, changes, segment, to_keys
from hearth.cluster.link import NatsLink, NatsUnavailable
from hearth.cluster.local import free_port
from hearth.store.memory import MemoryTransaction, RegistryState
from tests.unit.test_registry_contract import function_record, function_version


def test_segments_keep_lambda_names_and_escape_the_rest() -> None:
    assert segment("my-function_1") == "my-function_1"
    assert segment("$LATEST") == "=24LATEST"
    assert segment("") == "="
    assert segment("=") == "=3D"  # never the empty part's "="
    assert segment("a.b") == "a=2Eb"  # the separator cannot appear inside a part
    assert segment("é") == "=C3=A9"


def test_changes_are_the_records_put_and_removed() -> None:
    before = RegistryState()
    tx = MemoryTransaction(before.copy())
    tx.put_function(function_record("f"))
    tx.put_version(function_version("f", "$LATEST"))
    after = tx.state
    writes = changes(before, after)
    assert set(writes) == {"fn.f", "ver.f.=24LATEST"}
    assert all(value is not None for value in writes.values())
    # Putting the same record again changes nothing; deleting the function removes both.
    again = MemoryTransaction(after.copy())
    again.put_function(function_record("f"))
    assert changes(after, again.state) == {}
    gone = MemoryTransaction(after.copy())
    gone.delete_function("f")
    assert changes(after, gone.state) == {"fn.f": None, "ver.f.=24LATEST": None}


def test_a_replica_applies_commits_whole_and_ignores_unknown_kinds() -> None:
    source = MemoryTransaction(RegistryState())
    source.put_function(function_record("f"))
    source.put_version(function_version("f", "1"))
    replica = Replica()
    replica.apply({**to_keys(source.state), "future.x": "{}", "_commit": "{}"})
    assert replica.state.functions == source.state.functions
    assert set(replica.state.versions) == {("f", "1")}
    held = replica.state
    replica.apply({"ver.f.1": None})
    assert replica.state.versions == {}
    assert set(held.versions) == {("f", "1")}  # a reader's state is never changed under it


def test_an_absent_nats_is_refused_quickly() -> None:
    started = time.monotonic()
    with pytest.raises(NatsUnavailable, match=r"cannot reach NATS at nats://127\.0\.0\.1:"):
        NatsLink((f"nats://127.0.0.1:{free_port()}",), "test")
    assert time.monotonic() - started < 5


def test_limits_are_split_between_the_live_nodes_and_add_up() -> None:
    from hearth.cluster.node import share_limits
    from hearth.invoke.leases import Limits

    limits = Limits(1000, {"f": 5, "none": 0}, {("f", "1"): 2})
    nodes = ["b", "a", "c"]
    parts = [share_limits(limits, nodes, me) for me in sorted(nodes)]
    assert [p.account for p in parts] == [334, 333, 333]
    assert [p.reserved["f"] for p in parts] == [2, 2, 1]
    assert all(p.reserved["none"] == 0 for p in parts)  # a zero reservation stays off
    assert all(p.provisioned == {("f", "1"): 2} for p in parts)
    # A node not (yet) in the list counts itself in.
    assert share_limits(limits, [], "a").account == 1000
