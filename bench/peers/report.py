"""peers.json → peers.md (tables, ratios, method) and PNG plots (matplotlib, full runs only).

cd bench && .peers/venv/bin/python -m peers.report    # rebuild from results/peers.json
"""

from __future__ import annotations

import importlib
import json
import sys
from pathlib import Path
from typing import Any

RESULTS = Path(__file__).resolve().parents[1] / "results"

# Tools that cannot run here, with why and what they publish themselves (not measured here).
NOT_MEASURED = [
    (
        "LocalStack",
        "runs each function in a Docker container (the official Lambda images); this machine "
        "has no Docker, and the benchmark does not use it",
        "its docs: containers reused per version bring a simple echo Lambda from ~800–1000 ms "
        "(old Docker executor) to 'around 10ms' "
        "(https://docs.localstack.cloud/references/lambda-asf-provider/)",
    ),
    (
        "SAM CLI local (`sam local start-lambda` / `invoke`)",
        "starts a Docker container per function (it wraps the same aws-lambda-rie measured here "
        "as a process); no Docker here",
        "maintainer's measurement when warm containers landed: 4.1 s → 1.9 s per invoke of the "
        "full command, 2.5 s → 1.3 s around the Docker calls "
        "(https://github.com/aws/aws-sam-cli/pull/1305); users report ~10 s per request "
        "before that (https://github.com/aws/aws-sam-cli/issues/134)",
    ),
    (
        "moto (mock_aws / moto server) execution",
        "executes a function's code only in Docker (lambci images); without Docker its "
        "'lambda-simple' backend returns canned responses and runs no code, so there is "
        "nothing comparable to time",
        "no latency figures published; behaviour from its docs "
        "(https://docs.getmoto.org/en/latest/docs/services/lambda.html, `invoke`)",
    ),
]

COLUMNS = [
    ("cold p50 / p99 (ms)", ("cold", "p50_ms"), ("cold", "p99_ms")),
    ("warm p50 / p99 (ms)", ("warm", "p50_ms"), ("warm", "p99_ms")),
    ("boto3 warm p50 / p99 (ms)", ("warm_boto3", "p50_ms"), ("warm_boto3", "p99_ms")),
]

# How the throughput clients were run, by the run's "load_client" (older runs: threads).
LOAD_CLIENTS = {
    "threads": "The clients are Python threads (http.client) on the same 2 cores, so the "
    "floor's figure is also the client's ceiling; ",
    "selector": "The throughput clients are one selector loop in a process of its own "
    "(`peers/fastclient.py`: keep-alive connections, one prepared request written per call, "
    "the response parsed from its bytes), the same for every HTTP tool; it costs a few tens of "
    "µs per call where the threaded http.client clients of earlier runs cost more than the "
    "fastest tools did, so at 8 clients the tools, not the client, run out of the 2 cores; ",
}


def get(figures: dict[str, Any], path: tuple[str, str]) -> Any:
    inner = figures.get(path[0])
    return inner.get(path[1]) if isinstance(inner, dict) else None


def fmt(value: Any, digits: int = 2) -> str:
    if value is None:
        return "—"
    if isinstance(value, (int, float)) and not isinstance(value, bool) and value >= 100:
        return f"{value:,.0f}"
    return f"{value:.{digits}f}" if isinstance(value, float) else str(value)


def spread(figures: dict[str, Any], section: str, key: str) -> str:
    inner = figures.get(section)
    if not isinstance(inner, dict) or f"{key}_spread" not in inner:
        return ""
    low, high = inner[f"{key}_spread"]
    return f" ({fmt(float(low))}–{fmt(float(high))})"


def throughput_cell(figures: dict[str, Any], section: str) -> str:
    inner = figures.get(section)
    if not isinstance(inner, dict):
        return "—"
    text = fmt(float(inner["per_second"]), 0)
    if "per_second_spread" in inner:
        low, high = inner["per_second_spread"]
        text += f" ({fmt(float(low), 0)}–{fmt(float(high), 0)})"
    if inner.get("errors"):
        text += f", **{fmt(inner['errors'], 0)} errors**"
    if inner.get("clients_gave_up"):
        text += f", {round(inner['clients_gave_up'])} of its clients gave up"
    return text


def tool_row(name: str, figures: dict[str, Any]) -> str:
    if "skipped" in figures:
        return f"| {name} | not run: {figures['skipped']} |" + " |" * 7
    if "failed" in figures:
        return f"| {name} | **failed**: {figures['failed']} |" + " |" * 7
    cells = [name]
    for _, p50, p99 in COLUMNS:
        if get(figures, p50) is None:
            cells.append("—")
            continue
        cells.append(
            f"{fmt(get(figures, p50))}{spread(figures, p50[0], 'p50_ms')} / {fmt(get(figures, p99))}"
        )
    c8 = throughput_cell(figures, "concurrency_8")
    if figures.get("crashed"):
        c8 += " — **the tool crashed**"
    cells += [throughput_cell(figures, "concurrency_1"), c8]
    for section in ("memory_one_env", "peak_memory"):
        memory = figures.get(section) or {}
        cells.append(f"{fmt(memory.get('rss_mb'), 0)} / {fmt(memory.get('pss_mb'), 0)}")
    per_env = figures.get("per_env_mb") or {}
    cells.append(fmt(per_env.get("pss_mb"), 1))
    return "| " + " | ".join(cells) + " |"


def workload_table(by_tool: dict[str, Any]) -> str:
    header = (
        "| tool | cold p50 (spread) / p99, ms | warm p50 (spread) / p99, ms "
        "| boto3 warm p50 (spread) / p99, ms | invokes/s, 1 client | invokes/s, 8 clients "
        "| RSS / PSS with 1 warm env, MB | peak RSS / PSS, MB | PSS per extra warm env, MB |"
        "\n|---|---|---|---|---|---|---|---|---|"
    )
    return header + "\n" + "\n".join(tool_row(n, f) for n, f in by_tool.items())


def ratio_table(ratios: dict[str, Any]) -> str:
    lines = [
        "| workload | peer | cold p50 | warm p50 | warm p99 | boto3 p50 | throughput ×1 "
        "| throughput ×8 | PSS, 1 warm env | peak PSS |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    keys = [
        "cold_p50",
        "warm_p50",
        "warm_p99",
        "boto3_p50",
        "throughput_c1",
        "throughput_c8",
        "one_env_pss",
        "peak_pss",
    ]
    for workload, peers in ratios.items():
        for peer, row in peers.items():
            cells = [f"{row[k]:g}×" if row.get(k) is not None else "—" for k in keys]
            lines.append(f"| {workload} | {peer} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def hearth_column(results: dict[str, Any]) -> str:
    names = [n for by_tool in results["median"].values() for n in by_tool]
    return next((n for n in names if n.startswith("hearth")), "hearth")


def markdown(results: dict[str, Any]) -> str:
    machine = results["machine"]
    sizes = results["sizes"]
    heavy = results["heavy_workload"]
    parts = [
        "# How Hearth compares",
        "",
        f"`scripts/bench-peers.sh` ({results['mode']} run), {results['date']}, "
        f"{machine['cpus']} cores, {machine['platform']}, Python {machine['python']}, "
        f"Node.js {machine.get('node') or '—'}; "
        f"load average at start {', '.join(f'{x:.2f}' for x in machine['load_average_at_start'])} "
        "(a shared VM: other work ran beside the benchmark). "
        f"{len(results['rounds'])} round(s) in {results['duration_s'] / 60:.1f} minutes; each cell is "
        "the median of the rounds' figures, the spread (min–max of the rounds) in parentheses.",
        "",
        "Versions: " + "; ".join(f"**{k}**: {v}" for k, v in results["versions"].items()) + ".",
        "",
        "## Method",
        "",
        f"- One client for every tool: raw HTTP/1.1 on loopback with keep-alive (http.client), and "
        f"boto3's `invoke` with `endpoint_url` at the tool where it speaks the Lambda Invoke API. "
        f"Warm: {sizes['warm']:,} sequential raw-HTTP calls and {sizes['boto3']:,} boto3 calls "
        f"after 20 unmeasured ones. Throughput: closed-loop clients for {sizes['seconds']:g} s at "
        "concurrency 1 and 8; every non-200, wrong body or dropped connection is an error, counted. "
        + LOAD_CLIENTS.get(results.get("load_client", "threads"), "")
        + (
            "the 8-client window follows an unmeasured half-window of 8 clients, so that a "
            "tool that starts environments on demand has the 8 that 8 concurrent callers need "
            "(their cold starts are measured in the cold-start column, not here); "
            if results.get("warm_up_8")
            else ""
        )
        + "boto3 is measured on warm calls only. python-lambda-local has no "
        "server: its 'invokes/s' are runs of its command.",
        f"- Cold start: p50/p99 over {sizes['cold']} fresh environments per round. How each tool "
        "gets a fresh one:",
        *[f"  - {name}: {how}" for name, how in results["fresh_environment"].items()],
        "- Memory: every 0.25 s, RSS and PSS (`/proc/PID/smaps_rollup`) summed over the tool's "
        "whole process tree: once with one warm environment (after the warm calls), and the peak "
        "over the tool's run (which counts every environment the tool keeps: Hearth and "
        "serverless-offline keep each cold start's environment warm, RIE runs one at a time). "
        "Per extra warm environment: the tree's "
        "PSS after the cold starts minus before, over their number (the cold environments stay "
        "warm); for RIE, where an environment is a whole RIE process, that process tree's PSS.",
        f"- Workloads: a trivial Python handler; a heavy-init Python handler that imports a "
        f"generated, byte-compiled package of {heavy['modules']} modules (not numpy itself: "
        "the same size of import with no 70 MB wheel in every function's zip; import "
        f"{fmt(heavy['import_ms'], 1)} ms here; `import numpy` measured "
        f"{fmt(heavy['numpy_import_ms'], 1)} ms on the same machine); a Node.js async handler. "
        "All Python handlers run on the same interpreter version everywhere. Hearth's "
        "functions have MemorySize 1769 MB, one full vCPU: sandboxed, Hearth caps CPU at "
        "MemorySize / 1769 MB as AWS does, which none of the peers do.",
        "",
        "What an environment is in each tool, which explains most of the differences: Hearth "
        "forks it from a warm zygote (Python) or starts a process (Node.js), and talks to it "
        "over the Lambda Runtime API; RIE is one process per environment, talking to AWS's own "
        "runtime client over the same API, and takes one invoke at a time: a concurrent "
        "second invoke panics it (a known, open bug: "
        "https://github.com/aws/aws-lambda-runtime-interface-emulator/issues/97), which is "
        "what its 8-client figures show, while `aws-lambda-rie ×8` gives each of 8 clients its "
        "own RIE process, the way RIE is meant to scale; serverless-offline runs a "
        "Node.js handler in a worker thread of its own process and a Python handler in a "
        "child process fed over stdin, with no Lambda Runtime API in between; "
        "python-lambda-local starts a process per invoke. The floor's fork child reports "
        "through a multiprocessing pipe and imports with the default importer, so a tool can "
        "land slightly under it within the noise.",
        "",
    ]
    for workload, by_tool in results["median"].items():
        parts += [f"## {workload}", "", workload_table(by_tool), ""]
    parts += [
        "## Ratios: each peer's figure over Hearth's",
        "",
        f"Against the column `{hearth_column(results)}`. Above 1× Hearth is better: latency and "
        "memory are peer ÷ Hearth, throughput Hearth ÷ peer.",
        "",
        ratio_table(results["ratios"]),
        "",
        "## Summary (as in the README)",
        "",
        summary(results),
        "",
        "## Not measured here",
        "",
    ]
    for name, reason in results.get("not_measured_here", {}).items():
        parts.append(f"- **{name}**: {reason}.")
    for name, reason, published in NOT_MEASURED:
        parts.append(
            f"- **{name}**: not measured here: {reason}. Its own published figures "
            f"(not measured here): {published}."
        )
    parts += ["", "Plots: " + ", ".join(f"`{p}`" for p in PLOTS), ""]
    return "\n".join(parts)


PLOTS = [
    "peers-cold.png",
    "peers-warm.png",
    "peers-throughput.png",
    "peers-memory.png",
    "peers-memory-per-env.png",
]


def plots(results: dict[str, Any], directory: Path) -> None:
    # Imported by name: only full runs plot, and only the peers venv has matplotlib.
    matplotlib: Any = importlib.import_module("matplotlib")
    matplotlib.use("Agg")
    plt: Any = importlib.import_module("matplotlib.pyplot")

    median = results["median"]
    workloads = list(median)
    tools = list(dict.fromkeys(t for w in workloads for t in median[w]))
    specs = [
        ("peers-cold.png", ("cold", "p50_ms"), "cold start p50 (ms, log scale)", True),
        ("peers-warm.png", ("warm", "p50_ms"), "warm invoke p50, raw HTTP (ms, log scale)", True),
        (
            "peers-throughput.png",
            ("concurrency_8", "per_second"),
            "invokes/s at concurrency 8",
            False,
        ),
        (
            "peers-memory.png",
            ("memory_one_env", "pss_mb"),
            "PSS of the process tree, one warm environment (MB)",
            False,
        ),
        (
            "peers-memory-per-env.png",
            ("per_env_mb", "pss_mb"),
            "PSS per extra warm env (MB)",
            False,
        ),
    ]
    for filename, path, label, log in specs:
        figure, axis = plt.subplots(figsize=(10, 5))
        width = 0.8 / len(tools)
        for index, tool in enumerate(tools):
            xs, ys, labels = [], [], []
            for w_index, workload in enumerate(workloads):
                figures = median[workload].get(tool, {})
                value = get(figures, path)
                crashed = bool(figures.get("crashed")) and path[0] == "concurrency_8"
                if value or crashed:
                    xs.append(w_index + index * width)
                    ys.append(value or 0)
                    text = f"{value:,.0f}" if value >= 100 else f"{value:.3g}"
                    labels.append("crashed" if crashed else text)
            # One colour per tool in every plot; no legend entry for a tool with no bar here.
            colour = plt.cm.tab10(index % 10)
            bars = axis.bar(xs, ys, width, label=tool if xs else "_none", color=colour)
            axis.bar_label(bars, labels=labels, fontsize=7, rotation=90, padding=2)
        axis.set_xticks([i + 0.4 - width / 2 for i in range(len(workloads))], workloads)
        axis.set_ylabel(label)
        if log:
            axis.set_yscale("log")
        axis.margins(y=0.2)  # room for the labels above the bars
        axis.set_title(f"{label} — {results['date']}, {results['machine']['cpus']} cores")
        axis.legend(fontsize=8)
        figure.tight_layout()
        figure.savefig(directory / filename, dpi=110)
        plt.close(figure)


def summary(results: dict[str, Any]) -> str:
    """The compact table the README shows: medians, and each peer's ratio to Hearth."""
    lines = [
        "| workload | tool | cold p50 | warm p50 (HTTP / boto3) | invokes/s, 8 clients "
        "| PSS, 1 warm env / peak | vs Hearth: cold / warm / ×8 throughput |",
        "|---|---|---|---|---|---|---|",
    ]
    for workload, by_tool in results["median"].items():
        for name, figures in by_tool.items():
            if "skipped" in figures or "failed" in figures:
                continue
            cold = get(figures, ("cold", "p50_ms"))
            warm = get(figures, ("warm", "p50_ms"))
            boto = get(figures, ("warm_boto3", "p50_ms"))
            c8 = throughput_cell(figures, "concurrency_8")
            if figures.get("crashed"):
                errors = (figures.get("concurrency_8") or {}).get("errors", 0)
                c8 = f"**crashed** ({fmt(errors, 0)} errors)"
            peak = get(figures, ("peak_memory", "pss_mb"))
            one = get(figures, ("memory_one_env", "pss_mb"))
            ratio = results["ratios"].get(workload, {}).get(name)
            versus = "—"
            if ratio:
                versus = " / ".join(
                    f"{ratio[k]:g}×" if ratio.get(k) is not None else "—"
                    for k in ("cold_p50", "warm_p50", "throughput_c8")
                )
            warm_text = "—" if warm is None else f"{fmt(warm)} / {fmt(boto)} ms"
            lines.append(
                f"| {workload} | {name} | {'—' if cold is None else fmt(cold) + ' ms'} "
                f"| {warm_text} | {c8} | {fmt(one, 0)} / {fmt(peak, 0)} MB | {versus} |"
            )
    return "\n".join(lines)


README = Path(__file__).resolve().parents[2] / "README.md"
START, END = "<!-- peers:start -->", "<!-- peers:end -->"


def update_readme(results: dict[str, Any], readme: Path = README) -> None:
    """Rewrites the table between the README's markers, so it never shows stale figures."""
    text = readme.read_text()
    if START not in text or END not in text:
        return
    head, rest = text.split(START, 1)
    _, tail = rest.split(END, 1)
    machine = results["machine"]
    caption = (
        f"Run of {results['date']}, {machine['cpus']} cores ({machine['platform']}), "
        f"{len(results['rounds'])} rounds, medians. PSS is the whole process tree's. "
        "\"vs Hearth\": the peer's figure over Hearth's (throughput: Hearth's over the peer's), "
        "so above 1× Hearth is better; a crash under load gets no ratio."
    )
    readme.write_text(f"{head}{START}\n{caption}\n\n{summary(results)}\n{END}{tail}")


def write(results: dict[str, Any], directory: Path) -> None:
    (directory / "peers.md").write_text(markdown(results))
    if results["mode"] == "full" and directory == RESULTS:
        update_readme(results)
    plots(results, directory)
    print(f"wrote {directory / 'peers.md'} and {len(PLOTS)} plots", file=sys.stderr)


def main() -> None:
    """Rebuilds the report from peers.json; the ratios are recomputed (and stored back), so a
    change to how they are taken needs no new run."""
    from .ratios import ratios

    path = RESULTS / "peers.json"
    results = json.loads(path.read_text())
    results["ratios"] = ratios(results["median"])
    path.write_text(json.dumps(results, indent=2) + "\n")
    write(results, RESULTS)


if __name__ == "__main__":
    main()
