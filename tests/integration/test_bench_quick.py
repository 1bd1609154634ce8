"""The benchmark's --quick mode runs in the suite, so the benchmark code cannot rot."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

BENCH = Path(__file__).resolve().parents[2] / "bench" / "invoke_bench.py"


def test_invoke_bench_quick(tmp_path: Path) -> None:
    out = tmp_path / "quick.json"
    subprocess.run(
        [sys.executable, str(BENCH), "--quick", "--out", str(out)],
        check=True,
        timeout=300,
        capture_output=True,
    )
    results = json.loads(out.read_text())
    hearth = results["median"]["hearth"]
    assert hearth["warm"]["count"] == 200
    assert hearth["concurrency_8"]["errors"] == 0
    assert hearth["cold_start"]["p50_ms"] > 0
    assert results["ratios"]["warm_p50_vs_floor"] > 0
