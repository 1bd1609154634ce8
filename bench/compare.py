"""Hearth against the tools people use today, in one run on one machine, with one client.

    scripts/bench-peers.sh                 # installs every peer, then the full run (~15 min)
    python bench/compare.py --quick        # seconds: Hearth and the floor only (the test suite)

For every tool and workload: cold start p50/p99 over fresh environments, warm p50/p99 over
sequential calls (raw HTTP keep-alive, and boto3), throughput at concurrency 1 and 8 with
errors counted, peak RSS and PSS of the tool's whole process tree, and memory per additional
warm environment. Several rounds; medians with their spread. Writes bench/results/peers.json
(full runs) and then peers.md and the plots (bench/peers/report.py).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import statistics
import sys
import tempfile
import time
import traceback
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from peers import workloads
from peers.client import latency, throughput
from peers.memory import PeakSampler, tree_usage
from peers.ratios import ratios
from peers.stats import merge_rounds, summarize
from peers.tools import Running, Tool
from peers.tools.floor import FloorTool
from peers.tools.hearth import HearthTool, isolation_modes
from peers.tools.pll import PllTool
from peers.tools.rie import RieTool
from peers.tools.sls import SlsTool

BENCH = Path(__file__).resolve().parent
RESULTS = BENCH / "results"
PEERS_DIR = BENCH / ".peers"
RIE_BINARY = PEERS_DIR / "bin" / "aws-lambda-rie-x86_64"
NODE_DIR = PEERS_DIR / "node"
NODE_RIC = BENCH.parent / ".aws-ric" / "node_modules" / "aws-lambda-ric" / "bin" / "index.mjs"


@dataclass(frozen=True)
class Sizes:
    warm: int  # sequential raw-HTTP calls
    boto3: int  # sequential boto3 calls
    cold: int  # fresh environments
    seconds: float  # of load at each concurrency


FULL = Sizes(warm=1000, boto3=1000, cold=20, seconds=3.0)
QUICK = Sizes(warm=100, boto3=20, cold=3, seconds=0.5)


def tools(peers: bool) -> tuple[list[Tool], dict[str, str]]:
    """The tools of this run, and the Hearth columns this build cannot provide, with why."""
    # Quick runs (the test suite) measure the build as configured by default: whether the
    # sandbox can start depends on the host, and CI must not depend on that.
    modes = isolation_modes() if peers else None
    missing: dict[str, str] = {}
    hearth: list[Tool]
    if modes is None and not peers:
        hearth = [HearthTool(None)]
    elif modes is None:
        hearth = [HearthTool(None)]
        missing["hearth (sandbox)"] = (
            "not available in this build: `hearth serve` has no --isolation option; the column "
            "'hearth' is this build (processes + rlimits)"
        )
    else:
        hearth = [HearthTool(mode) for mode in modes]
        if "sandbox" in modes:
            hearth.append(HearthTool("sandbox", snapstart=True))
    if not peers:
        return [*hearth, FloorTool()], missing
    node_ric = NODE_RIC if NODE_RIC.exists() else None
    others: list[Tool] = [
        RieTool(RIE_BINARY, node_ric),
        RieTool(RIE_BINARY, node_ric, instances=8),
        SlsTool(NODE_DIR),
        PllTool(),
    ]
    return [*hearth, *others, FloorTool()], missing


def measure(tool: Tool, workload: workloads.Workload, sizes: Sizes) -> dict[str, Any]:
    """Every figure for one tool and workload. A tool that fails is a result, never a crash."""
    reason = tool.unavailable(workload)
    if reason is not None:
        return {"skipped": reason}
    result: dict[str, Any] = {}
    try:
        with tempfile.TemporaryDirectory(prefix="hearth-peers-") as scratch:
            started = time.perf_counter()
            with tool.start(workload, Path(scratch), sizes.cold) as running:
                result["startup_s"] = round(time.perf_counter() - started, 3)
                with PeakSampler(running.roots) as sampler:
                    if running.warm:
                        result["warm"] = latency(running.caller, sizes.warm)
                        if running.boto3 is not None:
                            result["warm_boto3"] = latency(running.boto3, sizes.boto3)
                    result.update(cold_phase(running, sizes.cold))
                    result["concurrency_1"] = throughput(running.caller, 1, sizes.seconds)
                    # Unmeasured: 8 clients until the tool has the environments 8 concurrent
                    # callers need (a tool that starts them on demand pays those cold starts
                    # here, not in the measured window; they are measured above).
                    throughput(running.caller, 8, sizes.seconds / 2)
                    result["concurrency_8"] = throughput(running.caller, 8, sizes.seconds)
                    result["crashed"] = not running.alive()
                result["peak_memory"] = sampler.peak
    except Exception as error:  # the tool failed to start or broke the protocol
        traceback.print_exc()
        result["failed"] = f"{type(error).__name__}: {error}"
    return result


def cold_phase(running: Running, count: int) -> dict[str, Any]:
    before = tree_usage(running.roots())
    # The tool with one warm environment (after the warm calls): comparable across tools,
    # where the peak depends on how many environments each keeps.
    one_env = before if running.warm_environments == 1 else None
    try:
        samples = [running.cold_start(i) for i in range(count)]
    except NotImplementedError as why:
        return {"memory_one_env": one_env, "cold": None, "cold_note": str(why)}
    figures: dict[str, Any] = {
        "memory_one_env": one_env,
        "cold": {
            **summarize([s.ms for s in samples]),
            "errors": sum(not s.ok for s in samples),
        },
    }
    if running.per_env == "delta":
        after = tree_usage(running.roots())
        figures["per_env_mb"] = {
            "pss_mb": round((after["pss_mb"] - before["pss_mb"]) / count, 2),
            "rss_mb": round((after["rss_mb"] - before["rss_mb"]) / count, 2),
        }
    elif running.per_env == "instance":
        sizes = [s.instance_pss_mb for s in samples if s.instance_pss_mb is not None]
        figures["per_env_mb"] = {"pss_mb": round(statistics.median(sizes), 2)}
    return figures


def numpy_import_ms() -> float | None:
    """`import numpy` in a fresh interpreter, for comparison with the generated heavy tree."""
    import subprocess

    def timed(module: str, cwd: str | None = None) -> float | None:
        code = (
            f"import time; t = time.perf_counter(); import {module}; print(time.perf_counter() - t)"
        )
        done = subprocess.run(
            [sys.executable, "-c", code], capture_output=True, text=True, cwd=cwd, check=False
        )
        return round(float(done.stdout) * 1000, 1) if done.returncode == 0 else None

    samples = [timed("numpy") for _ in range(5)]
    present = [s for s in samples if s is not None]
    return statistics.median(present) if present else None


def node_version() -> str | None:
    import shutil
    import subprocess

    if shutil.which("node") is None:
        return None
    done = subprocess.run(["node", "--version"], capture_output=True, text=True, check=False)
    return done.stdout.strip() or None


def heavy_import_ms() -> float:
    import subprocess

    with tempfile.TemporaryDirectory() as scratch:
        workloads.python_heavy().write(Path(scratch))
        code = "import time; t = time.perf_counter(); import app; print(time.perf_counter() - t)"
        samples = [
            float(
                subprocess.run(
                    [sys.executable, "-c", code],
                    capture_output=True,
                    text=True,
                    cwd=scratch,
                    check=True,
                ).stdout
            )
            * 1000
            for _ in range(5)
        ]
    return round(statistics.median(samples), 1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="seconds: Hearth and the floor only")
    parser.add_argument("--rounds", type=int, default=None, help="rounds (default 3; quick 1)")
    parser.add_argument("--out", type=Path, default=None, help="JSON output path")
    parser.add_argument("--only", default=None, help="comma-separated tool names to run")
    parser.add_argument(
        "--workloads", default=None, help="comma-separated workload names (default: all)"
    )
    args = parser.parse_args()
    sizes = QUICK if args.quick else FULL
    rounds_wanted = args.rounds or (1 if args.quick else 3)
    # --quick runs Hearth and the floor only, unless --only names peers (a quick smoke test).
    chosen, missing = tools(peers=not args.quick or bool(args.only))
    if args.only:
        # Commas inside a name's parentheses ("hearth (sandbox, SnapStart)") are its own.
        wanted = {name.strip() for name in re.split(r",(?![^(]*\))", args.only)}
        chosen = [t for t in chosen if t.name in wanted]
    loads = workloads.all_workloads()
    if args.workloads:
        loads = [w for w in loads if w.name in set(args.workloads.split(","))]

    results: dict[str, Any] = {
        "date": time.strftime("%Y-%m-%d %H:%M:%S %Z"),
        "mode": "quick" if args.quick else "full",
        "machine": {
            "cpus": os.cpu_count(),
            "platform": platform.platform(),
            "python": platform.python_version(),
            "node": node_version(),
            "load_average_at_start": os.getloadavg(),
        },
        "sizes": asdict(sizes),
        "load_client": "selector",  # peers/fastclient.py for every HTTP tool's throughput
        "warm_up_8": True,  # an unmeasured half-window of 8 clients before the measured one
        "versions": {t.name: t.version() for t in chosen},
        "fresh_environment": {t.name: t.fresh for t in chosen},
        "not_measured_here": missing,
        "heavy_workload": {
            "modules": workloads.HEAVY_PACKAGES * (workloads.HEAVY_MODULES + 1) + 1,
            "import_ms": heavy_import_ms(),
            "numpy_import_ms": None if args.quick else numpy_import_ms(),
        },
    }
    rounds: list[dict[str, Any]] = []
    started = time.perf_counter()
    for number in range(rounds_wanted):
        one: dict[str, Any] = {}
        for workload in loads:
            one[workload.name] = {}
            for tool in chosen:
                print(
                    f"round {number + 1}/{rounds_wanted}: {tool.name} × {workload.name}",
                    file=sys.stderr,
                    flush=True,
                )
                one[workload.name][tool.name] = measure(tool, workload, sizes)
        rounds.append(one)
    results["duration_s"] = round(time.perf_counter() - started, 1)
    results["rounds"] = rounds
    results["median"] = merge_rounds(rounds)
    results["ratios"] = ratios(results["median"])
    text = json.dumps(results, indent=2)
    out = args.out or (None if args.quick else RESULTS / "peers.json")
    if out is None:
        print(text)
        return
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(text + "\n")
    print(f"wrote {out}", file=sys.stderr)
    if not args.quick:
        from peers import report

        report.write(results, out.parent)


if __name__ == "__main__":
    main()
