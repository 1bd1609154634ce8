"""A small durable map of JSON documents by id, for records too few to deserve a registry
table (code signing configs): one JSON file, replaced atomically on every write.

Guarantees (both implementations): `put` and `delete` are durable when they return (the file
is fsynced and renamed into place, so a crash leaves the old or the new map, never a torn
one); reads see every write made before them; documents come back as plain dicts, copies
the caller may change. One process owns the file (the data dir's lock).
"""

from __future__ import annotations

import copy
import json
import os
import threading
from pathlib import Path
from typing import Any, Protocol


class Documents(Protocol):
    def get(self, key: str) -> dict[str, Any] | None: ...

    def list(self) -> list[dict[str, Any]]:
        """Every document, in key order."""
        ...

    def put(self, key: str, document: dict[str, Any]) -> None: ...

    def delete(self, key: str) -> None:
        """No error if absent."""
        ...


class MemoryDocuments:
    def __init__(self) -> None:
        self._items: dict[str, dict[str, Any]] = {}

    def get(self, key: str) -> dict[str, Any] | None:
        found = self._items.get(key)
        return copy.deepcopy(found) if found is not None else None

    def list(self) -> list[dict[str, Any]]:
        return [copy.deepcopy(self._items[k]) for k in sorted(self._items)]

    def put(self, key: str, document: dict[str, Any]) -> None:
        self._items[key] = copy.deepcopy(document)

    def delete(self, key: str) -> None:
        self._items.pop(key, None)


class JsonDocuments(MemoryDocuments):
    """MemoryDocuments written through to `path` (read once, at construction)."""

    def __init__(self, path: Path) -> None:
        super().__init__()
        self._path = path
        self._lock = threading.Lock()
        if path.exists():
            loaded = json.loads(path.read_text(encoding="utf-8"))
            if not isinstance(loaded, dict):
                raise ValueError(f"{path} is not a JSON object")
            self._items = loaded

    def put(self, key: str, document: dict[str, Any]) -> None:
        with self._lock:
            super().put(key, document)
            self._save()

    def delete(self, key: str) -> None:
        with self._lock:
            super().delete(key)
            self._save()

    def _save(self) -> None:
        temp = self._path.with_name(self._path.name + ".tmp")
        with open(temp, "w", encoding="utf-8") as out:
            json.dump(self._items, out, sort_keys=True)
            out.flush()
            os.fsync(out.fileno())
        os.replace(temp, self._path)
        fd = os.open(self._path.parent, os.O_RDONLY | os.O_DIRECTORY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
