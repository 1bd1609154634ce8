"""CloudWatch's Embedded Metric Format: a JSON log line with an `_aws` section becomes
metrics (what AWS Lambda Powertools and the aws-embedded-metrics libraries write).

The line's root holds the values; `_aws.CloudWatchMetrics[]` says which keys are metrics (by
`Name`, with `Unit`) under which namespace and dimension sets (lists of root keys)."""

from __future__ import annotations

import json
import math
from collections.abc import Iterable
from typing import Any

from hearth.metrics.recorder import Sample, fold
from hearth.metrics.store import Dimensions, Point

MAX_DIMENSIONS = 30
MAX_VALUES = 100


def _dimension_sets(directive: dict[str, Any], root: dict[str, Any]) -> tuple[Dimensions, ...]:
    sets = []
    for keys in directive.get("Dimensions") or [[]]:
        if not isinstance(keys, list) or len(keys) > MAX_DIMENSIONS:
            return ()
        pairs = []
        for key in keys:
            value = root.get(key) if isinstance(key, str) else None
            if not isinstance(value, str):
                return ()  # AWS drops a directive whose dimension is missing or not a string
            pairs.append((key, value))
        sets.append(tuple(sorted(pairs)))
    return tuple(sets)


def _values(raw: Any) -> list[float]:
    found = raw if isinstance(raw, list) else [raw]
    values = [
        float(v)
        for v in found[:MAX_VALUES]
        if isinstance(v, int | float) and not isinstance(v, bool) and math.isfinite(v)
    ]
    return values if len(values) == len(found[:MAX_VALUES]) else []


def samples(message: str, fallback_ms: int) -> list[tuple[str, Sample]]:
    """(namespace, sample) for every metric an EMF line declares; [] for any other line."""
    if not message.startswith("{") or '"_aws"' not in message:
        return []
    try:
        root = json.loads(message)
    except ValueError:
        return []
    meta = root.get("_aws") if isinstance(root, dict) else None
    if not isinstance(meta, dict) or not isinstance(meta.get("CloudWatchMetrics"), list):
        return []
    stamp = meta.get("Timestamp")
    at_ms = stamp if isinstance(stamp, int) and not isinstance(stamp, bool) else fallback_ms
    found: list[tuple[str, Sample]] = []
    for directive in meta["CloudWatchMetrics"]:
        if not isinstance(directive, dict):
            continue
        namespace = directive.get("Namespace")
        if not isinstance(namespace, str) or not namespace or namespace.startswith("AWS/"):
            continue
        sets = _dimension_sets(directive, root)
        for metric in directive.get("Metrics") or []:
            name = metric.get("Name") if isinstance(metric, dict) else None
            if not isinstance(name, str) or not sets:
                continue
            unit = metric.get("Unit") if isinstance(metric.get("Unit"), str) else "None"
            for value in _values(root.get(name)):
                found.append((namespace, Sample(name, unit, value, sets, at_ms / 1000)))
    return found


def points(events: Iterable[tuple[str, str, int, str]]) -> list[Point]:
    """The metrics in a batch of (group, stream, timestamp_ms, message) log events."""
    by_namespace: dict[str, list[Sample]] = {}
    for _group, _stream, timestamp, message in events:
        for namespace, sample in samples(message, timestamp):
            by_namespace.setdefault(namespace, []).append(sample)
    return [p for ns, found in by_namespace.items() for p in fold(found, ns)]
