"""A Registry that tells listeners after each of its transactions that wrote, and the
read-only view the invoke path is given.

The control plane writes through `NotifyingRegistry`; readers that cache (the invoke path,
the async configs, the provisioner) subscribe and drop their cache. A transaction that only
read (GetFunction, ListFunctions, ...) tells nobody, so reads never flush those caches. The
cachers themselves get `reader()`: a view that can only read, so nothing wired to it can
write past the notifications.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager

from hearth.models import (
    Alias,
    EventSourceMapping,
    FunctionRecord,
    FunctionUrlConfig,
    FunctionVersion,
    LayerRecord,
    LayerVersion,
)
from hearth.store.registry import Registry, RegistryReader, RegistryReads, RegistryTransaction


class NotifyingRegistry:
    def __init__(self, inner: Registry, reads: Registry | None = None) -> None:
        """`reads`: where `reader()` reads, if not `inner` (cluster mode: the node's replica,
        read without taking the cluster's lease)."""
        self._inner = inner
        self._reads = reads or inner
        self._listeners: list[Callable[[], None]] = []

    def subscribe(self, listener: Callable[[], None]) -> None:
        self._listeners.append(listener)

    def transaction(self) -> AbstractContextManager[RegistryTransaction]:
        return self._notify_after()

    def reader(self) -> RegistryReader:
        """A view of the same registry that can only read (and so never needs to notify)."""
        return ReadOnlyRegistry(self._reads)

    def changed(self) -> None:
        """Tell the listeners of a change made elsewhere (another node's commit)."""
        for listener in self._listeners:
            listener()

    @contextmanager
    def _notify_after(self) -> Iterator[RegistryTransaction]:
        with self._inner.transaction() as tx:
            recording = _RecordingTransaction(tx)
            yield recording
        if recording.wrote:
            self.changed()

    def close(self) -> None:
        self._inner.close()


class ReadOnlyRegistry:
    """Reads of a registry; its transactions offer no write methods at all."""

    def __init__(self, inner: Registry) -> None:
        self._inner = inner

    @contextmanager
    def transaction(self) -> Iterator[RegistryReads]:
        with self._inner.transaction() as tx:
            yield _Reads(tx)


class _Reads:
    """Only the reads of a transaction (an object without put_* / delete_* methods, so a write
    fails loudly even where types are not checked)."""

    def __init__(self, tx: RegistryReads) -> None:
        self._tx = tx

    def get_function(self, name: str) -> FunctionRecord | None:
        return self._tx.get_function(name)

    def list_functions(self) -> list[FunctionRecord]:
        return self._tx.list_functions()

    def get_version(self, function_name: str, version: str) -> FunctionVersion | None:
        return self._tx.get_version(function_name, version)

    def list_versions(self, function_name: str) -> list[FunctionVersion]:
        return self._tx.list_versions(function_name)

    def get_alias(self, function_name: str, alias_name: str) -> Alias | None:
        return self._tx.get_alias(function_name, alias_name)

    def list_aliases(self, function_name: str) -> list[Alias]:
        return self._tx.list_aliases(function_name)

    def get_function_url(self, function_name: str, qualifier: str) -> FunctionUrlConfig | None:
        return self._tx.get_function_url(function_name, qualifier)

    def find_function_url(self, url_id: str) -> FunctionUrlConfig | None:
        return self._tx.find_function_url(url_id)

    def list_function_urls(self, function_name: str) -> list[FunctionUrlConfig]:
        return self._tx.list_function_urls(function_name)

    def get_layer(self, name: str) -> LayerRecord | None:
        return self._tx.get_layer(name)

    def list_layers(self) -> list[LayerRecord]:
        return self._tx.list_layers()

    def get_layer_version(self, layer_name: str, version: int) -> LayerVersion | None:
        return self._tx.get_layer_version(layer_name, version)

    def list_layer_versions(self, layer_name: str) -> list[LayerVersion]:
        return self._tx.list_layer_versions(layer_name)

    def get_mapping(self, uuid: str) -> EventSourceMapping | None:
        return self._tx.get_mapping(uuid)

    def list_mappings(self) -> list[EventSourceMapping]:
        return self._tx.list_mappings()

    def code_digests_in_use(self) -> set[str]:
        return self._tx.code_digests_in_use()


class _RecordingTransaction(_Reads):
    """A transaction that remembers whether anything was written through it."""

    def __init__(self, tx: RegistryTransaction) -> None:
        super().__init__(tx)
        self._writes = tx
        self.wrote = False

    def _write(self) -> RegistryTransaction:
        self.wrote = True
        return self._writes

    def put_function(self, record: FunctionRecord) -> None:
        self._write().put_function(record)

    def delete_function(self, name: str) -> None:
        self._write().delete_function(name)

    def put_version(self, version: FunctionVersion) -> None:
        self._write().put_version(version)

    def delete_version(self, function_name: str, version: str) -> None:
        self._write().delete_version(function_name, version)

    def put_alias(self, alias: Alias) -> None:
        self._write().put_alias(alias)

    def delete_alias(self, function_name: str, alias_name: str) -> None:
        self._write().delete_alias(function_name, alias_name)

    def put_function_url(self, config: FunctionUrlConfig) -> None:
        self._write().put_function_url(config)

    def delete_function_url(self, function_name: str, qualifier: str) -> None:
        self._write().delete_function_url(function_name, qualifier)

    def put_layer(self, record: LayerRecord) -> None:
        self._write().put_layer(record)

    def put_layer_version(self, version: LayerVersion) -> None:
        self._write().put_layer_version(version)

    def delete_layer_version(self, layer_name: str, version: int) -> None:
        self._write().delete_layer_version(layer_name, version)

    def put_mapping(self, mapping: EventSourceMapping) -> None:
        self._write().put_mapping(mapping)

    def delete_mapping(self, uuid: str) -> None:
        self._write().delete_mapping(uuid)
