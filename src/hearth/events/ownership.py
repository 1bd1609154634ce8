"""Which mappings this server polls: all of them on one machine, its share in a cluster.

`MappingOwnership` guarantees: `claim` returns True only while this server may poll the
mapping (in a cluster: it holds the mapping's lease, so no other node does); `decides` names
one server for each mapping's state changes (settling Creating / Updating / Deleting), so
two nodes never settle the same change differently; `release` hands the mapping on once its
poller stopped. `holds` answers from memory, for the pollers' commits.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol


class MappingOwnership(Protocol):
    async def claim(self, mapping: str) -> bool: ...

    def decides(self, mapping: str) -> bool: ...

    def holds(self, mapping: str) -> bool: ...

    async def release(self, mapping: str) -> None: ...

    def on_change(self, listener: Callable[[], None]) -> None:
        """`listener` (any thread) is called when claims may have changed: a node joined
        or left, a lease was lost."""
        ...


class SoleOwner:
    """One machine: every mapping is this server's."""

    async def claim(self, mapping: str) -> bool:
        return True

    def decides(self, mapping: str) -> bool:
        return True

    def holds(self, mapping: str) -> bool:
        return True

    async def release(self, mapping: str) -> None:
        pass

    def on_change(self, listener: Callable[[], None]) -> None:
        pass
