"""Provisioned concurrency: keep the configured number of environments initialised and warm.

The registry holds what was requested (per version or alias); the provisioner makes the pool
match it: it starts the missing environments (with AWS_LAMBDA_INITIALIZATION_TYPE set to
provisioned-concurrency), stops the surplus, replaces any that died, and reports the progress
AWS reports: IN_PROGRESS while environments start, READY once all are up, FAILED (with a
StatusReason) when one cannot initialise. It reconciles after every control-plane change, at
start-up (so provisioned environments come back after a restart) and once a second (to
replace environments that died: a timeout or a crash ends an environment, provisioned or not).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import dataclass

from hearth.errors import LambdaError
from hearth.invoke.pool import Pool
from hearth.invoke.types import InitFailed, Progress, ProvisionedStatus
from hearth.models import FunctionVersion
from hearth.store.qualifiers import version_of
from hearth.store.registry import RegistryReader

logger = logging.getLogger("hearth.provisioner")

# How often the pool is checked against the configs without being told of a change.
RECONCILE_INTERVAL_SECONDS = 1.0
# AWS's StatusReason when the function's init fails in a provisioned environment.
INIT_FAILURE = "FUNCTION_ERROR_INIT_FAILURE"


@dataclass(frozen=True)
class _Target:
    version: FunctionVersion
    requested: int
    # Identifies the request: a failure sticks until the config is put again.
    last_modified: str


class Provisioner:
    def __init__(self, registry: RegistryReader, pool: Pool) -> None:
        self._registry = registry
        self._pool = pool
        self._targets: dict[tuple[str, str], _Target] = {}
        # (function, version) → (the config's LastModified when it failed, the reason).
        self._failures: dict[tuple[str, str], tuple[str, str]] = {}
        # The configs are read again only after a control-plane change; the periodic pass
        # just replaces environments that died.
        self._dirty = True
        self._wake: asyncio.Event | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._wake = asyncio.Event()
        self._task = self._loop.create_task(self._run())

    def invalidate(self) -> None:
        """The control plane changed something: reconcile soon (safe from any thread)."""
        self._dirty = True
        if self._loop is not None and self._wake is not None:
            self._loop.call_soon_threadsafe(self._wake.set)

    def progress(self, function: str, version: str, last_modified: str) -> Progress:
        """The progress of the config (put at `last_modified`) on function:version."""
        allocated = self._pool.provisioned_count(function, version)
        target = self._targets.get((function, version))
        failure = self._failures.get((function, version))
        if failure is not None and failure[0] == last_modified:
            return Progress(allocated, ProvisionedStatus.FAILED, failure[1])
        # READY only once the provisioner has seen this very request and filled it.
        seen = target is not None and target.last_modified == last_modified
        if seen and target is not None and allocated >= target.requested:
            return Progress(target.requested, ProvisionedStatus.READY)
        return Progress(allocated, ProvisionedStatus.IN_PROGRESS)

    async def _run(self) -> None:
        assert self._wake is not None
        while True:
            try:
                await self.reconcile()
            except Exception:  # a bad pass must not end provisioning for good
                logger.exception("provisioned concurrency: reconcile failed")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), RECONCILE_INTERVAL_SECONDS)
            self._wake.clear()

    async def reconcile(self) -> None:
        """Make the pool's provisioned environments match the registry's configs."""
        if self._dirty:
            self._dirty = False
            self._targets = self._load_targets()
        for key in self._pool.provisioned_versions() - set(self._targets):
            self._pool.remove_provisioned(*key, count=self._pool.provisioned_count(*key))
        starts: list[asyncio.Task[None]] = []
        for key, target in self._targets.items():
            have = self._pool.provisioned_count(*key)
            if have > target.requested:
                self._pool.remove_provisioned(*key, count=have - target.requested)
            failure = self._failures.get(key)
            if failure is not None and failure[0] == target.last_modified:
                self._release(key)  # failed for this request; a new Put tries again
                continue
            self._failures.pop(key, None)
            if have < target.requested:
                starts.append(asyncio.create_task(self._fill(key, target, target.requested - have)))
        if starts:
            await asyncio.gather(*starts)

    async def _fill(self, key: tuple[str, str], target: _Target, missing: int) -> None:
        results = await asyncio.gather(
            *(self._pool.add_provisioned(target.version) for _ in range(missing)),
            return_exceptions=True,
        )
        for result in results:
            if isinstance(result, InitFailed):
                self._failures[key] = (target.last_modified, INIT_FAILURE)
            elif isinstance(result, LambdaError):
                self._failures[key] = (
                    target.last_modified,
                    "Not enough memory: Hearth's memory budget (--memory-budget-mb) has no room "
                    "for the requested environments.",
                )
            elif isinstance(result, BaseException):
                logger.error("provisioned concurrency for %s:%s failed", *key, exc_info=result)
                self._failures[key] = (target.last_modified, str(result) or type(result).__name__)
        if key in self._failures:
            self._release(key)

    def _release(self, key: tuple[str, str]) -> None:
        """A failed config holds nothing: the environments it did start would keep their
        memory from every other function until the config was deleted."""
        held = self._pool.provisioned_count(*key)
        if held:
            self._pool.remove_provisioned(*key, count=held)

    def _load_targets(self) -> dict[tuple[str, str], _Target]:
        targets: dict[tuple[str, str], _Target] = {}
        with self._registry.transaction() as tx:
            for record in tx.list_functions():
                for qualifier, config in record.provisioned_concurrency.items():
                    number = version_of(tx, record.name, qualifier)
                    version = tx.get_version(record.name, number) if number is not None else None
                    if version is None:
                        continue
                    targets[record.name, version.version] = _Target(
                        version, config.requested, config.last_modified
                    )
        return targets

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
