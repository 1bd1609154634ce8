"""The in-memory registry: the fake that tests use in place of `SqliteRegistry`."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, Protocol, Self, TypeVar

from hearth.arns import LATEST
from hearth.models import (
    Alias,
    EventSourceMapping,
    FunctionRecord,
    FunctionUrlConfig,
    FunctionVersion,
    LayerRecord,
    LayerVersion,
)
from hearth.store.locking import NonNestingLock
from hearth.store.registry import Registry, RegistryTransaction


class _Record(Protocol):
    def to_dict(self) -> dict[str, Any]: ...

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Self: ...


R = TypeVar("R", bound=_Record)


def _stored(record: R) -> R:
    """The record as SQLite would give it back: fails the same way on values JSON can't hold,
    and shares no dict with the caller."""
    return type(record).from_dict(json.loads(json.dumps(record.to_dict())))


@dataclass
class RegistryState:
    functions: dict[str, FunctionRecord] = field(default_factory=dict)
    versions: dict[tuple[str, str], FunctionVersion] = field(default_factory=dict)
    aliases: dict[tuple[str, str], Alias] = field(default_factory=dict)
    layers: dict[str, LayerRecord] = field(default_factory=dict)
    layer_versions: dict[tuple[str, int], LayerVersion] = field(default_factory=dict)
    function_urls: dict[tuple[str, str], FunctionUrlConfig] = field(default_factory=dict)
    mappings: dict[str, EventSourceMapping] = field(default_factory=dict)

    def copy(self) -> RegistryState:
        # Records are frozen, so copying the dicts is enough to isolate a transaction.
        return RegistryState(
            **{f.name: dict(getattr(self, f.name)) for f in dataclasses.fields(self)}
        )


class MemoryRegistry(Registry):
    def __init__(self) -> None:
        self._state = RegistryState()
        self._lock = NonNestingLock("registry transactions")

    @contextmanager
    def transaction(self) -> Iterator[RegistryTransaction]:
        with self._lock:
            tx = MemoryTransaction(self._state.copy())
            try:
                yield tx
                self._state = tx.state  # commit: swap in the working copy
            finally:
                # On an exception the working copy is simply dropped (rollback).
                tx.closed = True

    def close(self) -> None:
        pass


class MemoryTransaction(RegistryTransaction):
    def __init__(self, state: RegistryState) -> None:
        self._state = state
        self.closed = False

    @property
    def state(self) -> RegistryState:
        # Refuse use after the block: writes would land in a copy nobody sees.
        if self.closed:
            raise RuntimeError("registry transaction used after its block ended")
        return self._state

    # Functions ------------------------------------------------------------------------------
    def get_function(self, name: str) -> FunctionRecord | None:
        return self.state.functions.get(name)

    def list_functions(self) -> list[FunctionRecord]:
        functions = self.state.functions
        return [functions[name] for name in sorted(functions)]

    def put_function(self, record: FunctionRecord) -> None:
        self.state.functions[record.name] = _stored(record)

    def delete_function(self, name: str) -> None:
        state = self.state
        state.functions.pop(name, None)
        state.versions = {k: v for k, v in state.versions.items() if k[0] != name}
        state.aliases = {k: a for k, a in state.aliases.items() if k[0] != name}
        state.function_urls = {k: u for k, u in state.function_urls.items() if k[0] != name}

    # Versions -------------------------------------------------------------------------------
    def get_version(self, function_name: str, version: str) -> FunctionVersion | None:
        return self.state.versions.get((function_name, version))

    def list_versions(self, function_name: str) -> list[FunctionVersion]:
        found = [v for (name, _), v in self.state.versions.items() if name == function_name]
        # $LATEST first, then numerically (so "10" after "9").
        return sorted(found, key=lambda v: 0 if v.version == LATEST else int(v.version))

    def put_version(self, version: FunctionVersion) -> None:
        if version.version != LATEST:
            int(version.version)  # reject what SqliteRegistry could not sort
        self.state.versions[version.function_name, version.version] = _stored(version)

    def delete_version(self, function_name: str, version: str) -> None:
        self.state.versions.pop((function_name, version), None)

    # Aliases --------------------------------------------------------------------------------
    def get_alias(self, function_name: str, alias_name: str) -> Alias | None:
        return self.state.aliases.get((function_name, alias_name))

    def list_aliases(self, function_name: str) -> list[Alias]:
        aliases = self.state.aliases
        return [aliases[key] for key in sorted(aliases) if key[0] == function_name]

    def put_alias(self, alias: Alias) -> None:
        self.state.aliases[alias.function_name, alias.name] = _stored(alias)

    def delete_alias(self, function_name: str, alias_name: str) -> None:
        self.state.aliases.pop((function_name, alias_name), None)

    # Function URLs --------------------------------------------------------------------------
    def get_function_url(self, function_name: str, qualifier: str) -> FunctionUrlConfig | None:
        return self.state.function_urls.get((function_name, qualifier))

    def find_function_url(self, url_id: str) -> FunctionUrlConfig | None:
        return next((u for u in self.state.function_urls.values() if u.url_id == url_id), None)

    def list_function_urls(self, function_name: str) -> list[FunctionUrlConfig]:
        urls = self.state.function_urls
        return [urls[key] for key in sorted(urls) if key[0] == function_name]

    def put_function_url(self, config: FunctionUrlConfig) -> None:
        key = (config.function_name, config.qualifier)
        if any(u.url_id == config.url_id and k != key for k, u in self.state.function_urls.items()):
            # What SqliteRegistry's UNIQUE constraint refuses.
            raise ValueError(f"url id {config.url_id} is already in use")
        self.state.function_urls[key] = _stored(config)

    def delete_function_url(self, function_name: str, qualifier: str) -> None:
        self.state.function_urls.pop((function_name, qualifier), None)

    # Layers ---------------------------------------------------------------------------------
    def get_layer(self, name: str) -> LayerRecord | None:
        return self.state.layers.get(name)

    def list_layers(self) -> list[LayerRecord]:
        layers = self.state.layers
        return [layers[name] for name in sorted(layers)]

    def put_layer(self, record: LayerRecord) -> None:
        self.state.layers[record.name] = _stored(record)

    def get_layer_version(self, layer_name: str, version: int) -> LayerVersion | None:
        return self.state.layer_versions.get((layer_name, version))

    def list_layer_versions(self, layer_name: str) -> list[LayerVersion]:
        versions = self.state.layer_versions
        keys = sorted((key for key in versions if key[0] == layer_name), reverse=True)
        return [versions[key] for key in keys]

    def put_layer_version(self, version: LayerVersion) -> None:
        self.state.layer_versions[version.layer_name, version.version] = _stored(version)

    def delete_layer_version(self, layer_name: str, version: int) -> None:
        self.state.layer_versions.pop((layer_name, version), None)

    # Event source mappings ------------------------------------------------------------------
    def get_mapping(self, uuid: str) -> EventSourceMapping | None:
        return self.state.mappings.get(uuid)

    def list_mappings(self) -> list[EventSourceMapping]:
        mappings = self.state.mappings
        return [mappings[uuid] for uuid in sorted(mappings)]

    def put_mapping(self, mapping: EventSourceMapping) -> None:
        self.state.mappings[mapping.uuid] = _stored(mapping)

    def delete_mapping(self, uuid: str) -> None:
        self.state.mappings.pop(uuid, None)

    # Code -----------------------------------------------------------------------------------
    def code_digests_in_use(self) -> set[str]:
        # Attached layers count too: see CODE_DIGESTS_IN_USE in sqlite.py.
        state = self.state
        digests = {v.code_sha256_hex for v in state.versions.values()}
        digests |= {layer.code_sha256_hex for v in state.versions.values() for layer in v.layers}
        digests |= {lv.code_sha256_hex for lv in state.layer_versions.values()}
        return digests
