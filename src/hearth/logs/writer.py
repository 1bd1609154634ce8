"""Buffers log lines and writes them in batches, off the invoke path's critical section."""

from __future__ import annotations

import asyncio

from hearth.logs.store import LogStore

FLUSH_INTERVAL_SECONDS = 0.05


class LogWriter:
    def __init__(self, store: LogStore) -> None:
        self._store = store
        self._pending: list[tuple[str, str, int, str]] = []
        self._scheduled: asyncio.TimerHandle | None = None

    def write(self, group: str, stream: str, timestamp_ms: int, message: str) -> None:
        self._pending.append((group, stream, timestamp_ms, message))
        if self._scheduled is None:
            loop = asyncio.get_running_loop()
            self._scheduled = loop.call_later(FLUSH_INTERVAL_SECONDS, self.flush)

    def flush(self) -> None:
        self._scheduled = None
        pending, self._pending = self._pending, []
        self._store.append(pending)
