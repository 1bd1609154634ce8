"""Hearth's Python zygote: a warm fork server, so a cold start is a fork, not an interpreter boot.

Runs under the function's interpreter (standard library only, Python 3.10-3.13), started by
``hearth.sandbox.zygote`` as::

    python -s -B path/to/zygote.py      # -s: no user site-packages; -B: never write .pyc
                                        # files into function code or layers

with ``HEARTH_ZYGOTE_FD`` (the fd of its end of an ``AF_UNIX``/``SOCK_SEQPACKET`` socketpair)
and ``HEARTH_ZYGOTE_PARENT`` (Hearth's pid) in its environment. Sandboxed, ``var_lang.py``
starts it instead, from ``/var/lang`` in a mount namespace of its own (see there). At start it loads
``bootstrap.py`` (under a private module name, so a function's own ``bootstrap.py`` is not
shadowed) and the modules most functions import, then freezes the heap for copy-on-write.

Protocol: one JSON object per datagram (SEQPACKET keeps message boundaries and carries fds).

Hearth -> zygote
  ``{"op":"spawn","id":N,"env":{...},"cwd":"...","sys_path":[...]}`` + one fd (SCM_RIGHTS):
  the write end of a pipe that becomes the child's stdout and stderr. With
  ``"sandbox":{plan}`` the child first enters the sandbox that ``sandbox_entry.py``
  describes, and execs ``plan["argv"]`` there if it is set.
  ``{"op":"kill","pid":P}``: SIGKILL the child's process group (its session).
  End of file: kill every child, reap and report them, exit.
Zygote -> Hearth
  ``{"op":"ready","pid":P,"python":"3.X.Y"}`` once, when warm.
  ``{"op":"spawned","id":N,"pid":P,"fork_ms":F}`` (F: request receipt to fork return).
  ``{"op":"error","id":N,"message":"..."}`` when the fork itself failed.
  ``{"op":"exited","pid":P,"status":S}`` exactly once per child: exit code, or -signal.

The zygote stays single-threaded (fork is only safe then) and dies with Hearth
(``PR_SET_PDEATHSIG``); each child dies with the zygote the same way.
"""

from __future__ import annotations

import contextlib
import functools
import gc
import importlib
import importlib.util
import os
import random
import resource
import signal
import socket
import sys
import time
from types import ModuleType
from typing import TYPE_CHECKING, Any

HERE = os.path.dirname(os.path.abspath(__file__))
BOOTSTRAP_MODULE = "_hearth_runtime_bootstrap"
TEMPLATE_MODULE = "_hearth_runtime_template"
FORKSERVER_MODULE = "_hearth_runtime_forkserver"
PR_SET_PDEATHSIG = 1
CHILD_SETUP_FAILED = 127
STATUS_FD = 3  # a sandboxed child's end of its status pipe
TEMPLATE_FD = 4  # a SnapStart template's end of its socket to Hearth
# Imported once here so that every forked environment starts with them warm.
PRELOAD = (
    "base64",
    "collections",
    "concurrent.futures",
    "dataclasses",
    "datetime",
    "decimal",
    "email.parser",
    "encodings.idna",  # socket.create_connection() on a str host needs it
    "functools",
    "hashlib",
    "hmac",
    "http.client",
    "json",
    "logging",
    "re",
    "ssl",
    "threading",
    "traceback",
    "typing",
    "urllib.parse",
    "urllib.request",
    "uuid",
)


@functools.cache
def _prctl() -> Any:
    # Loaded once in the zygote, so children pay nothing for it.
    import ctypes  # noqa: PLC0415 -- Linux only

    return ctypes.CDLL(None, use_errno=True).prctl


def set_parent_death_signal() -> None:
    """Ask the kernel to SIGKILL this process when its parent dies (Linux only; no-op elsewhere)."""
    if sys.platform.startswith("linux"):
        _prctl()(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)


def load_bootstrap() -> ModuleType:
    spec = importlib.util.spec_from_file_location(
        BOOTSTRAP_MODULE, os.path.join(HERE, "bootstrap.py")
    )
    if spec is None or spec.loader is None:
        raise ImportError("cannot load bootstrap.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[BOOTSTRAP_MODULE] = module
    spec.loader.exec_module(module)
    return module


@functools.cache
def sandbox_module() -> ModuleType:
    """``sandbox_entry.py``, loaded in the zygote so that no child pays for the import."""
    spec = importlib.util.spec_from_file_location(
        "_hearth_sandbox_entry", os.path.join(HERE, "sandbox_entry.py")
    )
    if spec is None or spec.loader is None:
        raise ImportError("cannot load sandbox_entry.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules["_hearth_sandbox_entry"] = module  # template.py isolates its forks with it
    spec.loader.exec_module(module)
    return module


def load_snapstart() -> None:
    """SnapStart's parts, warm in every child: the template server, and AWS's runtime hooks
    module, importable as on AWS's python runtimes without bundling it (one copy per process:
    a function's own copy of the PyPI package finds this one already imported)."""
    spec = importlib.util.spec_from_file_location(
        TEMPLATE_MODULE, os.path.join(HERE, "template.py")
    )
    if spec is None or spec.loader is None:
        raise ImportError("cannot load template.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[TEMPLATE_MODULE] = module
    spec.loader.exec_module(module)
    sys.path.insert(0, os.path.join(HERE, "lib"))
    try:
        importlib.import_module("snapshot_restore_py")
    finally:
        del sys.path[0]


def preload() -> None:
    for name in PRELOAD:
        # An interpreter built without ssl still makes a useful zygote.
        with contextlib.suppress(ImportError):
            importlib.import_module(name)


def load_forkserver() -> ModuleType:
    """``forkserver.py``, the loop the zygote and SnapStart templates share, under a private
    name (a function may have a ``forkserver`` module of its own)."""
    spec = importlib.util.spec_from_file_location(
        FORKSERVER_MODULE, os.path.join(HERE, "forkserver.py")
    )
    if spec is None or spec.loader is None:
        raise ImportError("cannot load forkserver.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[FORKSERVER_MODULE] = module  # template.py's server is one too
    spec.loader.exec_module(module)
    return module


if TYPE_CHECKING:
    from hearth.runtimes.python.forkserver import ForkServer
else:
    ForkServer = load_forkserver().ForkServer


class Server(ForkServer):
    """The zygote's fork server. ``run()`` returns False in the zygote when Hearth hangs up,
    and True in a freshly forked child that is ready to run the runtime."""

    def __init__(self, sock: socket.socket) -> None:
        super().__init__(sock)
        self.pid = os.getpid()
        self.status_pipes: dict[int, int] = {}  # sandboxed child → read end of its status pipe

    def ready_message(self) -> dict[str, Any]:
        return {"op": "ready", "pid": self.pid, "python": sys.version.split()[0]}

    def handle(self, message: dict[str, Any], fds: list[int]) -> bool:
        op = message.get("op")
        if op == "spawn" and len(fds) in (1, 2):
            # A second fd is a SnapStart template's line to Hearth or a standby's stdin
            # (the request's `second_fd` says which).
            return self.spawn(message, fds[0], fds[1] if len(fds) == 2 else -1)
        for fd in fds:
            os.close(fd)
        if op == "kill":
            self.kill(int(message["pid"]))
        elif op == "spawn":
            self.send({"op": "error", "id": message.get("id"), "message": "expected one fd"})
        return False

    def spawn(self, request: dict[str, Any], output_fd: int, extra_fd: int = -1) -> bool:
        started = time.perf_counter()
        sandboxed = request.get("sandbox") is not None
        status_r = status_w = pid = -1
        try:
            if sandboxed:
                # The child is the init (pid 1) of a new PID namespace, and tells the zygote
                # through this pipe how the runtime under it ended.
                status_r, status_w = os.pipe()
                sandbox_module().unshare_pid_for_children()
            try:
                pid = os.fork()
            finally:
                if sandboxed and pid != 0:  # the zygote's own next children: not in there
                    sandbox_module().restore_pid_for_children()
        except OSError as exc:
            for fd in (output_fd, status_r, status_w, extra_fd):
                if fd >= 0:
                    os.close(fd)
            self.send({"op": "error", "id": request["id"], "message": str(exc)})
            return False
        if pid == 0:
            self.become_child(request, output_fd, status_w, extra_fd)
            return True
        fork_ms = (time.perf_counter() - started) * 1000
        os.close(output_fd)
        if extra_fd >= 0:
            os.close(extra_fd)
        if sandboxed:
            os.close(status_w)
            self.status_pipes[pid] = status_r
        self.children.add(pid)
        self.send({"op": "spawned", "id": request["id"], "pid": pid, "fork_ms": fork_ms})
        return False

    def become_child(
        self, request: dict[str, Any], output_fd: int, status_fd: int = -1, extra_fd: int = -1
    ) -> None:
        """Turn this fork into a fresh environment; on any failure say why on its output."""
        second = request.get("second_fd")
        template_fd = extra_fd if second == "template" else -1
        input_fd = extra_fd if second == "stdin" else -1
        if extra_fd >= 0 and second not in ("template", "stdin"):
            os.close(extra_fd)
        try:
            os.setsid()  # its own session and group, so kill() reaches its whole tree
            set_parent_death_signal()
            # Did the zygote die before the line above? (A sandbox's init has no parent in
            # its namespace to ask; orphaned, its runtime finds no Runtime API and exits.)
            if status_fd < 0 and os.getppid() != self.pid:
                os._exit(CHILD_SETUP_FAILED)
            self.close_in_child()
            os.dup2(output_fd, 1)
            os.dup2(output_fd, 2)
            null = os.open(os.devnull, os.O_RDONLY)
            os.dup2(input_fd if input_fd >= 0 else null, 0)
            first_free = 3
            if template_fd == STATUS_FD:
                template_fd = os.dup(template_fd)  # or the status pipe would take its place
            if status_fd >= 0:
                os.dup2(status_fd, STATUS_FD)
                first_free = STATUS_FD + 1
            if template_fd >= 0:
                # A SnapStart template's line to Hearth (hearth/runtimes/python/template.py).
                os.dup2(template_fd, TEMPLATE_FD)
                if status_fd < 0 and template_fd != STATUS_FD:
                    with contextlib.suppress(OSError):
                        os.close(STATUS_FD)  # whatever was inherited there
                first_free = TEMPLATE_FD + 1
            os.closerange(first_free, _max_fd())  # output_fd, null and anything else inherited
            # Lambda's limits. Kept in step with die_with_parent in hearth/invoke/launch.py
            # (this file imports only the standard library, so the two cannot share code).
            # NPROC counts the uid's processes and does not bind root.
            for limit, wanted in (
                (resource.RLIMIT_NOFILE, 1024),
                (resource.RLIMIT_NPROC, 1024),
                (resource.RLIMIT_CORE, 0),
            ):
                hard = resource.getrlimit(limit)[1]  # never ask to raise it: only root may
                value = wanted if hard == resource.RLIM_INFINITY else min(wanted, hard)
                resource.setrlimit(limit, (value, value))
        except BaseException:
            os._exit(CHILD_SETUP_FAILED)
        try:
            os.environ.clear()
            os.environ.update(request["env"])
            plan = request.get("sandbox")
            if plan is not None:
                # Returns only in the sandboxed runtime process (or execs plan["argv"]).
                sandbox_module().enter(plan, STATUS_FD)
            time.tzset()  # TZ comes with the function's environment
            os.chdir(request["cwd"])
            sys.path[:0] = request.get("sys_path") or []
            sys.argv = [os.path.join(HERE, "bootstrap.py")]
            random.seed()  # never share a sequence with the zygote or a sibling
        except BaseException as exc:
            os.write(2, f"hearth zygote: cannot start environment: {exc!r}\n".encode())
            os._exit(CHILD_SETUP_FAILED)

    def exit_status(self, pid: int, status: int) -> int:
        code = super().exit_status(pid, status)
        status_r = self.status_pipes.pop(pid, -1)
        if status_r >= 0:
            # A sandbox's init reports its runtime's exit; nothing if the init itself was killed.
            reported = b""
            with contextlib.suppress(OSError):
                reported = os.read(status_r, 64)
            os.close(status_r)
            with contextlib.suppress(ValueError):
                code = int(reported) if reported else code
        return code


def _max_fd() -> int:
    try:
        return int(os.sysconf("SC_OPEN_MAX"))
    except (ValueError, OSError):
        return 1 << 16


def main() -> None:
    os.environ.pop("LD_LIBRARY_PATH", None)  # var_lang.py's, for this interpreter only
    fd = int(os.environ.pop("HEARTH_ZYGOTE_FD"))
    parent = int(os.environ.pop("HEARTH_ZYGOTE_PARENT", "0"))
    # Whatever else Hearth's process left open (uvloop's spawn does not close inherited
    # descriptors) every environment forked from here would hold: keep only stdio and ours.
    os.closerange(3, fd)
    os.closerange(fd + 1, _max_fd())
    set_parent_death_signal()
    if parent and os.getppid() != parent:
        sys.exit(1)  # Hearth died before we could ask to follow it
    sock = socket.socket(fileno=fd)
    sock.setblocking(True)
    bootstrap = load_bootstrap()
    load_snapstart()
    preload()
    if sys.platform.startswith("linux"):
        sandbox_module()
    if sys.path and os.path.abspath(sys.path[0]) == HERE:
        del sys.path[0]  # runtime files are not the function's modules
    # Keep the warm heap out of the collector's reach, so children share its pages.
    gc.collect()
    gc.freeze()
    if Server(sock).run():
        # A forked child: leave through the normal interpreter exit (atexit hooks, non-daemon
        # threads), carrying the handler's sys.exit() status if it called it.
        sys.exit(bootstrap.main())


if __name__ == "__main__":
    main()
