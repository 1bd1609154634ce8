"""SnapStart, done with fork: a version's template process, and environments forked from it.

A template is a sandboxed environment of the version (started by `Templates`, like
any other) whose runtime imports the handler module, runs the before-snapshot hooks and then,
instead of asking for events, forks one process per new environment
(``hearth/runtimes/python/template.py`` speaks the zygote's protocol). A cold start of that
version then costs a fork of an initialised interpreter, however heavy the init.

What differs between environments is set after the fork: the child's variables (its log
stream, its Runtime API socket), a fresh `random` state (the runtime reseeds), and, sandboxed,
a mount namespace with an empty `/tmp`, a uid and a cgroup of its own, entered before it runs
anything of the function's (``sandbox_entry.isolate_fork``); its request ids are its own as
any environment's. Children share the template's PID and network namespaces (README,
SnapStart, says what that means).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from hearth.invoke.launch import LaunchedProcess
from hearth.models import FunctionVersion
from hearth.sandbox.cgroups import EnvironmentCgroup
from hearth.sandbox.zygote import Zygote

# Live environments one template can have at once: each needs a uid in the template's user
# namespace, and the kernel takes at most 340 lines in a uid map.
MAX_CHILDREN = 64
# A function's own variable asking for SnapStart on $LATEST too ("on"; beyond AWS: README).
LATEST_VARIABLE = "HEARTH_SNAPSTART_LATEST"


def applies(version: FunctionVersion, latest_too: bool = False) -> bool:
    """Whether new environments of `version` are forked from a template."""
    if not version.runtime.startswith("python"):
        return False
    return version.snapstart_on or (version.is_latest and latest_too)


class LaunchedServer:
    """A template's process (the sandbox's init, or the runtime itself) as `Zygote` needs it."""

    def __init__(self, launched: LaunchedProcess) -> None:
        self._launched = launched

    @property
    def pid(self) -> int:
        return self._launched.pid

    @property
    def returncode(self) -> int | None:
        exited = self._launched.exited
        return exited.result() if exited.done() else None

    def kill(self) -> None:
        self._launched.kill()

    async def wait(self) -> int:
        return await asyncio.shield(self._launched.exited)


@dataclass
class ChildAccounting:
    """ResourceAccounting (hearth.invoke.launch) for a forked environment's own cgroup."""

    cgroup: EnvironmentCgroup

    def max_memory_bytes(self) -> int | None:
        return self.cgroup.max_memory_bytes()

    def out_of_memory(self) -> bool:
        return self.cgroup.out_of_memory()

    def init_done(self) -> None:
        self.cgroup.limit_cpu()

    def release(self) -> None:
        self.cgroup.remove()


@dataclass
class Template:
    """One version's template. Guarantees: `spawn` returns a child that has not yet run any
    of the function's code after the fork; `alive` turns False once the template is gone
    (its children die with it, PR_SET_PDEATHSIG); `close` ends it and its children."""

    revision_id: str
    server: Zygote
    process: LaunchedProcess
    socket_dir: str  # on the host: where environments' sockets go
    inside_socket_dir: str  # the same directory as the template's processes see it
    uid: int | None
    runtime_api_inside: Callable[[str], str]
    sandboxed: bool
    release: Callable[[], None] = field(default=lambda: None)
    # Sandboxed: the uids the template's user namespace maps for its children, and the size
    # of the /tmp each child mounts.
    free_uids: list[int] = field(default_factory=list)
    tmp_bytes: int = 0

    @property
    def alive(self) -> bool:
        return self.server.alive and not self.process.exited.done()

    def take_uid(self) -> int | None:
        """A uid for the next child (None: not sandboxed). Raises when every one is in use."""
        if not self.sandboxed:
            return None
        if not self.free_uids:
            raise RuntimeError(f"all {MAX_CHILDREN} environments of this template are in use")
        return self.free_uids.pop(0)

    async def spawn(
        self,
        env: dict[str, str],
        cgroup: EnvironmentCgroup | None,
        uid: int | None,
        output_fd: int,
    ) -> LaunchedProcess:
        """Fork an environment with `env` over the template's variables, as `uid` (which
        goes back to the template once the child is gone), in `cgroup` (which the child
        enters before it runs anything of the function's)."""
        request: dict[str, Any] = {"op": "spawn", "env": env}
        if uid is not None:
            request.update(uid=uid, tmp_bytes=self.tmp_bytes)
        # The child moves itself into its cgroup, through files opened here (the kernel
        # checks the opener's rights): a process that moves itself skips the global lock,
        # and the RCU grace period, that moving another one costs.
        cgroup_fds = [
            os.open(procs, os.O_WRONLY | os.O_CLOEXEC)
            for procs in (cgroup.procs_files if cgroup is not None else [])
        ]
        try:
            spawned = await self.server.spawn_request(request, [output_fd, *cgroup_fds])
        except BaseException:
            self.give_back(uid)
            raise
        finally:
            for fd in cgroup_fds:
                os.close(fd)
        spawned.exited.add_done_callback(lambda _: self.give_back(uid))
        pid = spawned.pid
        if self.sandboxed:
            found = host_pid(self.process.pid, spawned.pid)
            if found is None:
                self.server.kill(spawned.pid)
                raise RuntimeError("the forked environment vanished")
            pid = found
        accounting = ChildAccounting(cgroup) if cgroup is not None else None
        return LaunchedProcess(pid, spawned.exited, accounting=accounting)

    def give_back(self, uid: int | None) -> None:
        if uid is not None and uid not in self.free_uids:
            self.free_uids.append(uid)

    async def close(self) -> None:
        await self.server.close()
        self.process.kill()
        with contextlib.suppress(asyncio.CancelledError):
            await asyncio.shield(self.process.exited)
        self.release()


def host_pid(ancestor: int, namespace_pid: int, depth: int = 3) -> int | None:
    """The host pid of the descendant of `ancestor` that its own PID namespace calls
    `namespace_pid` (the last NSpid field), looking `depth` generations down."""
    frontier = [ancestor]
    for _ in range(depth):
        children: list[int] = []
        for pid in frontier:
            for task in _tasks(pid):
                with contextlib.suppress(OSError):
                    text = Path(f"/proc/{pid}/task/{task}/children").read_text()
                    children.extend(int(part) for part in text.split())
        for child in children:
            if _namespace_pid(child) == namespace_pid:
                return child
        frontier = children
    return None


def _tasks(pid: int) -> list[str]:
    try:
        return os.listdir(f"/proc/{pid}/task")
    except OSError:
        return []


def _namespace_pid(pid: int) -> int | None:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("NSpid:"):
                return int(line.split()[-1])
    except (OSError, ValueError):
        return None
    return None


def init_failure_reason(error: dict[str, Any]) -> str:
    """The StateReason of a version whose SnapStart init failed."""
    kind = error.get("errorType") or "Runtime.Unknown"
    message = error.get("errorMessage") or ""
    return f"{kind}: {message}" if message else str(kind)
