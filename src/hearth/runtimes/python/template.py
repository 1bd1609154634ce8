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


class TemplateServer(ForkServer):
    """The template's fork server: each spawn request becomes a fork of the initialised
    process, which `run()` returns into (True, with the request in `forked`)."""

    # The output pipe and up to two cgroup files per environment, with room to spare.
    max_fds = 8

    def __init__(self, sock: socket.socket) -> None:
        super().__init__(sock)
        self.forked: dict[str, Any] | None = None

    def ready_message(self) -> dict[str, Any]:
        return {"op": "ready", "pid": os.getpid()}

    def handle(self, message: dict[str, Any], fds: list[int]) -> bool:
        if message.get("op") == "spawn" and fds:
            if self.fork(message, fds):
                message["fds"] = fds
                self.forked = message
                return True
            return False
        for fd in fds:
            os.close(fd)
        if message.get("op") == "kill":
            self.kill(int(message["pid"]))
        return False

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
    server = TemplateServer(sock)
    if not server.run() or server.forked is None:
        return 0
    return _environment(bootstrap, handler, server.forked)
