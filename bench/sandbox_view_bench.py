"""What showing the host's system directories without host paths costs a sandboxed cold start.

Times, in a child process of its own mount namespace (as a sandbox's init does), the steps
that changed in #11.12: the host's /usr (and /etc) shown as before, by a bind per directory
and per /etc entry (whose mountinfo names host paths), against now, /usr as a read-only
overlay named /proc/self/fd/N and /etc as one overlay of the sandbox's own passwd/group over
staged copies (hearth.sandbox.etc_view), plus the interpreter's prefix at /var/lang as an
overlay where it was a bind. Both build the same skeleton with sandbox_entry's own code.
And, once per interpreter rather than per cold start, a Python zygote's start: where it
is, and moving to /var/lang first (runtimes/python/var_lang.py), alternating, 5 of each.
Linux, root. `python bench/sandbox_view_bench.py [rounds]`: medians, one run.
"""

from __future__ import annotations

import asyncio
import ctypes
import importlib.util
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from hearth.sandbox.etc_view import EtcView
from hearth.sandbox.isolation import ETC_ENTRIES, SYSTEM_DIRECTORIES, _own_etc
from hearth.sandbox.zygote import Zygote, find_python

ENTRY = Path(__file__).resolve().parent.parent / "src/hearth/runtimes/python/sandbox_entry.py"
MS_REC, MS_PRIVATE = 16384, 1 << 18
libc = ctypes.CDLL(None, use_errno=True)


def _entry() -> Any:
    spec = importlib.util.spec_from_file_location("sandbox_entry", ENTRY)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def before(prefix: str) -> list[list[Any]]:
    steps: list[list[Any]] = []
    for name in SYSTEM_DIRECTORIES:
        path = Path("/") / name
        if path.is_dir() and not path.is_symlink():
            steps.append(["bind", str(path), f"/{name}"])
    steps += [["bind", f"/etc/{n}", f"/etc/{n}"] for n in ETC_ENTRIES if Path("/etc", n).exists()]
    steps += [["file", f"/etc/{n}", c, m] for n, c, m in _own_etc(990001)]
    steps.append(["bind", prefix, prefix])
    return steps


def after(view: EtcView, prefix: str) -> list[list[Any]]:
    steps: list[list[Any]] = []
    for name in SYSTEM_DIRECTORIES:
        path = Path("/") / name
        if path.is_dir() and not path.is_symlink():
            steps.append(["tree", str(path), f"/{name}"])
    steps.append(["etc", view.current(), view.scratch, _own_etc(990001)])
    steps.append(["tree", prefix, "/var/lang"])
    return steps


def run(entry: Any, steps: list[list[Any]], root: str, empty: str) -> float:
    """One skeleton's steps, timed (what _build_root does for them)."""
    started = time.perf_counter()
    for step in steps:
        kind = step[0]
        if kind == "bind":
            entry._bind(step[1], root + step[2], read_only=True)
        elif kind == "tree":
            entry._make_dir(root + step[2])
            entry._read_only_union("hearth-tree", [empty, step[1]], root + step[2])
        elif kind == "etc":
            entry._make_etc(root + "/etc", empty, step[1], step[2], step[3])
        elif kind == "file":
            entry._make_parent(root, step[1])
            fd = os.open(root + step[1], os.O_CREAT | os.O_WRONLY | os.O_EXCL, int(step[3], 8))
            os.write(fd, step[2].encode())
            os.close(fd)
    return time.perf_counter() - started


async def zygote_start_ms(rounds: int = 5) -> dict[str, float]:
    python = find_python("python3.12")
    times: dict[str, list[float]] = {"zygote_start_ms": [], "zygote_start_var_lang_ms": []}
    for _ in range(rounds):
        for key, var_lang in (("zygote_start_ms", False), ("zygote_start_var_lang_ms", True)):
            started = time.perf_counter()
            zygote = await Zygote.start(python, var_lang=var_lang)
            times[key].append((time.perf_counter() - started) * 1000)
            await zygote.close()
    return {key: round(statistics.median(v), 1) for key, v in times.items()}


def main() -> None:
    rounds = int(sys.argv[1]) if len(sys.argv) > 1 else 200
    entry = _entry()
    prefix = str(Path(os.path.realpath(sys.executable)).parent.parent)
    work = tempfile.mkdtemp(prefix="hearth-view-bench-")
    try:
        view = EtcView(work, ETC_ENTRIES)
        plans = {"before": before(prefix), "after": after(view, prefix)}
        times: dict[str, list[float]] = {key: [] for key in plans}
        for i in range(rounds):
            for key, steps in plans.items():  # alternating: both see the same load
                read, write = os.pipe()
                pid = os.fork()
                if pid == 0:
                    os.close(read)
                    libc.unshare(0x00020000)
                    entry._mount(None, "/", None, MS_REC | MS_PRIVATE)
                    root = f"{work}/r-{key}-{i}"
                    os.mkdir(root)
                    entry._mount("hearth-root", root, "tmpfs", 2 | 4, "size=1m,mode=0755")
                    empty = root + "/proc"
                    os.mkdir(empty)
                    os.write(write, repr(run(entry, steps, root, empty)).encode())
                    os._exit(0)
                os.close(write)
                times[key].append(float(os.read(read, 64)))
                os.close(read)
                os.waitpid(pid, 0)
        medians = {f"{key}_us": round(statistics.median(v) * 1e6, 1) for key, v in times.items()}
        mounts = {k: len(v) for k, v in plans.items()}
        zygote = asyncio.run(zygote_start_ms())
        print({**medians, "steps": mounts, "rounds": rounds, **zygote})
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
