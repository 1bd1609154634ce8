"""Metric aggregates, the two stores (one contract), and how samples fold into minutes."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from hearth.metrics.recorder import LambdaMetrics, dimension_sets, fold
from hearth.metrics.series import Aggregate, merged, parse_percentile
from hearth.metrics.store import MemoryMetricStore, MetricKey, MetricStore, Point, SqliteMetricStore


def test_aggregate_statistics_and_percentiles() -> None:
    aggregate = Aggregate()
    for value in range(1, 101):
        aggregate.add(float(value))
    assert aggregate.statistic("SampleCount") == 100
    assert aggregate.statistic("Sum") == 5050
    assert aggregate.statistic("Average") == 50.5
    assert (aggregate.statistic("Minimum"), aggregate.statistic("Maximum")) == (1, 100)
    for percent in (50, 90, 99):
        found = aggregate.statistic(f"p{percent}")
        assert found is not None and abs(found - percent) <= percent * 0.011
    assert aggregate.statistic("p100") == 100
    assert Aggregate().statistic("Sum") is None  # no data, no datapoint


def test_merging_minutes_equals_one_aggregate() -> None:
    whole, parts = Aggregate(), [Aggregate(), Aggregate()]
    for i, value in enumerate([0.0, 3.0, 5.5, 1000.0, 2.0]):
        whole.add(value)
        parts[i % 2].add(value)
    assert merged(parts) == whole


@pytest.mark.parametrize(
    ("name", "expected"), [("p99", 99.0), ("p99.9", 99.9), ("p0", 0.0), ("p101", None),
                           ("pX", None), ("Sum", None), ("p", None)]
)  # fmt: skip
def test_percentile_names(name: str, expected: float | None) -> None:
    assert parse_percentile(name) == expected


@pytest.fixture(params=["memory", "sqlite"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[MetricStore]:
    made: MetricStore = (
        MemoryMetricStore() if request.param == "memory" else SqliteMetricStore(tmp_path / "m.db")
    )
    yield made
    made.close()


def _point(key: MetricKey, minute: int, *values: float) -> Point:
    aggregate = Aggregate()
    for value in values:
        aggregate.add(value)
    return Point(key, minute, "Count", aggregate)


def test_store_merges_reads_in_order_and_expires(store: MetricStore) -> None:
    key = MetricKey("AWS/Lambda", "Invocations", (("FunctionName", "f"),))
    other = MetricKey("AWS/Lambda", "Errors", ())
    store.add([_point(key, 120, 1, 1), _point(key, 60, 1), _point(other, 60, 0)])
    store.add([_point(key, 120, 1)])  # adding again counts again
    found = store.read(key, 0, 600)
    assert [(p.minute, p.aggregate.count) for p in found] == [(60, 1), (120, 3)]
    assert store.read(key, 61, 120) == []
    assert store.keys() == [other, key]
    assert store.keys(since=120) == [key]
    store.expire(before=120)
    assert [p.minute for p in store.read(key, 0, 600)] == [120]
    assert store.read(other, 0, 600) == []


def test_dimension_sets_as_aws_publishes_them() -> None:
    assert dimension_sets("f", None, None) == (
        (),
        (("FunctionName", "f"),),
        (("FunctionName", "f"), ("Resource", "f")),
    )
    qualified = dimension_sets("f", "live", "3")
    assert qualified[-1] == (
        ("ExecutedVersion", "3"),
        ("FunctionName", "f"),
        ("Resource", "f:live"),
    )


def test_recorder_folds_off_the_invoke_path() -> None:
    store = MemoryMetricStore()
    clock = iter([60.5, 61.0, 125.0, 126.0]).__next__
    metrics = LambdaMetrics(store, clock=clock)
    metrics.invoked("f", None, "$LATEST", 12.0, False, 1, 1, False)
    metrics.invoked("f", None, "$LATEST", 30.0, True, 2, 2, False)
    metrics.throttled("f", None)
    metrics.async_received("f", None)
    assert store.keys() == []  # nothing is written until the flush
    metrics.flush()
    key = MetricKey("AWS/Lambda", "Invocations", (("FunctionName", "f"),))
    assert [(p.minute, p.aggregate.total) for p in store.read(key, 0, 600)] == [(60, 2)]
    errors = store.read(MetricKey("AWS/Lambda", "Errors", ()), 0, 600)
    assert errors[0].aggregate.total == 1
    concurrency = store.read(
        MetricKey("AWS/Lambda", "ConcurrentExecutions", (("FunctionName", "f"),)), 0, 600
    )
    assert concurrency[0].aggregate.maximum == 2
    throttles = store.read(MetricKey("AWS/Lambda", "Throttles", (("FunctionName", "f"),)), 0, 600)
    assert [p.minute for p in throttles] == [120]


def test_fold_groups_by_minute() -> None:
    from hearth.metrics.recorder import Sample

    points = fold([Sample("M", "Count", 1, ((),), 59.9), Sample("M", "Count", 1, ((),), 60.0)])
    assert sorted(p.minute for p in points) == [0, 60]


def test_provisioned_and_async_records() -> None:
    store = MemoryMetricStore()
    metrics = LambdaMetrics(store, clock=lambda: 60.0)
    metrics.invoked("f", "live", "2", 5.0, False, 1, 0, True, 1, 2)
    metrics.invoked("f", "live", "2", 5.0, False, 2, 1, False, 1, 2)
    metrics.event_age("f", None, 1500.0)
    metrics.dropped("f", None)
    metrics.delivery_failed("f", dead_letter=True)
    metrics.delivery_failed(None, dead_letter=False)
    metrics.flush()
    resource = (("FunctionName", "f"), ("Resource", "f:live"))

    def total(name: str, dims: tuple[tuple[str, str], ...]) -> float:
        return sum(
            p.aggregate.total for p in store.read(MetricKey("AWS/Lambda", name, dims), 0, 600)
        )

    assert total("ProvisionedConcurrencyInvocations", resource) == 1
    assert total("ProvisionedConcurrencySpilloverInvocations", resource) == 1
    utilization = store.read(
        MetricKey("AWS/Lambda", "ProvisionedConcurrencyUtilization", resource), 0, 600
    )
    assert utilization[0].aggregate.maximum == 0.5
    assert total("AsyncEventAge", (("FunctionName", "f"),)) == 1500
    assert total("AsyncEventsDropped", ()) == 1
    assert total("DeadLetterErrors", (("FunctionName", "f"),)) == 1
    assert total("DestinationDeliveryFailures", ()) == 1


def test_embedded_metric_format() -> None:
    from hearth.metrics import emf

    line = (
        '{"_aws": {"Timestamp": 120000, "CloudWatchMetrics": [{"Namespace": "Shop", '
        '"Dimensions": [["service"], []], "Metrics": [{"Name": "Orders", "Unit": "Count"}, '
        '{"Name": "Latency", "Unit": "Milliseconds"}]}]}, "service": "cart", "Orders": 2, '
        '"Latency": [10, 20]}'
    )
    points = emf.points([("/g", "s", 999, line), ("/g", "s", 999, "plain text")])
    by_key = {(p.key.name, p.key.dimensions): p for p in points}
    orders = by_key[("Orders", (("service", "cart"),))]
    assert (orders.key.namespace, orders.minute, orders.unit) == ("Shop", 120, "Count")
    assert orders.aggregate.total == 2
    assert by_key[("Latency", ())].aggregate.count == 2
    for bad in (
        '{"_aws": {"CloudWatchMetrics": [{"Namespace": "AWS/Lambda", "Dimensions": [[]], '
        '"Metrics": [{"Name": "x"}]}]}, "x": 1}',  # AWS/ namespaces are AWS's
        '{"_aws": {"CloudWatchMetrics": [{"Namespace": "N", "Dimensions": [["missing"]], '
        '"Metrics": [{"Name": "x"}]}]}, "x": 1}',  # a dimension without a value
        '{"_aws": {"CloudWatchMetrics": [{"Namespace": "N", "Metrics": [{"Name": "x"}]}]}, '
        '"x": "not a number"}',
        '{"_aws": "nope"}',
        '{"_aws": {"CloudWatchMetrics": [',
    ):
        assert emf.points([("/g", "s", 0, bad)]) == []


def test_add_all_is_add_of_each_value_in_turn() -> None:
    import random

    rng = random.Random(7)
    values = [rng.choice([0.0, 1.0, 2.0, 3.0, -0.0]) for _ in range(500)]
    values += [rng.random() * 100 for _ in range(500)]
    rng.shuffle(values)
    one_by_one, at_once = Aggregate(), Aggregate()
    for value in [5.5, *values]:
        one_by_one.add(value)
    at_once.add(5.5)
    at_once.add_all(values)
    assert at_once == one_by_one  # the sum to the last bit, the counts, extremes and buckets
    empty = Aggregate()
    empty.add_all([])
    assert empty == Aggregate()


def test_prometheus_counts_every_invoke_and_error_of_a_flush() -> None:
    metrics = LambdaMetrics(MemoryMetricStore())
    for number in range(5):
        metrics.invoked("f", None, "$LATEST", 1.0 + number, number % 2 == 1, 1, 1)
    metrics.invoked("g", "live", "3", 2.0, False, 1, 1)
    metrics.flush()
    value = metrics.registry.get_sample_value
    f, g = {"function_name": "f", "resource": "f"}, {"function_name": "g", "resource": "g:live"}
    assert value("hearth_lambda_invocations_total", f) == 5
    assert value("hearth_lambda_errors_total", f) == 2
    assert value("hearth_lambda_invocations_total", g) == 1
    assert value("hearth_lambda_errors_total", g) == 0
    assert value("hearth_lambda_duration_milliseconds_count", f) == 5
    assert value("hearth_lambda_duration_milliseconds_sum", f) == 15
