"""HTTP-in benchmark: a function URL against `Invoke` of the same function, and the time to
first byte of a streamed response, against a real `hearth serve` on loopback.

Measures, in one run on one machine:
- warm latency (p50, p99) of Invoke and of the function URL, sequential calls on one
  keep-alive connection each, interleaved in blocks so both see the same machine;
- requests per second at 8 clients (keep-alive) for each;
- streamed time to first byte: a RESPONSE_STREAM URL whose function stamps the time it
  writes its first chunk, then sleeps before finishing; the client subtracts that stamp from
  the moment the chunk arrives (same clock), and checks the function had not finished.

    .venv/bin/python bench/http_bench.py            # full run, writes bench/results/http.*
    .venv/bin/python bench/http_bench.py --quick    # a few seconds, for CI
"""

from __future__ import annotations

import argparse
import base64
import io
import json
import statistics
import sys
import tempfile
import time
import zipfile
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
    throughput,
)

RESULTS = Path(__file__).parent / "results"

# A custom runtime in the Runtime API's streaming mode: stamps the moment it writes its first
# chunk, then waits before the rest, so the first byte is seen before the function ends.
STREAMER = r"""#!/usr/bin/env python3
import json, os, socket, time, urllib.request
api = os.environ["AWS_LAMBDA_RUNTIME_API"]
host, port = api.rsplit(":", 1)
s = None  # one kept-alive connection for the responses, as runtime clients keep one
while True:
    with urllib.request.urlopen(f"http://{api}/2018-06-01/runtime/invocation/next") as r:
        rid = r.headers["Lambda-Runtime-Aws-Request-Id"]
        r.read()
    if s is None:
        s = socket.create_connection((host, int(port)))
        s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    s.sendall((f"POST /2018-06-01/runtime/invocation/{rid}/response HTTP/1.1\r\nHost: {api}\r\n"
               "Lambda-Runtime-Function-Response-Mode: streaming\r\nContent-Type: text/plain\r\n"
               "Transfer-Encoding: chunked\r\n\r\n").encode())
    first = b"%.6f\n" % time.time()
    s.sendall(b"%x\r\n%s\r\n" % (len(first), first))
    time.sleep(0.05)
    s.sendall(b"4\r\ndone\r\n0\r\n\r\n")
    answer = b""
    while not answer.endswith(b'{"status":"OK"}'):
        answer += s.recv(4096)
"""


def bootstrap_zip(script: str) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        info = zipfile.ZipInfo("bootstrap")
        info.external_attr = 0o755 << 16
        archive.writestr(info, script)
    return buffer.getvalue()


def api(target: Target, method: str, path: str, body: dict[str, Any]) -> dict[str, Any]:
    conn = target.connection()
    status, answer = request(conn, method, path, json.dumps(body).encode())
    conn.close()
    assert status in (200, 201), answer
    result: dict[str, Any] = json.loads(answer)
    return result


def public_url(target: Target, name: str, mode: str = "BUFFERED") -> str:
    """A NONE-auth URL for the function, open to anyone; its path-form prefix."""
    config = api(
        target,
        "POST",
        f"/2021-10-31/functions/{name}/url",
        {"AuthType": "NONE", "InvokeMode": mode},
    )
    api(
        target,
        "POST",
        f"/2015-03-31/functions/{name}/policy",
        {
            "StatementId": "url",
            "Action": "lambda:InvokeFunctionUrl",
            "Principal": "*",
            "FunctionUrlAuthType": "NONE",
        },
    )
    url_id = config["FunctionUrl"].split("//", 1)[1].split(".", 1)[0]
    return f"/lambda-url/{url_id}/"


def interleaved(
    target: Target, paths: dict[str, str], count: int, block: int = 50
) -> dict[str, list[float]]:
    """Sequential latencies for each path, taken in alternating blocks."""
    conns = {key: target.connection() for key in paths}
    samples: dict[str, list[float]] = {key: [] for key in paths}
    for key, path in paths.items():  # warm up
        for _ in range(20):
            request(conns[key], "POST", path, b"{}")
    while min(len(s) for s in samples.values()) < count:
        for key, path in paths.items():
            for _ in range(block):
                started = time.perf_counter()
                status, _ = request(conns[key], "POST", path, b"{}")
                samples[key].append((time.perf_counter() - started) * 1000)
                assert status == 200, status
    for conn in conns.values():
        conn.close()
    return samples


def streamed_ttfb(target: Target, path: str, count: int) -> list[float]:
    """ms from the function writing its first chunk to the client holding it."""
    samples = []
    conn = target.connection()
    for _ in range(count + 3):
        conn.request("GET", path)
        response = conn.getresponse()
        first = response.read1()
        arrived = time.time()
        rest = response.read()
        assert response.status == 200 and rest.endswith(b"done"), (first, rest)
        samples.append((arrived - float(first.split(b"\n", 1)[0])) * 1000)
    conn.close()
    return samples[3:]  # the first calls include a cold start


def run(count: int, seconds: float, ttfb_count: int) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as data_dir:
        process, hearth, isolation = start_hearth(data_dir, [])
        try:
            create_function(hearth, "bench", handler_zip())
            invoke_path = "/2015-03-31/functions/bench/invocations"
            url_path = public_url(hearth, "bench")
            samples = interleaved(hearth, {"invoke": invoke_path, "url": url_path}, count)
            invoke_rate = throughput(hearth, [invoke_path], 8, seconds)
            url_rate = throughput(hearth, [url_path], 8, seconds)
            conn = hearth.connection()
            body = {
                "FunctionName": "streamer",
                "Runtime": "provided.al2023",
                "Handler": "x",
                "Role": "arn:aws:iam::123456789012:role/bench",
                # One full vCPU, as the bench function has: a smaller share would throttle the
                # write itself, and that is not what is measured.
                "MemorySize": 1769,
                "Code": {"ZipFile": base64.b64encode(bootstrap_zip(STREAMER)).decode()},
            }
            status, answer = request(
                conn, "POST", "/2015-03-31/functions", json.dumps(body).encode()
            )
            conn.close()
            assert status == 201, answer
            time.sleep(0.5)
            stream_path = public_url(hearth, "streamer", "RESPONSE_STREAM")
            ttfb = streamed_ttfb(hearth, stream_path, ttfb_count)
        finally:
            process.terminate()
            process.wait(10)
    invoke, url = summarize(samples["invoke"]), summarize(samples["url"])
    return {
        "isolation": isolation,
        "invoke": {"warm": invoke, "concurrency_8": invoke_rate},
        "function_url": {"warm": url, "concurrency_8": url_rate},
        "url_overhead_p50_ms": round(
            statistics.median(samples["url"]) - statistics.median(samples["invoke"]), 3
        ),
        "url_throughput_vs_invoke": round(url_rate["per_second"] / invoke_rate["per_second"], 3),
        "streamed_ttfb": summarize(ttfb),
    }


def report(results: dict[str, Any]) -> str:
    r = results
    lines = [
        "# HTTP-in benchmark",
        "",
        f"Machine: {r['machine']['cpus']} CPUs, {r['machine']['platform']}, "
        f"Python {r['machine']['python']}, load {r['machine']['load_average_1m_at_start']}; "
        f"isolation: {r['isolation']}.",
        "",
        "| | p50 ms | p99 ms | req/s at 8 clients |",
        "|---|---|---|---|",
    ]
    for key, label in (("invoke", "Invoke"), ("function_url", "function URL")):
        lines.append(
            f"| {label} | {r[key]['warm']['p50_ms']} | {r[key]['warm']['p99_ms']} | "
            f"{r[key]['concurrency_8']['per_second']:.0f} |"
        )
    lines += [
        "",
        f"Function URL overhead at p50: {r['url_overhead_p50_ms']} ms; throughput "
        f"{r['url_throughput_vs_invoke']:.0%} of Invoke's.",
        f"Streamed time to first byte after the function writes it: p50 "
        f"{r['streamed_ttfb']['p50_ms']} ms, p99 {r['streamed_ttfb']['p99_ms']} ms.",
        "",
    ]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--out", type=Path, default=RESULTS / "http.json")
    args = parser.parse_args()
    count, seconds, ttfb_count = (100, 1.0, 10) if args.quick else (2000, 5.0, 100)
    results = {"machine": machine(), **run(count, seconds, ttfb_count)}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=2) + "\n")
    args.out.with_suffix(".md").write_text(report(results))
    print(report(results))


if __name__ == "__main__":
    main()
