"""Each peer's figures over Hearth's, per workload: the ratios the report and README show."""

from __future__ import annotations

from typing import Any


def ratios(median: dict[str, Any]) -> dict[str, Any]:
    """Per workload, each peer's figure divided by Hearth's (> 1: Hearth is faster / leaner;
    for throughput, Hearth's divided by the peer's, so > 1 still means Hearth is better).
    Hearth is its first column (the sandbox, when this build has one)."""
    out: dict[str, Any] = {}
    for workload, by_tool in median.items():
        hearth_name = next((n for n in by_tool if n.startswith("hearth")), None)
        if hearth_name is None or "failed" in by_tool[hearth_name]:
            continue
        hearth = by_tool[hearth_name]
        out[workload] = {}
        for name, peer in by_tool.items():
            if name.startswith("hearth") or "skipped" in peer or "failed" in peer:
                continue
            row: dict[str, float | None] = {}
            for key, path in (
                ("cold_p50", ("cold", "p50_ms")),
                ("warm_p50", ("warm", "p50_ms")),
                ("warm_p99", ("warm", "p99_ms")),
                ("boto3_p50", ("warm_boto3", "p50_ms")),
                ("peak_pss", ("peak_memory", "pss_mb")),
                ("one_env_pss", ("memory_one_env", "pss_mb")),
            ):
                row[key] = _ratio(_get(peer, path), _get(hearth, path))
            for key, section in (
                ("throughput_c1", "concurrency_1"),
                ("throughput_c8", "concurrency_8"),
            ):
                path = (section, "per_second")
                # No ratio to a tool that failed under that load: it is reported as failing.
                # (A crash can only happen in the last phase, the 8-client one.)
                crashed = peer.get("crashed") and section == "concurrency_8"
                failing = (peer.get(section) or {}).get("errors") or crashed
                row[key] = None if failing else _ratio(_get(hearth, path), _get(peer, path))
            out[workload][name] = row
    return out


def _get(figures: dict[str, Any], path: tuple[str, str]) -> float | None:
    inner = figures.get(path[0])
    return inner.get(path[1]) if isinstance(inner, dict) else None


def _ratio(numerator: float | None, denominator: float | None) -> float | None:
    if not numerator or not denominator:
        return None
    return round(numerator / denominator, 2)
