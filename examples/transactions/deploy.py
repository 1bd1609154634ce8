#!/usr/bin/env python3
"""Deploy the seeds' transactions pipeline on Hearth, upload a CSV, and show the alerts.

    S3 (transactions.csv) → TransactionProcessor → DynamoDB Customer + Transactions
      → Transactions' stream → TotalNotifier → TransactionTotal, SNS HighBalanceAlert
      → Notifier (logs each alert)

Usage: python examples/transactions/deploy.py [--endpoint-url http://127.0.0.1:9070]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from deploy_common import Deployer  # noqa: E402

BUCKET = "transactions-upload"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--endpoint-url", default="http://127.0.0.1:9070")
    parser.add_argument("--csv", type=Path, default=HERE / "transactions.csv")
    parser.add_argument("--expect-alerts", type=int, default=3)
    parser.add_argument("--timeout", type=float, default=120.0)
    args = parser.parse_args()

    d = Deployer(args.endpoint_url)
    d.table("Customer", [("CustomerId", "HASH")])
    transactions = d.table(
        "Transactions", [("CustomerId", "HASH"), ("TransactionId", "RANGE")], stream=True
    )
    d.table("TransactionTotal", [("CustomerId", "HASH")])
    d.bucket(BUCKET)
    topic = d.topic("HighBalanceAlert")
    processor = d.function("TransactionProcessor", HERE / "transaction_processor")
    d.function("TotalNotifier", HERE / "total_notifier")
    notifier = d.function("Notifier", HERE / "notifier")
    d.s3_trigger(BUCKET, "TransactionProcessor", processor, ".csv")
    d.sns_trigger(topic, "Notifier", notifier)
    mapped = d.stream_trigger(transactions, "TotalNotifier")

    started = int(time.time() * 1000)
    key = f"uploads/{int(time.time())}-{args.csv.name}"
    d.s3.upload_file(str(args.csv), BUCKET, key)
    d.say(f"uploaded s3://{BUCKET}/{key}; waiting for alerts")
    deadline = time.time() + args.timeout
    positions: dict[str, str] = {}
    seen: list[str] = []
    while time.time() < deadline:
        if not mapped:
            d.relay_stream(transactions, "TotalNotifier", deadline, positions)
        for alert in d.alerts("Notifier", started):
            if alert not in seen:
                seen.append(alert)
                print(f"    {alert}", flush=True)
        if len(seen) >= args.expect_alerts:
            d.say(f"{len(seen)} alerts arrived")
            return 0
        time.sleep(0.5)
    d.say(f"only {len(seen)} of {args.expect_alerts} alerts within {args.timeout:g} s")
    return 1


if __name__ == "__main__":
    sys.exit(main())
