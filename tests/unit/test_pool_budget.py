"""The pool's memory budget, LRU eviction and provisioned environments, with fake environments.

Real processes are tested in tests/integration (test_concurrency.py, test_environments.py);
here the bookkeeping is checked step by step.
"""

from __future__ import annotations

import asyncio
import itertools
from typing import cast

import pytest

from hearth.errors import LambdaError
from hearth.invoke.pool import Environment, Pool
from hearth.invoke.types import EnvironmentState
from hearth.models import FunctionVersion

_clock = itertools.count(1)


class FakeEnvironment:
    def __init__(self, version: FunctionVersion, provisioned: bool) -> None:
        self.version = version.version
        self.function = version.function_name
        self.memory_size = version.memory_size
        self.provisioned = provisioned
        self.state = EnvironmentState.IDLE
        self.last_used = float(next(_clock))

    async def destroy(self) -> None:
        self.state = EnvironmentState.DEAD


def version(name: str, memory: int = 128, number: str = "1") -> FunctionVersion:
    return FunctionVersion(
        function_name=name,
        version=number,
        role="arn:aws:iam::123456789012:role/r",
        runtime="python3.12",
        handler="app.handler",
        code_sha256_hex="0" * 64,
        code_size=1,
        revision_id="rev",
        last_modified="2024-01-01T00:00:00.000+0000",
        memory_size=memory,
    )


class Harness:
    def __init__(self, budget_mb: int) -> None:
        self.started: list[FakeEnvironment] = []
        self.pool = Pool(self.start, keep_alive_seconds=300, memory_budget_mb=budget_mb)

    async def start(self, version: FunctionVersion, provisioned: bool) -> Environment:
        environment = FakeEnvironment(version, provisioned)
        self.started.append(environment)
        return cast(Environment, environment)

    async def use(self, v: FunctionVersion) -> FakeEnvironment:
        """One invocation: acquire, "run", release (the environment becomes the newest)."""
        lease = await self.pool.acquire(v)
        environment = cast(FakeEnvironment, lease.environment)
        environment.last_used = float(next(_clock))
        self.pool.release(v, lease.environment)
        return environment


def run(coroutine: object) -> None:
    asyncio.run(coroutine)  # type: ignore[arg-type]


def test_idle_environments_are_evicted_least_recently_used_first() -> None:
    async def scenario() -> None:
        h = Harness(budget_mb=384)
        a, b, c = await h.use(version("a")), await h.use(version("b")), await h.use(version("c"))
        await h.use(version("a"))  # a is now the most recently used; b the least
        assert h.pool.memory_used_mb() == 384
        d = await h.use(version("d"))
        await asyncio.sleep(0)  # victims are destroyed in the background, not waited for
        assert b.state is EnvironmentState.DEAD
        assert {e.state for e in (a, c, d)} == {EnvironmentState.IDLE}
        assert h.pool.memory_used_mb() == 384
        assert await h.use(version("a")) is a  # still warm

    run(scenario())


def test_a_big_environment_evicts_as_many_as_it_needs() -> None:
    async def scenario() -> None:
        h = Harness(budget_mb=512)
        small = [await h.use(version(f"s{i}")) for i in range(4)]
        await h.use(version("big", memory=384))
        await asyncio.sleep(0)  # victims are destroyed in the background, not waited for
        assert [e.state for e in small] == [EnvironmentState.DEAD] * 3 + [EnvironmentState.IDLE]
        assert h.pool.memory_used_mb() == 512

    run(scenario())


def test_no_room_when_every_environment_is_busy_is_a_throttle() -> None:
    async def scenario() -> None:
        h = Harness(budget_mb=256)
        await h.pool.acquire(version("a"))
        await h.pool.acquire(version("b"))
        with pytest.raises(LambdaError) as raised:
            await h.pool.acquire(version("c"))
        assert raised.value.status == 429
        assert raised.value.extra == {"Reason": "ConcurrentInvocationLimitExceeded"}
        assert len(h.started) == 2  # nothing was started for the throttled one

    run(scenario())


def test_a_function_bigger_than_the_budget_is_throttled() -> None:
    async def scenario() -> None:
        h = Harness(budget_mb=256)
        with pytest.raises(LambdaError):
            await h.pool.acquire(version("huge", memory=512))
        assert h.pool.memory_used_mb() == 0  # the claim was given back

    run(scenario())


def test_concurrent_starts_cannot_overcommit() -> None:
    async def scenario() -> None:
        h = Harness(budget_mb=256)
        results = await asyncio.gather(
            *(h.pool.acquire(version(f"f{i}")) for i in range(3)), return_exceptions=True
        )
        assert sum(isinstance(r, LambdaError) for r in results) == 1
        assert h.pool.memory_used_mb() == 256

    run(scenario())


def test_provisioned_environments_are_used_first_and_never_evicted_or_reaped() -> None:
    async def scenario() -> None:
        h = Harness(budget_mb=384)
        p = version("p")
        await h.use(p)  # an on-demand environment of the same version
        await h.pool.add_provisioned(p)
        warm = h.started[-1]
        assert warm.provisioned
        assert await h.use(p) is warm
        assert h.pool.provisioned_count("p", "1") == 1
        await h.use(version("x"))
        await h.use(version("y"))  # evicts the on-demand p, not the provisioned one
        assert warm.state is EnvironmentState.IDLE
        assert await h.pool.reap_idle(now=10**9) == 2  # x and y; the warm one stays
        assert warm.state is EnvironmentState.IDLE
        assert h.pool.memory_used_mb() == 128

    run(scenario())


def test_removing_provisioned_environments_frees_idle_ones_and_demotes_busy_ones() -> None:
    async def scenario() -> None:
        h = Harness(budget_mb=1024)
        p = version("p")
        await h.pool.add_provisioned(p)
        await h.pool.add_provisioned(p)
        busy = await h.pool.acquire(p)
        h.pool.remove_provisioned("p", "1", count=2)
        await asyncio.sleep(0)  # let the scheduled destroy run
        assert h.pool.provisioned_count("p", "1") == 0
        idle = [e for e in h.started if e is not cast(FakeEnvironment, busy.environment)]
        assert idle[0].state is EnvironmentState.DEAD
        h.pool.release(p, busy.environment)
        # The busy one finished and lives on as an ordinary environment, reapable.
        assert await h.pool.reap_idle(now=10**9) == 1

    run(scenario())


def test_idle_environments_of_gone_versions_are_retired() -> None:
    async def scenario() -> None:
        h = Harness(budget_mb=1024)
        kept, deleted = await h.use(version("kept")), await h.use(version("deleted"))
        assert h.pool.retire_gone(lambda key: key[0] != "deleted") == 1
        await asyncio.sleep(0)
        assert deleted.state is EnvironmentState.DEAD and kept.state is EnvironmentState.IDLE
        assert h.pool.memory_used_mb() == 128
        assert await h.use(version("kept")) is kept

    run(scenario())
