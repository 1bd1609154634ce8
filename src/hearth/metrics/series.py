"""One metric's statistics over a period: count, sum, min, max and a log-scale histogram for
percentiles (CloudWatch's ExtendedStatistics), mergeable so minutes add up to any period."""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

# Buckets 1% wide: a percentile is within 1% of the true value (CloudWatch's own are
# approximations too).
_GROWTH = math.log(1.01)
_ZERO = -(10**9)  # the bucket of values <= 0
STATISTICS = ("SampleCount", "Average", "Sum", "Minimum", "Maximum")


def _bucket(value: float) -> int:
    return _ZERO if value <= 0 else math.floor(math.log(value) / _GROWTH)


@dataclass
class Aggregate:
    count: float = 0.0
    total: float = 0.0
    minimum: float = math.inf
    maximum: float = -math.inf
    histogram: dict[int, float] = field(default_factory=dict)

    def add(self, value: float, count: float = 1.0) -> None:
        self.count += count
        self.total += value * count
        self.minimum = min(self.minimum, value)
        self.maximum = max(self.maximum, value)
        key = _bucket(value)
        self.histogram[key] = self.histogram.get(key, 0.0) + count

    def add_all(self, values: Sequence[float]) -> None:
        """`add` of each value in turn, with the same result (the sum is taken in the same
        order; counts are whole numbers, exact in any order), at a fraction of the cost: a
        minute of one function's invokes is a few values repeated many times."""
        if not values:
            return
        self.count += len(values)
        total = self.total
        for value in values:
            total += value
        self.total = total
        self.minimum = min(self.minimum, *values)
        self.maximum = max(self.maximum, *values)
        histogram = self.histogram
        for value, count in Counter(values).items():
            key = _bucket(value)
            histogram[key] = histogram.get(key, 0.0) + count

    def merge(self, other: Aggregate) -> None:
        self.count += other.count
        self.total += other.total
        self.minimum = min(self.minimum, other.minimum)
        self.maximum = max(self.maximum, other.maximum)
        for key, count in other.histogram.items():
            self.histogram[key] = self.histogram.get(key, 0.0) + count

    def statistic(self, name: str) -> float | None:  # noqa: PLR0911 - one per statistic
        if not self.count:
            return None
        if name == "SampleCount":
            return self.count
        if name == "Sum":
            return self.total
        if name == "Average":
            return self.total / self.count
        if name == "Minimum":
            return self.minimum
        if name == "Maximum":
            return self.maximum
        percent = parse_percentile(name)
        if percent is None:
            raise ValueError(name)
        return self.percentile(percent)

    def percentile(self, percent: float) -> float:
        if percent >= 100:
            return self.maximum
        if percent <= 0:
            return self.minimum
        wanted = self.count * percent / 100
        seen = 0.0
        for key in sorted(self.histogram):
            seen += self.histogram[key]
            if seen >= wanted:
                value = 0.0 if key == _ZERO else math.exp((key + 0.5) * _GROWTH)
                return min(max(value, self.minimum), self.maximum)
        return self.maximum


def parse_percentile(name: str) -> float | None:
    """`p99` or `p99.9` → 99.0 / 99.9; anything else → None."""
    if not name.startswith("p"):
        return None
    try:
        percent = float(name[1:])
    except ValueError:
        return None
    return percent if 0 <= percent <= 100 and name[1:2].isdigit() else None


def merged(aggregates: Iterable[Aggregate]) -> Aggregate:
    total = Aggregate()
    for aggregate in aggregates:
        total.merge(aggregate)
    return total
