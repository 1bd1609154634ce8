"""SQS mappings on queues of Hearth's embedded services, read in-process (`sqs_readers`):
the same shapes and semantics as through botocore: attributes, deletes after success only,
partial batch responses, visibility timeout and redrive, FIFO order, a missing queue."""

from __future__ import annotations

import base64
import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.integration.async_helpers import wait_for
from tests.integration.conftest import REGION, Server, service_client
from tests.integration.mapping_helpers import (
    ACCOUNT,
    batches,
    records,
    status,
    traced_function,
    wait_state,
)

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def hearth(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    server = Server(tmp_path_factory.mktemp("esm-embedded"), ["--isolation", "process"])
    server.start()
    yield server
    server.stop()


def _queue(sqs: Any, name: str, **attributes: str) -> tuple[str, str]:
    url = sqs.create_queue(QueueName=name, Attributes=attributes)["QueueUrl"]
    return url, f"arn:aws:sqs:{REGION}:{ACCOUNT}:{name}"


def _left(sqs: Any, url: str) -> int:
    attributes = sqs.get_queue_attributes(
        QueueUrl=url,
        AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
    )["Attributes"]
    return sum(int(v) for v in attributes.values())


def test_embedded_queue_delivers_in_aws_shape_and_deletes(
    hearth: Server, fn_name: str, tmp_path: Path
) -> None:
    lam, sqs = hearth.client(), service_client(hearth.endpoint, "sqs")
    trace = tmp_path / "trace"
    traced_function(lam, fn_name, trace)
    url, arn = _queue(sqs, fn_name)
    sent = sqs.send_message(
        QueueUrl=url,
        MessageBody='{"foo": "bar"}',
        MessageAttributes={
            "kind": {"DataType": "String", "StringValue": "x"},
            "blob": {"DataType": "Binary", "BinaryValue": b"\x00\x01"},
        },
    )
    for start in range(0, 40, 10):
        sqs.send_message_batch(
            QueueUrl=url,
            Entries=[{"Id": str(i), "MessageBody": f"m{start + i}"} for i in range(10)],
        )
    uuid = lam.create_event_source_mapping(FunctionName=fn_name, EventSourceArn=arn)["UUID"]
    wait_for(lambda: len(records(trace)) >= 41)
    first = next(r for r in records(trace) if r["messageId"] == sent["MessageId"])
    assert set(first) == {
        "messageId",
        "receiptHandle",
        "body",
        "attributes",
        "messageAttributes",
        "md5OfMessageAttributes",
        "md5OfBody",
        "eventSource",
        "eventSourceARN",
        "awsRegion",
    }
    assert (first["eventSource"], first["eventSourceARN"], first["awsRegion"]) == (
        "aws:sqs",
        arn,
        REGION,
    )
    assert first["md5OfBody"] == sent["MD5OfMessageBody"]
    assert first["md5OfMessageAttributes"] == sent["MD5OfMessageAttributes"]
    assert first["attributes"]["ApproximateReceiveCount"] == "1"
    assert {"SentTimestamp", "SenderId", "ApproximateFirstReceiveTimestamp"} <= set(
        first["attributes"]
    )
    assert first["messageAttributes"]["blob"] == {
        "binaryValue": base64.b64encode(b"\x00\x01").decode(),
        "stringListValues": [],
        "binaryListValues": [],
        "dataType": "Binary",
    }
    assert first["messageAttributes"]["kind"]["stringValue"] == "x"
    bodies = sorted(r["body"] for r in records(trace))
    assert bodies == sorted(['{"foo": "bar"}', *(f"m{i}" for i in range(40))])
    wait_for(lambda: _left(sqs, url) == 0)
    (shown,) = [m for m in status(hearth.endpoint)["EventSourceMappings"] if m["UUID"] == uuid]
    assert shown["RecordsReceived"] >= 41
    lam.delete_event_source_mapping(UUID=uuid)


def test_embedded_failures_partial_batches_and_redrive(
    hearth: Server, fn_name: str, tmp_path: Path
) -> None:
    lam, sqs = hearth.client(), service_client(hearth.endpoint, "sqs")
    trace = tmp_path / "trace"
    traced_function(lam, fn_name, trace)
    dlq_url, dlq_arn = _queue(sqs, f"{fn_name}-dlq")
    redrive = json.dumps({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": 2})
    url, arn = _queue(sqs, fn_name, VisibilityTimeout="1", RedrivePolicy=redrive)
    sqs.send_message_batch(
        QueueUrl=url,
        Entries=[
            {"Id": "0", "MessageBody": "ok"},
            {"Id": "1", "MessageBody": "bad"},
            {"Id": "2", "MessageBody": "fine"},
        ],
    )
    uuid = lam.create_event_source_mapping(
        FunctionName=fn_name,
        EventSourceArn=arn,
        FunctionResponseTypes=["ReportBatchItemFailures"],
    )["UUID"]
    # "bad" is reported failed twice (receive counts 1 and 2), then moved to the DLQ.

    def in_dlq() -> bool:
        got = sqs.receive_message(QueueUrl=dlq_url, WaitTimeSeconds=1).get("Messages", [])
        return bool(got) and got[0]["Body"] == "bad"

    wait_for(in_dlq, timeout=20)
    bad = [r["attributes"]["ApproximateReceiveCount"] for r in records(trace) if r["body"] == "bad"]
    assert bad == ["1", "2"]
    # (A cold start can outlast the 1 s visibility timeout: then a batch comes twice.)
    assert {r["body"] for r in records(trace) if r["body"] != "bad"} == {"fine", "ok"}
    assert _left(sqs, url) == 0
    lam.delete_event_source_mapping(UUID=uuid)


def test_embedded_fifo_order_and_missing_queue(
    hearth: Server, fn_name: str, tmp_path: Path
) -> None:
    lam, sqs = hearth.client(), service_client(hearth.endpoint, "sqs")
    trace = tmp_path / "trace"
    traced_function(lam, fn_name, trace)
    url, arn = _queue(sqs, f"{fn_name}.fifo", FifoQueue="true")
    for group in ("a", "b"):
        sqs.send_message_batch(
            QueueUrl=url,
            Entries=[
                {
                    "Id": str(i),
                    "MessageBody": f"{group}{i}",
                    "MessageGroupId": group,
                    "MessageDeduplicationId": f"{group}{i}",
                }
                for i in range(10)
            ],
        )
    uuid = lam.create_event_source_mapping(FunctionName=fn_name, EventSourceArn=arn, BatchSize=3)[
        "UUID"
    ]
    wait_for(lambda: len(records(trace)) >= 20)
    for group in ("a", "b"):
        got = [r["body"] for r in records(trace) if r["attributes"]["MessageGroupId"] == group]
        assert got == [f"{group}{i}" for i in range(10)]
    assert all(
        {"SequenceNumber", "MessageDeduplicationId"} <= set(r["attributes"]) for r in records(trace)
    )
    wait_for(lambda: _left(sqs, url) == 0)
    # The queue goes away: the mapping says so and the server keeps serving.
    sqs.delete_queue(QueueUrl=url)

    def problem() -> bool:
        mapping = next(
            m for m in status(hearth.endpoint)["EventSourceMappings"] if m["UUID"] == uuid
        )
        return "does not exist" in str(mapping.get("LastError"))

    wait_for(problem, timeout=10)
    assert wait_state(lam, uuid, "Enabled")["State"] == "Enabled"
    lam.delete_event_source_mapping(UUID=uuid)


def test_embedded_kinesis_stream_in_order_in_aws_shape(
    hearth: Server, fn_name: str, tmp_path: Path
) -> None:
    lam, kinesis = hearth.client(), service_client(hearth.endpoint, "kinesis")
    trace = tmp_path / "trace"
    traced_function(lam, fn_name, trace)
    kinesis.create_stream(StreamName=fn_name, ShardCount=1)
    arn = kinesis.describe_stream_summary(StreamName=fn_name)["StreamDescriptionSummary"][
        "StreamARN"
    ]
    kinesis.put_records(
        StreamName=fn_name,
        Records=[{"Data": f"r{i}".encode(), "PartitionKey": "k"} for i in range(30)],
    )
    uuid = lam.create_event_source_mapping(
        FunctionName=fn_name, EventSourceArn=arn, StartingPosition="TRIM_HORIZON", BatchSize=7
    )["UUID"]
    wait_for(lambda: len(records(trace)) >= 30)
    got = records(trace)
    assert [base64.b64decode(r["kinesis"]["data"]).decode() for r in got] == [
        f"r{i}" for i in range(30)
    ]
    first = got[0]
    assert set(first) == {
        "kinesis",
        "eventSource",
        "eventVersion",
        "eventID",
        "eventName",
        "invokeIdentityArn",
        "awsRegion",
        "eventSourceARN",
    }
    assert first["eventID"] == f"shardId-000000000000:{first['kinesis']['sequenceNumber']}"
    assert (first["eventSourceARN"], first["awsRegion"]) == (arn, REGION)
    assert first["kinesis"]["partitionKey"] == "k"
    # Arrival in epoch seconds, UTC (moto keeps naive UTC datetimes).
    assert abs(first["kinesis"]["approximateArrivalTimestamp"] - time.time()) < 60
    kinesis.delete_stream(StreamName=fn_name)

    def problem() -> bool:
        return bool(
            lam.get_event_source_mapping(UUID=uuid)["LastProcessingResult"]
            == "PROBLEM: The event source does not exist."
        )

    wait_for(problem, timeout=10)
    lam.delete_event_source_mapping(UUID=uuid)


def test_embedded_dynamodb_stream_bisects_retries_and_sends_on_failure(
    hearth: Server, fn_name: str, tmp_path: Path
) -> None:
    """A table of the embedded DynamoDB: the failing item is isolated by bisecting, retried
    MaximumRetryAttempts times, then described to the embedded SQS queue, and the shard
    moves on to the items after it."""
    lam, sqs = hearth.client(), service_client(hearth.endpoint, "sqs")
    ddb = service_client(hearth.endpoint, "dynamodb")
    trace = tmp_path / "trace"
    traced_function(lam, fn_name, trace)
    arn = ddb.create_table(
        TableName=fn_name,
        KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
        StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_IMAGE"},
    )["TableDescription"]["LatestStreamArn"]
    url, queue = _queue(sqs, f"{fn_name}-onfailure")
    for item in ("a", "fail", "c", "d"):
        ddb.put_item(TableName=fn_name, Item={"id": {"S": item}})
    uuid = lam.create_event_source_mapping(
        FunctionName=fn_name,
        EventSourceArn=arn,
        StartingPosition="TRIM_HORIZON",
        BatchSize=4,
        MaximumRetryAttempts=1,
        BisectBatchOnFunctionError=True,
        DestinationConfig={"OnFailure": {"Destination": queue}},
    )["UUID"]
    got: list[dict[str, Any]] = []

    def sent() -> bool:
        answer = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=1)
        got.extend(json.loads(m["Body"]) for m in answer.get("Messages", []))
        return bool(got)

    wait_for(sent, timeout=30)

    def ids(batch: dict[str, Any]) -> list[str]:
        return [r["dynamodb"]["Keys"]["id"]["S"] for r in batch["event"]["Records"]]

    def seen() -> list[list[str]]:
        return [ids(b) for b in batches(trace)]

    wait_for(lambda: ["c", "d"] in seen(), timeout=20)
    # Each bisected half counts its own retries: the first attempt (4) fails and splits into
    # halves (a, fail | c, d); (a, fail) fails, split again; (fail) fails twice (one retry)
    # and is sent to OnFailure; then (c, d) succeeds.
    assert seen() == [
        ["a", "fail", "c", "d"],
        ["a", "fail"],
        ["a"],
        ["fail"],
        ["fail"],
        ["c", "d"],
    ], seen()
    (record,) = got
    assert record["requestContext"]["condition"] == "RetryAttemptsExhausted"
    assert record["requestContext"]["functionArn"].endswith(f":function:{fn_name}")
    assert record["responseContext"]["functionError"] == "Unhandled"
    info = record["DDBStreamBatchInfo"]
    assert (info["batchSize"], info["streamArn"]) == (1, arn)
    (failed,) = [b for b in batches(trace) if ids(b) == ["fail"]][:1]
    assert (
        info["startSequenceNumber"] == failed["event"]["Records"][0]["dynamodb"]["SequenceNumber"]
    )
    # The shard's position moved past everything: nothing more comes.
    time.sleep(0.5)
    assert len(batches(trace)) == 6
    lam.delete_event_source_mapping(UUID=uuid)


def test_embedded_kinesis_split_while_polling_reads_parents_first(
    hearth: Server, fn_name: str, tmp_path: Path
) -> None:
    """UpdateShardCount splits the shard a running mapping reads: the parent's records all
    come before any child's, each shard in order, nothing twice, and the children start
    as soon as the parent is read to its end (not at the next look at the shards)."""
    lam, kinesis = hearth.client(), service_client(hearth.endpoint, "kinesis")
    trace = tmp_path / "trace"
    traced_function(lam, fn_name, trace)
    kinesis.create_stream(StreamName=fn_name, ShardCount=1)
    arn = kinesis.describe_stream_summary(StreamName=fn_name)["StreamDescriptionSummary"][
        "StreamARN"
    ]
    uuid = lam.create_event_source_mapping(
        FunctionName=fn_name, EventSourceArn=arn, StartingPosition="TRIM_HORIZON", BatchSize=3
    )["UUID"]
    wait_state(lam, uuid, "Enabled")
    keys = [f"key-{i}" for i in range(8)]

    def put(letter: str) -> None:
        kinesis.put_records(
            StreamName=fn_name,
            Records=[
                {"Data": f"{letter}{i}".encode(), "PartitionKey": key} for i, key in enumerate(keys)
            ],
        )

    put("A")
    kinesis.update_shard_count(
        StreamName=fn_name, TargetShardCount=2, ScalingType="UNIFORM_SCALING"
    )
    split = time.monotonic()
    put("B")
    wait_for(lambda: len(records(trace)) >= 16, timeout=20)
    took = time.monotonic() - split
    time.sleep(0.3)
    seen = [
        (r["eventID"].split(":")[0], base64.b64decode(r["kinesis"]["data"]).decode())
        for r in records(trace)
    ]
    letters = [data[0] for _, data in seen]
    assert letters == sorted(letters), seen  # every A (the parent) before any B
    assert sorted(data for _, data in seen) == sorted(f"{x}{i}" for x in "AB" for i in range(8))
    children = {s for s, data in seen if data[0] == "B"}
    assert children == {"shardId-000000000001", "shardId-000000000002"}, seen
    for shard in children:
        mine = [int(data[1:]) for s, data in seen if s == shard]
        assert mine == sorted(mine)
    assert took < 4, took  # the shards are looked at again only every 5 s
    lam.delete_event_source_mapping(UUID=uuid)
