"""Edge benchmark: a normal client's latency while 500 idle connections and a slowloris are held.

Against a real `hearth serve` (default limits), one run on one machine:
- baseline: a client's sequential requests on a fresh connection each (ListFunctions and a warm
  Invoke), p50 / p99;
- under attack: the same while an attacker holds 500 connections that send nothing and 50
  that send a header line a second (slowloris), reopening each one as soon as Hearth closes it;
- what the attack got: connections Hearth closed (idle or after the header timeout), refused
  with 503 past its connection limit, and the server's RSS before and after.

    .venv/bin/python bench/edge_bench.py            # full run (~60 s), writes bench/results/
    .venv/bin/python bench/edge_bench.py --quick    # a few seconds
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import tempfile
import threading
import time
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
INVOKE = "/2015-03-31/functions/edge/invocations"


class Attack:
    """Idle and slowloris connections, each reopened when Hearth closes it."""

    def __init__(self, target: Target, idle: int, slow: int) -> None:
        self.target, self.idle, self.slow = target, idle, slow
        self.stats = {"closed": 0, "refused_503": 0, "timed_out_408": 0, "connect_errors": 0}
        self._stop = asyncio.Event()
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self.held = 0

    def start(self) -> None:
        self._thread.start()
        asyncio.run_coroutine_threadsafe(self._run(), self._loop)

    def stop(self) -> None:
        self._loop.call_soon_threadsafe(self._stop.set)
        time.sleep(0.5)
        self._loop.call_soon_threadsafe(self._loop.stop)

    async def _run(self) -> None:
        tasks = [asyncio.create_task(self._connection(slow=False)) for _ in range(self.idle)]
        tasks += [asyncio.create_task(self._connection(slow=True)) for _ in range(self.slow)]
        await self._stop.wait()
        for task in tasks:
            task.cancel()

    async def _connection(self, *, slow: bool) -> None:
        while not self._stop.is_set():
            try:
                reader, writer = await asyncio.open_connection(self.target.host, self.target.port)
            except OSError:
                self.stats["connect_errors"] += 1
                await asyncio.sleep(0.1)
                continue
            self.held += 1
            try:
                if slow:
                    writer.write(b"GET /2015-03-31/functions/ HTTP/1.1\r\nHost: x\r\n")
                answer = b""
                while not self._stop.is_set():
                    try:
                        chunk = await asyncio.wait_for(reader.read(4096), 1.0)
                    except TimeoutError:
                        if slow:
                            writer.write(b"X-Slow: 1\r\n")
                        continue
                    if not chunk:
                        break
                    answer += chunk
                if answer.startswith(b"HTTP/1.1 503"):
                    self.stats["refused_503"] += 1
                elif answer.startswith(b"HTTP/1.1 408"):
                    self.stats["timed_out_408"] += 1
                else:
                    self.stats["closed"] += 1
            except OSError:
                self.stats["closed"] += 1
            finally:
                self.held -= 1
                writer.close()


def client_latency(target: Target, count: int) -> dict[str, Any]:
    """A fresh connection per request, as a client arriving during the attack would open."""
    samples: dict[str, list[float]] = {"list_functions": [], "invoke": []}
    errors = 0
    for _ in range(count):
        for name, (method, path, body) in {
            "list_functions": ("GET", "/2015-03-31/functions/", b""),
            "invoke": ("POST", INVOKE, b'{"edge": true}'),
        }.items():
            started = time.perf_counter()
            conn = target.connection()
            try:
                status, _ = request(conn, method, path, body)
                if status != 200:
                    errors += 1
            except OSError:
                errors += 1
            finally:
                conn.close()
            samples[name].append((time.perf_counter() - started) * 1000)
    return {**{k: summarize(v) for k, v in samples.items()}, "errors": errors}


def rss_kb(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args()
    count = 20 if args.quick else 200
    hold = 3.0 if args.quick else 20.0
    idle, slow = (50, 10) if args.quick else (500, 50)
    results: dict[str, Any] = {"machine": machine(), "idle": idle, "slowloris": slow}
    with tempfile.TemporaryDirectory() as data_dir:
        process, target, isolation = start_hearth(data_dir, [])
        try:
            results["isolation"] = isolation
            create_function(target, "edge", handler_zip())
            client_latency(target, 10)  # warm the environment and the code paths
            results["baseline"] = client_latency(target, count)
            results["rss_kb_before"] = rss_kb(process.pid)
            attack = Attack(target, idle, slow)
            attack.start()
            time.sleep(2)  # every attack connection open
            results["attack_connections_held_at_start"] = attack.held
            started = time.perf_counter()
            results["under_attack"] = client_latency(target, count)
            remaining = hold - (time.perf_counter() - started)
            if remaining > 0:
                time.sleep(remaining)  # at least `hold` seconds of attack, past the timeouts
            results["attack_seconds"] = round(time.perf_counter() - started + 2, 1)
            results["rss_kb_during"] = rss_kb(process.pid)
            results["attack"] = dict(attack.stats)
            attack.stop()
            time.sleep(1)
            results["after"] = client_latency(target, max(10, count // 10))
        finally:
            process.terminate()
            process.wait(30)
    text = json.dumps(results, indent=2)
    print(text)
    out = args.out or (None if args.quick else RESULTS / "edge.json")
    if out is not None:
        out.write_text(text + "\n")
    if not args.quick:
        (RESULTS / "edge.md").write_text(markdown(results))


def markdown(r: dict[str, Any]) -> str:
    def row(name: str, phase: dict[str, Any]) -> str:
        lf, inv = phase["list_functions"], phase["invoke"]
        return (
            f"| {name} | {lf['p50_ms']} | {lf['p99_ms']} | {inv['p50_ms']} | {inv['p99_ms']} | "
            f"{phase['errors']} |"
        )

    a = r["attack"]
    return "\n".join(
        [
            f"# Edge: a client during {r['idle']} idle connections and a {r['slowloris']}-"
            "connection slowloris",
            "",
            "New connection per request; milliseconds.",
            "",
            "| phase | ListFunctions p50 | p99 | warm Invoke p50 | p99 | errors |",
            "|---|---|---|---|---|---|",
            row("baseline", r["baseline"]),
            row("under attack", r["under_attack"]),
            row("after", r["after"]),
            "",
            f"Attack over {r['attack_seconds']} s: {a['closed']} connections closed by Hearth "
            f"(idle), {a['timed_out_408']} slowloris ones answered 408, {a['refused_503']} "
            f"refused with 503, {a['connect_errors']} connect errors. Server RSS "
            f"{r['rss_kb_before'] // 1024} MB before, {r['rss_kb_during'] // 1024} MB during.",
            f"Machine: {r['machine']}; isolation: {r['isolation']}.",
            "",
        ]
    )


if __name__ == "__main__":
    main()
