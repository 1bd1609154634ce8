"""Runs one poller per enabled event source mapping and settles mapping states.

The control plane writes a mapping with a transitional state (Creating, Enabling, Updating,
Disabling, Deleting) and notifies; the supervisor then starts, restarts or stops the poller
and writes the settled state (Enabled / Disabled) or removes the mapping, as AWS does a moment
after the 202. On start it resumes every Enabled mapping, from the committed positions.
Its own writes go to the storage registry directly: nothing that caches needs to hear them.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

from hearth.arns import LATEST, ArnFormatter, Source, source_of
from hearth.events.ownership import MappingOwnership, SoleOwner
from hearth.events.poller_base import InvokeFunction, MappingStats, PollerContext
from hearth.events.positions import Positions
from hearth.events.sources import SourceClients
from hearth.models import EventSourceMapping, MappingState
from hearth.store.registry import Registry

# (function name, qualifier, age in ms of a batch's last record): AWS's IteratorAge.
IteratorAgeObserver = Callable[[str, str | None, float], None]

logger = logging.getLogger("hearth.events.mappings")

RECONCILE_SECONDS = 2.0
CLAIM_RETRY_SECONDS = 0.25
STOP_GRACE_SECONDS = 5.0


class _Poller(Protocol):
    async def run(self) -> None: ...


@dataclass
class _Running:
    mapping: EventSourceMapping
    context: PollerContext
    task: asyncio.Task[None]


class MappingSupervisor:
    def __init__(
        self,
        storage: Registry,
        clients: SourceClients,
        positions: Positions,
        invoke: InvokeFunction,
        arns: ArnFormatter,
        sink: Any = None,
        iterator_age: IteratorAgeObserver | None = None,
        ownership: MappingOwnership | None = None,
    ) -> None:
        self._iterator_age = iterator_age
        # Which mappings this server polls and settles (a cluster node: its share).
        self._owner: MappingOwnership = ownership or SoleOwner()
        self._owner.on_change(self.notify)
        self._storage = storage
        self._clients = clients
        self._positions = positions
        self._invoke = invoke
        self._arns = arns
        self._sink = sink
        self._running: dict[str, _Running] = {}
        self._stats: dict[str, MappingStats] = {}
        self._wake: asyncio.Event | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._task: asyncio.Task[None] | None = None
        self._waiting_to_claim = False

    # Lifecycle ---------------------------------------------------------------------------
    def set_own_endpoint(self, url: str) -> None:
        self._clients.default_endpoint = url
        if self._sink is not None and getattr(self._sink, "_endpoint_url", "unset") is None:
            # OnFailure records go to the embedded services, signed as the pollers sign: with
            # no keys of its own the sink would look for AWS credentials and find none.
            self._sink.point_at(url, self._clients.own_keys())

    def use_in_process(self, services: Any, external: frozenset[str]) -> None:
        """Read queues of the embedded services in-process (see `sqs_readers`)."""
        self._clients.use_in_process(services, external)

    def start(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._wake = asyncio.Event()
        self._task = asyncio.create_task(self._loop_forever())

    def notify(self) -> None:
        """Registry listener: called after any control-plane write, from any thread."""
        loop, wake = self._loop, self._wake
        if loop is None or wake is None or loop.is_closed():
            return
        loop.call_soon_threadsafe(wake.set)

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        await asyncio.gather(*(self._stop(uuid) for uuid in list(self._running)))
        self._clients.close()

    async def _loop_forever(self) -> None:
        assert self._wake is not None
        while True:
            try:
                await self.reconcile()
            except Exception:
                logger.exception("event source mapping reconcile failed")
            # A mapping this server is to take but could not yet (its last holder's lease has
            # not run out): looked at again soon, not a whole period later.
            wait = CLAIM_RETRY_SECONDS if self._waiting_to_claim else RECONCILE_SECONDS
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), wait)
            self._wake.clear()

    # Reconciling -------------------------------------------------------------------------
    async def reconcile(self) -> None:
        self._waiting_to_claim = False
        with self._storage.transaction() as tx:
            mappings = {m.uuid: m for m in tx.list_mappings()}
        for uuid in list(self._running):
            # A mapping gone, or whose lease this node lost (another node may poll it now).
            if uuid not in mappings or not self._owner.holds(uuid):
                await self._stop(uuid)
        for mapping in mappings.values():
            await self._settle(mapping)

    async def _settle(self, mapping: EventSourceMapping) -> None:  # noqa: PLR0912 - one branch per state
        state = mapping.state
        enabled = bool(mapping.config.get("_Enabled", True))
        running = self._running.get(mapping.uuid)
        # One server settles each change (in a cluster, the mapping's preferred node); any
        # server stops its own poller of a mapping that changed or is no longer its own.
        decides = self._owner.decides(mapping.uuid)
        if state == MappingState.DELETING:
            await self._stop(mapping.uuid)
            if decides:
                with self._storage.transaction() as tx:
                    tx.delete_mapping(mapping.uuid)
                self._positions.forget(mapping.uuid)
            self._stats.pop(mapping.uuid, None)
            return
        if state in (MappingState.CREATING, MappingState.ENABLING, MappingState.UPDATING):
            if running is not None and running.mapping != mapping:
                await self._stop(mapping.uuid)
                running = None
            if not decides:
                return
            if enabled and running is None:
                await self._start_if_claimed(mapping)
            elif not enabled:
                await self._stop(mapping.uuid)
            settled = MappingState.ENABLED if enabled else MappingState.DISABLED
            self._write(mapping.uuid, {"State": settled.value})
            return
        if state == MappingState.DISABLING:
            await self._stop(mapping.uuid)
            if decides:
                self._write(mapping.uuid, {"State": MappingState.DISABLED.value})
            return
        if state == MappingState.ENABLED:
            if running is not None and not _same_settings(running.mapping, mapping):
                # Changed while settled by another node before this one saw the change.
                await self._stop(mapping.uuid)
                running = None
            if running is None:
                await self._start_if_claimed(mapping)  # after a restart, or a take-over
            elif not await self._owner.claim(mapping.uuid):
                await self._stop(mapping.uuid)  # another node's now (it joined, or took over)
        elif state == MappingState.DISABLED and running is not None:
            await self._stop(mapping.uuid)

    async def _start_if_claimed(self, mapping: EventSourceMapping) -> None:
        if await self._owner.claim(mapping.uuid):
            self._start(mapping)
        elif self._owner.decides(mapping.uuid):
            self._waiting_to_claim = True

    def _write(self, uuid: str, changes: dict[str, Any]) -> None:
        with self._storage.transaction() as tx:
            current = tx.get_mapping(uuid)
            if current is None:
                return
            config = {**current.config, **changes}
            updated = dataclasses.replace(current, config=config)
            tx.put_mapping(updated)
        running = self._running.get(uuid)
        if running is not None:
            # The running poller's record follows, so this write is not read as a change.
            running.mapping = updated
            running.context.mapping = dataclasses.replace(
                running.context.mapping, config={**running.context.mapping.config, **changes}
            )

    def _start(self, mapping: EventSourceMapping) -> None:
        stats = self._stats.setdefault(mapping.uuid, MappingStats())
        uuid = mapping.uuid

        def report(changes: dict[str, Any]) -> None:
            self._write(uuid, changes)

        with self._storage.transaction() as tx:
            latest = tx.get_version(mapping.function_name, LATEST)
        context = PollerContext(
            mapping=mapping,
            function_arn=self._arns.function(mapping.function_name),
            invoke=self._invoke,
            clients=self._clients,
            stats=stats,
            report=report,
            role=latest.role if latest is not None else "",
            iterator_age=self._age_observer(mapping),
        )
        poller = self._make_poller(context)
        task = asyncio.create_task(poller.run(), name=f"mapping-{mapping.uuid}")
        self._running[mapping.uuid] = _Running(mapping, context, task)

    def _age_observer(self, mapping: EventSourceMapping) -> Callable[[float], None] | None:
        observe = self._iterator_age
        if observe is None:
            return None
        return lambda age_ms: observe(mapping.function_name, mapping.qualifier, age_ms)

    def _make_poller(self, context: PollerContext) -> _Poller:
        from hearth.events.sqs_poller import SqsPoller  # noqa: PLC0415
        from hearth.events.stream_poller import StreamPoller  # noqa: PLC0415

        if context.source is Source.SQS:
            return SqsPoller(context)
        return StreamPoller(context, self._positions, self._sink)

    async def _stop(self, uuid: str) -> None:
        running = self._running.pop(uuid, None)
        if running is None:
            return
        try:
            await self._stop_poller(uuid, running)
        finally:
            # Only once the poller stopped (its last commit made): the next node resumes there.
            await self._owner.release(uuid)

    async def _stop_poller(self, uuid: str, running: _Running) -> None:
        running.context.stopping.set()
        try:
            await asyncio.wait_for(asyncio.shield(running.task), STOP_GRACE_SECONDS)
        except (TimeoutError, asyncio.CancelledError):
            running.task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await running.task
        except Exception:
            logger.exception("poller of mapping %s failed", uuid)

    # Status ------------------------------------------------------------------------------
    def status(self) -> dict[str, Any]:
        with self._storage.transaction() as tx:
            mappings = tx.list_mappings()
        shown = []
        for mapping in mappings:
            stats = self._stats.get(mapping.uuid, MappingStats())
            shown.append(
                {
                    "UUID": mapping.uuid,
                    "EventSourceArn": mapping.event_source_arn,
                    "FunctionName": mapping.function_name,
                    "Source": source_of(mapping.event_source_arn).value,
                    "State": mapping.state,
                    "Running": mapping.uuid in self._running,
                    **stats.to_dict(),
                }
            )
        return {"EventSourceMappings": shown}


# What the control plane sets on a mapping; the rest of its config is what the pollers and
# the supervisor report (state, last result), which does not call for a new poller.
_REPORTED = frozenset({"State", "LastProcessingResult", "StateTransitionReason"})


def _same_settings(a: EventSourceMapping, b: EventSourceMapping) -> bool:
    def settings(m: EventSourceMapping) -> tuple[Any, ...]:
        config = {k: v for k, v in m.config.items() if k not in _REPORTED}
        return (m.function_name, m.qualifier, m.event_source_arn, config)

    return settings(a) == settings(b)
