"""The environment pool: warm environments reused, new ones started, idle ones reaped.

One invocation per environment at a time. Environments are keyed by function, version and
RevisionId: a code or configuration update changes the RevisionId, so new invocations go to
new environments while the old ones finish what they are doing and are then reaped.

The machine bound: the MemorySize of every live environment (starting, idle, busy) stays
under the memory budget. A new environment that would not fit first evicts idle on-demand
environments, least recently used first; if there is still no room the invocation is
throttled (429 ConcurrentInvocationLimitExceeded) before anything runs.

Provisioned environments (see provisioner.py) are started ahead, count against the budget
like any other, are used before on-demand ones, and are never reaped or evicted.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Protocol

from hearth.errors import too_many_requests
from hearth.invoke.leases import RETRY_AFTER_SECONDS, ThrottleReason
from hearth.invoke.streams import ResponseSink
from hearth.invoke.types import EnvironmentState, Invocation, InvokeOutcome
from hearth.models import FunctionVersion

PoolKey = tuple[str, str, str]


class Environment(Protocol):
    """What the pool and the invoker need of an execution environment
    (hearth.invoke.environment; hearth.invoke.fakes.FakeEnvironment in tests).

    Guarantees asked of implementations: `state` is IDLE exactly when `invoke` may be called;
    `invoke` runs one invocation (BUSY meanwhile) and leaves the environment IDLE, or DEAD
    after a timeout or crash; DEAD is final; `destroy` ends the environment's process, is
    safe to call in any state and more than once; `last_used` is a time.monotonic() reading
    taken when the last invocation ended; `memory_size` (MB) never changes. With `sink`, a
    response the function streams goes there as it is written (hearth.invoke.streams)."""

    state: EnvironmentState
    memory_size: int
    last_used: float

    async def invoke(
        self, invocation: Invocation, sink: ResponseSink | None = None
    ) -> InvokeOutcome: ...

    async def destroy(self) -> None: ...


# Starts an environment for a version; the flag says whether it is a provisioned one.
# Raises InitFailed when it cannot initialise.
EnvironmentFactory = Callable[[FunctionVersion, bool], Awaitable[Environment]]


def pool_key(version: FunctionVersion) -> PoolKey:
    return (version.function_name, version.version, version.revision_id)


@dataclass
class Lease:
    environment: Environment
    cold: bool


class Pool:
    def __init__(
        self,
        start_environment: EnvironmentFactory,
        keep_alive_seconds: float,
        memory_budget_mb: int,
    ) -> None:
        self._start = start_environment
        self._keep_alive = keep_alive_seconds
        self._budget_mb = memory_budget_mb
        # Idle on-demand environments; each list is oldest-used first.
        self._idle: dict[PoolKey, list[Environment]] = {}
        # Idle provisioned environments.
        self._warm: dict[PoolKey, list[Environment]] = {}
        self._busy: set[Environment] = set()
        # Every provisioned environment (idle or busy), by (function, version).
        self._provisioned: dict[tuple[str, str], set[Environment]] = {}
        # Every environment holding memory, and the memory of those still starting.
        self._live: set[Environment] = set()
        self._destroying: set[asyncio.Task[None]] = set()
        self._starting_mb = 0
        self._current_revision: dict[tuple[str, str], str] = {}
        self._reaper: asyncio.Task[None] | None = None

    def start_reaper(self) -> None:
        self._reaper = asyncio.get_running_loop().create_task(self._reap_forever())

    async def acquire(self, version: FunctionVersion) -> Lease:
        """A warm environment for this version (provisioned first), or a new one.

        Raises InitFailed when a new one cannot initialise, and TooManyRequestsException when
        the memory budget has no room for it."""
        key = pool_key(version)
        self._retire_stale(version)
        for idle in (self._warm.get(key), self._idle.get(key)):
            while idle:
                environment = idle.pop()  # the most recently used is the warmest
                if environment.state is EnvironmentState.IDLE:
                    self._busy.add(environment)
                    return Lease(environment, cold=False)
        environment = await self._start_within_budget(version, provisioned=False)
        self._busy.add(environment)
        return Lease(environment, cold=True)

    def release(self, version: FunctionVersion, environment: Environment) -> None:
        self._busy.discard(environment)
        if environment.state is not EnvironmentState.IDLE:
            self._live.discard(environment)
            return
        key = pool_key(version)
        if self._current_revision.get(key[:2]) != key[2]:
            self._discard(environment)  # drained
            return
        if environment in self._provisioned.get(key[:2], ()):
            self._warm.setdefault(key, []).append(environment)
        else:
            self._idle.setdefault(key, []).append(environment)

    def _retire_stale(self, version: FunctionVersion) -> None:
        name_version = (version.function_name, version.version)
        if self._current_revision.get(name_version) == version.revision_id:
            return
        self._current_revision[name_version] = version.revision_id
        for idle in (self._idle, self._warm):
            for key in [k for k in idle if k[:2] == name_version and k[2] != version.revision_id]:
                for environment in idle.pop(key):
                    self._discard(environment)

    # Memory -------------------------------------------------------------------------------
    def memory_used_mb(self) -> int:
        """The MemorySize of every live environment, and of those being started."""
        self._live = {e for e in self._live if e.state is not EnvironmentState.DEAD}
        return sum(e.memory_size for e in self._live) + self._starting_mb

    async def _start_within_budget(
        self, version: FunctionVersion, *, provisioned: bool
    ) -> Environment:
        need = version.memory_size
        victims = self._make_room(need)
        # Claimed before the first await, so concurrent starts cannot overcommit the budget.
        self._starting_mb += need
        try:
            # The victims are dead for the budget already; their processes are killed now and
            # reaped in the background, so the new environment does not wait for that.
            for victim in victims:
                self._discard(victim)
            environment = await self._start(version, provisioned)
        finally:
            self._starting_mb -= need
        self._live.add(environment)
        return environment

    def _make_room(self, need_mb: int) -> list[Environment]:
        """Take idle on-demand environments out of the pool, least recently used first, until
        `need_mb` more fits the budget; return them for destruction. Throttles otherwise."""
        free = self._budget_mb - self.memory_used_mb()
        if need_mb <= free:
            return []
        candidates = sorted(
            (
                e
                for idle in self._idle.values()
                for e in idle
                if e.state is EnvironmentState.IDLE  # a dead one frees nothing more
            ),
            key=lambda e: e.last_used,
        )
        victims: list[Environment] = []
        for environment in candidates:
            if need_mb <= free:
                break
            victims.append(environment)
            free += environment.memory_size
        if need_mb > free:
            raise too_many_requests(ThrottleReason.ACCOUNT.value, RETRY_AFTER_SECONDS)
        for environment in victims:
            for key, idle in list(self._idle.items()):
                if environment in idle:
                    idle.remove(environment)
                    if not idle:
                        del self._idle[key]
            self._live.discard(environment)
        return victims

    def retire_gone(self, still_current: Callable[[PoolKey], bool]) -> int:
        """Destroy idle on-demand environments whose function version is gone or has a new
        RevisionId (a deleted function's, say); return how many. Busy ones finish their
        invocation first. Provisioned ones are the provisioner's to retire."""
        gone = [key for key in self._idle if not still_current(key)]
        retired = 0
        for key in gone:
            for environment in self._idle.pop(key):
                self._discard(environment)
                retired += 1
        return retired

    def _discard(self, environment: Environment) -> None:
        self._live.discard(environment)
        task = asyncio.get_running_loop().create_task(environment.destroy())
        self._destroying.add(task)  # a task nobody references may be collected mid-way
        task.add_done_callback(self._destroying.discard)

    # Provisioned environments -------------------------------------------------------------
    def provisioned_count(self, function: str, version: str) -> int:
        """Live provisioned environments of function:version (idle or busy)."""
        environments = self._provisioned.get((function, version), set())
        alive = {e for e in environments if e.state is not EnvironmentState.DEAD}
        if alive != environments:
            self._provisioned[function, version] = alive
        return len(alive)

    def provisioned_versions(self) -> set[tuple[str, str]]:
        return {key for key, environments in self._provisioned.items() if environments}

    async def add_provisioned(self, version: FunctionVersion) -> None:
        """Start one more provisioned environment of this version; raises InitFailed, or
        TooManyRequestsException when the memory budget has no room for it."""
        self._retire_stale(version)
        environment = await self._start_within_budget(version, provisioned=True)
        self._provisioned.setdefault((version.function_name, version.version), set()).add(
            environment
        )
        self._warm.setdefault(pool_key(version), []).append(environment)

    def remove_provisioned(self, function: str, version: str, count: int) -> None:
        """Stop keeping `count` provisioned environments of function:version: idle ones are
        destroyed now; busy ones finish their invocation and then live on as on-demand."""
        environments = self._provisioned.get((function, version), set())
        idle_first = sorted(environments, key=lambda e: e.state is not EnvironmentState.IDLE)
        for environment in idle_first[:count]:
            environments.discard(environment)
            for warm in self._warm.values():
                if environment in warm:
                    warm.remove(environment)
                    self._discard(environment)
        if not environments:
            self._provisioned.pop((function, version), None)

    # Reaping ------------------------------------------------------------------------------
    def warm_functions(self) -> list[str]:
        """The functions with an idle on-demand environment now (for a cluster's hints; safe
        to call from another thread: it copies the index in one step under the GIL)."""
        return sorted({key[0] for key, idle in list(self._idle.items()) if idle})

    def counts(self) -> tuple[int, int]:
        """(idle, busy) environments."""
        idle = sum(len(v) for v in self._idle.values()) + sum(len(v) for v in self._warm.values())
        return idle, len(self._busy)

    async def reap_idle(self, now: float | None = None) -> int:
        """Destroy on-demand environments idle longer than the keep-alive; return how many.
        Provisioned environments are kept however long they are idle."""
        now = time.monotonic() if now is None else now
        expired: list[Environment] = []
        for key, environments in list(self._idle.items()):
            keep = [e for e in environments if now - e.last_used < self._keep_alive]
            expired += [e for e in environments if e not in keep]
            if keep:
                self._idle[key] = keep
            else:
                del self._idle[key]
        for environment in expired:
            self._live.discard(environment)
            await environment.destroy()
        return len(expired)

    async def _reap_forever(self) -> None:
        while True:
            await asyncio.sleep(min(1.0, self._keep_alive / 2))
            await self.reap_idle()

    async def close(self) -> None:
        if self._reaper is not None:
            self._reaper.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._reaper
        everything = {
            e for idle in (self._idle, self._warm) for envs in idle.values() for e in envs
        }
        everything |= self._busy | self._live
        self._idle.clear()
        self._warm.clear()
        self._busy.clear()
        self._live.clear()
        self._provisioned.clear()
        await asyncio.gather(
            *(e.destroy() for e in everything), *self._destroying, return_exceptions=True
        )
