"""Turn bench/results/invoke.json into the Markdown table in bench/results/invoke.md."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

RESULTS = Path(__file__).parent / "results"


def spread(figures: dict[str, Any], key: str) -> str:
    low, high = figures[f"{key}_spread"]
    return f"{low:g}–{high:g}"


def table(results: dict[str, Any]) -> str:
    hearth, floor = results["median"]["hearth"], results["median"]["floor_echo"]
    wrk, floor_wrk = hearth.get("concurrency_8_wrk"), floor.get("concurrency_8_wrk")
    rows = [
        (
            "Warm invoke p50",
            "≤ 1 ms",
            f"{hearth['warm']['p50_ms']:.2f} ms",
            spread(hearth["warm"], "p50_ms"),
            f"{floor['warm']['p50_ms']:.2f} ms",
        ),
        (
            "Warm invoke p99",
            "≤ 3 ms",
            f"{hearth['warm']['p99_ms']:.2f} ms",
            "",
            f"{floor['warm']['p99_ms']:.2f} ms",
        ),
        (
            "Cold start p50 (new environment)",
            "≤ 10 ms",
            f"{hearth['cold_start']['p50_ms']:.2f} ms",
            spread(hearth["cold_start"], "p50_ms"),
            "—",
        ),
        ("Cold start p99", "", f"{hearth['cold_start']['p99_ms']:.2f} ms", "", "—"),
        (
            "Invokes/s at concurrency 8 (Python client)",
            "",
            f"{hearth['concurrency_8']['per_second']:.0f}",
            spread(hearth["concurrency_8"], "per_second"),
            f"{floor['concurrency_8']['per_second']:.0f}",
        ),
    ]
    if wrk and floor_wrk:
        rows.append(
            (
                "Invokes/s at concurrency 8 (wrk)",
                "≥ 3,000",
                f"{wrk['per_second']:.0f}",
                spread(wrk, "per_second"),
                f"{floor_wrk['per_second']:.0f}",
            )
        )
    lines = [
        "| figure | target | Hearth (median of rounds) | spread of the round figures | floor: bare echo server |",
        "|---|---|---|---|---|",
    ]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines)


def sandbox_table(results: dict[str, Any]) -> str:
    """The sandbox's cost: the same figures with it on (the default) and off, one run."""
    on, off = results["median"]["hearth"], results["median"].get("hearth_no_sandbox")
    if off is None:
        return "(this run did not measure Hearth without the sandbox)"

    def row(name: str, target: str, metric: str, key: str, unit: str) -> str:
        a, b = on[metric][key], off[metric][key]
        return f"| {name} | {target} | {a:g} {unit} | {b:g} {unit} | {a / b:.2f}× |"

    lines = [
        "| figure | target | sandbox on | sandbox off | on / off |",
        "|---|---|---|---|---|",
        row("Cold start p50", "≤ 15 ms", "cold_start", "p50_ms", "ms"),
        row("Cold start p99", "", "cold_start", "p99_ms", "ms"),
        row("Warm invoke p50", "≤ 1.10×", "warm", "p50_ms", "ms"),
        row("Warm invoke p99", "", "warm", "p99_ms", "ms"),
        row("Invokes/s at concurrency 8 (Python client)", "", "concurrency_8", "per_second", "/s"),
    ]
    return "\n".join(lines)


def main() -> None:
    results = json.loads((RESULTS / "invoke.json").read_text())
    machine = results["machine"]
    text = f"""# Invoke benchmark

`bench/invoke_bench.py`, {results["date"]}, {machine["cpus"]} cores, {machine["platform"]}, Python {machine["python"]}.
Raw HTTP on loopback (http.client with keep-alive; wrk for the last row), a trivial Python handler
(`return {{'ok': True}}`), 3,000 sequential warm calls, 30 cold starts (each the first invoke of a
new function: a new environment forked from the zygote), 5 s of load at concurrency 8 with errors
counted (none). {len(results["rounds"])} rounds in one run; the table gives the median and the spread.

{table(results)}

## The sandbox's cost

Hearth as it starts by default on this host ({results["median"]["hearth"].get("isolation", "?")})
against `--isolation process` (plain processes), in the same run, same function (MemorySize
1769 MB, one vCPU: the sandbox caps CPU at MemorySize / 1769 MB as AWS does, and a smaller
function would measure that cap instead of the sandbox).

{sandbox_table(results)}

Ratios: warm p50 is {results["ratios"]["warm_p50_vs_floor"]}× the floor's; throughput (Python client) is
{results["ratios"]["throughput_vs_floor"]}× the floor's. One Hearth invoke is three HTTP exchanges (the
client's request, the runtime's `/next` answer, its `/response` post) across three processes, and the
2 cores are shared by the load client, the server and 8 runtimes.
"""
    (RESULTS / "invoke.md").write_text(text)
    print(table(results))


if __name__ == "__main__":
    main()
