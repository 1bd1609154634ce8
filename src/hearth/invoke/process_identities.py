"""Which function a loopback connection is, when environments are plain processes.

With `--isolation process` every environment runs as the user running Hearth, so the uid
owning a peer socket says nothing. The socket's inode does: the kernel names it with the uid
(`sandbox.peers.tcp_peer`), and the process holding it has `socket:[inode]` among its fds.
Each environment's runtime is a process of its own (a session leader; Hearth started it), so
the holder is looked for in the trees of the environments' processes, and only there: a
socket held by no environment is the operator's.

What this does not see: a process a function detaches from its tree (a double fork leaves it
to init) is no longer in any environment's tree, and counts as the operator's. That mode is no
boundary anyway (a function can read the data dir); this keeps a function's ordinary SDK calls
held to its role there too.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator

from hearth.invoke.identities import FunctionIdentity

# A runaway tree is not walked forever on the event loop: past this many processes the
# rest of an environment's tree is not looked at (1024 is Lambda's own process limit).
_MAX_PROCESSES = 1024


class ProcessIdentities:
    """pid of an environment's runtime → its function; lookups by socket inode."""

    def __init__(self, proc: str = "/proc") -> None:
        self._proc = proc
        self._by_pid: dict[int, FunctionIdentity] = {}

    def bind(self, pid: int, identity: FunctionIdentity) -> None:
        """`pid` (an environment's runtime) and everything it starts are `identity`'s,
        until `unbind` (call it when the process exits: pids are reused)."""
        self._by_pid[pid] = identity

    def unbind(self, pid: int) -> None:
        self._by_pid.pop(pid, None)

    def owner_of(self, inode: int) -> FunctionIdentity | None:
        """The function one of whose processes holds socket `inode`; None for no
        environment's (inode 0: a socket with no owner, never a function's here). Blocking
        (it reads /proc, ~90 µs per environment): call it off the event loop."""
        if inode == 0:
            return None
        wanted = f"socket:[{inode}]"
        # A copy (atomic): this runs in a thread while the event loop binds and unbinds.
        for root, identity in self._by_pid.copy().items():
            for pid in self._tree(root):
                if self._holds(pid, wanted):
                    return identity
        return None

    def _holds(self, pid: int, wanted: str) -> bool:
        fd_dir = f"{self._proc}/{pid}/fd"
        try:
            fds = os.listdir(fd_dir)
        except OSError:
            return False  # gone, or not ours to read
        for fd in fds:
            with contextlib.suppress(OSError):
                if os.readlink(f"{fd_dir}/{fd}") == wanted:
                    return True
        return False

    def _tree(self, root: int) -> Iterator[int]:
        """`root` and its descendants, by the kernel's children lists (each thread has its
        own: a child is listed under the thread that forked it)."""
        pending, seen = [root], 0
        while pending and seen < _MAX_PROCESSES:
            pid = pending.pop()
            seen += 1
            yield pid
            try:
                threads = os.listdir(f"{self._proc}/{pid}/task")
            except OSError:
                continue
            for tid in threads:
                try:
                    with open(f"{self._proc}/{pid}/task/{tid}/children") as listed:
                        pending.extend(int(child) for child in listed.read().split())
                except (OSError, ValueError):
                    continue
