"""CPU milliseconds per warm invoke, spent by Hearth's whole process tree (server, zygote,
environments), for two builds alternating on the same machine.

    .venv/bin/python bench/cpu_bench.py --build main=/work/main/.venv/bin/python \\
        --build perf=.venv/bin/python --runtime python3.11 --rounds 4 --invokes 4000

The machine is shared, so wall-clock throughput moves with other people's work; CPU time
charged to Hearth's processes per invoke (utime + stime from /proc/<pid>/stat, summed over the
server's descendants, before and after a fixed number of invokes) barely does, and is what a
faster invoke path lowers. The invokes come from 8 keep-alive connections driven by one
selector loop in a separate process (`peers.fastclient`), whose CPU is not Hearth's.
Prints, per build, the median CPU ms per invoke, split into the server's own process and the
rest of its tree, and invokes/s over the same interval.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).parent))

from ab_bench import create, start
from peers.fastclient import run_closed_loop

TICK_MS = 1000 / os.sysconf("SC_CLK_TCK")


def _children() -> dict[int, list[int]]:
    tree: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", "rb") as stat:
                fields = stat.read().rsplit(b")", 1)[1].split()
        except OSError:
            continue
        tree.setdefault(int(fields[1]), []).append(int(entry))
    return tree


def tree_cpu_ms(root: int) -> tuple[float, float]:
    """(the root's own CPU ms, its descendants' CPU ms), utime + stime of live processes
    plus what their reaped children left in cutime + cstime."""
    tree = _children()
    own, rest = 0.0, 0.0
    stack = [root]
    while stack:
        pid = stack.pop()
        try:
            with open(f"/proc/{pid}/stat", "rb") as stat:
                fields = stat.read().rsplit(b")", 1)[1].split()
        except OSError:
            continue
        # fields[11:15]: utime, stime, cutime, cstime (after the state field at [0]).
        ms = sum(int(value) for value in fields[11:15]) * TICK_MS
        if pid == root:
            own = sum(int(value) for value in fields[11:13]) * TICK_MS
            rest += sum(int(value) for value in fields[13:15]) * TICK_MS
        else:
            rest += ms
        stack.extend(tree.get(pid, []))
    return own, rest


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--build", action="append", required=True, help="name=python")
    parser.add_argument("--runtime", default="python3.11")
    parser.add_argument("--rounds", type=int, default=4)
    parser.add_argument("--invokes", type=int, default=4000)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--process", action="store_true", help="--isolation process")
    args = parser.parse_args()
    extra = ["--isolation", "process"] if args.process else []
    builds = dict(item.split("=", 1) for item in args.build)
    servers = {key: start(python, tempfile.mkdtemp(), extra) for key, python in builds.items()}
    path = "/2015-03-31/functions/f/invocations"
    figures: dict[str, dict[str, list[float]]] = {
        key: {"server_ms": [], "tree_ms": [], "total_ms": [], "per_second": []} for key in builds
    }
    try:
        for _, target in servers.values():
            create(target, "f", args.runtime)
            run_closed_loop([(target.host, target.port, path)], args.clients, 400)  # warm-up
        for _ in range(args.rounds):
            for key, (process, target) in servers.items():
                own0, rest0 = tree_cpu_ms(process.pid)
                started = time.perf_counter()
                done = run_closed_loop(
                    [(target.host, target.port, path)], args.clients, args.invokes
                )
                elapsed = time.perf_counter() - started
                own1, rest1 = tree_cpu_ms(process.pid)
                assert done["errors"] == 0, done
                count = done["ok"]
                figures[key]["server_ms"].append((own1 - own0) / count)
                figures[key]["tree_ms"].append((rest1 - rest0) / count)
                figures[key]["total_ms"].append((own1 - own0 + rest1 - rest0) / count)
                figures[key]["per_second"].append(count / elapsed)
    finally:
        for process, _ in servers.values():
            process.terminate()
            try:
                process.wait(10)
            except subprocess.TimeoutExpired:
                process.kill()
    summary: dict[str, Any] = {
        "runtime": args.runtime,
        "isolation": "process" if args.process else "sandbox",
        "load_average": os.getloadavg(),
    }
    for key, series in figures.items():
        summary[key] = {name: round(statistics.median(v), 4) for name, v in series.items()}
    print(json.dumps(summary, indent=2))


if __name__ == "__main__":
    main()
