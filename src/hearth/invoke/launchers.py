"""Picks and owns the launchers: one zygote per Python interpreter, exec for the rest."""

from __future__ import annotations

import asyncio
import logging
import sys
from collections.abc import Sequence
from typing import Any

from hearth.invoke.launch import ExecLauncher, LaunchedProcess, Launcher
from hearth.invoke.runtimes import family_of
from hearth.sandbox.zygote import Zygote, find_python

logger = logging.getLogger("hearth.invoke")


class ZygoteLauncher:
    """Forks Python environments from a warm zygote; restarts the zygote if it died."""

    def __init__(self, python: str, *, var_lang: bool = False) -> None:
        self._python = python
        # Sandboxed: the zygote runs from /var/lang, as AWS's runtimes do.
        self._var_lang = var_lang
        self._zygote: Zygote | None = None
        self._lock = asyncio.Lock()

    async def _ready_zygote(self) -> Zygote:
        async with self._lock:
            if self._zygote is None or not self._zygote.alive:
                self._zygote = await Zygote.start(self._python, var_lang=self._var_lang)
            return self._zygote

    async def prewarm(self) -> None:
        await self._ready_zygote()

    async def launch(
        self,
        argv: Sequence[str] | None,
        env: dict[str, str],
        cwd: str,
        output_fd: int,
        sandbox: dict[str, Any] | None = None,
        input_fd: int | None = None,
        *,
        template_fd: int = -1,
    ) -> LaunchedProcess:
        """Fork the runtime; with a sandbox plan, inside it (the plan carries any command
        to exec there, which is how Node.js and custom runtimes are sandboxed too). With
        `template_fd`, the runtime is a SnapStart template talking to Hearth on that fd."""
        zygote = await self._ready_zygote()
        sys_path = [cwd, *[p for p in env.get("PYTHONPATH", "").split(":") if p and p != cwd]]
        spawned = await zygote.spawn(
            env=env,
            cwd=cwd,
            sys_path=sys_path,
            output_fd=output_fd,
            sandbox=sandbox,
            template_fd=template_fd,
            input_fd=input_fd,
        )
        return LaunchedProcess(spawned.pid, spawned.exited)

    async def close(self) -> None:
        if self._zygote is not None:
            await self._zygote.close()


class Launchers:
    """One launcher per runtime. Sandboxed, every environment is forked from a zygote, which
    sets the sandbox up: Python runtimes from their interpreter's zygote, the others from
    a zygote on Hearth's own interpreter that execs their command inside the sandbox."""

    def __init__(self, sandboxed: bool = False) -> None:
        self._sandboxed = sandboxed
        self._exec = ExecLauncher()
        self._zygotes: dict[str, ZygoteLauncher] = {}

    def interpreter_for(self, runtime: str) -> str | None:
        """The Python interpreter a runtime's environments run on (None: not Python)."""
        return find_python(runtime) if family_of(runtime).uses_zygote else None

    async def for_runtime(self, runtime: str) -> Launcher:
        python = self.interpreter_for(runtime)
        if python is None:
            if not self._sandboxed:
                return self._exec
            python = sys.executable
        if python not in self._zygotes:
            self._zygotes[python] = ZygoteLauncher(python, var_lang=self._sandboxed)
        return self._zygotes[python]

    async def prewarm(self, runtimes: set[str]) -> None:
        """Start the zygotes these runtimes use, so no invoke waits for an interpreter boot."""
        for runtime in sorted(runtimes):
            launcher = await self.for_runtime(runtime)
            if isinstance(launcher, ZygoteLauncher):
                try:
                    await launcher.prewarm()
                except Exception:  # the first invoke will try again and report it
                    logger.warning("could not start the zygote for %s", runtime, exc_info=True)

    async def close(self) -> None:
        await asyncio.gather(*(z.close() for z in self._zygotes.values()))
