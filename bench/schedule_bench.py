"""Schedule benchmark: how late a schedule's function starts after its time, on a real
`hearth serve`.

EventBridge Scheduler `at()` schedules, one per second, each invoking a warm function that
prints its start time; the figure is that start minus the schedule's second (the loop's
wake-up, the durable queue's write, the dispatcher's claim, the invoke).

    .venv/bin/python bench/schedule_bench.py              # 20 schedules, writes bench/results/
    .venv/bin/python bench/schedule_bench.py --count 5    # a quick look, writes nothing
"""

from __future__ import annotations

import argparse
import json
import math
import shutil
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from boto_helpers import client, create_function
from invoke_bench import RESULTS, machine, percentile, start_hearth

FN = "arn:aws:lambda:us-east-1:123456789012:function:on-time"
HANDLER = """
import time
def handler(event, context):
    print("STARTED " + event["n"] + " " + repr(time.time()))
"""


def run(count: int) -> dict[str, Any]:
    work = tempfile.mkdtemp(prefix="hearth-schedule-bench-")
    process, target, isolation = start_hearth(work, [])
    endpoint = f"http://{target.host}:{target.port}"
    try:
        lam, scheduler, logs = (client(s, endpoint) for s in ("lambda", "scheduler", "logs"))
        create_function(lam, "on-time", HANDLER)
        lam.invoke(FunctionName="on-time", Payload=b'{"n": "warm"}')
        first = math.ceil(time.time()) + 3
        when: dict[str, float] = {}
        for i in range(count):
            at = first + i
            expression = datetime.fromtimestamp(at, UTC).strftime("at(%Y-%m-%dT%H:%M:%S)")
            scheduler.create_schedule(
                Name=f"s{i}",
                ScheduleExpression=expression,
                FlexibleTimeWindow={"Mode": "OFF"},
                Target={"Arn": FN, "RoleArn": "arn:aws:iam::123456789012:role/s",
                        "Input": json.dumps({"n": str(i)})},
            )  # fmt: skip
            when[str(i)] = float(at)
        started: dict[str, float] = {}
        deadline = first + count + 30
        while len(started) < count and time.time() < deadline:
            for event in logs.filter_log_events(logGroupName="/aws/lambda/on-time")["events"]:
                parts = event["message"].split()
                if len(parts) == 3 and parts[0] == "STARTED" and parts[1] in when:
                    started[parts[1]] = float(parts[2])
            time.sleep(0.2)
        late = [(started[n] - when[n]) * 1000 for n in started]
        return {
            "isolation": isolation,
            "schedules": count,
            "fired": len(started),
            "p50_ms": round(statistics.median(late), 1),
            "p99_ms": round(percentile(late, 0.99), 1),
            "min_ms": round(min(late), 1),
        }
    finally:
        process.terminate()
        process.wait(30)
        shutil.rmtree(work, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=20)
    args = parser.parse_args()
    result = {"machine": machine(), "at_schedule_to_function_start": run(args.count)}
    print(json.dumps(result, indent=2))
    if args.count >= 20:
        RESULTS.mkdir(exist_ok=True)
        (RESULTS / "schedule_bench.json").write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
