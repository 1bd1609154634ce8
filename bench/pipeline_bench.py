"""Pipeline benchmark, on one real `hearth serve` with its embedded services:

- PutItem → stream-triggered function starting (p50, p99): a table with a stream, an event
  source mapping (BatchSize 1) to a function that prints its start time; one PutItem at a
  time, each waited for, so the figure is the trigger's latency (DynamoDB Streams' record,
  the poller's read, the invoke into a warm environment), not queueing;
- the transactions pipeline end to end (examples/transactions): one CSV of 100 rows uploaded
  to S3 → TransactionProcessor → DynamoDB → stream → TotalNotifier → SNS → Notifier; the
  time from the upload to the last alert logged by Notifier (10 customers, 10 rows of 200 each:
  each crosses 1,500 at its 8th row, so 30 alerts). The first CSV meets cold environments;
  the next ones warm ones, and their median is the figure.

    .venv/bin/python bench/pipeline_bench.py             # 100 PutItems, 4 CSVs; writes results
    .venv/bin/python bench/pipeline_bench.py --quick     # a quick look, writes nothing
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "examples"))
from deploy_common import Deployer
from invoke_bench import RESULTS, handler_zip, machine, percentile, start_hearth

EXAMPLE = Path(__file__).resolve().parent.parent / "examples" / "transactions"
ROLE = "arn:aws:iam::123456789012:role/bench"
ON_INSERT = """
import time
def handler(event, context):
    started = time.time()
    for record in event["Records"]:
        print("STARTED " + record["dynamodb"]["Keys"]["id"]["S"] + " " + repr(started))
"""


def _started(logs: Any, group: str, since: int, key: str, timeout: float = 60) -> float:
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            events = logs.filter_log_events(
                logGroupName=group, startTime=since, filterPattern=f'"STARTED {key} "'
            )["events"]
        except logs.exceptions.ResourceNotFoundException:
            events = []
        for event in events:
            parts = event["message"].split()
            if len(parts) == 3 and parts[1] == key:
                return float(parts[2])
        time.sleep(0.002)
    raise RuntimeError(f"{key}: the function never started")


def stream_trigger(d: Deployer, rounds: int) -> dict[str, Any]:
    table = d.table("Bench", [("id", "HASH")], stream=True)
    d.lam.create_function(
        FunctionName="on-insert",
        Runtime="python3.12",
        Role=ROLE,
        Handler="app.handler",
        Code={"ZipFile": handler_zip(ON_INSERT)},
    )
    d.lam.get_waiter("function_active_v2").wait(FunctionName="on-insert")
    d.lam.create_event_source_mapping(
        EventSourceArn=table["LatestStreamArn"],
        FunctionName="on-insert",
        StartingPosition="LATEST",
        BatchSize=1,
    )
    time.sleep(2)  # the mapping's poller has its shard iterator (LATEST: after this)
    since = int(time.time() * 1000) - 1000
    latencies, cold = [], 0.0
    for i in range(rounds + 1):
        key = f"k{i}"
        sent = time.time()
        d.ddb.put_item(TableName="Bench", Item={"id": {"S": key}})
        started = _started(d.logs, "/aws/lambda/on-insert", since, key)
        if i == 0:
            cold = started - sent
        else:
            latencies.append((started - sent) * 1000)
    return {
        "rounds": rounds,
        "cold_ms": round(cold * 1000, 1),
        "p50_ms": round(statistics.median(latencies), 1),
        "p99_ms": round(percentile(latencies, 0.99), 1),
        "min_ms": round(min(latencies), 1),
    }


def _csv(run: int) -> str:
    lines = ["customer_id|customer_address|trn_id|trn_date|trn_amount"]
    for row in range(100):
        customer = f"R{run}C{row % 10}"
        lines.append(f"{customer}|{row % 10} Bench St|R{run}T{row:03d}|2026-11-01|200")
    return "\n".join(lines) + "\n"


def pipeline(d: Deployer, runs: int, work: Path) -> dict[str, Any]:
    d.table("Customer", [("CustomerId", "HASH")])
    transactions = d.table(
        "Transactions", [("CustomerId", "HASH"), ("TransactionId", "RANGE")], stream=True
    )
    d.table("TransactionTotal", [("CustomerId", "HASH")])
    bucket = "transactions-upload"
    d.bucket(bucket)
    topic = d.topic("HighBalanceAlert")
    processor = d.function("TransactionProcessor", EXAMPLE / "transaction_processor")
    d.function("TotalNotifier", EXAMPLE / "total_notifier")
    notifier = d.function("Notifier", EXAMPLE / "notifier")
    d.s3_trigger(bucket, "TransactionProcessor", processor, ".csv")
    d.sns_trigger(topic, "Notifier", notifier)
    if not d.stream_trigger(transactions, "TotalNotifier"):
        raise RuntimeError("this Hearth has no event source mappings")
    seconds = []
    for run in range(runs):
        path = work / f"run{run}.csv"
        path.write_text(_csv(run))
        started = time.time()
        d.s3.upload_file(str(path), bucket, f"uploads/run{run}.csv")
        deadline = started + 180
        alerts: list[dict[str, Any]] = []
        while time.time() < deadline:
            try:
                events = d.logs.filter_log_events(
                    logGroupName="/aws/lambda/Notifier",
                    startTime=int(started * 1000) - 1000,
                    filterPattern=f'"R{run}C"',
                )["events"]
            except d.logs.exceptions.ResourceNotFoundException:
                events = []  # Notifier has not run yet
            alerts = [e for e in events if "ALERT " in e["message"]]
            if len(alerts) >= 30:
                break
            time.sleep(0.05)
        if len(alerts) < 30:
            raise RuntimeError(f"run {run}: {len(alerts)} of 30 alerts")
        last = max(e["timestamp"] for e in alerts) / 1000
        seconds.append(last - started)
        d.say(f"CSV {run}: last of 30 alerts {last - started:.2f} s after the upload")
    warm = seconds[1:] or seconds
    return {
        "rows": 100,
        "alerts": 30,
        "runs": runs,
        "cold_seconds": round(seconds[0], 2),
        "warm_median_seconds": round(statistics.median(warm), 2),
        "all_seconds": [round(s, 2) for s in seconds],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=100)
    parser.add_argument("--csvs", type=int, default=4)
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    rounds, runs = (10, 2) if args.quick else (args.rounds, args.csvs)
    work = Path(tempfile.mkdtemp(prefix="hearth-pipeline-bench-"))
    process, target, isolation = start_hearth(str(work / "data"), [])
    try:
        d = Deployer(f"http://{target.host}:{target.port}", key="bench", secret="bench")
        result = {
            "machine": machine(),
            "isolation": isolation,
            "put_item_to_function_start": stream_trigger(d, rounds),
            "transactions_pipeline_100_rows": pipeline(d, runs, work),
        }
    finally:
        process.terminate()
        process.wait(30)
        shutil.rmtree(work, ignore_errors=True)
    print(json.dumps(result, indent=2))
    if not args.quick:
        RESULTS.mkdir(exist_ok=True)
        (RESULTS / "pipeline_bench.json").write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
