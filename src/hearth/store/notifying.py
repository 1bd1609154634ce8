"""A Registry that tells listeners after each of its transactions commits.

The control plane writes through it; readers that cache (the invoke path) subscribe and drop
their cache. Reads made elsewhere through the inner registry notify nobody.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager

from hearth.store.registry import Registry, RegistryTransaction


class NotifyingRegistry:
    def __init__(self, inner: Registry) -> None:
        self._inner = inner
        self._listeners: list[Callable[[], None]] = []

    def subscribe(self, listener: Callable[[], None]) -> None:
        self._listeners.append(listener)

    def transaction(self) -> AbstractContextManager[RegistryTransaction]:
        return self._notify_after()

    @contextmanager
    def _notify_after(self) -> Iterator[RegistryTransaction]:
        with self._inner.transaction() as tx:
            yield tx
        for listener in self._listeners:
            listener()

    def close(self) -> None:
        self._inner.close()
