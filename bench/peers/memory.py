"""Memory of a whole process tree, read from /proc: RSS and PSS (smaps_rollup), summed.

PSS divides each shared page among the processes mapping it, so the sum over a tree is what
the tree really costs, however its processes share pages (forked environments share most).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path

PROC = Path("/proc")


def _children_map() -> dict[int, list[int]]:
    children: dict[int, list[int]] = {}
    for entry in PROC.iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue  # exited meanwhile
        # The command name is in parentheses and may contain spaces: split after the last ")".
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        children.setdefault(ppid, []).append(int(entry.name))
    return children


def tree(roots: list[int]) -> list[int]:
    children = _children_map()
    found: list[int] = []
    stack = list(roots)
    while stack:
        pid = stack.pop()
        if pid in found:
            continue
        found.append(pid)
        stack.extend(children.get(pid, []))
    return found


def usage(pid: int) -> tuple[int, int]:
    """(RSS, PSS) of one process in kB; (0, 0) if it is gone."""
    rss = pss = 0
    try:
        text = (PROC / str(pid) / "smaps_rollup").read_text()
    except OSError:
        return 0, 0
    for line in text.splitlines():
        if line.startswith("Rss:"):
            rss = int(line.split()[1])
        elif line.startswith("Pss:"):
            pss = int(line.split()[1])
    return rss, pss


def tree_usage(roots: list[int]) -> dict[str, float]:
    """RSS and PSS in MB summed over the trees under `roots`, and how many processes."""
    pids = tree(roots)
    rss = pss = 0
    for pid in pids:
        one_rss, one_pss = usage(pid)
        rss += one_rss
        pss += one_pss
    return {"rss_mb": round(rss / 1024, 2), "pss_mb": round(pss / 1024, 2), "processes": len(pids)}


class PeakSampler:
    """Samples the trees under `roots()` every `interval` seconds in a thread; keeps the peak.

    `roots` is called at each sample, so a tool that starts new processes (a new RIE per cold
    start) is followed as it goes."""

    def __init__(self, roots: Callable[[], list[int]], interval: float = 0.25) -> None:
        self._roots = roots
        self._interval = interval
        self._stop = threading.Event()
        self.peak = {"rss_mb": 0.0, "pss_mb": 0.0, "processes": 0}
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> PeakSampler:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join()
        self.sample()

    def sample(self) -> None:
        roots = [pid for pid in self._roots() if pid > 0]
        if not roots:
            return
        now = tree_usage(roots)
        for key in self.peak:
            self.peak[key] = max(self.peak[key], now[key])

    def _run(self) -> None:
        while not self._stop.wait(self._interval):
            self.sample()
