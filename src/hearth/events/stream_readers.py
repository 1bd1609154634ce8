"""Kinesis and DynamoDB Streams behind one small reader interface, and their Lambda shapes.

botocore parses what these services send (timestamps become datetimes, blobs become bytes);
the readers turn records back into the JSON AWS hands to functions.
"""

from __future__ import annotations

import base64
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

Call = Callable[..., Awaitable[Any]]


@dataclass(frozen=True)
class Shard:
    id: str
    parents: tuple[str, ...]
    # Closed (split, merged, or a DynamoDB stream's shard rolled over): no record comes after
    # this one. AWS ends a closed shard's iterator chain (no NextShardIterator); some sources
    # (moto) keep handing out iterators, so the poller also ends on an empty read of it.
    closed: bool = False


@dataclass(frozen=True)
class Page:
    records: list[dict[str, Any]]
    next_iterator: str | None
    millis_behind: int | None


def _closed(shard: dict[str, Any]) -> bool:
    return bool(shard.get("SequenceNumberRange", {}).get("EndingSequenceNumber"))


def _epoch(value: Any) -> float:
    return value.timestamp() if isinstance(value, datetime) else float(value)


class KinesisReader:
    batch_info_key = "KinesisBatchInfo"
    filter_field = "data"

    def __init__(self, client: Any, call: Call, arn: str, role: str) -> None:
        self._client = client
        self._call = call
        self._arn = arn
        self._name = arn.split("/", 1)[1]
        self._region = arn.split(":")[3]
        self._role = role

    async def shards(self) -> list[Shard]:
        shards: list[Shard] = []
        kwargs: dict[str, Any] = {"StreamName": self._name}
        while True:
            answer = await self._call(self._client.list_shards, **kwargs)
            for shard in answer.get("Shards", []):
                parents = tuple(
                    p for p in (shard.get("ParentShardId"), shard.get("AdjacentParentShardId")) if p
                )
                shards.append(Shard(shard["ShardId"], parents, _closed(shard)))
            token = answer.get("NextToken")
            if not token:
                return shards
            kwargs = {"NextToken": token}

    async def iterator(
        self, shard: str, kind: str, sequence: str | None = None, timestamp: float | None = None
    ) -> str:
        kwargs: dict[str, Any] = {
            "StreamName": self._name,
            "ShardId": shard,
            "ShardIteratorType": kind,
        }
        if sequence is not None:
            kwargs["StartingSequenceNumber"] = sequence
        if timestamp is not None:
            kwargs["Timestamp"] = datetime.fromtimestamp(timestamp)
        answer = await self._call(self._client.get_shard_iterator, **kwargs)
        return str(answer["ShardIterator"])

    async def page(self, iterator: str, limit: int) -> Page:
        answer = await self._call(self._client.get_records, ShardIterator=iterator, Limit=limit)
        return Page(
            answer.get("Records", []),
            answer.get("NextShardIterator"),
            answer.get("MillisBehindLatest"),
        )

    def event_record(self, raw: dict[str, Any], shard: str) -> dict[str, Any]:
        sequence = raw["SequenceNumber"]
        return {
            "kinesis": {
                "kinesisSchemaVersion": "1.0",
                "partitionKey": raw["PartitionKey"],
                "sequenceNumber": sequence,
                "data": base64.b64encode(raw["Data"]).decode(),
                "approximateArrivalTimestamp": _epoch(raw["ApproximateArrivalTimestamp"]),
            },
            "eventSource": "aws:kinesis",
            "eventVersion": "1.0",
            "eventID": f"{shard}:{sequence}",
            "eventName": "aws:kinesis:record",
            "invokeIdentityArn": self._role,
            "awsRegion": self._region,
            "eventSourceARN": self._arn,
        }

    @staticmethod
    def sequence(record: dict[str, Any]) -> str:
        return str(record["kinesis"]["sequenceNumber"])

    @staticmethod
    def arrival(record: dict[str, Any]) -> float:
        return float(record["kinesis"]["approximateArrivalTimestamp"])

    @staticmethod
    def partition_key(record: dict[str, Any]) -> str:
        return str(record["kinesis"]["partitionKey"])

    @staticmethod
    def filter_subject(record: dict[str, Any]) -> tuple[dict[str, Any], str | None]:
        """The record filters see: `data` decoded (AWS parses it as JSON when it is)."""
        kinesis = dict(record["kinesis"])
        try:
            text: str | None = base64.b64decode(kinesis["data"]).decode()
        except (ValueError, UnicodeDecodeError):
            text = None
        subject = {**record, "kinesis": kinesis}
        return subject, text


class DynamoDBReader:
    batch_info_key = "DDBStreamBatchInfo"
    filter_field = ""

    def __init__(self, client: Any, call: Call, arn: str, role: str) -> None:
        self._client = client
        self._call = call
        self._arn = arn
        self._region = arn.split(":")[3]

    async def shards(self) -> list[Shard]:
        shards: list[Shard] = []
        kwargs: dict[str, Any] = {"StreamArn": self._arn}
        while True:
            answer = await self._call(self._client.describe_stream, **kwargs)
            description = answer["StreamDescription"]
            for shard in description.get("Shards", []):
                parent = shard.get("ParentShardId")
                shards.append(Shard(shard["ShardId"], (parent,) if parent else (), _closed(shard)))
            last = description.get("LastEvaluatedShardId")
            if not last:
                return shards
            kwargs = {"StreamArn": self._arn, "ExclusiveStartShardId": last}

    async def iterator(
        self, shard: str, kind: str, sequence: str | None = None, timestamp: float | None = None
    ) -> str:
        kwargs: dict[str, Any] = {
            "StreamArn": self._arn,
            "ShardId": shard,
            "ShardIteratorType": kind,
        }
        if sequence is not None:
            kwargs["SequenceNumber"] = sequence
        answer = await self._call(self._client.get_shard_iterator, **kwargs)
        return str(answer["ShardIterator"])

    async def page(self, iterator: str, limit: int) -> Page:
        answer = await self._call(
            self._client.get_records, ShardIterator=iterator, Limit=min(limit, 1000)
        )
        return Page(answer.get("Records", []), answer.get("NextShardIterator"), None)

    def event_record(self, raw: dict[str, Any], shard: str) -> dict[str, Any]:
        dynamodb = {k: _plain(v) for k, v in raw.get("dynamodb", {}).items()}
        if "ApproximateCreationDateTime" in raw.get("dynamodb", {}):
            dynamodb["ApproximateCreationDateTime"] = _epoch(
                raw["dynamodb"]["ApproximateCreationDateTime"]
            )
        record = {
            "eventID": raw.get("eventID"),
            "eventName": raw.get("eventName"),
            "eventVersion": raw.get("eventVersion", "1.1"),
            "eventSource": "aws:dynamodb",
            "awsRegion": raw.get("awsRegion", self._region),
            "dynamodb": dynamodb,
            "eventSourceARN": self._arn,
        }
        if "userIdentity" in raw:
            record["userIdentity"] = _plain(raw["userIdentity"])
        return record

    @staticmethod
    def sequence(record: dict[str, Any]) -> str:
        return str(record["dynamodb"]["SequenceNumber"])

    @staticmethod
    def arrival(record: dict[str, Any]) -> float:
        return float(record["dynamodb"].get("ApproximateCreationDateTime", 0))

    @staticmethod
    def partition_key(record: dict[str, Any]) -> str:
        return repr(sorted(record["dynamodb"].get("Keys", {}).items()))

    @staticmethod
    def filter_subject(record: dict[str, Any]) -> tuple[dict[str, Any], str | None]:
        return record, None


def _plain(value: Any) -> Any:
    """botocore's parsed values back to JSON: bytes as base64, datetimes as epoch seconds."""
    if isinstance(value, bytes | bytearray):
        return base64.b64encode(value).decode()
    if isinstance(value, datetime):
        return value.timestamp()
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list | set | tuple):
        return [_plain(v) for v in value]
    return value


StreamReader = KinesisReader | DynamoDBReader
