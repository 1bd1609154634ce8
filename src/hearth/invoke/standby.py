"""Node.js runtimes started ahead of need, so a Node.js cold start does not boot Node.

A *standby* is `node bootstrap.mjs` started (sandboxed like any environment, when Hearth
sandboxes) with no function yet: Node has booted and loaded Hearth's runtime client, and the
process blocks reading its stdin. An environment that needs a Node.js runtime takes one and
writes its assignment there: the function's variables and working directory (and, sandboxed,
the late plan its sandbox's init carries out first: the function's code at /var/task, its
layers at /opt, its Runtime API socket, /tmp's size, its cgroups; see sandbox_entry.py).
From then on it is an ordinary environment of that function. Python needs none of this: its
environments are forked from a zygote that has already imported its runtime client.

Guarantees: `take` never waits (None when no standby is ready: the caller starts a runtime
the ordinary way); a standby is handed out once; standbys that died while waiting are never
handed out; `close` kills every standby not handed out.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import subprocess
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any

from hearth.invoke.launch import LaunchedProcess, Launcher, die_with_parent, watch_exit
from hearth.sandbox.isolation import Sandboxes, StandbySandbox

logger = logging.getLogger("hearth.invoke")

# The variable that makes bootstrap.mjs wait for its assignment on stdin.
STANDBY_VARIABLE = "HEARTH_STANDBY"
# /tmp's size until assignment (AWS's default EphemeralStorage); the assignment resizes it.
STANDBY_TMP_BYTES = 512 * 1024 * 1024


@dataclass
class Standby:
    process: LaunchedProcess
    output_fd: int  # the read end of its stdout/stderr pipe
    assign_fd: int  # the write end of its stdin (sandboxed: its init's stdin)
    sandbox: StandbySandbox | None = None

    def assign(self, message: dict[str, Any]) -> LaunchedProcess:
        """Hand the standby its function: `message` is what its stdin reader expects. The
        returned process writes to `output_fd`, which the environment now owns."""
        data = json.dumps(message).encode()
        fd, self.assign_fd = self.assign_fd, -1
        try:
            # A few KB into an empty pipe: this does not block.
            while data:
                data = data[os.write(fd, data) :]
        except OSError:
            pass  # it died meanwhile: the environment sees it exit during init
        finally:
            os.close(fd)
        self.process.output_fd = self.output_fd
        return self.process

    def last_words(self) -> str:
        """What a dead standby printed (its output pipe, never read until assignment)."""
        os.set_blocking(self.output_fd, False)
        with contextlib.suppress(OSError):
            return os.read(self.output_fd, 4096).decode("utf-8", errors="replace").strip()
        return ""

    def discard(self) -> None:
        """Kill a standby that will not be handed out, and free what it holds once gone."""
        self.process.kill()
        for fd in (self.assign_fd, self.output_fd):
            if fd >= 0:
                with contextlib.suppress(OSError):
                    os.close(fd)
        self.assign_fd = self.output_fd = -1
        sandbox = self.sandbox
        if sandbox is not None:
            self.process.exited.add_done_callback(lambda _: sandbox.release())


StartStandby = Callable[[], Awaitable[Standby]]


class StandbyPool:
    """Keeps up to `size` standbys ready, refilling in the background once one is taken.

    It starts filling on the first `take` (or `fill`): a server with no Node.js function
    never runs a standby."""

    def __init__(self, start: StartStandby, size: int = 2) -> None:
        self._start = start
        self._size = size
        self._ready: list[Standby] = []
        self._filling: asyncio.Task[None] | None = None
        self._closed = False

    def take(self) -> Standby | None:
        taken = None
        while self._ready:
            standby = self._ready.pop(0)
            if not standby.process.exited.done():
                taken = standby
                break
            logger.warning(
                "a standby Node.js runtime exited (status %s) before it was needed: %s",
                standby.process.exited.result(),
                standby.last_words(),
            )
            standby.discard()
        self.fill_soon()
        return taken

    def fill_soon(self) -> None:
        if self._closed or (self._filling is not None and not self._filling.done()):
            return
        self._filling = asyncio.get_running_loop().create_task(self.fill())

    async def fill(self) -> None:
        while not self._closed and len(self._ready) < self._size:
            try:
                standby = await self._start()
            except Exception:  # the ordinary path still works; it reports the real error
                logger.warning("could not start a standby Node.js runtime", exc_info=True)
                return
            if self.closed:  # closed while it started
                standby.discard()
                return
            self._ready.append(standby)

    @property
    def closed(self) -> bool:
        return self._closed

    def close_now(self) -> None:
        self._closed = True
        if self._filling is not None:
            self._filling.cancel()
        for standby in self._ready:
            standby.discard()
        self._ready.clear()


def standby_environment() -> dict[str, str]:
    """A standby's variables until assignment (the assignment replaces them all)."""
    return {"PATH": "/usr/local/bin:/usr/bin:/bin", STANDBY_VARIABLE: "1", "TZ": ":UTC"}


async def start_process_standby(argv: Sequence[str]) -> Standby:
    """A standby as a plain process (Hearth without its sandbox)."""
    in_r, in_w = os.pipe()
    out_r, out_w = os.pipe()
    try:
        process = subprocess.Popen(  # noqa: S603 - argv is the runtime table's node command
            list(argv),
            env=standby_environment(),
            cwd="/",
            stdin=in_r,
            stdout=out_w,
            stderr=out_w,
            preexec_fn=die_with_parent,  # noqa: PLW1509 - the server is single-threaded here
            close_fds=True,
        )
    except BaseException:
        for fd in (in_w, out_r):
            os.close(fd)
        raise
    finally:
        os.close(in_r)
        os.close(out_w)
    exited: asyncio.Future[int] = asyncio.get_running_loop().create_future()
    watch_exit(process, exited)
    return Standby(LaunchedProcess(process.pid, exited), out_r, in_w)


async def start_sandboxed_standby(
    argv: Sequence[str], launcher: Launcher, sandboxes: Sandboxes
) -> Standby:
    """A standby in a sandbox of its own, forked from the zygote like any environment."""
    sandbox = sandboxes.prepare_standby(argv, STANDBY_TMP_BYTES)
    in_r, in_w = os.pipe()
    out_r, out_w = os.pipe()
    try:
        process = await launcher.launch(
            argv, standby_environment(), "/", out_w, sandbox=sandbox.plan, input_fd=in_r
        )
    except BaseException:
        for fd in (in_w, out_r):
            os.close(fd)
        sandbox.release()
        raise
    finally:
        os.close(in_r)
        os.close(out_w)
    return Standby(process, out_r, in_w, sandbox)
