"""Async benchmark: `Event` invokes against a real `hearth serve`, a trivial Python handler.

Measures, in one run on one machine:
- accepted Event invokes per second: raw HTTP/1.1 on loopback from an asyncio client with
  many keep-alive connections, each 202 sent only after the event's group commit (fsync);
  the dispatchers drain the queue at the same time, on the same 2 cores;
- the end-to-end drain: from the first request until the queue is empty, every accepted
  event run once (accepted events / elapsed seconds), and how long the queue took to empty
  after the load stopped;
- accept latency (p50, p99) of sequential Event invokes on one connection: one group commit
  each, so this is about the cost of an fsync.

    .venv/bin/python bench/async_bench.py            # full run, writes bench/results/
    .venv/bin/python bench/async_bench.py --quick    # a few seconds, for CI
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).parent))
from invoke_bench import (
    Target,
    create_function,
    handler_zip,
    machine,
    request,
    start_hearth,
    summarize,
)

RESULTS = Path(__file__).parent / "results"
PATH = "/2015-03-31/functions/bench/invocations"


def event_request(host: str, port: int) -> bytes:
    body = b'{"bench": true}'
    return (
        f"POST {PATH} HTTP/1.1\r\nHost: {host}:{port}\r\n"
        f"X-Amz-Invocation-Type: Event\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\n\r\n"
    ).encode() + body


class _Loader(asyncio.Protocol):
    """One keep-alive connection sending the next request as soon as an answer arrives."""

    def __init__(self, payload: bytes, deadline: float, stats: dict[str, int], done: Any) -> None:
        self.payload, self.deadline, self.stats, self.done = payload, deadline, stats, done
        self.buffer = b""

    def connection_made(self, transport: Any) -> None:
        self.transport = transport
        transport.write(self.payload)

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        # Each 202 is headers only (Content-Length: 0); an error carries a small JSON body.
        while b"\r\n\r\n" in self.buffer:
            head, _, rest = self.buffer.partition(b"\r\n\r\n")
            length = 0
            for line in head.split(b"\r\n"):
                if line.lower().startswith(b"content-length:"):
                    length = int(line.split(b":")[1])
            if len(rest) < length:
                return
            self.buffer = rest[length:]
            key = "accepted" if head.startswith(b"HTTP/1.1 202") else "errors"
            self.stats[key] += 1
            if time.perf_counter() < self.deadline:
                self.transport.write(self.payload)
            else:
                self.transport.close()

    def connection_lost(self, exc: Exception | None) -> None:
        if not self.done.done():
            self.done.set_result(None)


async def load(target: Target, connections: int, seconds: float) -> dict[str, float]:
    loop = asyncio.get_running_loop()
    stats = {"accepted": 0, "errors": 0}
    payload = event_request(target.host, target.port)
    started = time.perf_counter()
    deadline = started + seconds
    waits = []
    for _ in range(connections):
        done = loop.create_future()
        await loop.create_connection(
            lambda done=done: _Loader(payload, deadline, stats, done), target.host, target.port
        )
        waits.append(done)
    await asyncio.gather(*waits)
    elapsed = time.perf_counter() - started
    return {
        "per_second": stats["accepted"] / elapsed,
        "accepted": stats["accepted"],
        "errors": stats["errors"],
        "seconds": round(elapsed, 3),
    }


def queue_status(target: Target) -> dict[str, Any]:
    with urllib.request.urlopen(
        f"http://{target.host}:{target.port}/_hearth/async", timeout=30
    ) as answer:
        status: dict[str, Any] = json.loads(answer.read())
    return status


def wait_until_drained(target: Target, timeout: float = 600) -> float:
    """Seconds until nothing is ready, delayed or in flight."""
    started = time.perf_counter()
    while time.perf_counter() - started < timeout:
        queue = queue_status(target)["Queue"]
        if queue["Ready"] == 0 and queue["Delayed"] == 0 and queue["InFlight"] == 0:
            return time.perf_counter() - started
        time.sleep(0.02)
    raise RuntimeError("the queue did not drain")


def accept_latency(target: Target, count: int) -> list[float]:
    conn = target.connection()
    headers = {"X-Amz-Invocation-Type": "Event"}
    samples = []
    for _ in range(count):
        started = time.perf_counter()
        conn.request("POST", PATH, body=b"{}", headers=headers)
        response = conn.getresponse()
        response.read()
        samples.append((time.perf_counter() - started) * 1000)
        assert response.status == 202, response.status
    conn.close()
    return samples


def measure_round(code: bytes, connections: int, seconds: float, latency_n: int) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as data_dir:
        process, hearth, _ = start_hearth(data_dir, [])
        try:
            create_function(hearth, "bench", code)
            conn = hearth.connection()
            for _ in range(20):  # warm environments before timing
                status, _ = request(conn, "POST", PATH, b"{}")
                assert status == 200, status
            conn.close()
            latency = summarize(accept_latency(hearth, latency_n))
            wait_until_drained(hearth)
            before = queue_status(hearth)["SinceStart"]["Succeeded"]
            loaded = asyncio.run(load(hearth, connections, seconds))
            drain_after = wait_until_drained(hearth)
            ran = queue_status(hearth)["SinceStart"]["Succeeded"] - before
            assert ran == loaded["accepted"], (ran, loaded)
            total = loaded["seconds"] + drain_after
            return {
                "accept_latency": latency,
                f"accepted_concurrency_{connections}": loaded,
                "drain": {
                    "events": loaded["accepted"],
                    "seconds_after_load": round(drain_after, 3),
                    "end_to_end_per_second": round(loaded["accepted"] / total, 1),
                },
            }
        finally:
            process.terminate()
            process.wait(10)


def median_of(rounds: list[dict[str, Any]]) -> dict[str, Any]:
    def merge(values: list[Any]) -> Any:
        first = values[0]
        if isinstance(first, dict):
            return {key: merge([v[key] for v in values]) for key in first}
        if isinstance(first, (int, float)):
            return round(statistics.median(values), 3)
        return first

    merged: dict[str, Any] = merge(rounds)
    for section, key in (
        (next(k for k in merged if k.startswith("accepted_")), "per_second"),
        ("drain", "end_to_end_per_second"),
        ("accept_latency", "p50_ms"),
    ):
        spread = [r[section][key] for r in rounds]
        merged[section][f"{key}_spread"] = [round(min(spread), 3), round(max(spread), 3)]
    return merged


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a few seconds, for CI")
    parser.add_argument("--out", type=Path, default=None, help="where to write the JSON results")
    parser.add_argument("--rounds", type=int, default=None, help="rounds to take the median of")
    parser.add_argument("--connections", type=int, default=64, help="concurrent connections")
    args = parser.parse_args()
    seconds, latency_n = (1.0, 100) if args.quick else (5.0, 1000)
    rounds_n = args.rounds or (1 if args.quick else 3)

    code = handler_zip()
    results: dict[str, Any] = {
        "date": time.strftime("%Y-%m-%d %H:%M:%S %Z"),
        "machine": machine(),
        "mode": "quick" if args.quick else "full",
        "connections": args.connections,
        "load_seconds": seconds,
    }
    rounds = []
    for number in range(rounds_n):
        print(f"round {number + 1}/{rounds_n}", file=sys.stderr, flush=True)
        rounds.append(measure_round(code, args.connections, seconds, latency_n))
    results["rounds"] = rounds
    results["median"] = median_of(rounds)
    text = json.dumps(results, indent=2)
    print(text)
    out = args.out or (None if args.quick else RESULTS / "async.json")
    if out is not None:
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(text + "\n")
        out.with_suffix(".md").write_text(markdown(results))


def markdown(results: dict[str, Any]) -> str:
    """The published table (bench/results/async.md)."""
    machine, median = results["machine"], results["median"]
    load_key = next(k for k in median if k.startswith("accepted_"))
    loaded, drain, latency = median[load_key], median["drain"], median["accept_latency"]

    def spread(figures: dict[str, Any], key: str) -> str:
        low, high = figures[f"{key}_spread"]
        return f"{low:g}–{high:g}"

    rows = [
        (
            f"Accepted Event invokes/s ({results['connections']} connections)",
            "≥ 5,000",
            f"{loaded['per_second']:.0f}",
            spread(loaded, "per_second"),
        ),
        (
            "End-to-end: accepted and run, events/s",
            "",
            f"{drain['end_to_end_per_second']:.0f}",
            spread(drain, "end_to_end_per_second"),
        ),
        ("Queue empty after the load stopped", "", f"{drain['seconds_after_load']:.2f} s", ""),
        (
            "Accept latency p50 (sequential, one fsync each)",
            "",
            f"{latency['p50_ms']:.2f} ms",
            spread(latency, "p50_ms"),
        ),
        ("Accept latency p99", "", f"{latency['p99_ms']:.2f} ms", ""),
    ]
    table = [
        "| figure | target | Hearth (median of rounds) | spread of the round figures |",
        "|---|---|---|---|",
    ]
    table += ["| " + " | ".join(row) + " |" for row in rows]
    return f"""# Async benchmark

`bench/async_bench.py`, {results["date"]}, {machine["cpus"]} cores, {machine["platform"]}, Python {machine["python"]},
load average {machine.get("load_average_1m_at_start", "?")} at the start (other work shares these cores).
Raw HTTP/1.1 on loopback from an asyncio client ({results["connections"]} keep-alive connections,
the next request sent as each answer arrives) for {results["load_seconds"]:g} s; every 202 is sent
after the event's SQLite commit with fsync (group commit: one fsync carries many events). The
dispatchers drain the queue at the same time (16 at once, a trivial Python handler) on the same
2 cores; every accepted event is checked to have run once. {len(results["rounds"])} rounds, each
on a fresh server and data dir; the table gives the median and the spread.

{chr(10).join(table)}
"""


if __name__ == "__main__":
    main()
