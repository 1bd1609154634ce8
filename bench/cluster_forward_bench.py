"""Forwarding benchmark: what a synchronous invoke costs when the node that receives it has
no room and hands it to another node, against the same call run where it arrived.

Two `hearth serve --cluster` nodes on one nats-server (default max_payload, 1 MB). The
function has a reservation of 1, so node-0's share is 1 and node-1's is 0: every call sent to
node-1 is forwarded to node-0 and runs in node-0's warm environment; a call sent to node-0 runs
there. Sequential calls over raw HTTP on loopback, local and forwarded taking turns round by
round so other work on the machine weighs on both alike; an echo handler, so the payload goes
both ways. Also: a FilterLogEvents and a GetMetricStatistics asked of node-1, which answers
with both nodes' data (scatter-gather).

    .venv/bin/python bench/cluster_forward_bench.py          # writes bench/results/cluster_forward.json
    .venv/bin/python bench/cluster_forward_bench.py --quick  # a few seconds' worth, nothing written
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
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
)

from hearth.cluster.local import LocalNats

ECHO = "def handler(event, context):\n    return event\n"
PATH = "/2015-03-31/functions/echo/invocations"
SIZES = {"empty": 0, "1MB": 1024 * 1024, "6MB": 6 * 1024 * 1024 - 64}


def body_of(size: int) -> bytes:
    return b"{}" if not size else json.dumps({"pad": "x" * (size - 11)}).encode()


def invokes(target: Target, body: bytes, count: int) -> list[float]:
    conn = target.connection()
    request(conn, "POST", PATH, body)  # warm up the connection and the environment
    samples = []
    for _ in range(count):
        started = time.perf_counter()
        status, answer = request(conn, "POST", PATH, body)
        samples.append((time.perf_counter() - started) * 1000)
        assert status == 200 and len(answer) >= len(body) - 2, (status, answer[:200])
    conn.close()
    return samples


def amz_json(target: Target, service_target: str, body: dict[str, Any]) -> float:
    started = time.perf_counter()
    call = urllib.request.Request(
        f"http://{target.host}:{target.port}/",
        json.dumps(body).encode(),
        {
            "X-Amz-Target": service_target,
            "Content-Type": "application/x-amz-json-1.1",
        },
    )
    with urllib.request.urlopen(call, timeout=60) as answer:
        answer.read()
    return (time.perf_counter() - started) * 1000


def members(target: Target) -> int:
    conn = target.connection()
    status, answer = request(conn, "GET", "/_hearth/cluster")
    conn.close()
    return len(json.loads(answer)["members"]) if status == 200 else 0


def summarize(samples: list[float]) -> dict[str, float]:
    return {
        "p50_ms": round(statistics.median(samples), 3),
        "p99_ms": round(percentile(samples, 0.99), 3),
        "n": len(samples),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    rounds, per_round = (1, 20) if args.quick else (5, 100)
    big_per_round = 3 if args.quick else 10
    results: dict[str, Any] = {
        "date": time.strftime("%Y-%m-%d %H:%M:%S %Z"),
        "machine": machine(),
        "mode": "quick" if args.quick else "full",
        "rounds": rounds,
    }
    with tempfile.TemporaryDirectory() as root:
        nats = LocalNats(Path(root) / "nats").start()
        started: list[subprocess.Popen[str]] = []
        try:
            nodes = []
            for index in range(2):
                process, node, _ = start_hearth(
                    str(Path(root) / f"node-{index}"),
                    ["--cluster", nats.url, "--node-name", f"node-{index}"],
                )
                started.append(process)
                nodes.append(node)
            while min(members(node) for node in nodes) < 2:
                time.sleep(0.1)
            create_function(nodes[0], "echo", handler_zip(ECHO))
            conn = nodes[0].connection()
            status, answer = request(
                conn,
                "PUT",
                "/2017-10-31/functions/echo/concurrency",
                b'{"ReservedConcurrentExecutions": 1}',
            )
            conn.close()
            assert status == 200, answer
            samples: dict[str, dict[str, list[float]]] = {
                size: {"local": [], "forwarded": []} for size in SIZES
            }
            for number in range(rounds):
                print(f"round {number + 1}/{rounds}", file=sys.stderr, flush=True)
                for size, length in SIZES.items():
                    count = per_round if length < 1024 * 1024 else big_per_round
                    samples[size]["local"] += invokes(nodes[0], body_of(length), count)
                    samples[size]["forwarded"] += invokes(nodes[1], body_of(length), count)
            queries = {"filter_log_events": [], "get_metric_statistics": []}
            now = time.time()
            for _ in range(20 if not args.quick else 5):
                queries["filter_log_events"].append(
                    amz_json(
                        nodes[1],
                        "Logs_20140328.FilterLogEvents",
                        {"logGroupName": "/aws/lambda/echo", "limit": 100},
                    )
                )
                queries["get_metric_statistics"].append(
                    amz_json(
                        nodes[1],
                        "GraniteServiceVersion20100801.GetMetricStatistics",
                        {
                            "Namespace": "AWS/Lambda",
                            "MetricName": "Invocations",
                            "Dimensions": [{"Name": "FunctionName", "Value": "echo"}],
                            "StartTime": now - 3600,
                            "EndTime": now + 60,
                            "Period": 60,
                            "Statistics": ["Sum"],
                        },
                    )
                )
        finally:
            for process in started:
                process.terminate()
            for process in started:
                process.wait(30)
            nats.stop()
    results["invoke"] = {
        size: {
            "local": summarize(pair["local"]),
            "forwarded": summarize(pair["forwarded"]),
            "forwarded_minus_local_p50_ms": round(
                statistics.median(pair["forwarded"]) - statistics.median(pair["local"]), 3
            ),
        }
        for size, pair in samples.items()
    }
    results["queries_on_the_other_node"] = {k: summarize(v) for k, v in queries.items()}
    text = json.dumps(results, indent=2)
    print(text)
    if not args.quick:
        RESULTS.mkdir(parents=True, exist_ok=True)
        (RESULTS / "cluster_forward.json").write_text(text + "\n")


if __name__ == "__main__":
    main()
