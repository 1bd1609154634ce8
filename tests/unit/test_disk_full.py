"""A full disk at the store boundary: an ENOSPC injected into the queue's acknowledgement and
the registry's delete. (tests/integration/test_full_disk.py fills a real tmpfs; there,
whether SQLite needs a new block for a given write depends on its WAL, so the retry paths
are pinned down here.)"""

from __future__ import annotations

import asyncio
import errno
import sqlite3
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

import pytest

from hearth.arns import ArnFormatter, FunctionRef
from hearth.control.functions import Functions
from hearth.events.config import AsyncConfigs
from hearth.events.destinations import MemorySink
from hearth.events.dispatcher import Dispatcher
from hearth.events.memory_queue import MemoryEventQueue
from hearth.events.queue import Event, Kind
from hearth.store.code import CodeStore
from hearth.store.memory import MemoryRegistry
from hearth.store.registry import RegistryTransaction
from hearth.store.reserve import DiskReserve
from tests.unit.factories import put_function
from tests.unit.test_dispatcher import OK, Script

FULL = sqlite3.OperationalError("database or disk is full")


class FullOnce(MemoryEventQueue):
    """Acknowledgements fail `failures` times with SQLite's disk-full error."""

    def __init__(self, failures: int) -> None:
        super().__init__()
        self.failures = failures

    async def ack(self, event: Event, follow_ups: Sequence[Event] = ()) -> bool:
        if self.failures:
            self.failures -= 1
            raise FULL
        return await super().ack(event, follow_ups)


def _dispatcher(queue: MemoryEventQueue, script: Script, reserve: DiskReserve) -> Dispatcher:
    registry = MemoryRegistry()
    put_function(registry, "fn")
    return Dispatcher(
        queue,
        script,
        AsyncConfigs(registry),
        MemorySink(),
        ArnFormatter("us-east-1", "123456789012"),
        concurrency=1,
        base_retry_delay_seconds=60.0,
        make_room=reserve.release,
    )


def test_an_acknowledgement_that_meets_a_full_disk_uses_the_reserve(tmp_path: Path) -> None:
    reserve = DiskReserve(tmp_path / "reserve", size=4096)
    assert reserve.restore()
    queue = FullOnce(failures=1)
    script = Script(OK)
    dispatcher = _dispatcher(queue, script, reserve)

    async def body() -> None:
        await queue.enqueue([Event("ev-1", Kind.INVOKE, "fn", b"{}", 0.0)])
        (event,) = await queue.claim(1, now=1.0, lease_seconds=960)
        await dispatcher.handle(event)
        assert await queue.next_visible_at() is None  # acknowledged: it will not run again
        assert dispatcher.stats.settle_retries == 1
        assert not reserve.held and reserve.releases == 1

    asyncio.run(body())
    assert len(script.calls) == 1


def test_without_a_reserve_the_acknowledgement_is_retried_until_it_lands(tmp_path: Path) -> None:
    reserve = DiskReserve(tmp_path / "reserve", size=4096)  # never made: nothing to release
    queue = FullOnce(failures=3)
    dispatcher = _dispatcher(queue, Script(OK), reserve)

    async def body() -> None:
        await queue.enqueue([Event("ev-1", Kind.INVOKE, "fn", b"{}", 0.0)])
        (event,) = await queue.claim(1, now=1.0, lease_seconds=960)
        await dispatcher.handle(event)  # backs off 0.1, 0.2, 0.4 s
        assert await queue.next_visible_at() is None
        assert dispatcher.stats.settle_retries == 3

    asyncio.run(body())


class FullRegistry(MemoryRegistry):
    """Transactions fail at their end, as a commit does, while `full` is set."""

    full = False

    @contextmanager
    def transaction(self) -> Iterator[RegistryTransaction]:
        with super().transaction() as tx:
            yield tx
            if self.full:
                raise FULL


def test_delete_function_on_a_full_disk_frees_the_reserve_and_succeeds(tmp_path: Path) -> None:
    reserve = DiskReserve(tmp_path / "reserve", size=4096)
    assert reserve.restore()
    registry = FullRegistry()
    put_function(registry, "doomed")
    functions = Functions(
        registry,
        CodeStore(tmp_path / "code"),
        ArnFormatter("us-east-1", "123456789012"),
        lambda delay, callback: None,
        reserve=reserve,
    )
    attempts = []
    original = reserve.release

    def release() -> bool:
        registry.full = False  # what the freed reserve gives SQLite room for
        attempts.append(1)
        return original()

    reserve.release = release  # type: ignore[method-assign]
    registry.full = True
    asyncio.run(functions.delete(FunctionRef("doomed")))
    with registry.transaction() as tx:
        assert tx.get_function("doomed") is None
    assert attempts == [1]


def test_the_reserve_is_refused_for_growth_while_it_is_in_use(tmp_path: Path) -> None:
    reserve = DiskReserve(tmp_path / "reserve", size=4096)
    reserve.restore()
    reserve.require_room()  # held: fine
    reserve.release()
    # The disk has room again (tmp_path is not full), so it is made again rather than refused.
    reserve.require_room()
    assert reserve.held
    huge = DiskReserve(tmp_path / "huge", size=1 << 60)  # can never fit: the disk is "full"
    with pytest.raises(OSError) as raised:
        huge.require_room()
    assert raised.value.errno == errno.ENOSPC
