"""The registry: where functions, versions, aliases, function URLs, layers and event source
mappings are kept.

Every change happens inside `Registry.transaction()`: the reads and writes made through the
`RegistryTransaction` it yields are applied all together when the block exits normally, and
not at all when it raises. Transactions are serialized (one writer at a time), so a
read-check-write inside one block is safe under concurrent API calls. The service layer puts
its preconditions (RevisionId, "already exists") inside the same block as the write.

Adapters: `SqliteRegistry` (durable; survives restarts and kill -9) and `MemoryRegistry`
(the fake for tests). Both pass `tests/unit/test_registry_contract.py`.
"""

from __future__ import annotations

from contextlib import AbstractContextManager
from typing import Protocol

from hearth.models import (
    Alias,
    EventSourceMapping,
    FunctionRecord,
    FunctionUrlConfig,
    FunctionVersion,
    LayerRecord,
    LayerVersion,
)


class RegistryReads(Protocol):
    """The reads of a transaction; they see its own earlier writes. Lists are sorted as
    documented."""

    # Functions ------------------------------------------------------------------------
    def get_function(self, name: str) -> FunctionRecord | None: ...

    def list_functions(self) -> list[FunctionRecord]:
        """All functions, sorted by name."""
        ...

    # Versions ($LATEST and published) ---------------------------------------------------
    def get_version(self, function_name: str, version: str) -> FunctionVersion | None: ...

    def list_versions(self, function_name: str) -> list[FunctionVersion]:
        """`$LATEST` first, then published versions in ascending numeric order."""
        ...

    # Aliases ---------------------------------------------------------------------------
    def get_alias(self, function_name: str, alias_name: str) -> Alias | None: ...

    def list_aliases(self, function_name: str) -> list[Alias]:
        """Sorted by alias name."""
        ...

    # Function URLs ---------------------------------------------------------------------
    def get_function_url(self, function_name: str, qualifier: str) -> FunctionUrlConfig | None:
        """The URL of a function ("" qualifier) or of one of its aliases."""
        ...

    def find_function_url(self, url_id: str) -> FunctionUrlConfig | None:
        """The URL with this id, whatever function it belongs to."""
        ...

    def list_function_urls(self, function_name: str) -> list[FunctionUrlConfig]:
        """Sorted by qualifier, so the unqualified function's URL comes first."""
        ...

    # Layers ----------------------------------------------------------------------------
    def get_layer(self, name: str) -> LayerRecord | None: ...

    def list_layers(self) -> list[LayerRecord]:
        """Sorted by name."""
        ...

    def get_layer_version(self, layer_name: str, version: int) -> LayerVersion | None: ...

    def list_layer_versions(self, layer_name: str) -> list[LayerVersion]:
        """Newest (highest version) first, as AWS lists them."""
        ...

    # Event source mappings -------------------------------------------------------------
    def get_mapping(self, uuid: str) -> EventSourceMapping | None: ...

    def list_mappings(self) -> list[EventSourceMapping]:
        """All mappings, sorted by UUID. Deleting a function leaves its mappings (as AWS)."""
        ...

    # Code ------------------------------------------------------------------------------
    def code_digests_in_use(self) -> set[str]:
        """Every code SHA-256 (hex) referenced by a function version, a layer version, or a
        layer attached to a function version (which keeps working after the layer version
        itself is deleted, as on AWS)."""
        ...


class RegistryTransaction(RegistryReads, Protocol):
    """Reads and writes, applied together when the transaction's block exits normally."""

    # Functions ------------------------------------------------------------------------
    def put_function(self, record: FunctionRecord) -> None:
        """Insert or replace."""
        ...

    def delete_function(self, name: str) -> None:
        """Remove the function with all its versions, aliases and function URLs. No error if
        absent."""
        ...

    # Versions ($LATEST and published) ---------------------------------------------------
    def put_version(self, version: FunctionVersion) -> None:
        """Insert or replace (keyed by function name and version)."""
        ...

    def delete_version(self, function_name: str, version: str) -> None: ...

    # Aliases ---------------------------------------------------------------------------
    def put_alias(self, alias: Alias) -> None: ...

    def delete_alias(self, function_name: str, alias_name: str) -> None: ...

    # Function URLs ---------------------------------------------------------------------
    def put_function_url(self, config: FunctionUrlConfig) -> None:
        """Insert or replace (keyed by function name and qualifier); the url_id must not be
        another config's."""
        ...

    def delete_function_url(self, function_name: str, qualifier: str) -> None:
        """No error if absent. Deleting an alias leaves its URL in place, as on AWS."""
        ...

    # Layers ----------------------------------------------------------------------------
    def put_layer(self, record: LayerRecord) -> None:
        """Layer records are never deleted: they keep the version counter, since AWS never
        reuses a layer version number."""
        ...

    def put_layer_version(self, version: LayerVersion) -> None: ...

    def delete_layer_version(self, layer_name: str, version: int) -> None: ...

    # Event source mappings -------------------------------------------------------------
    def put_mapping(self, mapping: EventSourceMapping) -> None:
        """Insert or replace (keyed by UUID)."""
        ...

    def delete_mapping(self, uuid: str) -> None:
        """No error if absent."""
        ...


class RegistryReader(Protocol):
    """A registry that can only be read: what the invoke path and the caches are given, so
    nothing there can write past the NotifyingRegistry that tells them of changes."""

    def transaction(self) -> AbstractContextManager[RegistryReads]:
        """Begin a serialized unit of reads."""
        ...


class Registry(Protocol):
    def transaction(self) -> AbstractContextManager[RegistryTransaction]:
        """Begin a serialized, atomic unit of work (see the module docstring)."""
        ...

    def close(self) -> None:
        """Release resources; the registry is not used afterwards."""
        ...
