"""How an execution environment's process is started.

`Launcher` hides whether the process is forked from a warm Python zygote or started with
exec (Node.js, custom runtimes). Guarantees asked of implementations: `launch` returns once
the process exists; `exited` resolves exactly once with the exit status (negative: killed by
that signal); `kill` ends the whole process group and is safe to call at any time; no
process outlives `close()`, nor the Hearth server, even after a kill -9 of the server.
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import os
import resource
import signal
import subprocess
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

_PR_SET_PDEATHSIG = 1


class ResourceAccounting(Protocol):
    """What the sandbox knows about an environment's resources (hearth.sandbox.isolation).

    `release` is called once, after the process has exited; the others at any time before."""

    def max_memory_bytes(self) -> int | None: ...
    def out_of_memory(self) -> bool: ...
    def init_done(self) -> None: ...
    def release(self) -> None: ...


@dataclass
class LaunchedProcess:
    pid: int
    exited: asyncio.Future[int]
    kill_group: bool = True
    _killer: object = field(default=None, repr=False)
    # Set for sandboxed environments: their cgroup's view of memory and OOM kills.
    accounting: ResourceAccounting | None = None
    # The read end of its stdout/stderr when it came with a pipe of its own (a standby,
    # hearth.invoke.standby) rather than writing to the one it was launched with.
    output_fd: int = -1

    def kill(self) -> None:
        if self.exited.done():
            return
        with contextlib.suppress(ProcessLookupError, PermissionError):
            if self.kill_group:
                os.killpg(self.pid, signal.SIGKILL)
            else:
                os.kill(self.pid, signal.SIGKILL)


class Launcher(Protocol):
    async def launch(
        self,
        argv: Sequence[str] | None,
        env: dict[str, str],
        cwd: str,
        output_fd: int,
        sandbox: dict[str, Any] | None = None,
        input_fd: int | None = None,
    ) -> LaunchedProcess:
        """Start a process writing stdout and stderr to output_fd.

        argv None means "the runtime's own client" (a zygote fork for Python). With
        `sandbox` (a plan, see hearth.sandbox.isolation) the process starts inside that
        sandbox; launchers that cannot do that raise NotImplementedError. `input_fd` is its
        stdin (default /dev/null); the caller keeps it and output_fd, and closes them.
        """
        ...

    async def close(self) -> None: ...


def die_with_parent() -> None:
    """In the child, before exec: its own session, and SIGKILL when Hearth dies."""
    os.setsid()
    # Lambda's limits. Kept in step with Server.become_child in
    # hearth/runtimes/python/zygote.py (stdlib-only, so the two cannot share code).
    # NPROC counts the uid's processes and does not bind root.
    for limit, wanted in (
        (resource.RLIMIT_NOFILE, 1024),
        (resource.RLIMIT_NPROC, 1024),
        (resource.RLIMIT_CORE, 0),
    ):
        hard = resource.getrlimit(limit)[1]  # never ask to raise it: only root may
        value = wanted if hard == resource.RLIM_INFINITY else min(wanted, hard)
        resource.setrlimit(limit, (value, value))
    if sys.platform == "linux":
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)


class ExecLauncher:
    """Starts processes with exec: for Node.js and custom runtimes."""

    async def launch(
        self,
        argv: Sequence[str] | None,
        env: dict[str, str],
        cwd: str,
        output_fd: int,
        sandbox: dict[str, Any] | None = None,
        input_fd: int | None = None,
    ) -> LaunchedProcess:
        assert argv is not None, "ExecLauncher needs a command"
        if sandbox is not None:
            raise NotImplementedError("sandboxed environments are forked from a zygote")
        process = subprocess.Popen(  # noqa: S603 - argv comes from the runtime table, not users
            list(argv),
            env=env,
            cwd=cwd,
            stdin=subprocess.DEVNULL if input_fd is None else input_fd,
            stdout=output_fd,
            stderr=output_fd,
            preexec_fn=die_with_parent,  # noqa: PLW1509 - the server is single-threaded here
            close_fds=True,
        )
        loop = asyncio.get_running_loop()
        exited: asyncio.Future[int] = loop.create_future()
        watch_exit(process, exited)
        return LaunchedProcess(process.pid, exited)

    async def close(self) -> None:
        pass


def watch_exit(process: subprocess.Popen[bytes], exited: asyncio.Future[int]) -> None:
    """Resolve `exited` when the child exits, without a thread: a pidfd is readable then."""
    loop = asyncio.get_running_loop()
    pidfd = os.pidfd_open(process.pid)

    def on_exit() -> None:
        loop.remove_reader(pidfd)
        os.close(pidfd)
        status = process.wait()
        if not exited.done():
            exited.set_result(status)

    loop.add_reader(pidfd, on_exit)
