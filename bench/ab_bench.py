"""Two Hearth builds against each other, alternating on the same machine: cold starts and
invokes/s at 8 clients of one trivial function, so a busy machine skews both alike.

    .venv/bin/python bench/ab_bench.py --before /work/main/.venv/bin/python \\
        --after .venv/bin/python --runtime nodejs20.x --rounds 6 --cold 12 [--process]

Each `--before` / `--after` is the interpreter of a build's venv (`-m hearth serve` runs the
build installed there). Prints each build's medians and the after/before ratios.
"""

from __future__ import annotations

import argparse
import base64
import io
import json
import re
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import zipfile
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).parent))

from invoke_bench import Target, request, throughput

SOURCES = {
    "python": ("app.py", "def handler(event, context):\n    return {'ok': True}\n", "app.handler"),
    "node": ("index.mjs", "export const handler = async () => ({ok: true});\n", "index.handler"),
}


def code_for(runtime: str) -> tuple[bytes, str]:
    name, source, handler = SOURCES["python" if runtime.startswith("python") else "node"]
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr(name, source)
    return buffer.getvalue(), handler


def start(python: str, data_dir: str, extra: list[str]) -> tuple[subprocess.Popen[str], Target]:
    command = [python, "-m", "hearth", "serve", "--port", "0", "--data-dir", data_dir]
    process = subprocess.Popen(
        [*command, "--memory-budget-mb", "40000", *extra],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        cwd=tempfile.gettempdir(),  # not a worktree: its src/ would shadow the build's
    )
    assert process.stdout is not None
    target = None
    for line in process.stdout:
        found = re.search(r"ready at http://([\d.]+):(\d+)", line)
        if found:
            target = Target(found.group(1), int(found.group(2)))
        if target is not None and "Press Ctrl-C" in line:
            threading.Thread(target=_drain, args=(process.stdout,), daemon=True).start()
            return process, target
    raise RuntimeError(f"{python} -m hearth serve did not start")


def _drain(stream: Any) -> None:
    for _ in stream:  # the server's output, never read: it must not fill its pipe
        pass


def create(target: Target, name: str, runtime: str) -> None:
    code, handler = code_for(runtime)
    body = {
        "FunctionName": name,
        "Runtime": runtime,
        "Handler": handler,
        "Role": "arn:aws:iam::123456789012:role/bench",
        "Code": {"ZipFile": base64.b64encode(code).decode()},
        "MemorySize": 1769,  # one full vCPU under the sandbox's CPU cap
        "Timeout": 30,
    }
    conn = target.connection()
    status, answer = request(conn, "POST", "/2015-03-31/functions", json.dumps(body).encode())
    assert status == 201, answer
    for _ in range(300):
        path = f"/2015-03-31/functions/{name}/configuration"
        if json.loads(request(conn, "GET", path)[1]).get("State") == "Active":
            break
        time.sleep(0.02)
    conn.close()


def cold_start(target: Target, name: str, runtime: str) -> float:
    create(target, name, runtime)
    conn = target.connection()
    started = time.perf_counter()
    status, answer = request(conn, "POST", f"/2015-03-31/functions/{name}/invocations", b"{}")
    elapsed = (time.perf_counter() - started) * 1000
    conn.close()
    assert status == 200, answer
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--before", required=True)
    parser.add_argument("--after", required=True)
    parser.add_argument("--runtime", default="python3.12")
    parser.add_argument("--rounds", type=int, default=6)
    parser.add_argument("--seconds", type=float, default=1.0)
    parser.add_argument("--cold", type=int, default=0, help="cold starts per build")
    parser.add_argument("--process", action="store_true", help="--isolation process")
    args = parser.parse_args()
    extra = ["--isolation", "process"] if args.process else []
    builds = {"before": args.before, "after": args.after}
    servers = {key: start(python, tempfile.mkdtemp(), extra) for key, python in builds.items()}
    path = "/2015-03-31/functions/f/invocations"
    rates: dict[str, list[float]] = {key: [] for key in builds}
    colds: dict[str, list[float]] = {key: [] for key in builds}
    try:
        for _, target in servers.values():
            create(target, "f", args.runtime)
            throughput(target, [path], 8, 0.5)  # warm-up: the environments exist
        per_round = -(-args.cold // args.rounds) if args.cold else 0
        for number in range(args.rounds):
            for key, (_, target) in servers.items():  # alternating: both see the same load
                if args.seconds > 0:
                    rates[key].append(throughput(target, [path], 8, args.seconds)["per_second"])
                for i in range(per_round):
                    colds[key].append(cold_start(target, f"c{number}x{i}", args.runtime))
    finally:
        for process, _ in servers.values():
            process.terminate()
            process.wait(10)
    summary: dict[str, Any] = {}
    for key in builds:
        summary[key] = {
            "invokes_per_s_c8_median": round(statistics.median(rates[key]), 1)
            if rates[key]
            else None,
            "cold_p50_ms": round(statistics.median(colds[key]), 2) if colds[key] else None,
        }
    if rates["before"]:
        pairs = zip(rates["before"], rates["after"], strict=True)
        summary["throughput_after_over_before"] = round(
            statistics.median(b / a for a, b in pairs), 3
        )
    if colds["before"]:
        summary["cold_after_over_before"] = round(
            statistics.median(colds["after"]) / statistics.median(colds["before"]), 3
        )
    print(json.dumps(summary, indent=2))


if __name__ == "__main__":
    main()
