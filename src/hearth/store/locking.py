"""The lock behind registry transactions."""

from __future__ import annotations

import threading
from types import TracebackType


class NonNestingLock:
    """A mutex that raises instead of deadlocking when its holder takes it again.

    A transaction opened inside another on the same thread would wait forever on a plain
    Lock; this fails at once with a clear error. Only the holding thread can set `_owner`
    to its own id, so reading it before acquiring is safe.
    """

    def __init__(self, what: str) -> None:
        self._lock = threading.Lock()
        self._owner: int | None = None
        self._what = what

    def __enter__(self) -> None:
        if self._owner == threading.get_ident():
            raise RuntimeError(f"{self._what} do not nest")
        self._lock.acquire()
        self._owner = threading.get_ident()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self._owner = None
        self._lock.release()
