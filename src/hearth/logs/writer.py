"""Buffers log lines and writes them in batches, off the invoke path's critical section."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Sequence
from typing import Protocol

from hearth.logs.store import NewEvent

logger = logging.getLogger("hearth.logs")


class EventAppender(Protocol):
    """Where the writer puts its batches (a LogStore, or a test's list)."""

    def append(self, events: Sequence[NewEvent]) -> None: ...


# Told of every batch after it is stored (Embedded Metric Format extraction, for one).
Observer = Callable[[Sequence[NewEvent]], None]

FLUSH_INTERVAL_SECONDS = 0.05


class LogWriter:
    def __init__(self, store: EventAppender, observers: Sequence[Observer] = ()) -> None:
        self._store = store
        self._observers = tuple(observers)
        self._pending: list[tuple[str, str, int, str]] = []
        self._scheduled: asyncio.TimerHandle | None = None

    def observe(self, observer: Observer) -> None:
        """Tell `observer` of every batch from now on (parts built after the writer)."""
        self._observers = (*self._observers, observer)

    def write(self, group: str, stream: str, timestamp_ms: int, message: str) -> None:
        self._pending.append((group, stream, timestamp_ms, message))
        if self._scheduled is None:
            loop = asyncio.get_running_loop()
            self._scheduled = loop.call_later(FLUSH_INTERVAL_SECONDS, self.flush)

    def flush(self) -> None:
        self._scheduled = None
        pending, self._pending = self._pending, []
        self._store.append(pending)
        for observer in self._observers:
            try:
                observer(pending)
            except Exception:  # an observer's failure must not lose or block log lines
                logger.exception("log observer failed")
