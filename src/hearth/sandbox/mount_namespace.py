"""Hearth's own mount namespace, so that what it mounts dies with it.

The sandboxes' /tmp disks (sandbox/tmp_disks.py) are loop mounts. Made in the host's mount
namespace, a Hearth killed with SIGKILL would leave them mounted (and their images held) until
the next start on that data dir. Made in a private namespace of Hearth's own, they vanish with
the last process in it: Hearth and its zygotes and environments, which all die with it
(PR_SET_PDEATHSIG). The namespace starts as a copy of the host's, so Hearth sees every file
it saw before; nothing mounted in it propagates back to the host.

`enter_private()` must run while the process has one thread (at the start of `hearth
serve`): unshare() moves only the calling thread, and threads started later inherit it.
"""

from __future__ import annotations

import ctypes
import os
import sys
import threading

CLONE_NEWNS = 0x00020000
MS_REC = 16384
MS_PRIVATE = 1 << 18

_entered = False


def entered() -> bool:
    """Whether this process is in the private namespace `enter_private` made."""
    return _entered


def enter_private() -> bool:
    """Move Hearth into a private mount namespace; False (and nothing changed) where that is
    not possible: not Linux, not root, or already other threads."""
    global _entered  # noqa: PLW0603 - one flag per process, set once at start-up
    if _entered:
        return True
    if not sys.platform.startswith("linux") or os.geteuid() != 0:
        return False
    if threading.active_count() != 1:
        return False
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.unshare(CLONE_NEWNS) != 0:
        return False
    # Private, recursively: the copy's mounts would otherwise stay peers of the host's.
    if libc.mount(None, b"/", None, MS_REC | MS_PRIVATE, None) != 0:
        return False
    _entered = True
    return True


MS_NOSUID = 2
MS_NODEV = 4
MNT_DETACH = 2


def own_tmpfs(path: str, mode: int = 0o700) -> bool:
    """Mount a small tmpfs of Hearth's own at `path` (an existing, empty directory), in
    Hearth's namespace only; False where there is none (`entered` is False) or it fails.

    Why: a file bound into a sandbox from it (a Runtime API socket) is named in the
    sandbox's /proc/self/mountinfo by its path within its filesystem: from the host's /tmp
    that is the host path (/tmp/hearth-rt-x/ID.sock); from a tmpfs mounted there, /ID.sock."""
    if not _entered:
        return False
    libc = ctypes.CDLL(None, use_errno=True)
    options = f"size=64m,mode={mode:o}".encode()
    return bool(
        libc.mount(b"hearth-run", path.encode(), b"tmpfs", MS_NOSUID | MS_NODEV, options) == 0
    )


def unmount(path: str) -> None:
    """Detach what is mounted at `path` (so the directory can be removed); quiet if none."""
    if _entered:
        ctypes.CDLL(None, use_errno=True).umount2(path.encode(), MNT_DETACH)
