"""Where a SnapStart cold start's time goes, from the outside: the client's figure split by
the REPORT line of the same invoke (`X-Amz-Log-Type: Tail`).

    .venv/bin/python bench/snapstart_phases.py --cold 10 [--heavy] [--process]

Each cold start is a new function (python3.12, SnapStart on, published and Active first,
untimed), its version's first invoke timed. Its REPORT line gives `Restore Duration` (from
the fork's return, pid known, to the runtime's first `/next`: the child's set-up, its own
cgroup, /tmp and uid, the after-restore hooks, the Runtime API connection) and `Duration`
(the invoke itself, event handed over to response); what is left of the client's figure is
the server's side before the fork (the environment's listeners, its cgroup, the spawn
request and its answer) and the HTTP exchange with the client. Prints medians as JSON.
"""

from __future__ import annotations

import argparse
import base64
import json
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).parent))

from ab_bench import start
from invoke_bench import Target, request
from peers import workloads

RUNTIME = "python3.12"


def deploy(target: Target, name: str, code: bytes, handler: str) -> None:
    body = {
        "FunctionName": name,
        "Runtime": RUNTIME,
        "Handler": handler,
        "Role": "arn:aws:iam::123456789012:role/bench",
        "Code": {"ZipFile": base64.b64encode(code).decode()},
        "MemorySize": 1769,
        "Timeout": 60,
        "SnapStart": {"ApplyOn": "PublishedVersions"},
        "Publish": True,
    }
    conn = target.connection()
    status, answer = request(conn, "POST", "/2015-03-31/functions", json.dumps(body).encode())
    assert status == 201, answer
    path = f"/2015-03-31/functions/{name}/configuration?Qualifier=1"
    for _ in range(6000):
        state = json.loads(request(conn, "GET", path)[1]).get("State")
        if state == "Active":
            break
        assert state in ("Pending", None), state
        time.sleep(0.01)
    conn.close()


def timed_invoke(target: Target, name: str) -> tuple[float, str]:
    conn = target.connection()
    conn.connect()
    started = time.perf_counter()
    conn.request(
        "POST",
        f"/2015-03-31/functions/{name}/invocations?Qualifier=1",
        body=b"{}",
        headers={"X-Amz-Log-Type": "Tail"},
    )
    response = conn.getresponse()
    response.read()
    elapsed = (time.perf_counter() - started) * 1000
    assert response.status == 200, response.status
    tail = base64.b64decode(response.getheader("X-Amz-Log-Result") or "").decode()
    conn.close()
    return elapsed, tail


def figure(tail: str, label: str) -> float:
    found = re.search(rf"\t{label}: ([\d.]+) ms", tail)
    assert found, tail
    return float(found.group(1))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cold", type=int, default=10)
    parser.add_argument("--heavy", action="store_true", help="the peers' heavy-init package")
    parser.add_argument("--process", action="store_true", help="--isolation process")
    args = parser.parse_args()
    load = workloads.for_snapstart(
        workloads.python_heavy() if args.heavy else workloads.python_trivial()
    )
    code = load.zip_bytes()
    extra = ["--isolation", "process"] if args.process else []
    process, target = start(sys.executable, tempfile.mkdtemp(), extra)
    series: dict[str, list[float]] = {"total": [], "restore": [], "duration": [], "rest": []}
    try:
        for number in range(args.cold):
            name = f"snap{number}"
            deploy(target, name, code, load.handler)
            total, tail = timed_invoke(target, name)
            restore, duration = figure(tail, "Restore Duration"), figure(tail, "Duration")
            series["total"].append(total)
            series["restore"].append(restore)
            series["duration"].append(duration)
            series["rest"].append(total - restore - duration)
    finally:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
    summary: dict[str, Any] = {
        "workload": load.name,
        "isolation": "process" if args.process else "sandbox",
        "cold_starts": args.cold,
    }
    summary.update({f"{k}_p50_ms": round(statistics.median(v), 2) for k, v in series.items()})
    print(json.dumps(summary, indent=2))


if __name__ == "__main__":
    main()
