"""One server per data dir: an exclusive `flock` on `<data dir>/server.lock`.

Two servers on one data dir would both dispatch the async queue (running events twice) and
race on the code store, so `hearth serve` takes this lock before anything else and refuses to
start when another process holds it. `flock` belongs to the open file, so the kernel releases
it when the holder exits however it exits (`kill -9` included): a crashed server never leaves
the data dir locked, and a stale file is harmless. The file's text names the holder (its pid,
then its address once it listens) so the refusal can say who.

Guarantees: while a `DataDirLock` is held, no other `DataDirLock` on the same directory can be
taken, from this process or any other. The descriptor is opened close-on-exec, so the
runtimes Hearth execs never hold it.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
from pathlib import Path

from hearth.store.datadir import SERVER_LOCK

LOCK_FILE = SERVER_LOCK


class DataDirLocked(Exception):
    """Another server holds the data dir. `holder` is what it wrote: its pid and address."""

    def __init__(self, data_dir: Path, holder: str) -> None:
        super().__init__(f"{data_dir} is in use by another Hearth server ({holder})")
        self.data_dir = data_dir
        self.holder = holder


class DataDirLock:
    def __init__(self, data_dir: Path) -> None:
        """Take the lock, creating the directory if needed; raises DataDirLocked when another
        server has it."""
        data_dir.mkdir(parents=True, exist_ok=True)
        self.path = data_dir / LOCK_FILE
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = _read_holder(fd)
            os.close(fd)
            raise DataDirLocked(data_dir, holder) from None
        except BaseException:
            os.close(fd)
            raise
        self._fd: int | None = fd
        self.record(None)

    def record(self, endpoint: str | None) -> None:
        """Say who holds the lock: this pid, and the address once the server listens."""
        if self._fd is None:
            return
        text = f"pid {os.getpid()}"
        text += f", listening at {endpoint}" if endpoint else ", starting"
        os.ftruncate(self._fd, 0)
        os.pwrite(self._fd, (text + "\n").encode(), 0)

    def release(self) -> None:
        if self._fd is not None:
            with contextlib.suppress(OSError):
                os.ftruncate(self._fd, 0)
            os.close(self._fd)  # closing the file releases the flock
            self._fd = None

    def __enter__(self) -> DataDirLock:
        return self

    def __exit__(self, *_: object) -> None:
        self.release()


def _read_holder(fd: int) -> str:
    text = os.pread(fd, 200, 0).decode(errors="replace").strip()
    return text or "pid unknown"
