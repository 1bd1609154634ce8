"""SnapStart in the function's own process: run init once, then fork an environment per request.

Runs inside a version's sandbox, started like any environment but with ``HEARTH_TEMPLATE_FD``
(its end of an ``AF_UNIX``/``SOCK_SEQPACKET`` socketpair with Hearth, which
``hearth.invoke.snapstart`` holds). Standard library only, like ``bootstrap.py``, whose
handler loading, logging and serving loop it reuses (passed in as a module, since both are
loaded under private names).

Protocol: one JSON object per datagram, as for the zygote (``zygote.py``).

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
import selectors
import signal
import socket
import sys
import time
from types import ModuleType
from typing import Any

MAX_MESSAGE = 1 << 20
FD_SIZE = array.array("i").itemsize
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


class TemplateServer:
    def __init__(self, sock: socket.socket, bootstrap: ModuleType) -> None:
        self.sock = sock
        self.bootstrap = bootstrap
        self.children: set[int] = set()
        self.wakeup_r, self.wakeup_w = os.pipe()
        os.set_blocking(self.wakeup_r, False)
        os.set_blocking(self.wakeup_w, False)
        signal.set_wakeup_fd(self.wakeup_w, warn_on_full_buffer=False)
        signal.signal(signal.SIGCHLD, lambda signum, frame: None)
        self.selector = selectors.DefaultSelector()
        self.selector.register(sock, selectors.EVENT_READ)
        self.selector.register(self.wakeup_r, selectors.EVENT_READ)

    def send(self, message: dict[str, Any]) -> None:
        with contextlib.suppress(OSError):
            self.sock.send(json.dumps(message).encode())

    def run(self) -> dict[str, Any] | None:
        """Serve until Hearth hangs up (returns None) or in a forked child (returns its
        spawn request, with the fds it carried under "fds")."""
        self.send({"op": "ready", "pid": os.getpid()})
        while True:
            self.selector.select()
            with contextlib.suppress(BlockingIOError):
                while os.read(self.wakeup_r, 4096):
                    pass
            self.reap()
            while True:
                try:
                    data, fds, flags = self.receive()
                except BlockingIOError:
                    break
                if not data:
                    for fd in fds:
                        os.close(fd)
                    self.shutdown()
                    return None
                if flags & (socket.MSG_TRUNC | socket.MSG_CTRUNC):
                    for fd in fds:
                        os.close(fd)
                    continue
                request: dict[str, Any] = json.loads(data)
                if request.get("op") == "spawn" and fds:
                    if self.fork(request, fds):
                        request["fds"] = fds
                        return request
                    continue
                for fd in fds:
                    os.close(fd)
                if request.get("op") == "kill":
                    self.kill(int(request["pid"]))

    def receive(self) -> tuple[bytes, list[int], int]:
        """One datagram and its fds, without blocking (BlockingIOError: none waiting)."""
        try:
            data, ancillary, flags, _ = self.sock.recvmsg(
                MAX_MESSAGE, socket.CMSG_SPACE(8 * FD_SIZE), socket.MSG_DONTWAIT
            )
        except ConnectionError:
            return b"", [], 0
        fds: list[int] = []
        for level, kind, payload in ancillary:
            if level == socket.SOL_SOCKET and kind == socket.SCM_RIGHTS:
                usable = len(payload) - len(payload) % FD_SIZE
                fds.extend(array.array("i", payload[:usable]))
        return data, fds, flags

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
            signal.set_wakeup_fd(-1)
            signal.signal(signal.SIGCHLD, signal.SIG_DFL)
            self.selector.close()
            self.sock.close()
            os.close(self.wakeup_r)
            os.close(self.wakeup_w)
        except BaseException:
            os._exit(127)

    def kill(self, pid: int) -> None:
        if pid in self.children:
            for kill in (os.killpg, os.kill):
                with contextlib.suppress(ProcessLookupError, PermissionError):
                    kill(pid, signal.SIGKILL)

    def reap(self) -> None:
        while self.children:
            try:
                pid, status = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                return
            if pid == 0:
                return
            self.children.discard(pid)
            code = os.waitstatus_to_exitcode(status)
            self.send({"op": "exited", "pid": pid, "status": code})

    def shutdown(self) -> None:
        for pid in list(self.children):
            self.kill(pid)
        while self.children:
            try:
                pid, _ = os.waitpid(-1, 0)
            except ChildProcessError:
                break
            self.children.discard(pid)


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
            sys.modules["_hearth_sandbox_entry"].isolate_fork(
                int(request["uid"]), int(request["tmp_bytes"])
            )
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
    request = TemplateServer(sock, bootstrap).run()
    if request is None:
        return 0
    return _environment(bootstrap, handler, request)
