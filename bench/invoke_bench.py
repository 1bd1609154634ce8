"""Invoke benchmark: raw HTTP on loopback against a real `hearth serve`, a trivial Python handler.

Measures, in one run on one machine:
- warm invoke latency (p50, p99) over sequential calls on one keep-alive connection;
- cold start (p50, p99): the first invoke of fresh functions, each a new environment;
- invokes per second at concurrency 8 (8 clients, keep-alive), with errors counted;
- the same latency and throughput for a bare asyncio + httptools echo server: the floor.

    .venv/bin/python bench/invoke_bench.py            # full run, writes bench/results/
    .venv/bin/python bench/invoke_bench.py --quick    # a few seconds, for CI
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import http.client
import io
import json
import multiprocessing
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import zipfile
from pathlib import Path
from typing import Any

HANDLER = "def handler(event, context):\n    return {'ok': True}\n"
RESULTS = Path(__file__).parent / "results"


def handler_zip(source: str = HANDLER) -> bytes:
    """A function's code: `source` as app.py."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("app.py", source)
    return buffer.getvalue()


def machine() -> dict[str, Any]:
    """The machine a run measured, for its results."""
    return {
        "cpus": os.cpu_count(),
        "platform": platform.platform(),
        "python": platform.python_version(),
        # Other work on the machine skews the figures; this says how much there was.
        "load_average_1m_at_start": round(os.getloadavg()[0], 2),
    }


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * p))]


class Target:
    def __init__(self, host: str, port: int) -> None:
        self.host, self.port = host, port

    def connection(self) -> http.client.HTTPConnection:
        return http.client.HTTPConnection(self.host, self.port, timeout=60)


def request(
    conn: http.client.HTTPConnection, method: str, path: str, body: bytes = b""
) -> tuple[int, bytes]:
    conn.request(method, path, body=body)
    response = conn.getresponse()
    return response.status, response.read()


def warm_latency(target: Target, path: str, count: int) -> list[float]:
    conn = target.connection()
    for _ in range(min(50, count)):  # warm up
        request(conn, "POST", path, b"{}")
    samples = []
    for _ in range(count):
        started = time.perf_counter()
        status, _ = request(conn, "POST", path, b"{}")
        samples.append((time.perf_counter() - started) * 1000)
        assert status == 200, status
    conn.close()
    return samples


def throughput(
    target: Target, paths: list[str], concurrency: int, seconds: float
) -> dict[str, float]:
    done = [0] * concurrency
    errors = [0] * concurrency
    stop = time.perf_counter() + seconds

    def worker(i: int) -> None:
        conn = target.connection()
        path = paths[i % len(paths)]
        while time.perf_counter() < stop:
            try:
                status, _ = request(conn, "POST", path, b"{}")
            except (OSError, http.client.HTTPException):
                errors[i] += 1
                conn.close()
                conn = target.connection()
                continue
            if status == 200:
                done[i] += 1
            else:
                errors[i] += 1
        conn.close()

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(concurrency)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - started
    return {"per_second": sum(done) / elapsed, "errors": sum(errors), "requests": sum(done)}


WRK_SCRIPT = 'wrk.method = "POST"\nwrk.body = "{}"\n'


def wrk_throughput(
    target: Target, path: str, connections: int, seconds: float
) -> dict[str, float] | None:
    """Throughput measured by wrk (a C client), when it is installed: the Python client above
    spends much of the 2 cores itself, which caps what it can observe."""
    wrk = shutil.which("wrk")
    if wrk is None:
        return None
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as script:
        script.write(WRK_SCRIPT)
    try:
        out = subprocess.run(
            [
                wrk,
                "-t",
                "2",
                "-c",
                str(connections),
                "-d",
                f"{max(1, int(seconds))}s",
                "-s",
                script.name,
                f"http://{target.host}:{target.port}{path}",
            ],
            capture_output=True,
            text=True,
            check=True,
            timeout=seconds + 30,
        ).stdout
    finally:
        os.unlink(script.name)
    rate = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    non_2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    socket_errors = re.search(
        r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out
    )
    errors = int(non_2xx.group(1)) if non_2xx else 0
    if socket_errors:
        errors += sum(int(x) for x in socket_errors.groups())
    return {"per_second": rate, "errors": errors}


# The floor: the least an HTTP round trip in Python costs on this machine.
def run_echo_server(port_queue: Any) -> None:
    import httptools

    try:
        import uvloop

        uvloop.install()
    except ImportError:
        pass

    class Echo(asyncio.Protocol):
        def connection_made(self, transport: Any) -> None:
            self.transport = transport
            self.parser = httptools.HttpRequestParser(self)
            self.body = b""

        def data_received(self, data: bytes) -> None:
            self.parser.feed_data(data)

        def on_body(self, body: bytes) -> None:
            self.body += body

        def on_message_complete(self) -> None:
            body, self.body = self.body, b""
            self.transport.write(
                b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n%s" % (len(body), body)
            )

    async def main() -> None:
        server = await asyncio.get_running_loop().create_server(Echo, "127.0.0.1", 0)
        port_queue.put(server.sockets[0].getsockname()[1])
        await asyncio.Event().wait()

    asyncio.run(main())


def start_hearth(data_dir: str, extra: list[str]) -> tuple[subprocess.Popen[str], Target, str]:
    """Start `hearth serve`; return it, its address and the isolation it announced."""
    process = subprocess.Popen(
        [sys.executable, "-m", "hearth", "serve", "--port", "0", "--data-dir", data_dir, *extra],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    assert process.stdout is not None
    target, isolation = None, ""
    for line in process.stdout:
        found = re.search(r"ready at http://([\d.]+):(\d+)", line)
        if found:
            target = Target(found.group(1), int(found.group(2)))
        if line.startswith("  isolation: "):
            isolation = line.removeprefix("  isolation: ").strip()
        if target is not None and "Press Ctrl-C to stop." in line:
            threading.Thread(target=lambda: [None for _ in process.stdout], daemon=True).start()  # type: ignore[union-attr]
            return process, target, isolation
    raise RuntimeError("hearth serve did not start")


def create_function(target: Target, name: str, code: bytes) -> None:
    conn = target.connection()
    body = json.dumps(
        {
            "FunctionName": name,
            "Runtime": "python3.12",
            "Handler": "app.handler",
            "Role": "arn:aws:iam::123456789012:role/bench",
            "Code": {"ZipFile": base64.b64encode(code).decode()},
            # One full vCPU: the sandbox caps CPU at MemorySize / 1769 MB, as AWS does, and
            # a smaller function would measure that cap rather than Hearth.
            "MemorySize": 1769,
            "Timeout": 30,
        }
    ).encode()
    status, answer = request(conn, "POST", "/2015-03-31/functions", body)
    assert status == 201, answer
    for _ in range(100):
        status, answer = request(conn, "GET", f"/2015-03-31/functions/{name}/configuration")
        if json.loads(answer).get("State") == "Active":
            break
        time.sleep(0.02)
    conn.close()


def cold_starts(target: Target, code: bytes, count: int, prefix: str) -> list[float]:
    samples = []
    conn = target.connection()
    for i in range(count):
        name = f"{prefix}-{i}"
        create_function(target, name, code)
        started = time.perf_counter()
        status, body = request(conn, "POST", f"/2015-03-31/functions/{name}/invocations", b"{}")
        samples.append((time.perf_counter() - started) * 1000)
        assert status == 200 and json.loads(body) == {"ok": True}, body
    conn.close()
    return samples


def summarize(samples: list[float]) -> dict[str, float]:
    return {
        "p50_ms": round(statistics.median(samples), 3),
        "p99_ms": round(percentile(samples, 0.99), 3),
        "min_ms": round(min(samples), 3),
        "count": len(samples),
    }


def measure_round(code: bytes, warm_n: int, cold_n: int, seconds: float) -> dict[str, Any]:
    results: dict[str, Any] = {}
    queue: Any = multiprocessing.Queue()
    echo = multiprocessing.Process(target=run_echo_server, args=(queue,), daemon=True)
    echo.start()
    floor = Target("127.0.0.1", queue.get(timeout=10))
    results["floor_echo"] = {
        "warm": summarize(warm_latency(floor, "/", warm_n)),
        "concurrency_8": throughput(floor, ["/"], 8, seconds),
        "concurrency_8_wrk": wrk_throughput(floor, "/", 8, seconds),
    }
    echo.terminate()
    # The same run measures Hearth as it starts by default (sandboxed where the host allows)
    # and with the sandbox off, so the sandbox's cost is read off one run.
    # A memory budget far above the cold starts' environments (1769 MB each), so none is
    # evicted to make room and each cold start is only that.
    budget = ["--memory-budget-mb", str(1769 * (cold_n + 8))]
    for key, extra in (
        ("hearth", budget),
        ("hearth_no_sandbox", [*budget, "--isolation", "process"]),
    ):
        with tempfile.TemporaryDirectory() as data_dir:
            process, hearth, isolation = start_hearth(data_dir, extra)
            try:
                create_function(hearth, "bench", code)
                path = "/2015-03-31/functions/bench/invocations"
                results[key] = {
                    "warm": summarize(warm_latency(hearth, path, warm_n)),
                    "cold_start": summarize(cold_starts(hearth, code, cold_n, "cold")),
                    "concurrency_8": throughput(hearth, [path], 8, seconds),
                    "concurrency_8_wrk": wrk_throughput(hearth, path, 8, seconds),
                    "isolation": isolation,
                }
            finally:
                process.terminate()
                process.wait(10)
    return results


def median_of(rounds: list[dict[str, Any]]) -> dict[str, Any]:
    """Each figure's median over the rounds, with [min, max] beside it as the spread."""

    def merge(values: list[Any]) -> Any:
        first = values[0]
        if isinstance(first, dict):
            return {key: merge([v[key] for v in values]) for key in first}
        if first is None:
            return None
        if isinstance(first, (int, float)):
            return round(statistics.median(values), 3)
        return first

    merged = merge(rounds)
    for tool in ("floor_echo", "hearth", "hearth_no_sandbox"):
        for metric, figures in merged[tool].items():
            if not isinstance(figures, dict):
                continue
            key = "p50_ms" if "p50_ms" in figures else "per_second"
            spread = [r[tool][metric][key] for r in rounds if r[tool][metric] is not None]
            figures[f"{key}_spread"] = [round(min(spread), 3), round(max(spread), 3)]
    return merged


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a few seconds, for CI")
    parser.add_argument("--out", type=Path, default=None, help="where to write the JSON results")
    parser.add_argument("--rounds", type=int, default=None, help="rounds to take the median of")
    args = parser.parse_args()
    warm_n, cold_n, seconds = (200, 5, 1.0) if args.quick else (3000, 30, 5.0)
    args.rounds = args.rounds or (1 if args.quick else 3)

    code = handler_zip()
    results: dict[str, Any] = {
        "date": time.strftime("%Y-%m-%d %H:%M:%S %Z"),
        "machine": machine(),
        "mode": "quick" if args.quick else "full",
    }

    rounds: list[dict[str, Any]] = []
    for number in range(args.rounds):
        print(f"round {number + 1}/{args.rounds}", file=sys.stderr, flush=True)
        rounds.append(measure_round(code, warm_n, cold_n, seconds))
    results["rounds"] = rounds
    results["median"] = median_of(rounds)
    h, f = results["median"]["hearth"], results["median"]["floor_echo"]
    off = results["median"]["hearth_no_sandbox"]
    results["ratios"] = {
        "sandbox_warm_p50_vs_off": round(h["warm"]["p50_ms"] / off["warm"]["p50_ms"], 3),
        "sandbox_cold_p50_vs_off": round(
            h["cold_start"]["p50_ms"] / off["cold_start"]["p50_ms"], 3
        ),
        "warm_p50_vs_floor": round(h["warm"]["p50_ms"] / f["warm"]["p50_ms"], 2),
        "throughput_vs_floor": round(
            h["concurrency_8"]["per_second"] / f["concurrency_8"]["per_second"], 3
        ),
    }
    text = json.dumps(results, indent=2)
    print(text)
    out = args.out or (None if args.quick else RESULTS / "invoke.json")
    if out is not None:
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(text + "\n")


if __name__ == "__main__":
    main()
