"""The fork-server loop shared by the zygote (``zygote.py``) and a SnapStart template
(``template.py``): datagrams in, forks out, every child reaped and reported exactly once.

Standard library only, like the files that use it: it runs under the function's interpreter,
loaded by the zygote under a private module name (so a function's own ``forkserver`` module
is never shadowed). Both servers speak the protocol ``zygote.py`` documents: one JSON object
per ``SOCK_SEQPACKET`` datagram, fds by ``SCM_RIGHTS``.

Guarantees: ``run()`` returns False in the server once Hearth hangs up (after every child
was killed, reaped and reported), and True in a freshly forked child (whatever ``handle``
decided to fork), which has closed the server's own descriptors and signal set-up.
"""

from __future__ import annotations

import array
import contextlib
import json
import os
import selectors
import signal
import socket
from typing import Any

MAX_MESSAGE = 1 << 20
FD_SIZE = array.array("i").itemsize


def _on_sigchld(signum: int, frame: object) -> None:
    """Nothing to do here: the wakeup fd already woke the loop, which reaps."""


class ForkServer:
    """Subclasses say what a request means (``handle``) and how a child's exit is reported
    (``exit_status``); this class owns the socket, the SIGCHLD self-pipe and the children."""

    # How many fds one request may carry; a datagram with more is truncated and dropped.
    max_fds = 4

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self.children: set[int] = set()
        # SIGCHLD wakes select() through a self-pipe; the Python-level handler is what makes
        # CPython write to the wakeup fd.
        self.wakeup_r, self.wakeup_w = os.pipe()
        os.set_blocking(self.wakeup_r, False)
        os.set_blocking(self.wakeup_w, False)
        signal.set_wakeup_fd(self.wakeup_w, warn_on_full_buffer=False)
        signal.signal(signal.SIGCHLD, _on_sigchld)
        self.selector = selectors.DefaultSelector()
        self.selector.register(self.sock, selectors.EVENT_READ)
        self.selector.register(self.wakeup_r, selectors.EVENT_READ)

    # What a subclass decides ---------------------------------------------------------------
    def ready_message(self) -> dict[str, Any]:
        raise NotImplementedError

    def handle(self, message: dict[str, Any], fds: list[int]) -> bool:
        """Act on one request, owning its fds; True in a child forked for it."""
        raise NotImplementedError

    def exit_status(self, pid: int, status: int) -> int:
        """The status reported for a reaped child: its exit code, or -signal."""
        return os.waitstatus_to_exitcode(status)

    # The loop ------------------------------------------------------------------------------
    def send(self, message: dict[str, Any]) -> None:
        # If Hearth is gone, end of file on the next read ends the loop.
        with contextlib.suppress(OSError):
            self.sock.send(json.dumps(message).encode())

    def run(self) -> bool:
        self.send(self.ready_message())
        while True:
            self.selector.select()
            self.drain_wakeup()
            self.reap()
            while True:
                try:
                    data, fds, flags = self.receive()
                except BlockingIOError:
                    break
                if not data:
                    _close_all(fds)
                    self.shutdown()
                    return False
                if flags & (socket.MSG_TRUNC | socket.MSG_CTRUNC):
                    _close_all(fds)
                    continue
                if self.handle(json.loads(data), fds):
                    return True

    def receive(self) -> tuple[bytes, list[int], int]:
        """One datagram and its fds, without blocking (BlockingIOError: none waiting; an
        empty datagram: Hearth hung up)."""
        # Not socket.recv_fds: before 3.12 it ignores its flags, and this read must not block.
        try:
            data, ancillary, flags, _ = self.sock.recvmsg(
                MAX_MESSAGE, socket.CMSG_SPACE(self.max_fds * FD_SIZE), socket.MSG_DONTWAIT
            )
        except ConnectionError:
            return b"", [], 0
        fds: list[int] = []
        for level, kind, payload in ancillary:
            if level == socket.SOL_SOCKET and kind == socket.SCM_RIGHTS:
                usable = len(payload) - len(payload) % FD_SIZE
                fds.extend(array.array("i", payload[:usable]))
        return data, fds, flags

    def close_in_child(self) -> None:
        """A fork keeps nothing of the server: its socket, self-pipe and SIGCHLD set-up."""
        signal.set_wakeup_fd(-1)
        signal.signal(signal.SIGCHLD, signal.SIG_DFL)
        self.selector.close()
        self.sock.close()
        os.close(self.wakeup_r)
        os.close(self.wakeup_w)

    def kill(self, pid: int) -> None:
        if pid not in self.children:
            return  # already reaped: the pid may belong to someone else now
        for kill in (os.killpg, os.kill):  # the group, and the child itself if not yet setsid
            with contextlib.suppress(ProcessLookupError, PermissionError):
                kill(pid, signal.SIGKILL)

    def drain_wakeup(self) -> None:
        with contextlib.suppress(BlockingIOError):
            while os.read(self.wakeup_r, 4096):
                pass

    def reap(self) -> None:
        while self.children:
            try:
                pid, status = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                return
            if pid == 0:
                return
            self.exited(pid, status)

    def exited(self, pid: int, status: int) -> None:
        self.children.discard(pid)
        self.send({"op": "exited", "pid": pid, "status": self.exit_status(pid, status)})

    def shutdown(self) -> None:
        """Hearth hung up: kill every child and report each exit before going."""
        for pid in list(self.children):
            self.kill(pid)
        while self.children:
            try:
                pid, status = os.waitpid(-1, 0)
            except ChildProcessError:
                break
            self.exited(pid, status)


def _close_all(fds: list[int]) -> None:
    for fd in fds:
        os.close(fd)
