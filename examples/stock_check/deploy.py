#!/usr/bin/env python3
"""Deploy the seeds' stock check on Hearth, upload an inventory CSV, and show the alerts.

    S3 (inventory.csv) → LoadInventory → DynamoDB Inventory → Inventory's stream
      → StockCheck → SNS NoStock → Notifier (logs each alert)

Usage: python examples/stock_check/deploy.py [--endpoint-url http://127.0.0.1:9070]
"""

from __future__ import annotations

import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from deploy_common import Deployer, options  # noqa: E402

BUCKET = "inventory-upload"


def main() -> int:
    args = options(__doc__, HERE / "inventory.csv", expect_alerts=2)
    d = Deployer(args.endpoint_url)
    inventory = d.table("Inventory", [("Store", "HASH"), ("Item", "RANGE")], stream=True)
    d.bucket(BUCKET)
    topic = d.topic("NoStock")
    loader = d.function("LoadInventory", HERE / "load_inventory")
    d.function("StockCheck", HERE / "stock_check")
    notifier = d.function("StockNotifier", HERE / "notifier")
    d.s3_trigger(BUCKET, "LoadInventory", loader, ".csv")
    d.sns_trigger(topic, "StockNotifier", notifier)
    mapped = d.stream_trigger(inventory, "StockCheck")

    return d.upload_and_watch(args, BUCKET, "StockNotifier", (inventory, "StockCheck", mapped))


if __name__ == "__main__":
    sys.exit(main())
