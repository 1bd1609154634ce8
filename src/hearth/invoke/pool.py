"""The environment pool: warm environments reused, new ones started, idle ones reaped.

One invocation per environment at a time. Environments are keyed by function, version and
RevisionId: a code or configuration update changes the RevisionId, so new invocations go to
new environments while the old ones finish what they are doing and are then reaped.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from hearth.invoke.environment import Environment, EnvironmentState
from hearth.models import FunctionVersion

PoolKey = tuple[str, str, str]
EnvironmentFactory = Callable[[FunctionVersion], Awaitable[Environment]]


def pool_key(version: FunctionVersion) -> PoolKey:
    return (version.function_name, version.version, version.revision_id)


@dataclass
class Lease:
    environment: Environment
    cold: bool


class Pool:
    def __init__(self, start_environment: EnvironmentFactory, keep_alive_seconds: float) -> None:
        self._start = start_environment
        self._keep_alive = keep_alive_seconds
        self._idle: dict[PoolKey, list[Environment]] = {}
        self._busy: set[Environment] = set()
        self._current_revision: dict[tuple[str, str], str] = {}
        self._reaper: asyncio.Task[None] | None = None

    def start_reaper(self) -> None:
        self._reaper = asyncio.get_running_loop().create_task(self._reap_forever())

    async def acquire(self, version: FunctionVersion) -> Lease:
        """A warm environment for this version, or a new one (raises InitFailed)."""
        key = pool_key(version)
        self._retire_stale(version)
        idle = self._idle.get(key)
        while idle:
            environment = idle.pop()  # the most recently used is the warmest
            if environment.state is EnvironmentState.IDLE:
                self._busy.add(environment)
                return Lease(environment, cold=False)
        environment = await self._start(version)
        self._busy.add(environment)
        return Lease(environment, cold=True)

    def release(self, version: FunctionVersion, environment: Environment) -> None:
        self._busy.discard(environment)
        if environment.state is not EnvironmentState.IDLE:
            return
        key = pool_key(version)
        if self._current_revision.get(key[:2]) != key[2]:
            asyncio.get_running_loop().create_task(environment.destroy())  # drained
            return
        self._idle.setdefault(key, []).append(environment)

    def _retire_stale(self, version: FunctionVersion) -> None:
        name_version = (version.function_name, version.version)
        if self._current_revision.get(name_version) == version.revision_id:
            return
        self._current_revision[name_version] = version.revision_id
        for key in [k for k in self._idle if k[:2] == name_version and k[2] != version.revision_id]:
            for environment in self._idle.pop(key):
                asyncio.get_running_loop().create_task(environment.destroy())

    def counts(self) -> tuple[int, int]:
        """(idle, busy) environments."""
        return sum(len(v) for v in self._idle.values()), len(self._busy)

    async def reap_idle(self, now: float | None = None) -> int:
        """Destroy environments idle longer than the keep-alive; return how many."""
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
        everything = [e for envs in self._idle.values() for e in envs] + list(self._busy)
        self._idle.clear()
        self._busy.clear()
        await asyncio.gather(*(e.destroy() for e in everything), return_exceptions=True)
