"""The path of a synchronous invoke: resolve → pick a version → environment → result."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import time
import uuid
from typing import Protocol

from hearth.arns import LATEST, ArnFormatter, FunctionRef
from hearth.errors import ErrorCode, LambdaError, conflict, function_not_found
from hearth.invoke.leases import Leases, Slot
from hearth.invoke.lineage import next_trace
from hearth.invoke.pool import Pool, PoolKey
from hearth.invoke.streams import ResponseSink
from hearth.invoke.types import InitFailed, Invocation, InvokeResult
from hearth.models import FunctionVersion, State
from hearth.store.qualifiers import Weights, resolve_routing
from hearth.store.registry import RegistryReader

logger = logging.getLogger("hearth.invoke")

_Resolution = tuple[FunctionVersion | None, Weights]
_RESOLVE_CACHE_SIZE = 10_000


def recursive_invocation() -> LambdaError:
    return LambdaError(
        "RecursiveInvocationException",
        400,
        "Lambda has detected your function being invoked in a recursive loop with other AWS "
        "resources and stopped your function's invocation.",
    )


class InvokeObserver(Protocol):
    """Told of every invoke, throttle and queued event (the AWS/Lambda metrics). Called on
    the invoke path, after the function ran: an implementation only records, no I/O."""

    def invoked(
        self,
        function: str,
        qualifier: str | None,
        executed: str,
        duration_ms: float,
        error: bool,
        concurrency: int,
        unreserved: int,
        on_provisioned: bool = False,
        provisioned_in_use: int = 0,
        provisioned_allocated: int = 0,
    ) -> None: ...

    def throttled(self, function: str, qualifier: str | None) -> None: ...

    def async_received(self, function: str, qualifier: str | None) -> None: ...

    def cold_start(self, function: str) -> None: ...

    def recursion_stopped(self, function: str, qualifier: str | None) -> None:
        """An invoke was refused as the 17th round of a loop (RecursiveInvocationsDropped)."""
        ...


class Overflow(Protocol):
    """Where an invocation goes that this node has no room for (cluster mode: another node;
    see cluster/forward.py). Called only after a local throttle, never on the warm path."""

    async def invoke(
        self,
        ref: FunctionRef,
        payload: bytes,
        *,
        client_context: str | None,
        request_id: str | None,
        trace_header: str | None,
        timeout_seconds: float,
        throttle: LambdaError,
    ) -> InvokeResult:
        """The result of running it elsewhere. Raises `throttle` (the local 429) when no
        other place has room, a LambdaError as the place that ran it raised it, or
        ServiceException when that place was lost before it answered."""
        ...


class Invoker:
    """Resolves what an invoke names, takes a concurrency lease and runs the invocation in
    an environment from the pool. Reads the registry through a read-only view and caches what
    it resolves until `invalidate` (the NotifyingRegistry calls it after every write)."""

    def __init__(
        self,
        registry: RegistryReader,
        arns: ArnFormatter,
        pool: Pool,
        leases: Leases,
        observer: InvokeObserver | None = None,
    ) -> None:
        self._observer = observer
        self._registry = registry
        self._arns = arns
        self.leases = leases
        self.pool = pool
        self._sweep_scheduled = False
        # Cluster mode: where calls this node has no room for go (set by service.py).
        self.overflow: Overflow | None = None
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
            # AWS names the version it looked for: `:$LATEST` for an unqualified invoke.
            raise function_not_found(self._arns.function(ref.name, qualifier))
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
        sink: ResponseSink | None = None,
        trace_header: str | None = None,
        forward: bool = True,
    ) -> InvokeResult:
        """Run one invocation and return its result (a function error is a result too).
        `request_id`: an async event keeps its id across retries. `sink`: where a streamed
        response goes as the function writes it (see Environment.invoke).

        Raises ResourceNotFoundException / ResourceConflictException for what cannot be
        invoked, and TooManyRequestsException (429, with AWS's Reason and Retry-After) when
        a concurrency limit or the memory budget has no room: always before the function
        runs, so the caller may retry the same event later.

        `trace_header`: the X-Ray trace header of the message that caused this invoke (SQS,
        SNS), whose lineage counts the rounds of a loop (invoke/lineage.py); past 16 rounds
        the invoke raises RecursiveInvocationException unless the function allows loops.

        `forward`: whether a call this node has no room for may go to the overflow (another
        node); a streamed response (`sink`) always runs here."""
        version = self.resolve(ref)
        trace = next_trace(trace_header, self._arns.function(version.function_name))
        if trace.loop and self._stops_loops(version.function_name):
            # Said on Hearth's output, as AWS tells the account (its Health Dashboard).
            logger.warning(
                "%s: stopped an invocation in a recursive loop (round %d; the recursion "
                "config's RecursiveLoop is Terminate)",
                self._arns.function(version.function_name),
                trace.rounds,
            )
            if self._observer is not None:
                self._observer.recursion_stopped(ref.name, ref.qualifier)
            raise recursive_invocation()
        # A throttle (TooManyRequestsException) is raised here, before the function runs.
        try:
            with self.leases.lease(version.function_name, version.version) as slot:
                try:
                    lease = await self.pool.acquire(version)
                except InitFailed as failure:
                    self._record(ref, version, 0.0, True, slot)
                    return InvokeResult(failure.payload, version.version, "Unhandled", failure.log)
                # The deadline starts now, when the environment is ready to take the event: as
                # on AWS, starting it (a zygote, the function's init) does not eat the timeout.
                invocation = Invocation(
                    request_id=request_id or str(uuid.uuid4()),
                    payload=payload,
                    deadline_ms=int(time.time() * 1000) + version.timeout * 1000,
                    invoked_function_arn=self._arns.function(ref.name, ref.qualifier),
                    trace_id=trace.header,
                    client_context=client_context,
                )
                try:
                    outcome = await lease.environment.invoke(invocation, sink)
                finally:
                    self.pool.release(version, lease.environment)
                if lease.cold and self._observer is not None:
                    self._observer.cold_start(version.function_name)
                self._record(ref, version, outcome.duration_ms, bool(outcome.function_error), slot)
        except LambdaError as error:
            if error.code != ErrorCode.TOO_MANY_REQUESTS:
                raise
            throttle = error
        else:
            return InvokeResult(
                outcome.payload, version.version, outcome.function_error, outcome.log_tail
            )
        # No room here. In a cluster another node may have some (never for a call another
        # node forwarded, or for a streamed response: see Overflow).
        if self.overflow is not None and forward and sink is None:
            try:
                return await self.overflow.invoke(
                    ref,
                    payload,
                    client_context=client_context,
                    request_id=request_id,
                    trace_header=trace_header,
                    timeout_seconds=version.timeout,
                    throttle=throttle,
                )
            except LambdaError as error:
                if error.code != ErrorCode.TOO_MANY_REQUESTS:
                    raise
                throttle = error
        if self._observer is not None:
            self._observer.throttled(ref.name, ref.qualifier)
        raise throttle

    def _stops_loops(self, name: str) -> bool:
        with self._registry.transaction() as tx:
            record = tx.get_function(name)
        setting = record.settings.get("recursion", {}).get("", {}) if record else {}
        return bool(setting.get("RecursiveLoop", "Terminate") != "Allow")

    def event_received(self, ref: FunctionRef) -> None:
        """An Event invoke was queued (AWS/Lambda AsyncEventsReceived)."""
        if self._observer is not None:
            self._observer.async_received(ref.name, ref.qualifier)

    def _record(
        self,
        ref: FunctionRef,
        version: FunctionVersion,
        duration_ms: float,
        error: bool,
        slot: Slot,
    ) -> None:
        """Hands the observer one record: the metrics are folded later, off this path."""
        if self._observer is None:
            return
        usage, key = self.leases.usage, (version.function_name, version.version)
        self._observer.invoked(
            ref.name,
            ref.qualifier,
            version.version,
            duration_ms,
            error,
            usage.per_function[version.function_name],
            usage.unreserved,
            slot is Slot.PROVISIONED,
            usage.provisioned[key],
            self.leases.limits.provisioned.get(key, 0),
        )

    async def close(self) -> None:
        await self.pool.close()
