"""The HTTP-in benchmark's --quick mode runs in the suite, so its code cannot rot."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

BENCH = Path(__file__).resolve().parents[2] / "bench" / "http_bench.py"


def test_http_bench_quick(tmp_path: Path) -> None:
    out = tmp_path / "http.json"
    subprocess.run(
        [sys.executable, str(BENCH), "--quick", "--out", str(out)],
        check=True,
        timeout=300,
        capture_output=True,
    )
    results = json.loads(out.read_text())
    assert results["function_url"]["warm"]["count"] >= 100
    assert results["function_url"]["concurrency_8"]["errors"] == 0
    assert results["invoke"]["concurrency_8"]["errors"] == 0
    # The first byte arrived while the function was still running (it sleeps 50 ms after).
    assert 0 < results["streamed_ttfb"]["p50_ms"] < 50
