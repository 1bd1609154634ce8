"""NotifyingRegistry tells its listeners after a transaction that wrote, never after reads, and
its reader() view cannot write at all."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from hearth.models import Alias
from hearth.store.memory import MemoryRegistry
from hearth.store.notifying import NotifyingRegistry
from hearth.store.qualifiers import resolve_routing, resolve_version, version_of
from hearth.store.registry import RegistryTransaction
from tests.unit.factories import put_function


@pytest.fixture
def registry() -> NotifyingRegistry:
    return NotifyingRegistry(MemoryRegistry())


def counting(registry: NotifyingRegistry) -> list[int]:
    calls: list[int] = []
    registry.subscribe(lambda: calls.append(1))
    return calls


def test_a_write_notifies_once_after_it_commits(registry: NotifyingRegistry) -> None:
    calls = counting(registry)
    with registry.transaction() as tx:
        tx.delete_function("nothing")  # a write, even one that changes nothing
        assert calls == []  # not before the commit
    assert calls == [1]


def test_reads_notify_nobody(registry: NotifyingRegistry) -> None:
    put_function(registry, "f")
    calls = counting(registry)
    with registry.transaction() as tx:
        assert tx.get_function("f") is not None
        tx.list_functions()
        tx.list_versions("f")
        tx.get_alias("f", "live")
        tx.list_layers()
        tx.code_digests_in_use()
    assert calls == []


def test_a_transaction_that_raises_notifies_nobody(registry: NotifyingRegistry) -> None:
    calls = counting(registry)
    with pytest.raises(RuntimeError), registry.transaction() as tx:
        tx.delete_function("f")
        raise RuntimeError
    assert calls == []


def test_every_write_method_counts(registry: NotifyingRegistry) -> None:
    put_function(registry, "f")
    with registry.transaction() as tx:
        record = tx.get_function("f")
        version = tx.get_version("f", "1")
    assert record is not None and version is not None
    alias = Alias("f", "live", "1", "rev")
    writes: list[Callable[[RegistryTransaction], None]] = [
        lambda tx: tx.put_function(record),
        lambda tx: tx.put_version(version),
        lambda tx: tx.put_alias(alias),
        lambda tx: tx.delete_alias("f", "live"),
        lambda tx: tx.delete_version("f", "2"),
        lambda tx: tx.delete_layer_version("l", 1),
        lambda tx: tx.delete_function("g"),
    ]
    calls = counting(registry)
    for write in writes:
        with registry.transaction() as tx:
            write(tx)
    assert len(calls) == len(writes)


def test_the_reader_reads_the_same_registry_and_cannot_write(
    registry: NotifyingRegistry,
) -> None:
    put_function(registry, "f")
    calls = counting(registry)
    reader = registry.reader()
    with reader.transaction() as tx:
        assert [f.name for f in tx.list_functions()] == ["f"]
        assert not hasattr(tx, "put_function")
        assert not hasattr(tx, "delete_function")
    assert calls == []


def test_one_resolver_of_qualifiers(registry: NotifyingRegistry) -> None:
    put_function(registry, "f", versions=2)
    with registry.transaction() as tx:
        tx.put_alias(Alias("f", "live", "1", "rev", routing_weights={"2": 0.25}))
    with registry.reader().transaction() as tx:
        assert version_of(tx, "f", "live") == "1"
        assert version_of(tx, "f", "2") == "2"
        assert version_of(tx, "f", "gone") is None
        found = resolve_version(tx, "f", None)
        assert found is not None and found.version == "$LATEST"
        target, weights = resolve_routing(tx, "f", "live")
        assert target is not None and target.version == "1"
        assert [(v.version, w) for v, w in weights] == [("2", 0.25)]
        assert resolve_routing(tx, "f", "gone") == (None, ())
