"""The model fuzz, larger: requests generated from botocore's Lambda model against a real server.

The suite runs a bounded, seeded slice of this (tests/integration/test_model_fuzz.py). Here,
many seeds and requests; the answer to look at is the number of 5xx, which must be 0.

    .venv/bin/python bench/fuzz_bench.py                       # 20,000 requests, 8 seeds
    .venv/bin/python bench/fuzz_bench.py --requests 2000 --seeds 1
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).parent))
from invoke_bench import create_function, handler_zip, machine, start_hearth  # noqa: E402
from tests.integration.model_fuzz import KNOWN_FUNCTION, Fuzzer, send  # noqa: E402

RESULTS = Path(__file__).parent / "results"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--requests", type=int, default=20_000)
    parser.add_argument("--seeds", type=int, default=8)
    parser.add_argument("--out", type=Path, default=RESULTS / "fuzz.json")
    args = parser.parse_args()
    statuses: Counter[int] = Counter()
    by_operation: Counter[str] = Counter()
    failures: list[dict[str, Any]] = []
    started = time.perf_counter()
    with tempfile.TemporaryDirectory() as data_dir:
        process, target, _ = start_hearth(data_dir, [])
        endpoint = f"http://{target.host}:{target.port}"
        try:
            create_function(target, KNOWN_FUNCTION, handler_zip())
            per_seed = args.requests // args.seeds
            for seed in range(args.seeds):
                for request in Fuzzer(seed).requests(per_seed):
                    status, body = send(endpoint, request)
                    statuses[status] += 1
                    by_operation[request.operation] += 1
                    if status >= 500:
                        failures.append(
                            {
                                "seed": seed,
                                "operation": request.operation,
                                "path": request.path,
                                "body": request.body[:200].decode("latin-1"),
                                "answer": body[:200].decode("latin-1"),
                            }
                        )
        finally:
            process.terminate()
            process.wait(30)
    results = {
        "machine": machine(),
        "requests": sum(statuses.values()),
        "seconds": round(time.perf_counter() - started, 1),
        "server_errors_5xx": len(failures),
        "statuses": {str(k): v for k, v in sorted(statuses.items())},
        "operations": len(by_operation),
        "first_failures": failures[:20],
    }
    text = json.dumps(results, indent=2)
    print(text)
    args.out.write_text(text + "\n")
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
