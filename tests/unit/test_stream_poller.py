"""The stream poller's settling rules against a fake Kinesis: records past
MaximumRecordAgeInSeconds go to OnFailure without an invoke, positions commit after a batch
settles, a split shard's children start after their parent is read to its end."""

from __future__ import annotations

import asyncio
import json
import time
from datetime import UTC, datetime
from typing import Any

from hearth.arns import FunctionRef
from hearth.events.poller_base import MappingStats, PollerContext
from hearth.events.positions import SHARD_END, MemoryPositions
from hearth.events.stream_poller import StreamPoller
from hearth.invoke.types import InvokeResult
from hearth.models import EventSourceMapping

ARN = "arn:aws:kinesis:us-east-1:123456789012:stream/s"
QUEUE = "arn:aws:sqs:us-east-1:123456789012:onfailure"


class FakeKinesis:
    """Shards: name -> (parent, records); each record (data, age in seconds)."""

    def __init__(self, shards: dict[str, tuple[str | None, list[tuple[str, float]]]]) -> None:
        self.shards = shards

    def list_shards(self, **_: Any) -> dict[str, Any]:
        return {
            "Shards": [
                {"ShardId": name, **({"ParentShardId": parent} if parent else {})}
                for name, (parent, _) in self.shards.items()
            ]
        }

    def get_shard_iterator(self, **kwargs: Any) -> dict[str, Any]:
        start = 0
        if kwargs["ShardIteratorType"] == "AFTER_SEQUENCE_NUMBER":
            start = int(kwargs["StartingSequenceNumber"]) + 1
        return {"ShardIterator": f"{kwargs['ShardId']}|{start}"}

    def get_records(self, ShardIterator: str, Limit: int) -> dict[str, Any]:
        shard, start = ShardIterator.split("|")
        records = self.shards[shard][1][int(start) : int(start) + Limit]
        now = time.time()
        end = int(start) + len(records)
        return {
            "Records": [
                {
                    "SequenceNumber": str(int(start) + i),
                    "PartitionKey": "k",
                    "Data": data.encode(),
                    "ApproximateArrivalTimestamp": datetime.fromtimestamp(now - age, UTC),
                }
                for i, (data, age) in enumerate(records)
            ],
            # A closed shard ends once read: no next iterator.
            "NextShardIterator": None if end >= len(self.shards[shard][1]) else f"{shard}|{end}",
        }


class FakeClients:
    def __init__(self, kinesis: FakeKinesis) -> None:
        self.kinesis = kinesis
        self.executor = None

    def for_arn(self, source: Any, arn: str) -> FakeKinesis:
        return self.kinesis

    def in_process(self, service: str) -> None:
        return None  # the stream is not in this process: read through the (fake) client


class FakeSink:
    def __init__(self) -> None:
        self.sent: list[tuple[str, dict[str, Any]]] = []

    def send(self, arn: str, body: str, attributes: Any) -> None:
        self.sent.append((arn, json.loads(body)))


def _run(
    shards: dict[str, tuple[str | None, list[tuple[str, float]]]], **config: Any
) -> tuple[list[list[str]], FakeSink, MemoryPositions]:
    invoked: list[list[str]] = []

    async def invoke(
        ref: FunctionRef, payload: bytes, *, trace_header: str | None = None
    ) -> InvokeResult:
        import base64

        batch = [
            base64.b64decode(r["kinesis"]["data"]).decode() for r in json.loads(payload)["Records"]
        ]
        invoked.append(batch)
        return InvokeResult(b"null", "$LATEST", None, "")

    mapping = EventSourceMapping(
        uuid="u",
        function_name="fn",
        qualifier=None,
        event_source_arn=ARN,
        config={
            "StartingPosition": "TRIM_HORIZON",
            "BatchSize": 10,
            "DestinationConfig": {"OnFailure": {"Destination": QUEUE}},
            **config,
        },
    )
    sink, positions = FakeSink(), MemoryPositions()

    async def main() -> None:
        context = PollerContext(
            mapping=mapping,
            function_arn="arn:aws:lambda:us-east-1:123456789012:function:fn",
            invoke=invoke,
            clients=FakeClients(FakeKinesis(shards)),  # type: ignore[arg-type]
            stats=MappingStats(),
            report=lambda changes: None,
        )
        poller = StreamPoller(context, positions, sink)
        task = asyncio.create_task(poller.run())
        expected = {name for name in shards}
        for _ in range(200):
            if all(positions.get("u", s) == SHARD_END for s in expected):
                break
            await asyncio.sleep(0.02)
        context.stopping.set()
        await asyncio.wait_for(task, 5)

    asyncio.run(main())
    return invoked, sink, positions


def test_records_past_their_age_go_to_on_failure_unread() -> None:
    invoked, sink, _ = _run(
        {"shard-0": (None, [("old", 120.0), ("older-too", 90.0), ("fresh", 0.0)])},
        MaximumRecordAgeInSeconds=60,
    )
    assert invoked == [["fresh"]]
    ((arn, record),) = sink.sent
    assert arn == QUEUE
    assert record["requestContext"]["condition"] == "RecordAgeExceeded"
    assert "responseContext" not in record
    info = record["KinesisBatchInfo"]
    assert (info["batchSize"], info["startSequenceNumber"], info["endSequenceNumber"]) == (
        2,
        "0",
        "1",
    )


def test_children_start_after_their_parent_is_read_to_its_end() -> None:
    invoked, _, positions = _run(
        {
            "child-1": ("parent", [("c1", 0.0)]),
            "parent": (None, [("p0", 0.0), ("p1", 0.0)]),
            "child-2": ("parent", [("c2", 0.0)]),
        }
    )
    flat = [r for batch in invoked for r in batch]
    assert flat.index("p1") < flat.index("c1")
    assert flat.index("p1") < flat.index("c2")
    assert positions.get("u", "parent") == SHARD_END
