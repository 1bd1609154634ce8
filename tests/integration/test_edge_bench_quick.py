"""The edge benchmark's --quick mode runs in the suite, so the benchmark code cannot rot."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

BENCH = Path(__file__).resolve().parents[2] / "bench" / "edge_bench.py"


def test_edge_bench_quick(tmp_path: Path) -> None:
    out = tmp_path / "edge.json"
    subprocess.run(
        [sys.executable, str(BENCH), "--quick", "--out", str(out)],
        check=True,
        timeout=300,
        capture_output=True,
    )
    results = json.loads(out.read_text())
    for phase, count in (("baseline", 20), ("under_attack", 20), ("after", 10)):
        assert results[phase]["errors"] == 0, results[phase]
        assert results[phase]["invoke"]["count"] == count
    assert results["attack_connections_held_at_start"] == 60
