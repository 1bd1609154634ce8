"""The host side of the Python zygote: start it, ask it for environments, learn when they exit.

The zygote (``hearth/runtimes/python/zygote.py``, which documents the wire protocol) is a warm
interpreter that forks one process per execution environment, so a cold start costs a fork.
One zygote serves every function that runs on the same interpreter.

Call ``Zygote.start`` from the event loop's thread and keep that thread alive as long as the
zygote: the kernel kills the zygote when the thread that started it exits (that is how it
follows Hearth down when Hearth is SIGKILLed). Linux only for now: it needs ``SOCK_SEQPACKET``.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import re
import shutil
import signal
import socket
import sys
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any, Protocol

ZYGOTE_SCRIPT = Path(__file__).resolve().parent.parent / "runtimes" / "python" / "zygote.py"
# Starts the zygote from /var/lang (sandboxed): see that script.
VAR_LANG_SCRIPT = ZYGOTE_SCRIPT.parent / "var_lang.py"
START_TIMEOUT_S = 30.0
CLOSE_TIMEOUT_S = 5.0
MAX_MESSAGE = 1 << 16
# The status reported for a child whose zygote is gone: the kernel SIGKILLs it (PDEATHSIG).
KILLED = -int(signal.SIGKILL)


class ZygoteError(Exception):
    """The zygote could not start, or went away while a request was in flight."""


class TemplateInitError(ZygoteError):
    """A SnapStart template's init failed: ``error`` is the runtime's error payload."""

    def __init__(self, error: dict[str, Any]) -> None:
        super().__init__(f"init failed: {error.get('errorType')}")
        self.error = error


class ServerProcess(Protocol):
    """The fork server's own process, as ``Zygote`` needs it (asyncio's Process is one)."""

    @property
    def pid(self) -> int: ...
    @property
    def returncode(self) -> int | None: ...
    def kill(self) -> None: ...
    async def wait(self) -> int: ...


@dataclass(frozen=True)
class SpawnedProcess:
    """A child the zygote forked. ``exited`` resolves once with its exit code, or -signal."""

    pid: int
    exited: asyncio.Future[int]
    fork_ms: float


class Zygote:
    """One warm fork server per Python interpreter.

    Guarantees: ``spawn()`` returns once the child exists; every child's exit is reported
    exactly once through its ``exited`` future (with ``KILLED`` if the zygote itself died);
    ``close()`` kills every child and the zygote. When the zygote dies unexpectedly ``alive``
    becomes False and the caller starts a new one.
    """

    def __init__(self, python: str, process: ServerProcess, sock: socket.socket):
        self._python = python
        self._process = process
        self._sock = sock
        self._loop = asyncio.get_running_loop()
        self._ready: asyncio.Future[dict[str, Any]] = self._loop.create_future()
        self._gone = asyncio.Event()
        self._spawns: dict[int, asyncio.Future[SpawnedProcess]] = {}
        self._exits: dict[int, asyncio.Future[int]] = {}
        self._next_id = 0
        self._alive = True
        self._loop.add_reader(sock.fileno(), self._on_readable)

    @classmethod
    async def start(cls, python: str, *, var_lang: bool = False) -> Zygote:
        """Start a zygote on ``python`` and return once it is warm. ``var_lang`` (sandboxed,
        as root): it runs from ``/var/lang`` in a mount namespace of its own, as AWS's
        runtimes do (``var_lang_spec``)."""
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        env = {
            "PATH": os.environ.get("PATH", os.defpath),
            "LANG": "C.UTF-8",
            "HEARTH_ZYGOTE_FD": str(theirs.fileno()),
            "HEARTH_ZYGOTE_PARENT": str(os.getpid()),
        }
        if var_lang:
            env["HEARTH_ZYGOTE_VAR_LANG"] = json.dumps(var_lang_spec(python))
        try:
            process = await asyncio.create_subprocess_exec(
                python,
                "-s",
                "-B",
                str(VAR_LANG_SCRIPT if var_lang else ZYGOTE_SCRIPT),
                stdin=asyncio.subprocess.DEVNULL,
                stdout=asyncio.subprocess.DEVNULL,
                pass_fds=(theirs.fileno(),),
                env=env,
                # Out of the terminal's process group: Ctrl-C is for Hearth, which then closes
                # the zygote itself (and PR_SET_PDEATHSIG covers a Hearth that dies).
                start_new_session=True,
            )
        except OSError as exc:
            ours.close()
            raise ZygoteError(f"cannot start a zygote on {python}: {exc}") from exc
        finally:
            theirs.close()
        ours.setblocking(False)
        zygote = cls(python, process, ours)
        try:
            await asyncio.wait_for(asyncio.shield(zygote._ready), START_TIMEOUT_S)
        except (ZygoteError, TimeoutError) as exc:
            await zygote.close()
            raise ZygoteError(f"the zygote on {python} did not start: {exc}") from exc
        return zygote

    @classmethod
    async def attach(
        cls, label: str, process: ServerProcess, sock: socket.socket, timeout: float
    ) -> Zygote:
        """A fork server speaking this protocol that something else started (a SnapStart
        template): return once it is ready; TemplateInitError if its init failed."""
        sock.setblocking(False)
        server = cls(label, process, sock)
        try:
            await asyncio.wait_for(asyncio.shield(server._ready), timeout)
        except TemplateInitError:
            await server.close()
            raise
        except (ZygoteError, TimeoutError) as exc:
            await server.close()
            raise ZygoteError(f"{label} did not start: {exc!r}") from exc
        return server

    @property
    def python(self) -> str:
        return self._python

    @property
    def pid(self) -> int:
        return self._process.pid

    @property
    def alive(self) -> bool:
        return self._alive

    async def spawn(
        self,
        env: dict[str, str],
        cwd: str,
        sys_path: list[str],
        output_fd: int,
        sandbox: dict[str, Any] | None = None,
        template_fd: int = -1,
        input_fd: int | None = None,
    ) -> SpawnedProcess:
        """Fork an environment running the runtime with exactly ``env``, in ``cwd``, with
        ``sys_path`` prepended to its module path; ``output_fd`` becomes its stdout and stderr.
        With ``sandbox`` (a plan from ``hearth.sandbox.isolation``) the child enters that
        sandbox first. The caller keeps ownership of ``output_fd`` and should close it once
        this returns, so the pipe reports end of file when the child is gone. ``input_fd``
        (likewise the caller's) becomes its stdin; without it, /dev/null. ``template_fd``
        makes the child a SnapStart template talking to Hearth on that fd. At most one of the
        two: the request names which the second fd is."""
        request: dict[str, Any] = {
            "op": "spawn",
            "env": env,
            "cwd": cwd,
            "sys_path": sys_path,
        }
        if sandbox is not None:
            request["sandbox"] = sandbox
        fds = [output_fd]
        if template_fd >= 0:
            fds.append(template_fd)
            request["second_fd"] = "template"
        elif input_fd is not None:
            fds.append(input_fd)
            request["second_fd"] = "stdin"
        return await self.spawn_request(request, fds)

    async def spawn_request(self, request: dict[str, Any], fds: list[int]) -> SpawnedProcess:
        """Send one spawn request (``request["id"]`` is set here) with its fds."""
        if not self._alive:
            raise ZygoteError("the fork server is not running")
        self._next_id += 1
        request_id = request["id"] = self._next_id
        reply: asyncio.Future[SpawnedProcess] = self._loop.create_future()
        self._spawns[request_id] = reply
        try:
            await self._send(json.dumps(request).encode(), fds)
        except OSError as exc:
            self._spawns.pop(request_id, None)
            raise ZygoteError(f"cannot reach the zygote: {exc}") from exc
        return await reply

    def kill(self, pid: int) -> None:
        """SIGKILL a child and its process group; its ``exited`` future reports it."""
        if not self._alive or pid not in self._exits:
            return
        try:
            self._sock.send(json.dumps({"op": "kill", "pid": pid}).encode())
        except OSError:
            # The zygote is not reading; it has not reported this pid, so it is still ours.
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(pid, signal.SIGKILL)

    async def close(self) -> None:
        """Kill every child and the zygote; every pending ``exited`` future is resolved."""
        if self._alive:
            # End of file tells the zygote to kill, reap and report its children, then exit.
            with contextlib.suppress(OSError):
                self._sock.shutdown(socket.SHUT_WR)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._gone.wait(), CLOSE_TIMEOUT_S)
        if self._process.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                self._process.kill()
        await self._process.wait()
        self._lost("the zygote was closed")

    async def __aenter__(self) -> Zygote:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()

    # --- the wire ---

    async def _send(self, data: bytes, fds: list[int]) -> None:
        while True:
            try:
                socket.send_fds(self._sock, [data], fds)
                return
            except BlockingIOError:
                writable: asyncio.Future[None] = self._loop.create_future()
                self._loop.add_writer(self._sock.fileno(), writable.set_result, None)
                try:
                    await writable
                finally:
                    self._loop.remove_writer(self._sock.fileno())

    def _on_readable(self) -> None:
        while True:
            try:
                data = self._sock.recv(MAX_MESSAGE)
            except BlockingIOError:
                return
            except OSError:
                data = b""
            if not data:
                self._lost("the zygote exited")
                return
            self._dispatch(json.loads(data))

    def _dispatch(self, message: dict[str, Any]) -> None:
        op = message.get("op")
        if op == "ready":
            if not self._ready.done():
                self._ready.set_result(message)
        elif op == "spawned":
            pid = int(message["pid"])
            exited: asyncio.Future[int] = self._loop.create_future()
            self._exits[pid] = exited
            reply = self._spawns.pop(int(message["id"]), None)
            if reply is None or reply.done():
                self.kill(pid)  # the caller gave up waiting: nobody will ever use this child
            else:
                reply.set_result(SpawnedProcess(pid, exited, float(message.get("fork_ms", 0.0))))
        elif op == "exited":
            done = self._exits.pop(int(message["pid"]), None)
            if done is not None and not done.done():
                done.set_result(int(message["status"]))
        elif op == "init_error":
            if not self._ready.done():
                self._ready.set_exception(TemplateInitError(dict(message.get("error") or {})))
        elif op == "error":
            reply = self._spawns.pop(int(message["id"]), None)
            if reply is not None and not reply.done():
                reply.set_exception(ZygoteError(f"spawn failed: {message.get('message')}"))

    def _lost(self, reason: str) -> None:
        """The zygote is gone: fail what waits on it, and report its children as killed."""
        if self._alive:
            self._alive = False
            self._loop.remove_reader(self._sock.fileno())
            self._sock.close()
        self._gone.set()
        if not self._ready.done():
            self._ready.set_exception(ZygoteError(reason))
            self._ready.exception()  # retrieved: start() may already have given up on it
        for reply in self._spawns.values():
            if not reply.done():
                reply.set_exception(ZygoteError(reason))
        self._spawns.clear()
        for exited in self._exits.values():
            if not exited.done():
                exited.set_result(KILLED)
        self._exits.clear()


def var_lang_spec(python: str) -> dict[str, str]:
    """What a zygote moving to /var/lang binds there: ``python``'s installation prefix
    (bin/python3.12 → its prefix, with lib/python3.12 beside bin), and Hearth's runtime
    files at /var/runtime."""
    real = Path(os.path.realpath(python))
    return {
        "prefix": str(real.parent.parent),
        "python": real.name,
        "runtimes": str(ZYGOTE_SCRIPT.parent.parent),
    }


def find_python(runtime: str, pyenv_root: Path | None = None) -> str:
    """The interpreter for a ``python3.X`` runtime: the newest pyenv ``3.X.*`` under
    ``pyenv_root`` (default ``~/.pyenv``), else ``python3.X`` on PATH, else Hearth's own
    interpreter (so a function still runs, on a Python version that may differ)."""
    match = re.fullmatch(r"python(3\.\d+)", runtime)
    if match is None:
        return sys.executable
    version = match.group(1)
    root = pyenv_root if pyenv_root is not None else Path.home() / ".pyenv"
    found = [
        candidate
        for candidate in (root / "versions").glob(f"{version}.*/bin/python{version}")
        if os.access(candidate, os.X_OK)
    ]
    if found:
        return str(max(found, key=_patch_level))
    return shutil.which(f"python{version}") or sys.executable


def _patch_level(path: Path) -> tuple[int, ...]:
    # versions/3.12.10/bin/python3.12 sorts after 3.12.9.
    parts = re.findall(r"\d+", path.parent.parent.name)
    return tuple(int(part) for part in parts)
