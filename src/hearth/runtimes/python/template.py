"""SnapStart in the function's own process: run init once, then fork an environment per request.

Runs inside a version's sandbox, started like any environment but with ``HEARTH_TEMPLATE_FD``
(its end of an ``AF_UNIX``/``SOCK_SEQPACKET`` socketpair with Hearth, which
``hearth.invoke.snapstart`` holds). Standard library only, like ``bootstrap.py``, whose
handler loading, logging and serving loop it reuses (passed in as a module, since both are
loaded under private names).

Protocol: one JSON object per datagram, as for the zygote (``zygote.py``); the loop is
``forkserver.py``'s, which both servers share.

Template -> Hearth
  ``{"op":"ready","pid":P}`` once the handler module is imported and every before-snapshot
  hook has run; ``{"op":"init_error","error":{...}}`` instead when either failed (then it
  exits); ``{"op":"spawned","id":N,"pid":P,"fork_ms":F}``;
  ``{"op":"exited","pid":P,"status":S}`` exactly once per child.
Hearth -> template
  ``{"op":"spawn","id":N,"env":{...}}`` (sandboxed, also ``"uid"`` and ``"tmp_bytes"``) +
  fds (SCM_RIGHTS): the write end of the environment's output pipe, then the environment's
  cgroup files (``tasks`` / ``cgroup.procs``) opened by Hearth, which the child writes "0" to.
  ``{"op":"kill","pid":P}``; end of file: kill every child and exit.

A child sets what must differ between environments (its variables: log stream, Runtime API
address; a fresh ``random`` state), runs the after-restore hooks, then serves invocations
exactly as an on-demand environment does. pids are the sandbox's own: the template is the
init's child there, and Hearth maps them to host pids itself.
"""

from __future__ import annotations

import array
import contextlib
import ctypes
import gc
import json
import logging
import os
import random
import signal
import socket
import sys
import time
from types import ModuleType
from typing import TYPE_CHECKING, Any

FORKSERVER_MODULE = "_hearth_runtime_forkserver"  # as zygote.py names it
PR_SET_PDEATHSIG = 1
HOOKS_MODULE = "snapshot_restore_py"


def _hooks(getter: str) -> list[Any]:
    """The registered hooks, if the function imported AWS's hooks module (ours or its own)."""
    module = sys.modules.get(HOOKS_MODULE)
    get = getattr(module, getter, None)
    return list(get()) if callable(get) else []


def _run_hooks(bootstrap: ModuleType, getter: str) -> dict[str, Any] | None:
    """Run hooks in registration order; the first failure as AWS's error shape, else None."""
    for entry in _hooks(getter):
        func, args, kwargs = entry if isinstance(entry, tuple) else (entry, (), {})
        try:
            func(*args, **kwargs)
        except Exception as exc:
            error: dict[str, Any] = bootstrap.error_from_exception(exc, "")
            bootstrap.log_error(error)
            return error
    return None


def _load(bootstrap: ModuleType) -> tuple[Any, dict[str, Any] | None]:
    try:
        return bootstrap.load_handler(os.environ.get("_HANDLER", "")), None
    except bootstrap.Fault as fault:
        error = bootstrap.make_error(fault.message, fault.error_type, fault.trace, "")
    except Exception as exc:
        error = bootstrap.error_from_exception(exc, "")
    logging.warning(bootstrap.UNHANDLED_INIT_WARNING)
    bootstrap.log_error(error)
    return None, error


if TYPE_CHECKING:
    from hearth.runtimes.python.forkserver import ForkServer
else:
    # Loaded by the zygote (zygote.py) before this file, under its private name.
    ForkServer = sys.modules[FORKSERVER_MODULE].ForkServer

MAX_MESSAGE = 1 << 20  # as forkserver.py's
# How long after a spawn the next spare is forked: once the environment just handed over
# (or forked) has started, so that the two do not compete for a core. Spawns in between
# fork on demand, as without a spare.
REFILL_DELAY_S = 0.05
FD_SIZE = array.array("i").itemsize


class TemplateServer(ForkServer):
    """The template's fork server: each spawn request becomes a child of the initialised
    process, which `run()` returns into (True, with the request in `forked`).

    The fork itself (a copy of the whole page table: ~11 ms for a heavy init) is kept off
    the cold start: one spare child is forked ahead and parks, before anything that must
    differ between environments, on a private socket; a spawn request is handed to it, and
    the next spare is forked after the answer. A spare that is gone falls back to a fork."""

    # The output pipe and up to two cgroup files per environment, with room to spare.
    max_fds = 8

    def __init__(
        self, sock: socket.socket, *, spare: bool = True, spare_tmp_bytes: int | None = None
    ) -> None:
        super().__init__(sock)
        self.forked: dict[str, Any] | None = None
        self.want_spare = spare
        # Sandboxed: the size of the /tmp a spare mounts while it waits (None: it does not).
        self.spare_tmp_bytes = spare_tmp_bytes
        self.spare_pid: int | None = None
        self.spare_sock: socket.socket | None = None
        self.refill_at: float | None = None  # when to fork the next spare

    def ready_message(self) -> dict[str, Any]:
        return {"op": "ready", "pid": os.getpid()}

    def run(self) -> bool:
        # The first spare before "ready": the version's first cold start finds it there.
        if self.refill():
            return True
        return super().run()

    def handle(self, message: dict[str, Any], fds: list[int]) -> bool:
        if message.get("op") == "spawn" and fds:
            if not self.hand_over(message, fds) and self.fork(message, fds):
                message["fds"] = fds
                self.forked = message
                return True
            # Not now: the fork would take a core from the environment just started.
            self.refill_at = time.monotonic() + REFILL_DELAY_S
            return False
        for fd in fds:
            os.close(fd)
        if message.get("op") == "kill":
            self.kill(int(message["pid"]))
        return False

    def timeout(self) -> float | None:
        if self.refill_at is None:
            return None
        return max(0.0, self.refill_at - time.monotonic())

    def idle(self) -> bool:
        if self.refill_at is None or time.monotonic() < self.refill_at:
            return False
        self.refill_at = None
        return self.refill()

    def exited(self, pid: int, status: int) -> None:
        if pid == self.spare_pid:
            # Hearth never heard of a spare: nothing to report. Another one later (a spare
            # killed again and again costs one fork a second).
            self.drop_spare()
            self.children.discard(pid)
            self.refill_at = time.monotonic() + 1.0
            return
        super().exited(pid, status)

    def drop_spare(self) -> None:
        if self.spare_sock is not None:
            self.spare_sock.close()
        self.spare_pid = self.spare_sock = None

    def hand_over(self, request: dict[str, Any], fds: list[int]) -> bool:
        """Give the parked spare this request and its fds; False if there is none (or it
        is gone), and then the fds are still the caller's."""
        if self.spare_sock is None or self.spare_pid is None:
            return False
        started = time.perf_counter()
        try:
            self.spare_sock.sendmsg(
                [json.dumps(request).encode()],
                [(socket.SOL_SOCKET, socket.SCM_RIGHTS, array.array("i", fds))],
            )
        except OSError:
            self.kill(self.spare_pid)  # reaped (and not reported) by exited()
            self.drop_spare()
            return False
        pid = self.spare_pid
        self.drop_spare()
        for fd in fds:
            os.close(fd)
        handed_ms = (time.perf_counter() - started) * 1000
        self.send({"op": "spawned", "id": request["id"], "pid": pid, "fork_ms": handed_ms})
        return True

    def refill(self) -> bool:
        """Fork the next spare, if one is wanted and none is parked; True in the spare once
        it has been handed its request (in `forked`)."""
        if not self.want_spare or self.spare_pid is not None:
            return False
        try:
            ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        except OSError:
            return False
        try:
            pid = os.fork()
        except OSError:
            ours.close()
            theirs.close()
            return False
        if pid == 0:
            ours.close()
            self.become_child()
            tmp_ready = self.prepare_tmp()
            self.forked = self.park(theirs)
            self.forked["tmp_ready"] = tmp_ready
            return True
        theirs.close()
        self.children.add(pid)
        self.spare_pid, self.spare_sock = pid, ours
        return False

    def prepare_tmp(self) -> int | None:
        """In a sandboxed spare: its own empty /tmp and the seccomp filter, ahead; the size
        mounted, or None."""
        if self.spare_tmp_bytes is None:
            return None
        try:
            entry = sys.modules["_hearth_sandbox_entry"]
            entry.prepare_fork()
            entry.fork_tmp(self.spare_tmp_bytes)
        except Exception:
            return None  # the environment mounts it after the hand-over, as a fork does
        return self.spare_tmp_bytes

    def park(self, sock: socket.socket) -> dict[str, Any]:
        """In a spare: wait for the request this environment is; the template gone (end of
        file, or the parent-death signal) ends it."""
        try:
            data, ancillary, flags, _ = sock.recvmsg(
                MAX_MESSAGE, socket.CMSG_SPACE(self.max_fds * FD_SIZE)
            )
            fds: list[int] = []
            for level, kind, payload in ancillary:
                if level == socket.SOL_SOCKET and kind == socket.SCM_RIGHTS:
                    usable = len(payload) - len(payload) % FD_SIZE
                    fds.extend(array.array("i", payload[:usable]))
            sock.close()
            if not data or not fds or flags & (socket.MSG_TRUNC | socket.MSG_CTRUNC):
                os._exit(0)
            request: dict[str, Any] = json.loads(data)
        except BaseException:
            os._exit(127)
        request["fds"] = fds
        return request

    def fork(self, request: dict[str, Any], fds: list[int]) -> bool:
        started = time.perf_counter()
        try:
            pid = os.fork()
        except OSError as exc:
            for fd in fds:
                os.close(fd)
            self.send({"op": "error", "id": request["id"], "message": str(exc)})
            return False
        if pid == 0:
            if self.spare_sock is not None:
                self.spare_sock.close()  # a sibling's hand-over is none of its business
            self.become_child()
            return True
        for fd in fds:
            os.close(fd)
        self.children.add(pid)
        fork_ms = (time.perf_counter() - started) * 1000
        self.send({"op": "spawned", "id": request["id"], "pid": pid, "fork_ms": fork_ms})
        return False

    def become_child(self) -> None:
        try:
            os.setsid()  # its own group, so a kill reaches whatever it starts
            if sys.platform.startswith("linux"):
                ctypes.CDLL(None).prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
            self.close_in_child()
        except BaseException:
            os._exit(127)


def _environment(bootstrap: ModuleType, handler: Any, request: dict[str, Any]) -> int:
    """In a forked child: become one environment of the version and serve it."""
    output_fd, *cgroup_fds = request["fds"]
    os.dup2(output_fd, 1)
    os.dup2(output_fd, 2)
    os.close(output_fd)
    try:
        for fd in cgroup_fds:
            os.write(fd, b"0")  # "this process": into the environment's own cgroup
            os.close(fd)
    except OSError as exc:
        os.write(2, f"hearth snapstart: cannot enter the cgroup: {exc!r}\n".encode())
        return 1
    if request.get("uid") is not None:
        try:
            entry = sys.modules["_hearth_sandbox_entry"]
            if request.get("tmp_ready") == int(request["tmp_bytes"]):
                entry.fork_identity(int(request["uid"]))  # a spare: its /tmp is ready
            else:
                entry.isolate_fork(int(request["uid"]), int(request["tmp_bytes"]))
        except BaseException as exc:
            os.write(2, f"hearth snapstart: cannot isolate the environment: {exc!r}\n".encode())
            return 1
    os.environ.update(request["env"])
    random.seed()  # never the template's sequence, nor a sibling's
    client = bootstrap.RuntimeClient(os.environ["AWS_LAMBDA_RUNTIME_API"])
    encoder = bootstrap.make_encoder(os.environ.get("AWS_EXECUTION_ENV"))
    error = _run_hooks(bootstrap, "get_after_restore")
    if error is not None:
        with contextlib.suppress(OSError, ValueError):
            client.post_init_error(encoder.encode(error).encode(), error["errorType"])
        return 1
    bootstrap.serve(client, handler, encoder)
    return 1


def serve_template(fd: int, bootstrap: ModuleType) -> int:
    """The template's whole life; in each forked child, that environment's."""
    sock = socket.socket(fileno=fd)
    sock.setblocking(True)
    handler, error = _load(bootstrap)
    if error is None:
        error = _run_hooks(bootstrap, "get_before_snapshot")
    if error is not None:
        with contextlib.suppress(OSError):
            sock.send(json.dumps({"op": "init_error", "error": error}).encode())
        return 1
    # What init built is shared copy-on-write with every environment: keep the collector
    # from touching (and so copying) those pages.
    gc.collect()
    gc.freeze()
    # Read (and gone) before any environment is forked: none of them sees it.
    # "0": no spare; "1": one; "1:BYTES": one that mounts its /tmp (of BYTES) ahead.
    spare, _, tmp_bytes = os.environ.pop("HEARTH_TEMPLATE_SPARE", "1").partition(":")
    server = TemplateServer(
        sock, spare=spare != "0", spare_tmp_bytes=int(tmp_bytes) if tmp_bytes else None
    )
    if not server.run() or server.forked is None:
        return 0
    return _environment(bootstrap, handler, server.forked)
