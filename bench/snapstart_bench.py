"""SnapStart's cold start: a Python function whose init imports something heavy, sandboxed,
with and without SnapStart, in one run.

    python bench/snapstart_bench.py            # 20 cold starts each; writes results/snapstart.*
    python bench/snapstart_bench.py --quick    # 3 each, JSON on stdout (the test suite)

The heavy init is the peers benchmark's generated package (bench/peers/workloads.py: 151
byte-compiled modules, an import about as long as numpy's), on python3.12 (the first Python
runtime AWS takes SnapStart for). Each cold start is a new function: created (and, with
SnapStart, published, until the version is Active) untimed, then its first invoke is timed,
over raw HTTP with keep-alive. Memory per extra environment is the PSS (and RSS) growth of
Hearth's whole process tree over the cold starts, divided by their number: forked from a
template, environments share the pages init built.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import tempfile
import time
from pathlib import Path
from typing import Any

from compare import cold_phase
from peers import workloads
from peers.tools.hearth import HearthTool

RESULTS = Path(__file__).resolve().parent / "results"


def run(cold: int, isolation: str) -> dict[str, Any]:
    started = time.strftime("%Y-%m-%d %H:%M:%S %Z")
    load = os.getloadavg()
    heavy = workloads.for_snapstart(workloads.python_heavy())
    figures: dict[str, Any] = {}
    for label, snapstart in (("without SnapStart", False), ("with SnapStart", True)):
        tool = HearthTool(isolation, snapstart=snapstart)
        with (
            tempfile.TemporaryDirectory(prefix="hearth-snapstart-") as scratch,
            tool.start(heavy, Path(scratch), cold) as running,
        ):
            figures[label] = cold_phase(running, cold)
    return {
        "date": started,
        "machine": {
            "cpus": os.cpu_count(),
            "platform": platform.platform(),
            "load_average_at_start": load,
            "load_average_at_end": os.getloadavg(),
        },
        "isolation": isolation,
        "runtime": heavy.runtime,
        "cold_starts": cold,
        "results": figures,
    }


def markdown(results: dict[str, Any]) -> str:
    rows = []
    for label, figures in results["results"].items():
        cold, memory = figures["cold"], figures.get("per_env_mb") or {}
        rows.append(
            f"| {label} | {cold['p50_ms']:.2f} ms | {cold['p99_ms']:.2f} ms | "
            f"{cold['min_ms']:.2f}–{cold['max_ms']:.2f} ms | {cold['errors']} | "
            f"{memory.get('pss_mb', '—')} / {memory.get('rss_mb', '—')} MB |"
        )
    machine = results["machine"]
    return "\n".join(
        [
            "# SnapStart benchmark",
            "",
            f"`bench/snapstart_bench.py`, {results['date']}, {machine['cpus']} cores, "
            f"{machine['platform']}, load average (1, 5, 15 min) at start "
            f"{_loads(machine['load_average_at_start'])}, at the end "
            f"{_loads(machine.get('load_average_at_end'))}.",
            f"{results['cold_starts']} cold starts each of a {results['runtime']} function whose "
            "init imports the peers benchmark's heavy package (151 modules), Hearth "
            f"`--isolation {results['isolation']}`; each cold start a new function, its first "
            "invoke timed (with SnapStart: a new version published, and Active, first). One run.",
            "",
            "| | cold start p50 | p99 | min–max | errors | per extra environment (PSS / RSS) |",
            "|---|---|---|---|---|---|",
            *rows,
            "",
        ]
    )


def _loads(loads: Any) -> str:
    return "—" if not loads else " / ".join(f"{load:.1f}" for load in loads)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="3 cold starts each, to stdout")
    parser.add_argument("--isolation", default="sandbox", choices=["sandbox", "process"])
    args = parser.parse_args()
    results = run(3 if args.quick else 20, args.isolation)
    if args.quick:
        print(json.dumps(results, indent=2))
        return
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "snapstart.json").write_text(json.dumps(results, indent=2) + "\n")
    (RESULTS / "snapstart.md").write_text(markdown(results))
    print(markdown(results))


if __name__ == "__main__":
    main()
