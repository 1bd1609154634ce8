"""Soak: 100,000 warm invokes of one Python environment; does any memory grow per invoke?

One `hearth serve` (sandboxed where the host allows), one function, one warm environment,
sequential invokes on one keep-alive connection, each with a new trace id (as every invoke
gets). Every 10,000 invokes it records the RSS of the server process and of the environment's
runtime process (VmRSS, and RssAnon: the pages the process wrote itself, which is where a
leak shows; the rest is shared with the zygote it was forked from).

    .venv/bin/python bench/soak_bench.py             # 100,000 invokes, writes bench/results/soak.*
    .venv/bin/python bench/soak_bench.py --quick     # 2,000 invokes, for CI
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).parent))

from invoke_bench import (
    RESULTS,
    create_function,
    handler_zip,
    machine,
    request,
    start_hearth,
)

FUNCTION = "soak"


def _children() -> dict[int, list[int]]:
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            parent = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
        except (OSError, IndexError, ValueError):
            continue
        children.setdefault(parent, []).append(int(entry.name))
    return children


def descendants(root: int) -> dict[int, int]:
    """Every descendant of `root`, with its depth below it."""
    children = _children()
    found: dict[int, int] = {}
    frontier, depth = [root], 0
    while frontier:
        depth += 1
        frontier = [child for pid in frontier for child in children.get(pid, [])]
        found.update((pid, depth) for pid in frontier)
    return found


def environment_pid(before: dict[int, int], after: dict[int, int]) -> int:
    """The runtime process of the one environment started between the two looks: the
    deepest new descendant of the server (a sandbox's runtime runs under its own init)."""
    new = {pid: depth for pid, depth in after.items() if pid not in before}
    if not new:
        raise RuntimeError("no environment process found")
    return max(new, key=lambda pid: new[pid])


def memory_kb(pid: int) -> dict[str, int]:
    figures = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, value = line.partition(":")
        if key in ("VmRSS", "RssAnon"):
            figures[key] = int(value.split()[0])
    return figures


def soak(total: int, every: int) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as data_dir:
        process, target, isolation = start_hearth(data_dir, [])
        try:
            create_function(target, FUNCTION, handler_zip())
            path = f"/2015-03-31/functions/{FUNCTION}/invocations"
            conn = target.connection()
            before = descendants(process.pid)
            status, _ = request(conn, "POST", path, b"{}")
            assert status == 200
            env_pid = environment_pid(before, descendants(process.pid))
            samples = []
            started = time.perf_counter()
            for done in range(total + 1):
                if done % every == 0:
                    samples.append(
                        {
                            "invokes": done,
                            "seconds": round(time.perf_counter() - started, 1),
                            "server_kb": memory_kb(process.pid),
                            "environment_kb": memory_kb(env_pid),
                        }
                    )
                    print(json.dumps(samples[-1]), file=sys.stderr, flush=True)
                if done < total:
                    status, _ = request(conn, "POST", path, b"{}")
                    assert status == 200, status
            conn.close()
            # The same process served them all: a replaced environment would hide a leak.
            assert env_pid in descendants(process.pid)
        finally:
            process.terminate()
            process.wait(10)
    return {"isolation": isolation, "invokes": total, "samples": samples}


def growth(samples: list[dict[str, Any]], who: str, key: str) -> dict[str, float]:
    """Growth after the first tenth (buffers reach their working size), in bytes per invoke."""
    start = samples[max(1, len(samples) // 10)]
    end = samples[-1]
    kb = end[who][key] - start[who][key]
    return {
        "start_kb": start[who][key],
        "end_kb": end[who][key],
        "bytes_per_invoke": round(kb * 1024 / max(1, end["invokes"] - start["invokes"]), 2),
    }


def report(results: dict[str, Any]) -> str:
    lines = [
        f"# Soak: {results['invokes']:,} warm invokes of one Python environment",
        "",
        f"Run of {results['date']}, {results['machine']['cpus']} cores, "
        f"isolation: {results['isolation']}. One run.",
        "",
        "| invokes | seconds | server RSS | server RssAnon | environment RSS "
        "| environment RssAnon |",
        "|---|---|---|---|---|---|",
    ]
    for s in results["samples"]:
        lines.append(
            f"| {s['invokes']:,} | {s['seconds']} | {s['server_kb']['VmRSS']:,} kB "
            f"| {s['server_kb']['RssAnon']:,} kB | {s['environment_kb']['VmRSS']:,} kB "
            f"| {s['environment_kb']['RssAnon']:,} kB |"
        )
    lines += ["", "Growth after the first tenth of the run, in bytes per invoke:", ""]
    for name, figures in results["growth"].items():
        lines.append(
            f"- {name}: {figures['start_kb']:,} → {figures['end_kb']:,} kB, "
            f"{figures['bytes_per_invoke']} bytes per invoke"
        )
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="2,000 invokes, for CI")
    parser.add_argument("--out", type=Path, default=None, help="where to write the JSON results")
    parser.add_argument("--invokes", type=int, default=None, help="instead of 100,000")
    args = parser.parse_args()
    total, every = (2000, 500) if args.quick else (100_000, 10_000)
    if args.invokes:
        total, every = args.invokes, max(1, args.invokes // 10)
    results: dict[str, Any] = {
        "date": time.strftime("%Y-%m-%d %H:%M:%S %Z"),
        "machine": machine(),
        "mode": "quick" if args.quick else "full",
        **soak(total, every),
    }
    samples = results["samples"]
    results["growth"] = {
        "server RSS": growth(samples, "server_kb", "VmRSS"),
        "environment RSS": growth(samples, "environment_kb", "VmRSS"),
        "environment RssAnon": growth(samples, "environment_kb", "RssAnon"),
    }
    text = json.dumps(results, indent=2)
    print(text)
    out = args.out or (None if args.quick else RESULTS / "soak.json")
    if out is not None:
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(text + "\n")
        out.with_suffix(".md").write_text(report(results))


if __name__ == "__main__":
    main()
