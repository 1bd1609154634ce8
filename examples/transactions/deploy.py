#!/usr/bin/env python3
"""Deploy the seeds' transactions pipeline on Hearth, upload a CSV, and show the alerts.

    S3 (transactions.csv) → TransactionProcessor → DynamoDB Customer + Transactions
      → Transactions' stream → TotalNotifier → TransactionTotal, SNS HighBalanceAlert
      → Notifier (logs each alert)

Usage: python examples/transactions/deploy.py [--endpoint-url http://127.0.0.1:9070]
"""

from __future__ import annotations

import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from deploy_common import Deployer, options  # noqa: E402

BUCKET = "transactions-upload"


def main() -> int:
    args = options(__doc__, HERE / "transactions.csv", expect_alerts=3)
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

    return d.upload_and_watch(args, BUCKET, "Notifier", (transactions, "TotalNotifier", mapped))


if __name__ == "__main__":
    sys.exit(main())
