"""What the disk-backed /tmp and the generated /etc files cost a sandboxed cold start.

Times, in a child process of its own mount namespace (as a sandbox's init does), the steps
that changed: mounting /tmp (a tmpfs before; now a bind of a pooled, already mounted ext4
disk plus its remount) and writing /etc/passwd, /etc/group and /lambda-entrypoint.sh into
the skeleton. Linux, root. `python bench/tmp_mount_bench.py [rounds]`: medians in µs.
"""

from __future__ import annotations

import ctypes
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

MS_NOSUID, MS_NODEV, MS_REMOUNT, MS_BIND, MS_REC, MS_PRIVATE = 2, 4, 32, 4096, 16384, 1 << 18
libc = ctypes.CDLL(None, use_errno=True)


def mount(source: str | None, target: str, fstype: str | None, flags: int, data: str = "") -> None:
    if libc.mount(
        source.encode() if source else None,
        target.encode(),
        fstype.encode() if fstype else None,
        flags,
        data.encode() if data else None,
    ):
        raise OSError(ctypes.get_errno(), f"mount {target}")


def child(work: str, disk: str, rounds: int, out: int) -> None:
    libc.unshare(0x00020000)
    mount(None, "/", None, MS_REC | MS_PRIVATE)
    results: dict[str, list[float]] = {"tmpfs": [], "disk_bind": [], "files": []}
    for i in range(rounds):
        root = f"{work}/r{i}"
        os.mkdir(root)
        mount("hearth-root", root, "tmpfs", MS_NOSUID | MS_NODEV, "size=1m,mode=0755")
        os.mkdir(root + "/tmp")
        os.mkdir(root + "/tmp2")
        os.mkdir(root + "/etc")
        t = time.perf_counter()
        mount("tmpfs", root + "/tmp", "tmpfs", MS_NOSUID | MS_NODEV, "size=536870912,mode=1777")
        results["tmpfs"].append(time.perf_counter() - t)
        t = time.perf_counter()
        mount(disk, root + "/tmp2", None, MS_BIND)
        mount(None, root + "/tmp2", None, MS_REMOUNT | MS_BIND | MS_NOSUID | MS_NODEV)
        results["disk_bind"].append(time.perf_counter() - t)
        t = time.perf_counter()
        for name, mode in (("/etc/passwd", 0o644), ("/etc/group", 0o644), ("/lep.sh", 0o755)):
            fd = os.open(root + name, os.O_CREAT | os.O_WRONLY | os.O_EXCL, mode)
            os.write(fd, b"root:x:0:0:root:/root:/sbin/nologin\nsbx_user1051:x:990001:...\n")
            os.fchmod(fd, mode)
            os.close(fd)
        results["files"].append(time.perf_counter() - t)
    os.write(out, repr({k: statistics.median(v) * 1e6 for k, v in results.items()}).encode())
    os._exit(0)


def main() -> None:
    rounds = int(sys.argv[1]) if len(sys.argv) > 1 else 200
    work = tempfile.mkdtemp(prefix="tmp-bench-")
    image, disk = f"{work}/d.img", f"{work}/disk"
    os.mkdir(disk)
    with open(image, "wb") as f:
        f.truncate(530 << 20)
    subprocess.run(["mkfs.ext4", "-q", "-F", "-O", "^has_journal", "-m", "0", image], check=True)
    subprocess.run(["mount", "-o", "loop,discard", image, disk], check=True)
    try:
        r, w = os.pipe()
        pid = os.fork()
        if pid == 0:
            child(work, disk, rounds, w)
        os.close(w)
        os.waitpid(pid, 0)
        print(os.read(r, 4096).decode())
    finally:
        subprocess.run(["umount", disk], check=False)
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
