"""The peers benchmark's --quick mode (Hearth and the floor, every workload) runs in the suite,
so the benchmark code cannot rot; its pure parts are checked directly."""

from __future__ import annotations

import importlib
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

BENCH = Path(__file__).resolve().parents[2] / "bench"


def test_peers_bench_quick(tmp_path: Path) -> None:
    out = tmp_path / "peers.json"
    subprocess.run(
        [sys.executable, str(BENCH / "compare.py"), "--quick", "--out", str(out)],
        check=True,
        timeout=300,
        capture_output=True,
    )
    results = json.loads(out.read_text())
    median = results["median"]
    assert set(median) == {"python-trivial", "python-heavy", "node"}
    for workload, by_tool in median.items():
        hearth = next(figures for name, figures in by_tool.items() if name.startswith("hearth"))
        assert hearth["warm"]["count"] == 100 and hearth["warm"]["errors"] == 0, workload
        assert hearth["warm_boto3"]["errors"] == 0, workload
        assert hearth["cold"]["count"] == 3 and hearth["cold"]["errors"] == 0, workload
        assert hearth["concurrency_8"]["errors"] == 0, workload
        assert hearth["concurrency_8"]["per_second"] > 0, workload
        assert hearth["crashed"] is False
        # The whole tree: the server, the zygote and the environments.
        assert hearth["peak_memory"]["processes"] >= 3, workload
        assert hearth["peak_memory"]["pss_mb"] > 0
        assert hearth["per_env_mb"]["pss_mb"] > 0, workload
        floor = by_tool["floor"]
        assert floor["warm"]["errors"] == 0 and floor["concurrency_1"]["errors"] == 0
    assert median["python-trivial"]["floor"]["cold"]["errors"] == 0
    assert median["node"]["floor"]["cold"] is None  # no fork floor for Node.js
    # Initialising the heavy package costs far more than the trivial handler's cold start.
    heavy_hearth = next(f for n, f in median["python-heavy"].items() if n.startswith("hearth"))
    trivial_hearth = next(f for n, f in median["python-trivial"].items() if n.startswith("hearth"))
    assert heavy_hearth["cold"]["p50_ms"] > trivial_hearth["cold"]["p50_ms"]
    assert results["heavy_workload"]["import_ms"] > 5
    assert results["ratios"]["python-trivial"]["floor"]["warm_p50"] is not None

    # The report's tables (no matplotlib needed for them) render from the same results.
    report = _bench_module("peers.report")
    text = report.markdown(results)
    assert "## python-heavy" in text and "| hearth" in text and "LocalStack" in text
    assert text.count("| floor |") >= 3
    assert "| node | floor | — |" in report.summary(results)


def _bench_module(name: str) -> Any:
    sys.path.insert(0, str(BENCH))
    try:
        return importlib.import_module(name)
    finally:
        sys.path.remove(str(BENCH))


def test_merge_rounds_takes_medians_and_spreads() -> None:
    stats = _bench_module("peers.stats")
    merge_rounds, percentile = stats.merge_rounds, stats.percentile
    rounds = [
        {"t": {"p50_ms": 1.0, "crashed": False, "note": "a"}},
        {"t": {"p50_ms": 3.0, "crashed": True, "note": "b"}},
        {"t": {"p50_ms": 2.0, "crashed": False, "note": "c"}},
    ]
    merged = merge_rounds(rounds)
    assert merged["t"]["p50_ms"] == 2.0
    assert merged["t"]["p50_ms_spread"] == [1.0, 3.0]
    assert merged["t"]["crashed"] is True  # a crash in any round is reported
    assert merged["t"]["note"] == "a"
    assert percentile(list(map(float, range(100))), 0.99) == 99.0
