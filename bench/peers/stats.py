"""Percentiles of one sample set, and each figure's median over rounds with its spread."""

from __future__ import annotations

import statistics
from typing import Any


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * p))]


def summarize(samples: list[float]) -> dict[str, float]:
    return {
        "p50_ms": round(statistics.median(samples), 3),
        "p99_ms": round(percentile(samples, 0.99), 3),
        "min_ms": round(min(samples), 3),
        "max_ms": round(max(samples), 3),
        "count": len(samples),
    }


def merge_rounds(rounds: list[Any]) -> Any:
    """The same structure as one round, each number replaced by its median over the rounds;
    beside every number a `<key>_spread` [min, max] over the rounds. Strings, booleans and
    None come from the first round, except that a True (a crash, say) in any round wins."""
    first = rounds[0]
    if isinstance(first, dict):
        merged: dict[str, Any] = {}
        for key in first:
            values = [r.get(key) for r in rounds if isinstance(r, dict)]
            present = [v for v in values if v is not None]
            if not present:
                merged[key] = None
                continue
            merged[key] = merge_rounds(present)
            if _is_number(present[0]) and len(present) > 1:
                merged[f"{key}_spread"] = [round(min(present), 3), round(max(present), 3)]
        return merged
    if isinstance(first, bool):
        return any(rounds)
    if _is_number(first):
        return round(statistics.median(rounds), 3)
    return first


def _is_number(value: object) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)
