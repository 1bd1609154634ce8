"""CloudWatch's metric operations: GetMetricData, GetMetricStatistics, ListMetrics,
PutMetricData, over Hearth's per-minute store. Bodies in and out are plain dicts with
`datetime` timestamps; `cloudwatch_wire` speaks the protocols (CBOR, JSON)."""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from hearth.errors import LambdaError
from hearth.metrics.series import STATISTICS, Aggregate, merged, parse_percentile
from hearth.metrics.store import Dimensions, MetricKey, MetricStore, Point

MAX_DATAPOINTS = 1440  # GetMetricStatistics' limit per call
MAX_PUT_DATUMS = 1000
RECENTLY_ACTIVE_SECONDS = 3 * 3600

Operation = Callable[[dict[str, Any]], dict[str, Any]]


def cw_error(code: str, message: str, status: int = 400) -> LambdaError:
    """CloudWatch's errors (its query-protocol codes, as `x-amzn-query-error` carries)."""
    return LambdaError(
        code,
        status,
        message,
        extra={"__type": code},
        headers={"x-amzn-query-error": f"{code};Sender"},
    )


def _invalid(message: str) -> LambdaError:
    return cw_error("InvalidParameterValue", message)


def _missing(name: str) -> LambdaError:
    return cw_error("MissingParameter", f"The parameter {name} is required.")


def _epoch(value: Any, name: str) -> float:
    if isinstance(value, datetime):
        return value.timestamp()
    if isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value):
        return float(value)
    if value is None:
        raise _missing(name)
    raise _invalid(f"The parameter {name} must be a timestamp.")


def _when(epoch: float) -> datetime:
    return datetime.fromtimestamp(epoch, UTC)


def _dimensions(raw: Any, field: str = "Dimensions") -> Dimensions:
    if raw is None:
        return ()
    if not isinstance(raw, list) or len(raw) > 30:
        raise _invalid(f"The parameter {field} must be a list of at most 30 dimensions.")
    pairs = []
    for item in raw:
        if not isinstance(item, dict) or not isinstance(item.get("Name"), str):
            raise _missing(f"{field}.member.Name")
        value = item.get("Value")
        if not isinstance(value, str):
            raise _missing(f"{field}.member.Value")
        pairs.append((item["Name"], value))
    return tuple(sorted(pairs))


def _name(body: dict[str, Any], field: str) -> str:
    value = body.get(field)
    if value is None:
        raise _missing(field)
    if not isinstance(value, str) or not 1 <= len(value) <= 255:
        raise _invalid(f"The parameter {field} must be a string of 1 to 255 characters.")
    return value


class CloudWatchApi:
    def __init__(self, store: MetricStore, flush: Callable[[], None]) -> None:
        self._store = store
        self._flush = flush
        self.operations: dict[str, Operation] = {
            "GetMetricStatistics": self.get_metric_statistics,
            "GetMetricData": self.get_metric_data,
            "ListMetrics": self.list_metrics,
            "PutMetricData": self.put_metric_data,
        }

    def call(self, operation: str, body: dict[str, Any]) -> dict[str, Any]:
        handler = self.operations.get(operation)
        if handler is None:
            raise cw_error("UnknownOperationException", f"Hearth does not serve {operation}.")
        self._flush()  # serve what was recorded so far
        return handler(body)

    def _period(self, body: dict[str, Any], start: float, end: float) -> int:
        period = body.get("Period")
        if period is None:
            raise _missing("Period")
        if isinstance(period, bool) or not isinstance(period, int) or period < 1:
            raise _invalid("The parameter Period must be a positive integer.")
        if period % 60:
            raise _invalid("The parameter Period must be a multiple of 60.")
        if end <= start:
            raise _invalid("The parameter StartTime must be less than the parameter EndTime.")
        return period

    def _buckets(
        self, key: MetricKey, start: float, end: float, period: int
    ) -> list[tuple[int, str, Aggregate]]:
        """(period start, unit, aggregate) for each period with data, oldest first."""
        first = int(start // period * period)
        points = self._store.read(key, first, math.ceil(end))
        grouped: dict[int, list[Point]] = {}
        for point in points:
            grouped.setdefault(point.minute // period * period, []).append(point)
        return [
            (at, found[0].unit, merged(p.aggregate for p in found))
            for at, found in sorted(grouped.items())
        ]

    # GetMetricStatistics ------------------------------------------------------------------
    def get_metric_statistics(self, body: dict[str, Any]) -> dict[str, Any]:
        key = MetricKey(
            _name(body, "Namespace"), _name(body, "MetricName"), _dimensions(body.get("Dimensions"))
        )
        start = _epoch(body.get("StartTime"), "StartTime")
        end = _epoch(body.get("EndTime"), "EndTime")
        period = self._period(body, start, end)
        statistics = body.get("Statistics") or []
        extended = body.get("ExtendedStatistics") or []
        if not statistics and not extended:
            raise cw_error(
                "MissingParameter",
                "Must specify either Statistics or ExtendedStatistics, but not both.",
            )
        for name in statistics:
            if name not in STATISTICS:
                raise _invalid(
                    f"The parameter Statistics.member.1 must be a value in the set "
                    f"[ {', '.join(STATISTICS)} ]. ({name})"
                )
        for name in extended:
            if not isinstance(name, str) or parse_percentile(name) is None:
                raise _invalid(f"The value {name} for parameter ExtendedStatistics is not valid.")
        if (end - start) / period > MAX_DATAPOINTS:
            raise _invalid(
                "You have requested up to "
                f"{math.ceil((end - start) / period)} datapoints, which exceeds the limit of "
                f"{MAX_DATAPOINTS}. You may reduce the datapoints requested by increasing "
                "Period, or decreasing the time range."
            )
        wanted_unit = body.get("Unit")
        datapoints = []
        for at, unit, aggregate in self._buckets(key, start, end, period):
            if wanted_unit and wanted_unit != unit:
                continue
            point: dict[str, Any] = {"Timestamp": _when(at), "Unit": unit}
            for name in statistics:
                point[name] = aggregate.statistic(name)
            if extended:
                point["ExtendedStatistics"] = {n: aggregate.statistic(n) for n in extended}
            datapoints.append(point)
        return {"Label": key.name, "Datapoints": datapoints}

    # GetMetricData ------------------------------------------------------------------------
    def get_metric_data(self, body: dict[str, Any]) -> dict[str, Any]:
        queries = body.get("MetricDataQueries")
        if not isinstance(queries, list) or not queries:
            raise _missing("MetricDataQueries")
        if len(queries) > 500:
            raise _invalid("The collection MetricDataQueries must not have a size above 500.")
        start = _epoch(body.get("StartTime"), "StartTime")
        end = _epoch(body.get("EndTime"), "EndTime")
        newest_first = body.get("ScanBy", "TimestampDescending") == "TimestampDescending"
        results = []
        for query in queries:
            if not isinstance(query, dict) or not isinstance(query.get("Id"), str):
                raise _missing("MetricDataQueries.member.Id")
            if "Expression" in query:
                raise _invalid("Hearth does not evaluate metric math Expressions yet.")
            stat = query.get("MetricStat")
            if not isinstance(stat, dict):
                raise _missing("MetricDataQueries.member.MetricStat")
            metric = stat.get("Metric") or {}
            key = MetricKey(
                _name(metric, "Namespace"),
                _name(metric, "MetricName"),
                _dimensions(metric.get("Dimensions")),
            )
            period = self._period(stat, start, end)
            name = stat.get("Stat")
            if name not in STATISTICS and (not isinstance(name, str) or not parse_percentile(name)):
                raise _invalid(f"The value {name} for parameter MetricStat.Stat is not valid.")
            series = [
                (at, aggregate.statistic(name))
                for at, _, aggregate in self._buckets(key, start, end, period)
            ]
            if newest_first:
                series.reverse()
            if query.get("ReturnData", True) is False:
                continue
            results.append(
                {
                    "Id": query["Id"],
                    "Label": query.get("Label") or key.name,
                    "Timestamps": [_when(at) for at, _ in series],
                    "Values": [value for _, value in series],
                    "StatusCode": "Complete",
                }
            )
        return {"MetricDataResults": results, "Messages": []}

    # ListMetrics --------------------------------------------------------------------------
    def list_metrics(self, body: dict[str, Any]) -> dict[str, Any]:
        namespace, name = body.get("Namespace"), body.get("MetricName")
        filters = body.get("Dimensions") or []
        if not isinstance(filters, list) or not all(
            isinstance(f, dict) and isinstance(f.get("Name"), str) for f in filters
        ):
            raise _invalid("The parameter Dimensions must be a list of dimension filters.")
        since = 0
        if body.get("RecentlyActive") == "PT3H":
            since = int(time.time()) - RECENTLY_ACTIVE_SECONDS
        metrics = []
        for key in self._store.keys(since):
            if namespace and key.namespace != namespace:
                continue
            if name and key.name != name:
                continue
            present = dict(key.dimensions)
            if not all(
                f["Name"] in present and f.get("Value") in (None, present[f["Name"]])
                for f in filters
            ):
                continue
            metrics.append(
                {
                    "Namespace": key.namespace,
                    "MetricName": key.name,
                    "Dimensions": [{"Name": n, "Value": v} for n, v in key.dimensions],
                }
            )
        return {"Metrics": metrics}

    # PutMetricData ------------------------------------------------------------------------
    def put_metric_data(self, body: dict[str, Any]) -> dict[str, Any]:
        namespace = _name(body, "Namespace")
        if namespace.startswith("AWS/"):
            raise _invalid("The value AWS/ for parameter Namespace is invalid.")
        data = body.get("MetricData")
        if not isinstance(data, list) or not data:
            raise _missing("MetricData")
        if len(data) > MAX_PUT_DATUMS:
            raise _invalid(
                f"The collection MetricData must not have a size greater than {MAX_PUT_DATUMS}."
            )
        now = time.time()
        points = []
        for index, datum in enumerate(data, 1):
            if not isinstance(datum, dict):
                raise _missing(f"MetricData.member.{index}.MetricName")
            key = MetricKey(
                namespace, _name(datum, "MetricName"), _dimensions(datum.get("Dimensions"))
            )
            at = _epoch(datum["Timestamp"], "Timestamp") if "Timestamp" in datum else now
            aggregate = _datum_aggregate(datum, index)
            points.append(Point(key, int(at // 60 * 60), datum.get("Unit") or "None", aggregate))
        self._store.add(points)
        return {}


def _datum_aggregate(datum: dict[str, Any], index: int) -> Aggregate:
    aggregate = Aggregate()
    given = [k for k in ("Value", "Values", "StatisticValues") if k in datum]
    if len(given) != 1:
        raise cw_error(
            "InvalidParameterCombination",
            f"The parameters MetricData.member.{index}.Value, Values and StatisticValues are "
            "mutually exclusive and one of them must be specified.",
        )
    if "Value" in datum:
        aggregate.add(_number(datum["Value"], index))
    elif "Values" in datum:
        values = datum["Values"]
        counts = datum.get("Counts") or [1] * len(values)
        if not isinstance(values, list) or len(counts) != len(values):
            raise _invalid(f"MetricData.member.{index}.Values and Counts must be the same size.")
        for value, count in zip(values, counts, strict=True):
            aggregate.add(_number(value, index), _number(count, index))
    else:
        stats = datum["StatisticValues"]
        if not isinstance(stats, dict):
            raise _missing(f"MetricData.member.{index}.StatisticValues.SampleCount")
        count, total = _number(stats.get("SampleCount"), index), _number(stats.get("Sum"), index)
        low, high = _number(stats.get("Minimum"), index), _number(stats.get("Maximum"), index)
        aggregate = Aggregate(count, total, low, high)
        aggregate.histogram = {}
        if count:  # the mean stands for the distribution it summarises
            mean = Aggregate()
            mean.add(total / count, count)
            aggregate.histogram = mean.histogram
    return aggregate


def _number(value: Any, index: int) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise _invalid(f"The value for MetricData.member.{index} must be a finite number.")
    return float(value)
