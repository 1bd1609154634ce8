"""Host-wide blocks of sandbox uids: each Hearth server on a machine runs its environments
under uids no other server uses.

Why: the kernel counts processes per uid (RLIMIT_NPROC), and the Runtime API tells its peers
apart by uid; two servers handing out the same uids would share one environment's process
limit and could pass each other's peer checks. A block is held by an `flock` on a file of its
own, so a server that crashes (even with kill -9) leaves no block taken.
"""

from __future__ import annotations

import fcntl
import os
import tempfile
from pathlib import Path

# uids FIRST_UID + k * BLOCK_SIZE ... for block k; 100 blocks stay below 2,000,000.
BLOCKS = 100


def default_lock_dir() -> Path:
    run = Path("/run")
    if os.access(run, os.W_OK):
        return run / "hearth-uid-blocks"
    return Path(tempfile.gettempdir()) / "hearth-uid-blocks"


class UidBlock:
    """One block of uids, held until `release` (or until the process ends)."""

    def __init__(self, first: int, descriptor: int) -> None:
        self.first = first
        self._descriptor: int | None = descriptor

    def release(self) -> None:
        if self._descriptor is not None:
            os.close(self._descriptor)  # closing the file drops its flock
            self._descriptor = None


def claim_block(first_uid: int, block_size: int, lock_dir: Path | None = None) -> UidBlock:
    """The first block no other live server holds; RuntimeError when all are taken."""
    directory = lock_dir or default_lock_dir()
    directory.mkdir(mode=0o700, parents=True, exist_ok=True)
    for index in range(BLOCKS):
        descriptor = os.open(directory / f"block-{index}.lock", os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(descriptor)
            continue
        os.set_inheritable(descriptor, False)
        return UidBlock(first_uid + index * block_size, descriptor)
    raise RuntimeError(
        f"all {BLOCKS} blocks of sandbox uids are held by other Hearth servers on this host"
    )
