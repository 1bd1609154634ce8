"""The mapping supervisor polls only what its `MappingOwnership` grants, settles only what it
decides, and hands a mapping back only once its poller stopped (pure logic, fake pollers)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

from hearth.arns import ArnFormatter
from hearth.events.mapping_supervisor import MappingSupervisor
from hearth.events.poller_base import PollerContext
from hearth.events.positions import MemoryPositions
from hearth.events.sources import SourceClients
from hearth.models import EventSourceMapping
from hearth.store.memory import MemoryRegistry

ARN = "arn:aws:kinesis:us-east-1:123456789012:stream/s"


class FakeOwnership:
    def __init__(self) -> None:
        self.deciding = True
        self.granted = True
        self.held: set[str] = set()
        self.log: list[str] = []

    async def claim(self, mapping: str) -> bool:
        if self.granted:
            self.held.add(mapping)
        return self.granted

    def decides(self, mapping: str) -> bool:
        return self.deciding

    def holds(self, mapping: str) -> bool:
        return mapping in self.held

    async def release(self, mapping: str) -> None:
        self.log.append(f"release {mapping}")
        self.held.discard(mapping)

    def on_change(self, listener: Callable[[], None]) -> None:
        pass


class FakePoller:
    def __init__(self, context: PollerContext, log: list[str]) -> None:
        self._context, self._log = context, log

    async def run(self) -> None:
        self._log.append(f"start {self._context.mapping.uuid}")
        await self._context.stopping.wait()
        self._log.append(f"stopped {self._context.mapping.uuid}")


def _supervisor(owner: FakeOwnership) -> tuple[MappingSupervisor, MemoryRegistry]:
    registry = MemoryRegistry()
    supervisor = MappingSupervisor(
        registry,
        SourceClients(None),
        MemoryPositions(),
        _no_invoke,
        ArnFormatter("us-east-1", "123456789012"),
        ownership=owner,
    )
    supervisor._make_poller = lambda context: FakePoller(context, owner.log)  # type: ignore[method-assign]
    return supervisor, registry


async def _no_invoke(*args: Any, **kwargs: Any) -> Any:
    raise AssertionError("not invoked in these tests")


def _put(registry: MemoryRegistry, state: str, **config: Any) -> None:
    with registry.transaction() as tx:
        tx.put_mapping(EventSourceMapping("m", "fn", None, ARN, {"State": state, **config}))


def _state(registry: MemoryRegistry) -> str | None:
    with registry.transaction() as tx:
        found = tx.get_mapping("m")
    return None if found is None else found.state


async def _reconcile(supervisor: MappingSupervisor) -> None:
    await supervisor.reconcile()
    await asyncio.sleep(0)  # the pollers' first step


def test_a_node_that_does_not_decide_neither_settles_nor_polls() -> None:
    async def run() -> None:
        owner = FakeOwnership()
        owner.deciding = owner.granted = False
        supervisor, registry = _supervisor(owner)
        _put(registry, "Creating")
        await _reconcile(supervisor)
        assert _state(registry) == "Creating" and owner.log == []
        owner.deciding = owner.granted = True
        await _reconcile(supervisor)
        assert _state(registry) == "Enabled" and owner.log == ["start m"]
        await supervisor.stop()

    asyncio.run(run())


def test_a_mapping_claimed_elsewhere_stops_here_then_is_released() -> None:
    async def run() -> None:
        owner = FakeOwnership()
        supervisor, registry = _supervisor(owner)
        _put(registry, "Enabled")
        await _reconcile(supervisor)
        assert owner.log == ["start m"] and owner.holds("m")
        owner.granted = False  # another node is preferred now (it joined)
        await _reconcile(supervisor)
        # Released only after the poller stopped: its last commit comes first.
        assert owner.log == ["start m", "stopped m", "release m"]
        await _reconcile(supervisor)
        assert owner.log[-1] == "release m"  # not started again
        await supervisor.stop()

    asyncio.run(run())


def test_an_update_settled_by_another_node_restarts_the_poller_here() -> None:
    async def run() -> None:
        owner = FakeOwnership()
        supervisor, registry = _supervisor(owner)
        _put(registry, "Enabled", BatchSize=10)
        await _reconcile(supervisor)
        # Another node settled Updating -> Enabled before this one looked: only the settings
        # changed, and the poller must run with them.
        _put(registry, "Enabled", BatchSize=20, LastProcessingResult="OK")
        await _reconcile(supervisor)
        assert owner.log == ["start m", "stopped m", "release m", "start m"]
        # What pollers report is no change of settings.
        _put(registry, "Enabled", BatchSize=20, LastProcessingResult="PROBLEM: x")
        await _reconcile(supervisor)
        assert owner.log[-1] == "start m" and len(owner.log) == 4
        await supervisor.stop()

    asyncio.run(run())


def test_only_the_deciding_node_deletes_a_mapping_but_every_node_stops_polling_it() -> None:
    async def run() -> None:
        owner = FakeOwnership()
        supervisor, registry = _supervisor(owner)
        _put(registry, "Enabled")
        await _reconcile(supervisor)
        owner.deciding = False
        _put(registry, "Deleting")
        await _reconcile(supervisor)
        assert "stopped m" in owner.log and _state(registry) == "Deleting"
        owner.deciding = True
        await _reconcile(supervisor)
        assert _state(registry) is None
        await supervisor.stop()

    asyncio.run(run())


def test_a_lease_lost_stops_the_poller_even_when_it_cannot_be_claimed_again() -> None:
    async def run() -> None:
        owner = FakeOwnership()
        supervisor, registry = _supervisor(owner)
        _put(registry, "Enabled")
        await _reconcile(supervisor)
        owner.held.clear()  # a renewal refused (NATS away): the lease is gone
        owner.granted = False
        await _reconcile(supervisor)
        assert owner.log == ["start m", "stopped m", "release m"]
        await supervisor.stop()

    asyncio.run(run())
