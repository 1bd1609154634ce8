"""The embedded Kinesis reader on moto's models, with Hearth's resharding fixes: a split
parent keeps its records and ends its iterator chain once read; new records go to children."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator
from typing import Any, TypeVar

import boto3
import pytest
from moto import mock_aws

from hearth.events.embedded_streams import EmbeddedKinesisReader
from hearth.services.moto_kinesis import install_kinesis

T = TypeVar("T")
ARN = "arn:aws:kinesis:us-east-1:123456789012:stream/s"


class InlineServices:
    async def run(self, work: Callable[[], T]) -> T:
        return work()

    def mark_changed(self, backend: str) -> None:
        pass

    def next_request(self, backend: str) -> asyncio.Event:
        return asyncio.Event()


@pytest.fixture
def kinesis() -> Iterator[Any]:
    install_kinesis()
    with mock_aws():
        yield boto3.client(
            "kinesis", region_name="us-east-1", aws_access_key_id="k", aws_secret_access_key="s"
        )


def test_a_split_parent_keeps_its_records_and_ends_when_read(kinesis: Any) -> None:
    kinesis.create_stream(StreamName="s", ShardCount=1)
    for i in range(4):
        kinesis.put_record(StreamName="s", Data=f"A{i}".encode(), PartitionKey=f"k{i}")
    kinesis.update_shard_count(StreamName="s", TargetShardCount=2, ScalingType="UNIFORM_SCALING")
    after = {
        kinesis.put_record(StreamName="s", Data=b"B", PartitionKey=f"k{i}")["ShardId"]
        for i in range(8)
    }
    assert after == {"shardId-000000000001", "shardId-000000000002"}  # open shards only
    reader = EmbeddedKinesisReader(InlineServices(), ARN, "role")

    async def scenario() -> None:
        shards = {s.id: s for s in await reader.shards()}
        assert shards["shardId-000000000000"].closed
        assert shards["shardId-000000000001"].parents == ("shardId-000000000000",)
        iterator = await reader.iterator("shardId-000000000000", "TRIM_HORIZON")
        page = await reader.page(iterator, 10)
        assert [r["Data"] for r in page.records] == [b"A0", b"A1", b"A2", b"A3"]
        assert page.next_iterator is not None
        end = await reader.page(page.next_iterator, 10)
        assert (end.records, end.next_iterator) == ([], None)  # read to the end: done
        child = await reader.iterator("shardId-000000000001", "TRIM_HORIZON")
        got = await reader.page(child, 10)
        assert got.records and {r["Data"] for r in got.records} == {b"B"}
        assert got.next_iterator is not None  # an open shard's chain goes on

    asyncio.run(scenario())


@pytest.mark.parametrize(
    ("kind", "at"),
    [
        ("TRIM_HORIZON", None),
        ("AT_SEQUENCE_NUMBER", 7),
        ("AFTER_SEQUENCE_NUMBER", 7),
        ("LATEST", None),
    ],
)
def test_pages_are_moto_get_records_pages(kinesis: Any, kind: str, at: int | None) -> None:
    """Found by sequence number, the pages are those of GetRecords: the same records, the
    same next iterator and MillisBehindLatest, page after page, and an empty page at the end
    of an open shard that still goes on."""
    kinesis.create_stream(StreamName="s", ShardCount=1)
    for i in range(25):
        kinesis.put_record(StreamName="s", Data=f"r{i}".encode(), PartitionKey="k")
    reader = EmbeddedKinesisReader(InlineServices(), ARN, "role")
    shard = "shardId-000000000000"

    async def scenario() -> None:
        sequence = str(at) if at is not None else None
        iterator: str | None = await reader.iterator(shard, kind, sequence)
        pages = 0
        while iterator is not None and pages < 5:
            mine = await reader.page(iterator, 10)
            theirs = kinesis.get_records(ShardIterator=iterator, Limit=10, StreamARN=ARN)
            assert [r["SequenceNumber"] for r in mine.records] == [
                r["SequenceNumber"] for r in theirs["Records"]
            ]
            assert [r["Data"] for r in mine.records] == [r["Data"] for r in theirs["Records"]]
            assert mine.next_iterator == theirs["NextShardIterator"]
            assert mine.millis_behind == theirs["MillisBehindLatest"]
            iterator, pages = mine.next_iterator, pages + 1
        assert iterator is not None  # an open shard's chain never ends

    asyncio.run(scenario())
