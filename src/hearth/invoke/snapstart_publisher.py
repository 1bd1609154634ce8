"""Runs a SnapStart version's init when it is published, and drops templates nobody needs.

After every control-plane change (and once at start-up) it looks for published versions that
wait for their template (Pending, SnapStart on) and builds each template; then it reports
the outcome (`done(version, None)`, or `done(version, reason)` when init failed) for the
control plane to turn the version Active or Failed. Templates of versions that were deleted,
or of a `$LATEST` that changed, are closed.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import Awaitable, Callable

from hearth.invoke.snapstart import Template, init_failure_reason
from hearth.invoke.types import InitFailed
from hearth.models import FunctionVersion
from hearth.store.registry import RegistryReader

logger = logging.getLogger("hearth.snapstart")

BuildTemplate = Callable[[FunctionVersion], Awaitable[Template]]
Forget = Callable[[set[tuple[str, str, str]]], Awaitable[None]]
Done = Callable[[FunctionVersion, str | None], None]


class SnapStartPublisher:
    def __init__(
        self, registry: RegistryReader, build: BuildTemplate, forget: Forget, done: Done
    ) -> None:
        self._registry = registry
        self._build = build
        self._forget = forget
        self._done = done
        self._building: dict[tuple[str, str, str], asyncio.Task[None]] = {}
        self._wake: asyncio.Event | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._wake = asyncio.Event()
        self._wake.set()
        self._task = self._loop.create_task(self._run())

    def invalidate(self) -> None:
        """The registry changed (safe from any thread)."""
        if self._loop is not None and self._wake is not None:
            self._loop.call_soon_threadsafe(self._wake.set)

    async def close(self) -> None:
        tasks = [t for t in (self._task, *self._building.values()) if t is not None]
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(BaseException):
                await task

    async def _run(self) -> None:
        assert self._wake is not None
        while True:
            await self._wake.wait()
            self._wake.clear()
            try:
                await self._pass()
            except Exception:
                logger.exception("SnapStart pass failed")

    async def _pass(self) -> None:
        with self._registry.transaction() as tx:
            versions = [v for f in tx.list_functions() for v in tx.list_versions(f.name)]
        keep = {(v.function_name, v.version, v.revision_id) for v in versions}
        await self._forget(keep)
        for version in versions:
            key = (version.function_name, version.version, version.revision_id)
            if version.awaiting_snapshot and key not in self._building:
                task = asyncio.get_running_loop().create_task(self._publish(version))
                self._building[key] = task
                task.add_done_callback(lambda _, key=key: self._building.pop(key, None))  # type: ignore[misc]

    async def _publish(self, version: FunctionVersion) -> None:
        try:
            await self._build(version)
        except InitFailed as failed:
            try:
                error = json.loads(failed.payload)
            except ValueError:
                error = {"errorType": "Runtime.Unknown"}
            self._done(version, init_failure_reason(error if isinstance(error, dict) else {}))
            return
        except Exception as exc:
            logger.warning(
                "SnapStart init of %s:%s failed",
                version.function_name,
                version.version,
                exc_info=True,
            )
            self._done(
                version,
                init_failure_reason({"errorType": type(exc).__name__, "errorMessage": str(exc)}),
            )
            return
        self._done(version, None)
