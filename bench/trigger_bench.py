"""Trigger benchmark: PutObject to the S3-triggered function starting, on a real `hearth serve`.

Each round puts one object and waits for the function to have run before the next, so the
figure is the trigger's latency (the notification hook, the durable queue's write, the
dispatcher's claim, the invoke into a warm environment), not queueing. The handler notes
`time.time()` as it starts; the client notes it just before PutObject; both on one machine.
The first round is a cold start and reported apart.

    .venv/bin/python bench/trigger_bench.py              # 100 rounds, writes bench/results/
    .venv/bin/python bench/trigger_bench.py --rounds 10  # a quick look
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from boto_helpers import client, create_function
from invoke_bench import RESULTS, machine

HANDLER = """
import time
def handler(event, context):
    started = time.time()
    print("STARTED " + event["Records"][0]["s3"]["object"]["key"] + " " + repr(started))
"""


def _percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


def run(rounds: int, isolation: str) -> dict[str, Any]:
    data_dir = tempfile.mkdtemp(prefix="hearth-trigger-bench-")
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "hearth",
            "serve",
            "--port",
            "0",
            "--data-dir",
            data_dir,
            "--isolation",
            isolation,
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    endpoint = ""
    assert server.stdout is not None
    for line in server.stdout:
        if "ready at" in line:
            endpoint = line.split("ready at", 1)[1].strip()
        if "Press Ctrl-C" in line:
            break
    try:
        lam, s3, logs = (client(s, endpoint) for s in ("lambda", "s3", "logs"))
        create_function(lam, "on-put", HANDLER)
        lam.add_permission(
            FunctionName="on-put",
            StatementId="s3",
            Action="lambda:InvokeFunction",
            Principal="s3.amazonaws.com",
            SourceArn="arn:aws:s3:::bench",
        )
        s3.create_bucket(Bucket="bench")
        s3.put_bucket_notification_configuration(
            Bucket="bench",
            NotificationConfiguration={
                "LambdaFunctionConfigurations": [
                    {
                        "LambdaFunctionArn": "arn:aws:lambda:us-east-1:123456789012:function:on-put",
                        "Events": ["s3:ObjectCreated:*"],
                    }
                ]
            },
        )
        latencies: list[float] = []
        cold = 0.0
        seen: set[str] = set()
        since = int(time.time() * 1000) - 1000
        for i in range(rounds + 1):
            key = f"k{i}"
            sent = time.time()
            s3.put_object(Bucket="bench", Key=key, Body=b"x")
            started = None
            deadline = sent + 60
            while started is None and time.time() < deadline:
                for event in logs.filter_log_events(
                    logGroupName="/aws/lambda/on-put", startTime=since
                )["events"]:
                    parts = event["message"].split()
                    if len(parts) == 3 and parts[0] == "STARTED" and parts[1] not in seen:
                        seen.add(parts[1])
                        if parts[1] == key:
                            started = float(parts[2])
                if started is None:
                    time.sleep(0.002)
            assert started is not None, f"round {i}: the function never started"
            if i == 0:
                cold = started - sent
            else:
                latencies.append(started - sent)
        ms = [x * 1000 for x in latencies]
        return {
            "isolation": isolation,
            "rounds": rounds,
            "cold_ms": round(cold * 1000, 1),
            "p50_ms": round(statistics.median(ms), 2),
            "p99_ms": round(_percentile(ms, 0.99), 2),
            "min_ms": round(min(ms), 2),
        }
    finally:
        server.terminate()
        server.wait(30)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=100)
    parser.add_argument("--isolation", default="auto", choices=["auto", "process", "sandbox"])
    args = parser.parse_args()
    result = {
        "machine": machine(),
        "put_object_to_function_start": run(args.rounds, args.isolation),
    }
    print(json.dumps(result, indent=2))
    if args.rounds >= 100:
        RESULTS.mkdir(exist_ok=True)
        (RESULTS / "trigger_bench.json").write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
