"""The registry as JetStream KV keys: one key per record, its value the record's JSON.

Pure: `to_keys` and `from_keys` turn a `RegistryState` into a key map and back, so a
transaction's writes are the difference between the key maps before and after it.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from typing import Any

from hearth.models import (
    Alias,
    EventSourceMapping,
    FunctionRecord,
    FunctionUrlConfig,
    FunctionVersion,
    LayerRecord,
    LayerVersion,
)
from hearth.store.memory import RegistryState

# The key every commit writes last, with a compare-and-set on its revision: the commit's
# sequence number, and what keeps two nodes' commits from interleaving.
COMMIT_KEY = "_commit"

# What a KV key may hold besides the separator; everything else is escaped as =HH per byte.
_PLAIN = re.compile(r"[A-Za-z0-9_-]")


def segment(text: str) -> str:
    """One part of a key: Lambda names pass as they are; `$LATEST`, the empty qualifier and
    anything else a KV key cannot hold are escaped, unambiguously ("=" alone is empty)."""
    if not text:
        return "="
    return "".join(
        char if _PLAIN.fullmatch(char) else "".join(f"={b:02X}" for b in char.encode())
        for char in text
    )


def _dumps(record: Any) -> str:
    return json.dumps(record.to_dict(), separators=(",", ":"), sort_keys=True)


def _pair(key: tuple[str, Any]) -> str:
    return f"{segment(key[0])}.{segment(str(key[1]))}"


# RegistryState's fields, each with its key prefix and how its dict keys become key parts.
_FIELDS: tuple[tuple[str, str, Callable[[Any], str]], ...] = (
    ("functions", "fn", segment),
    ("versions", "ver", _pair),
    ("aliases", "alias", _pair),
    ("function_urls", "url", _pair),
    ("layers", "layer", segment),
    ("layer_versions", "lver", _pair),
    ("mappings", "map", segment),
)


def to_keys(state: RegistryState) -> dict[str, str]:
    """Every record of the state under its key."""
    keys: dict[str, str] = {}
    for field, prefix, part in _FIELDS:
        for dict_key, record in getattr(state, field).items():
            keys[f"{prefix}.{part(dict_key)}"] = _dumps(record)
    return keys


def changes(before: RegistryState, after: RegistryState) -> dict[str, str | None]:
    """The writes that turn `before` into `after`: a value to put, or None to delete.

    Records are frozen and a transaction's working copy shares the ones it did not put, so a
    record that is not the very object it was is what changed: only those are serialized.
    """
    writes: dict[str, str | None] = {}
    for field, prefix, part in _FIELDS:
        old: dict[Any, Any] = getattr(before, field)
        new: dict[Any, Any] = getattr(after, field)
        for dict_key, record in new.items():
            if old.get(dict_key) is not record:
                value = _dumps(record)
                if dict_key not in old or _dumps(old[dict_key]) != value:
                    writes[f"{prefix}.{part(dict_key)}"] = value
        for dict_key in old.keys() - new.keys():
            writes[f"{prefix}.{part(dict_key)}"] = None
    return writes


def _put(state: RegistryState, key: str, value: str) -> tuple[str, Any] | None:
    """Put one key's record into the state; where it went (field, dict key), or None for a
    key of a kind this Hearth does not know (a newer node's) or the commit key."""
    kind = key.partition(".")[0]
    data = json.loads(value)
    where: tuple[str, Any]
    if kind == "fn":
        fn = FunctionRecord.from_dict(data)
        where = ("functions", fn.name)
        state.functions[fn.name] = fn
    elif kind == "ver":
        version = FunctionVersion.from_dict(data)
        where = ("versions", (version.function_name, version.version))
        state.versions[where[1]] = version
    elif kind == "alias":
        alias = Alias.from_dict(data)
        where = ("aliases", (alias.function_name, alias.name))
        state.aliases[where[1]] = alias
    elif kind == "url":
        url = FunctionUrlConfig.from_dict(data)
        where = ("function_urls", (url.function_name, url.qualifier))
        state.function_urls[where[1]] = url
    elif kind == "layer":
        layer = LayerRecord.from_dict(data)
        where = ("layers", layer.name)
        state.layers[layer.name] = layer
    elif kind == "lver":
        layer_version = LayerVersion.from_dict(data)
        where = ("layer_versions", (layer_version.layer_name, layer_version.version))
        state.layer_versions[where[1]] = layer_version
    elif kind == "map":
        mapping = EventSourceMapping.from_dict(data)
        where = ("mappings", mapping.uuid)
        state.mappings[mapping.uuid] = mapping
    else:
        return None
    return where


class Replica:
    """A node's copy of the registry, built from the KV bucket's entries. Not thread-safe:
    its owner serializes `apply`; `state` is replaced, never changed, so readers may hold it."""

    def __init__(self) -> None:
        self.state = RegistryState()
        self._where: dict[str, tuple[str, Any]] = {}

    def apply(self, writes: Mapping[str, str | None]) -> None:
        """Apply one commit's writes (a value to put, None to delete) all at once."""
        state = self.state.copy()
        for key, value in writes.items():
            old = self._where.pop(key, None)
            if old is not None:
                getattr(state, old[0]).pop(old[1], None)
            if value is not None:
                where = _put(state, key, value)
                if where is not None:
                    self._where[key] = where
        self.state = state
