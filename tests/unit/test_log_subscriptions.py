"""Log subscription delivery: AWS's awslogs shape, filter patterns, batching per filter and
stream, and a destination never fed its own log lines."""

from __future__ import annotations

import asyncio
import base64
import gzip
import json
from pathlib import Path
from typing import Any

from hearth.logs.subscription_delivery import SubscriptionDelivery
from hearth.logs.subscriptions import FileSubscriptions, MemorySubscriptions, SubscriptionFilter

FN = "arn:aws:lambda:us-east-1:123456789012:function:shipper"


def _filter(group: str, pattern: str = "", name: str = "f") -> SubscriptionFilter:
    return SubscriptionFilter(group, name, pattern, FN, 1)


def _run(subscriptions: Any, batches: list[list[tuple[str, str, int, str]]]) -> list[Any]:
    sent: list[tuple[str, Any]] = []

    async def fire(arn: str, payload: bytes) -> None:
        data = json.loads(payload)["awslogs"]["data"]
        sent.append((arn, json.loads(gzip.decompress(base64.b64decode(data)))))

    delivery = SubscriptionDelivery(subscriptions, fire, "123456789012")
    for batch in batches:
        delivery.observe(batch)
    asyncio.run(delivery.deliver())
    return sent


def test_matching_events_arrive_in_awss_shape_one_invoke_per_stream() -> None:
    subs = MemorySubscriptions()
    subs.put(_filter("/app", "ERROR"))
    sent = _run(
        subs,
        [
            [("/app", "s1", 1000, "ERROR one"), ("/app", "s1", 1001, "INFO two")],
            [("/app", "s1", 1002, "ERROR three"), ("/app", "s2", 1003, "ERROR four")],
            [("/other", "s1", 1004, "ERROR not subscribed")],
        ],
    )
    assert [arn for arn, _ in sent] == [FN, FN]
    first = sent[0][1]
    assert first["messageType"] == "DATA_MESSAGE"
    assert first["owner"] == "123456789012"
    assert (first["logGroup"], first["logStream"]) == ("/app", "s1")
    assert first["subscriptionFilters"] == ["f"]
    assert [(e["timestamp"], e["message"]) for e in first["logEvents"]] == [
        (1000, "ERROR one"),
        (1002, "ERROR three"),
    ]
    ids = [e["id"] for e in first["logEvents"]]
    assert all(len(i) == 56 and i.isdigit() for i in ids) and ids == sorted(ids)
    assert sent[1][1]["logStream"] == "s2"


def test_a_destination_never_gets_its_own_log_lines() -> None:
    subs = MemorySubscriptions()
    subs.put(_filter("/aws/lambda/shipper"))
    subs.put(_filter("/aws/lambda/other"))
    sent = _run(
        subs,
        [[("/aws/lambda/shipper", "s", 1, "REPORT ..."), ("/aws/lambda/other", "s", 2, "hi")]],
    )
    assert [payload["logGroup"] for _, payload in sent] == ["/aws/lambda/other"]


def test_nothing_held_nothing_sent() -> None:
    subs = MemorySubscriptions()
    subs.put(_filter("/app", '{ $.level = "error" }'))
    assert _run(subs, [[("/app", "s", 1, '{"level": "info"}')]]) == []
    sent = _run(subs, [[("/app", "s", 1, '{"level": "error"}')]])
    assert len(sent) == 1


def test_large_batches_are_split_under_the_async_payload_limit() -> None:
    subs = MemorySubscriptions()
    subs.put(_filter("/app"))
    line = "x" * 10_000
    sent = _run(subs, [[("/app", "s", i, line) for i in range(40)]])
    assert len(sent) > 1
    assert sum(len(p["logEvents"]) for _, p in sent) == 40


def test_filters_survive_a_restart_and_go_with_their_group(tmp_path: Path) -> None:
    path = tmp_path / "log-subscriptions.json"
    subs = FileSubscriptions(path)
    subs.put(_filter("/a", name="one"))
    subs.put(_filter("/a", name="two"))
    subs.put(_filter("/b", name="one"))
    again = FileSubscriptions(path)
    assert [f.name for f in again.for_group("/a")] == ["one", "two"]
    again.delete_group("/a")
    assert FileSubscriptions(path).for_group("/a") == []
    assert len(FileSubscriptions(path).all()) == 1
