"""Cluster benchmark: the cost of cluster mode per invoke, single node vs cluster, in one run.

Measures on one machine, with a trivial Python handler over raw HTTP on loopback:
- single node (`hearth serve`, SQLite): warm invoke p50 / p99, invokes/s at concurrency 8,
  control-plane write p50 (UpdateFunctionConfiguration), Event-invoke accept p50;
- cluster (a nats-server with JetStream and N `hearth serve --cluster` nodes): the same, the
  warm invokes sent to a node other than the one the function was created on, the load
  spread over every node, and async events accepted and run per second through JetStream.
Both run at once and take turns, round by round (5; each figure is over all rounds), so that
other work on the machine weighs on both alike.

    .venv/bin/python bench/cluster.py            # full run, writes bench/results/cluster.json
    .venv/bin/python bench/cluster.py --quick    # a few seconds' worth, nothing written

On one machine every node and NATS share the same cores, so the cluster's throughput here is
what those cores give, not what N machines would.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).parent))
sys.path.insert(0, str(Path(__file__).parent.parent / "src"))

from invoke_bench import (  # type: ignore[import-not-found]
    RESULTS,
    Target,
    create_function,
    handler_zip,
    machine,
    percentile,
    request,
    start_hearth,
    throughput,
    warm_latency,
)

from hearth.cluster.local import LocalNats

INVOKE = "/2015-03-31/functions/{name}/invocations"


def summarize(samples: list[float]) -> dict[str, float]:
    return {
        "p50_ms": round(statistics.median(samples), 3),
        "p99_ms": round(percentile(samples, 0.99), 3),
    }


def control_writes(target: Target, name: str, count: int) -> list[float]:
    conn = target.connection()
    samples = []
    for i in range(count):
        body = json.dumps({"Description": f"round {i}"}).encode()
        started = time.perf_counter()
        status, answer = request(conn, "PUT", f"/2015-03-31/functions/{name}/configuration", body)
        samples.append((time.perf_counter() - started) * 1000)
        assert status == 200, answer
        time.sleep(0.01)  # let it settle (Successful) before the next update
    conn.close()
    return samples


def async_accepts(target: Target, name: str, count: int) -> list[float]:
    conn = target.connection()
    samples = []
    for _ in range(count):
        started = time.perf_counter()
        conn.request(
            "POST",
            INVOKE.format(name=name),
            body=b"{}",
            headers={"X-Amz-Invocation-Type": "Event"},
        )
        response = conn.getresponse()
        response.read()
        samples.append((time.perf_counter() - started) * 1000)
        assert response.status == 202, response.status
    conn.close()
    return samples


def queue_empty(targets: list[Target], timeout: float) -> float:
    """Seconds until no node's queue holds a ready or in-flight event."""
    started = time.perf_counter()
    while time.perf_counter() - started < timeout:
        conn = targets[0].connection()
        status, answer = request(conn, "GET", "/_hearth/async")
        conn.close()
        assert status == 200, answer
        counts = json.loads(answer)["Queue"]
        if not counts["Ready"] and not counts["InFlight"] and not counts["Delayed"]:
            return time.perf_counter() - started
        time.sleep(0.05)
    return float("nan")


PATH = INVOKE.format(name="bench")


def spread_throughput(targets: list[Target], seconds: float) -> dict[str, float]:
    """Eight clients, spread over the nodes, for `seconds`."""
    results: list[dict[str, float]] = [{} for _ in targets]

    def run(i: int, target: Target) -> None:
        results[i] = throughput(target, [PATH], max(1, 8 // len(targets)), seconds)

    threads = [threading.Thread(target=run, args=(i, t)) for i, t in enumerate(targets)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return {
        "per_second": sum(r["per_second"] for r in results),
        "errors": sum(r["errors"] for r in results),
    }


def events(targets: list[Target], count: int) -> tuple[list[float], float]:
    """Event invokes accepted one after another and run by every node's dispatchers
    meanwhile: the accept latencies, and events per second from the first accept to an
    empty queue."""
    started = time.perf_counter()
    accepts = async_accepts(targets[-1], "bench", count)
    queue_empty(targets, 60)
    return accepts, count / (time.perf_counter() - started)


def measure(
    setups: dict[str, list[Target]], rounds: int, warm_n: int, writes_n: int, seconds: float
) -> dict[str, Any]:
    """Every figure for every setup, the setups taking turns round by round, so that other
    work on the machine weighs on both alike."""
    warm: dict[str, list[float]] = {name: [] for name in setups}
    load: dict[str, list[float]] = {name: [] for name in setups}
    errors: dict[str, float] = dict.fromkeys(setups, 0.0)
    writes: dict[str, list[float]] = {name: [] for name in setups}
    accepts: dict[str, list[float]] = {name: [] for name in setups}
    rates: dict[str, list[float]] = {name: [] for name in setups}
    for number in range(rounds):
        print(f"round {number + 1}/{rounds}", file=sys.stderr, flush=True)
        for name, targets in setups.items():
            # In a cluster, to the node that did not create the function.
            warm[name] += warm_latency(targets[-1], PATH, warm_n)
            spread = spread_throughput(targets, seconds)
            load[name].append(spread["per_second"])
            errors[name] += spread["errors"]
            writes[name] += control_writes(targets[0], "bench", writes_n)
            accepted, rate = events(targets, warm_n // 4)
            accepts[name] += accepted
            rates[name].append(rate)
    return {
        name: {
            "warm": summarize(warm[name]),
            "concurrency_8": {
                "per_second": round(statistics.median(load[name]), 1),
                "errors": errors[name],
            },
            "control_write": summarize(writes[name]),
            "event_accept": summarize(accepts[name]),
            "events_accepted_and_run_per_second": round(statistics.median(rates[name]), 1),
        }
        for name in setups
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a few seconds' worth, for CI")
    parser.add_argument("--nodes", type=int, default=2)
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args()
    warm_n, writes_n, seconds = (60, 5, 1.0) if args.quick else (400, 10, 2.0)
    rounds = 1 if args.quick else 5
    results: dict[str, Any] = {
        "date": time.strftime("%Y-%m-%d %H:%M:%S %Z"),
        "machine": machine(),
        "mode": "quick" if args.quick else "full",
        "nodes": args.nodes,
        "rounds": rounds,
    }
    with tempfile.TemporaryDirectory() as root:
        nats = LocalNats(Path(root) / "nats").start()
        started: list[subprocess.Popen[str]] = []
        try:
            single, target, _ = start_hearth(str(Path(root) / "single"), [])
            started.append(single)
            nodes = []
            for index in range(args.nodes):
                process, node, _ = start_hearth(
                    str(Path(root) / f"node-{index}"),
                    ["--cluster", nats.url, "--node-name", f"node-{index}"],
                )
                started.append(process)
                nodes.append(node)
            setups = {"single": [target], "cluster": nodes}
            for targets in setups.values():
                create_function(targets[0], "bench", handler_zip())
            results.update(measure(setups, rounds, warm_n, writes_n, seconds))
        finally:
            for process in started:
                process.terminate()
            for process in started:
                process.wait(30)
            nats.stop()
    s, c = results["single"], results["cluster"]
    results["ratios"] = {
        "warm_p50_cluster_vs_single": round(c["warm"]["p50_ms"] / s["warm"]["p50_ms"], 3),
        "throughput_cluster_vs_single": round(
            c["concurrency_8"]["per_second"] / max(s["concurrency_8"]["per_second"], 1e-9), 3
        ),
        "control_write_p50_cluster_vs_single": round(
            c["control_write"]["p50_ms"] / s["control_write"]["p50_ms"], 2
        ),
        "event_accept_p50_cluster_vs_single": round(
            c["event_accept"]["p50_ms"] / s["event_accept"]["p50_ms"], 2
        ),
        "events_run_per_second_cluster_vs_single": round(
            c["events_accepted_and_run_per_second"] / s["events_accepted_and_run_per_second"], 2
        ),
    }
    text = json.dumps(results, indent=2)
    print(text)
    out = args.out or (None if args.quick else RESULTS / "cluster.json")
    if out is not None:
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(text + "\n")


if __name__ == "__main__":
    main()
