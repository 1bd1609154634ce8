"""Metrics benchmark: what recording AWS/Lambda metrics costs the invoke path, and what the
once-a-second fold costs off it.

- `record`: one `LambdaMetrics.invoked` call, as the invoker makes it after every invoke (the
  only metrics work on the invoke path);
- `fold`: the timer's work per recorded invoke (dimension sets, aggregates, Prometheus, one
  SQLite transaction for the batch), measured over batches of 1,000.

    .venv/bin/python bench/metrics_bench.py            # prints JSON, writes bench/results/
    .venv/bin/python bench/metrics_bench.py --quick
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from pathlib import Path

from hearth.metrics.recorder import LambdaMetrics
from hearth.metrics.store import SqliteMetricStore

RESULTS = Path(__file__).parent / "results"


def measure(rounds: int, batch: int) -> dict[str, float]:
    with tempfile.TemporaryDirectory() as where:
        store = SqliteMetricStore(Path(where) / "metrics.sqlite3")
        metrics = LambdaMetrics(store)
        record_ns, fold_ns = [], []
        for _ in range(rounds):
            started = time.perf_counter_ns()
            for i in range(batch):
                metrics.invoked("bench", None, "$LATEST", 1.5 + i % 7, i % 50 == 0, 1, 1)
            record_ns.append((time.perf_counter_ns() - started) / batch)
            started = time.perf_counter_ns()
            metrics.flush()
            fold_ns.append((time.perf_counter_ns() - started) / batch)
        store.close()
    return {
        "record_ns_per_invoke_p50": round(statistics.median(record_ns), 1),
        "fold_us_per_invoke_p50": round(statistics.median(fold_ns) / 1000, 2),
        "rounds": rounds,
        "batch": batch,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    result = measure(20 if args.quick else 200, 1000)
    print(json.dumps(result, indent=2))
    if not args.quick:
        (RESULTS / "metrics.json").write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
