"""Space held back on the data dir's disk so that freeing space works when it is full.

SQLite must write to delete (a WAL frame, a journal page): on a full disk DeleteFunction, an
async event's acknowledgement and every other change fail alike, and the only way out would be
by hand. Hearth keeps a file of `size` bytes in the data dir; a write that frees space (a
delete, an acknowledgement) that fails on a full disk releases the file and tries once more.
The file is made again once the disk has room for it twice over.
"""

from __future__ import annotations

import errno
import logging
import os
import shutil
import threading
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

from hearth.errors import is_disk_full

logger = logging.getLogger("hearth.store")

T = TypeVar("T")

DEFAULT_RESERVE_BYTES = 8 * 1024 * 1024


class DiskReserve:
    """Thread-safe: the registry's and the queue's threads both use it."""

    def __init__(self, path: Path, size: int = DEFAULT_RESERVE_BYTES) -> None:
        self._path = path
        self._size = size
        self._lock = threading.Lock()
        self.releases = 0  # how often a full disk made Hearth use it

    @property
    def held(self) -> bool:
        return self._path.exists()

    def restore(self) -> bool:
        """Make the reserve if it is missing and the disk has room for it twice over."""
        with self._lock:
            if self._path.exists():
                return True
            try:
                if shutil.disk_usage(self._path.parent).free < 2 * self._size:
                    return False
                temp = self._path.with_name(self._path.name + ".tmp")
                fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
                try:
                    os.posix_fallocate(fd, 0, self._size)  # real blocks, not a sparse file
                    os.fsync(fd)
                finally:
                    os.close(fd)
                temp.replace(self._path)
            except OSError as exc:
                self._path.with_name(self._path.name + ".tmp").unlink(missing_ok=True)
                if not is_disk_full(exc):
                    raise
                return False
            return True

    def require_room(self) -> None:
        """Raise ENOSPC while Hearth runs on its reserve (the disk filled up and nobody has
        freed space yet): what the reserve holds is for deletes and acknowledgements, not
        for new code or new events that would take it."""
        if not self._path.exists() and not self.restore():
            raise OSError(errno.ENOSPC, "the data dir's disk is full (running on its reserve)")

    def release(self) -> bool:
        """Free the reserve; whether there was one to free."""
        with self._lock:
            try:
                self._path.unlink()
            except FileNotFoundError:
                return False
            self.releases += 1
            logger.warning(
                "the data dir's disk is full: released the %d MB reserve so that deletes and "
                "acknowledgements still work; free disk space",
                self._size // (1024 * 1024),
            )
            return True

    def freeing(self, write: Callable[[], T]) -> T:
        """Run `write`, a change that frees space; on a full disk release the reserve and
        run it once more."""
        try:
            return write()
        except Exception as exc:
            if not is_disk_full(exc) or not self.release():
                raise
        return write()
