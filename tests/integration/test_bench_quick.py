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


ASYNC_BENCH = BENCH.parent / "async_bench.py"


def test_async_bench_quick(tmp_path: Path) -> None:
    out = tmp_path / "async.json"
    subprocess.run(
        [sys.executable, str(ASYNC_BENCH), "--quick", "--out", str(out)],
        check=True,
        timeout=300,
        capture_output=True,
    )
    results = json.loads(out.read_text())
    median = results["median"]
    loaded = median[f"accepted_concurrency_{results['connections']}"]
    assert loaded["accepted"] > 0 and loaded["errors"] == 0
    assert median["drain"]["events"] == loaded["accepted"]  # every accepted event ran
    assert median["accept_latency"]["count"] == 100
    assert "Accepted Event invokes/s" in (tmp_path / "async.md").read_text()


SOAK_BENCH = BENCH.parent / "soak_bench.py"


def test_soak_bench_quick(tmp_path: Path) -> None:
    out = tmp_path / "soak.json"
    subprocess.run(
        [sys.executable, str(SOAK_BENCH), "--quick", "--out", str(out)],
        check=True,
        timeout=300,
        capture_output=True,
    )
    results = json.loads(out.read_text())
    assert [s["invokes"] for s in results["samples"]] == [0, 500, 1000, 1500, 2000]
    assert results["samples"][-1]["environment_kb"]["VmRSS"] > 0
    assert (tmp_path / "soak.md").read_text().startswith("# Soak: 2,000 warm invokes")
