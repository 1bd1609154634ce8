"""The path of a synchronous invoke: resolve → pick a version → environment → result."""

from __future__ import annotations

import asyncio
import contextlib
import os
import random
import time
import uuid

from hearth.arns import LATEST, ArnFormatter, FunctionRef
from hearth.errors import conflict, function_not_found
from hearth.invoke.leases import Leases
from hearth.invoke.pool import Pool, PoolKey
from hearth.invoke.types import InitFailed, Invocation, InvokeResult
from hearth.models import FunctionVersion, State
from hearth.store.qualifiers import Weights, resolve_routing
from hearth.store.registry import RegistryReader

_Resolution = tuple[FunctionVersion | None, Weights]
_RESOLVE_CACHE_SIZE = 10_000


def trace_id() -> str:
    root = f"1-{int(time.time()):08x}-{os.urandom(12).hex()}"
    return f"Root={root};Parent={os.urandom(8).hex()};Sampled=0"


class Invoker:
    """Resolves what an invoke names, takes a concurrency lease and runs the invocation in
    an environment from the pool. Reads the registry through a read-only view and caches what
    it resolves until `invalidate` (the NotifyingRegistry calls it after every write)."""

    def __init__(
        self, registry: RegistryReader, arns: ArnFormatter, pool: Pool, leases: Leases
    ) -> None:
        self._registry = registry
        self._arns = arns
        self.leases = leases
        self.pool = pool
        self._sweep_scheduled = False
        # (name, qualifier) → the version it names and an alias's weighted extras. Cleared on
        # every control-plane change, so an update is seen by the very next invoke.
        self._resolved: dict[tuple[str, str], _Resolution] = {}

    def invalidate(self) -> None:
        """Forget cached resolutions and limits: the control plane changed something. Soon
        after, idle environments of versions that are gone (deleted, updated) are retired."""
        self._resolved.clear()
        self.leases.invalidate()
        if not self._sweep_scheduled:
            with contextlib.suppress(RuntimeError):  # no loop: nothing is running anyway
                asyncio.get_running_loop().call_soon(self._retire_gone)
                self._sweep_scheduled = True

    def _retire_gone(self) -> None:
        self._sweep_scheduled = False
        with self._registry.transaction() as tx:

            def still_current(key: PoolKey) -> bool:
                name, number, revision = key
                version = tx.get_version(name, number)
                return version is not None and version.revision_id == revision

            self.pool.retire_gone(still_current)

    def resolve(self, ref: FunctionRef) -> FunctionVersion:
        """The version to run: $LATEST, a number, or an alias's pick by its weights."""
        qualifier = ref.qualifier or LATEST
        cached = self._resolved.get((ref.name, qualifier))
        if cached is None:
            cached = self._lookup(ref.name, qualifier)
            if len(self._resolved) >= _RESOLVE_CACHE_SIZE:
                self._resolved.clear()
            self._resolved[(ref.name, qualifier)] = cached
        target, weights = cached
        if target is None:
            raise function_not_found(self._arns.function(ref.name, ref.qualifier))
        version = target
        roll = random.random()
        for extra, weight in weights:
            if roll < weight:
                version = extra
                break
            roll -= weight
        if version.state is not State.ACTIVE:
            raise conflict(
                "The operation cannot be performed at this time. The function is currently in "
                f"the following state: {version.state.value}"
            )
        return version

    def _lookup(self, name: str, qualifier: str) -> _Resolution:
        with self._registry.transaction() as tx:
            return resolve_routing(tx, name, qualifier)

    async def invoke(
        self,
        ref: FunctionRef,
        payload: bytes,
        *,
        client_context: str | None = None,
        request_id: str | None = None,
    ) -> InvokeResult:
        """Run one invocation and return its result (a function error is a result too).
        `request_id`: an async event keeps its id across retries.

        Raises ResourceNotFoundException / ResourceConflictException for what cannot be
        invoked, and TooManyRequestsException (429, with AWS's Reason and Retry-After) when
        a concurrency limit or the memory budget has no room: always before the function
        runs, so the caller may retry the same event later."""
        version = self.resolve(ref)
        # A throttle (TooManyRequestsException) is raised here, before the function runs.
        with self.leases.lease(version.function_name, version.version):
            try:
                lease = await self.pool.acquire(version)
            except InitFailed as failure:
                return InvokeResult(failure.payload, version.version, "Unhandled", failure.log)
            # The deadline starts now, when the environment is ready to take the event: as on
            # AWS, starting it (a zygote, the function's init) does not eat the timeout.
            invocation = Invocation(
                request_id=request_id or str(uuid.uuid4()),
                payload=payload,
                deadline_ms=int(time.time() * 1000) + version.timeout * 1000,
                invoked_function_arn=self._arns.function(ref.name, ref.qualifier),
                trace_id=trace_id(),
                client_context=client_context,
            )
            try:
                outcome = await lease.environment.invoke(invocation)
            finally:
                self.pool.release(version, lease.environment)
        return InvokeResult(
            outcome.payload, version.version, outcome.function_error, outcome.log_tail
        )

    async def close(self) -> None:
        await self.pool.close()
