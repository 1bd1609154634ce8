"""Disk-backed `/tmp` for sandboxes, sized by EphemeralStorage, as on AWS.

A tmpfs would be memory, charged to the environment's cgroup: a 128 MB function writing
512 MB to /tmp would be OOM-killed instead of getting its 512 MB (or ENOSPC past it). So each
environment's /tmp is a small ext4 filesystem of its own: a sparse image file under the data
dir, loop-mounted on the host and bound at /tmp in the sandbox. Full at its size (ENOSPC),
private, on disk (mounted with `discard`, so deleted files give their blocks back to the host).

Why a pool: making one costs a mkfs and a loop mount (tens of milliseconds, far more on a
busy disk), too much for a cold start. Disks of the common size (512 MB) are made ahead, in a
background thread; a disk given back is wiped in that thread (everything under its root
removed) and kept for the next environment of its size. An environment never sees what a
previous one wrote: it gets a disk only once the wipe is done. Sizes nobody asked for yet are
made on first use, in the cold start that wants one.

The disks are mounted in Hearth's own mount namespace (sandbox/mount_namespace.py), so they
vanish with Hearth however it ends. Where that namespace, loop devices or mkfs.ext4 are
missing (an unprivileged container, say), `TmpDisks.open` returns None and sandboxes fall back
to a tmpfs (memory), with a warning.
"""

from __future__ import annotations

import contextlib
import logging
import os
import shutil
import subprocess
import threading
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

from hearth.sandbox import mount_namespace

logger = logging.getLogger("hearth.sandbox")

COMMON_SIZE_MB = 512
# Disks of the common size kept ready, and disks of any size kept once given back.
READY_COMMON = 2
KEEP_FREE_PER_SIZE = 4
_MKFS = ("mkfs.ext4", "/usr/sbin/mkfs.ext4", "/sbin/mkfs.ext4")


def image_bytes(size_mb: int) -> int:
    """An image whose filesystem holds `size_mb` MB of files, give or take a megabyte (ext4
    without a journal or reserved blocks keeps ~10 MB plus 0.5% for its own tables)."""
    return (size_mb + 10 + size_mb // 200) * 1024 * 1024


@dataclass
class TmpDisk:
    size_mb: int
    image: Path
    mount_point: Path


def _run(*argv: str) -> None:
    subprocess.run(argv, check=True, capture_output=True, timeout=60)  # noqa: S603 - fixed tools, own paths


class TmpDisks:
    """Mounted, empty ext4 disks by size; thread-safe. `take` is what a cold start calls."""

    def __init__(self, root: Path, mkfs: str) -> None:
        self._root = root
        self._mkfs = mkfs
        self._lock = threading.Condition()
        self._free: dict[int, list[TmpDisk]] = defaultdict(list)
        self._dirty: list[TmpDisk] = []
        self._wanted = 0  # common-size disks the worker should make
        self._closed = False
        self._serial = 0
        self._worker = threading.Thread(target=self._work, name="hearth-tmp-disks", daemon=True)

    @classmethod
    def open(cls, root: Path) -> TmpDisks | None:
        """Disks under `root` (left-overs of an earlier run removed), or None where this host
        cannot make them."""
        mkfs = next((m for m in _MKFS if shutil.which(m)), None)
        if mkfs is None or not os.path.exists("/dev/loop-control") or os.geteuid() != 0:
            return None
        if not mount_namespace.entered():
            # Mounted where the host sees them, a killed Hearth would leave them behind.
            logger.warning("disk-backed /tmp needs Hearth's own mount namespace: using tmpfs")
            return None
        disks = cls(root, mkfs)
        disks._clear_leftovers()
        try:
            disks._share_root()
            probe = disks._make(COMMON_SIZE_MB)
        except (OSError, subprocess.SubprocessError) as exc:
            logger.warning("disk-backed /tmp unavailable (%s): using tmpfs", exc)
            shutil.rmtree(root, ignore_errors=True)
            return None
        disks._free[COMMON_SIZE_MB].append(probe)
        disks._wanted = READY_COMMON - 1
        disks._worker.start()
        return disks

    def take(self, size_mb: int) -> TmpDisk:
        """An empty mounted disk of `size_mb`, made now if none is ready (callers `stock` one
        in a thread first, so that is only a race lost to another environment)."""
        with self._lock:
            if self._free[size_mb]:
                disk = self._free[size_mb].pop()
                if size_mb == COMMON_SIZE_MB:
                    self._wanted += 1
                    self._lock.notify()
                return disk
        return self._make(size_mb)

    def ready(self, size_mb: int) -> bool:
        """Whether a disk of `size_mb` is ready to take."""
        with self._lock:
            return bool(self._free[size_mb])

    def stock(self, size_mb: int) -> None:
        """Make one disk of `size_mb` ready (blocking: a mkfs and a mount; call it in a
        thread, never on the event loop)."""
        disk = self._make(size_mb)
        with self._lock:
            self._free[size_mb].append(disk)

    def give_back(self, disk: TmpDisk) -> None:
        """The environment using `disk` is gone: wipe it (in the background) for reuse."""
        with self._lock:
            self._dirty.append(disk)
            self._lock.notify()

    def close(self) -> None:
        with self._lock:
            self._closed = True
            self._lock.notify()
        if self._worker.is_alive():
            self._worker.join(timeout=30)
        with self._lock:
            disks = [d for free in self._free.values() for d in free] + self._dirty
            self._free.clear()
            self._dirty.clear()
        for disk in disks:
            self._destroy(disk)
        if os.path.ismount(self._root):
            with contextlib.suppress(OSError, subprocess.SubprocessError):
                _run("umount", "-l", str(self._root))
        shutil.rmtree(self._root, ignore_errors=True)

    def _share_root(self) -> None:
        """Make the disks' directory a shared mount of its own: the zygotes run in mount
        namespaces of their own (slaves of Hearth's, see runtimes/python/zygote.py), and a
        disk mounted here after a zygote started must still reach the sandboxes it forks."""
        self._root.mkdir(mode=0o700, parents=True, exist_ok=True)
        _run("mount", "--bind", str(self._root), str(self._root))
        _run("mount", "--make-shared", str(self._root))

    # The worker --------------------------------------------------------------------------
    def _work(self) -> None:
        while True:
            with self._lock:
                while not self._closed and not self._dirty and self._wanted <= 0:
                    self._lock.wait()
                if self._closed:
                    return
                dirty = self._dirty.pop() if self._dirty else None
                if dirty is None:
                    self._wanted -= 1
            try:
                if dirty is not None:
                    self._recycle(dirty)
                else:
                    made = self._make(COMMON_SIZE_MB)
                    with self._lock:
                        self._free[COMMON_SIZE_MB].append(made)
            except Exception:
                logger.warning("could not prepare a /tmp disk", exc_info=True)

    def _recycle(self, disk: TmpDisk) -> None:
        with self._lock:
            keep = len(self._free[disk.size_mb]) < KEEP_FREE_PER_SIZE
        if not keep:
            self._destroy(disk)
            return
        try:
            _wipe(disk.mount_point)
        except BaseException:
            self._destroy(disk)  # never hand out a disk that may hold the last one's files
            raise
        with self._lock:
            self._free[disk.size_mb].append(disk)
            if disk.size_mb == COMMON_SIZE_MB and self._wanted > 0:
                self._wanted -= 1  # this one serves instead of a new one

    # Making and destroying ---------------------------------------------------------------
    def _make(self, size_mb: int) -> TmpDisk:
        with self._lock:
            self._serial += 1
            name = f"{size_mb}-{self._serial}"
        self._root.mkdir(mode=0o700, parents=True, exist_ok=True)
        image = self._root / f"{name}.img"
        mount_point = self._root / name
        with open(image, "wb") as out:
            out.truncate(image_bytes(size_mb))  # sparse: takes no space until written
        try:
            _run(
                self._mkfs,
                "-q",
                "-F",
                "-O",
                "^has_journal,^resize_inode",
                "-E",
                "lazy_itable_init=1,nodiscard,root_owner=0:0",
                "-m",
                "0",
                "-i",
                "65536",
                str(image),
            )
            mount_point.mkdir(mode=0o700)
            _run("mount", "-o", "loop,discard,nosuid,nodev,noatime", str(image), str(mount_point))
            # As on AWS: root's, world-writable, sticky.
            os.chmod(mount_point, 0o1777)  # noqa: S103
            with contextlib.suppress(FileNotFoundError):
                shutil.rmtree(mount_point / "lost+found")
        except BaseException:
            self._destroy(TmpDisk(size_mb, image, mount_point))
            raise
        return TmpDisk(size_mb, image, mount_point)

    def _destroy(self, disk: TmpDisk) -> None:
        if os.path.ismount(disk.mount_point):
            # Lazy: nothing should hold it, but a stuck unmount must not hold up Hearth.
            with contextlib.suppress(OSError, subprocess.SubprocessError):
                _run("umount", "-l", str(disk.mount_point))
        with contextlib.suppress(OSError):
            disk.mount_point.rmdir()
        disk.image.unlink(missing_ok=True)

    def _clear_leftovers(self) -> None:
        if not self._root.is_dir():
            return
        for entry in sorted(self._root.iterdir()):
            if entry.is_dir() and os.path.ismount(entry):
                with contextlib.suppress(OSError, subprocess.SubprocessError):
                    _run("umount", "-l", str(entry))
        if os.path.ismount(self._root):  # an earlier TmpDisks of this process's
            with contextlib.suppress(OSError, subprocess.SubprocessError):
                _run("umount", "-l", str(self._root))
        shutil.rmtree(self._root, ignore_errors=True)


def _wipe(mount_point: Path) -> None:
    """Remove everything under the disk's root (not following links: rmtree works on file
    descriptors, so a link the function left cannot point it elsewhere)."""
    with os.scandir(mount_point) as entries:
        for entry in entries:
            path = Path(entry.path)
            if entry.is_dir(follow_symlinks=False):
                shutil.rmtree(path)
            else:
                path.unlink()
    os.chmod(mount_point, 0o1777)  # noqa: S103 - /tmp is world-writable and sticky
    os.chown(mount_point, 0, 0)
