"""Kinesis and DynamoDB Streams mappings against moto's server: order, retries, bisect,
partial failures, OnFailure records, lanes, validation, and a kill -9 in the middle of a batch."""

from __future__ import annotations

import base64
import json
import signal
import time
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError

from tests.integration.async_helpers import wait_for
from tests.integration.conftest import REGION, Server
from tests.integration.mapping_helpers import (
    ACCOUNT,
    aws_client,
    batches,
    hearth,
    hearth_server,
    records,
    traced_function,
    wait_state,
)

pytestmark = pytest.mark.integration
__all__ = ["hearth"]  # fixture


def _stream(kinesis: Any, name: str, shards: int = 1) -> str:
    kinesis.create_stream(StreamName=name, ShardCount=shards)
    kinesis.get_waiter("stream_exists").wait(StreamName=name, WaiterConfig={"Delay": 0.2})
    return f"arn:aws:kinesis:{REGION}:{ACCOUNT}:stream/{name}"


def _put(kinesis: Any, name: str, *datas: str, key: str = "k") -> None:
    for data in datas:
        kinesis.put_record(StreamName=name, Data=data.encode(), PartitionKey=key)


def _data(record: dict[str, Any]) -> str:
    return base64.b64decode(record["kinesis"]["data"]).decode()


def _queue(sqs: Any, name: str) -> tuple[str, str]:
    url = sqs.create_queue(QueueName=name)["QueueUrl"]
    return url, f"arn:aws:sqs:{REGION}:{ACCOUNT}:{name}"


def _messages(sqs: Any, url: str, count: int) -> list[dict[str, Any]]:
    got: list[dict[str, Any]] = []

    def poll() -> bool:
        answer = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=1)
        got.extend(json.loads(m["Body"]) for m in answer.get("Messages", []))
        return len(got) >= count

    wait_for(poll, timeout=30)
    return got


def test_kinesis_records_arrive_in_order_in_aws_shape(
    hearth: Server, moto: str, fn_name: str, tmp_path: Path
) -> None:
    lam, kinesis = hearth.client(), aws_client(moto, "kinesis")
    trace = tmp_path / "trace"
    traced_function(lam, fn_name, trace)
    arn = _stream(kinesis, fn_name)
    _put(kinesis, fn_name, *(f"r{i}" for i in range(5)))
    created = lam.create_event_source_mapping(
        FunctionName=fn_name, EventSourceArn=arn, StartingPosition="TRIM_HORIZON", BatchSize=2
    )
    assert created["ResponseMetadata"]["HTTPStatusCode"] == 202
    expected_keys = {
        "BatchSize",
        "BisectBatchOnFunctionError",
        "DestinationConfig",
        "EventSourceArn",
        "EventSourceMappingArn",
        "FunctionArn",
        "FunctionResponseTypes",
        "LastModified",
        "LastProcessingResult",
        "MaximumBatchingWindowInSeconds",
        "MaximumRecordAgeInSeconds",
        "MaximumRetryAttempts",
        "ParallelizationFactor",
        "StartingPosition",
        "State",
        "StateTransitionReason",
        "TumblingWindowInSeconds",
        "UUID",
        "ResponseMetadata",
    }
    assert set(created) == expected_keys
    assert created["DestinationConfig"] == {"OnFailure": {}}
    assert (created["State"], created["StateTransitionReason"]) == ("Creating", "User action")
    assert created["LastProcessingResult"] == "No records processed"
    assert (created["MaximumRetryAttempts"], created["MaximumRecordAgeInSeconds"]) == (-1, -1)
    uuid = created["UUID"]
    wait_for(lambda: len(records(trace)) >= 5)
    assert [_data(r) for r in records(trace)] == [f"r{i}" for i in range(5)]
    assert max(len(b["event"]["Records"]) for b in batches(trace)) <= 2
    record = records(trace)[0]
    assert set(record) == {
        "kinesis",
        "eventSource",
        "eventVersion",
        "eventID",
        "eventName",
        "invokeIdentityArn",
        "awsRegion",
        "eventSourceARN",
    }
    assert record["eventID"] == f"shardId-000000000000:{record['kinesis']['sequenceNumber']}"
    assert record["eventName"] == "aws:kinesis:record"
    assert record["invokeIdentityArn"].startswith("arn:aws:iam::")
    assert set(record["kinesis"]) == {
        "kinesisSchemaVersion",
        "partitionKey",
        "sequenceNumber",
        "data",
        "approximateArrivalTimestamp",
    }
    assert isinstance(record["kinesis"]["approximateArrivalTimestamp"], float)
    wait_for(lambda: lam.get_event_source_mapping(UUID=uuid)["LastProcessingResult"] == "OK")
    lam.delete_event_source_mapping(UUID=uuid)


def test_stream_validation_errors(hearth: Server, moto: str, fn_name: str, tmp_path: Path) -> None:
    lam, kinesis = hearth.client(validate=False), aws_client(moto, "kinesis")
    traced_function(lam, fn_name, tmp_path / "trace")
    arn = _stream(kinesis, fn_name)
    ddb_arn = f"arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/t/stream/2024-01-01T00:00:00.000"
    missing = f"arn:aws:kinesis:{REGION}:{ACCOUNT}:stream/{fn_name}-missing"
    cases: list[tuple[dict[str, Any], str, str]] = [
        (
            {},
            "InvalidParameterValueException",
            "1 validation error detected: Value null at 'startingPosition' failed to satisfy "
            "constraint: Member must not be null.",
        ),
        (
            {"StartingPosition": "invalid"},
            "ValidationException",
            "1 validation error detected: Value 'invalid' at 'startingPosition' failed to "
            "satisfy constraint: Member must satisfy enum value set: [LATEST, AT_TIMESTAMP, "
            "TRIM_HORIZON]",
        ),
        (
            {"EventSourceArn": ddb_arn, "StartingPosition": "AT_TIMESTAMP"},
            "InvalidParameterValueException",
            f"Unsupported starting position for arn type: {ddb_arn}",
        ),
        (
            {"EventSourceArn": missing, "StartingPosition": "LATEST"},
            "InvalidParameterValueException",
            f"Stream not found: {missing}",
        ),
        (
            {"StartingPosition": "LATEST", "ParallelizationFactor": 11},
            "ValidationException",
            "1 validation error detected: Value '11' at 'parallelizationFactor' failed to "
            "satisfy constraint: Member must have value less than or equal to 10",
        ),
    ]
    for changes, code, message in cases:
        request = {"FunctionName": fn_name, "EventSourceArn": arn, **changes}
        with pytest.raises(ClientError) as raised:
            lam.create_event_source_mapping(**request)
        error = raised.value.response["Error"]
        assert (error["Code"], error["Message"]) == (code, message), changes
    assert lam.list_event_source_mappings(FunctionName=fn_name)["EventSourceMappings"] == []
    first = lam.create_event_source_mapping(
        FunctionName=fn_name, EventSourceArn=arn, StartingPosition="LATEST"
    )
    with pytest.raises(ClientError) as raised:
        lam.create_event_source_mapping(
            FunctionName=fn_name, EventSourceArn=arn, StartingPosition="LATEST"
        )
    assert raised.value.response["Error"]["Message"] == (
        f'The event source arn (" {arn} ") and function (" {fn_name} ") provided mapping '
        f"already exists. Please update or delete the existing mapping with UUID {first['UUID']}"
    )
    lam.delete_event_source_mapping(UUID=first["UUID"])


def test_retries_exhausted_send_aws_record_on_failure(
    hearth: Server, moto: str, fn_name: str, tmp_path: Path
) -> None:
    lam, kinesis, sqs = hearth.client(), aws_client(moto, "kinesis"), aws_client(moto, "sqs")
    trace = tmp_path / "trace"
    traced_function(lam, fn_name, trace)
    arn = _stream(kinesis, fn_name)
    url, queue = _queue(sqs, f"{fn_name}-onfailure")
    _put(kinesis, fn_name, "please fail", "after")
    uuid = lam.create_event_source_mapping(
        FunctionName=fn_name,
        EventSourceArn=arn,
        StartingPosition="TRIM_HORIZON",
        BatchSize=1,
        MaximumRetryAttempts=1,
        DestinationConfig={"OnFailure": {"Destination": queue}},
    )["UUID"]
    (record,) = _messages(sqs, url, 1)
    assert record["requestContext"]["condition"] == "RetryAttemptsExhausted"
    assert record["requestContext"]["approximateInvokeCount"] == 2
    assert record["requestContext"]["functionArn"].endswith(f":function:{fn_name}")
    assert record["responseContext"] == {
        "statusCode": 200,
        "executedVersion": "$LATEST",
        "functionError": "Unhandled",
    }
    assert record["version"] == "1.0"
    info = record["KinesisBatchInfo"]
    assert (info["shardId"], info["batchSize"], info["streamArn"]) == (
        "shardId-000000000000",
        1,
        arn,
    )
    assert info["startSequenceNumber"] == info["endSequenceNumber"]
    # The shard moved on: the record after the failed one was delivered.
    wait_for(lambda: "after" in [_data(r) for r in records(trace)])
    assert [_data(r) for r in records(trace)] == ["please fail", "please fail", "after"]
    lam.delete_event_source_mapping(UUID=uuid)


def test_bisect_isolates_the_failing_record(
    hearth: Server, moto: str, fn_name: str, tmp_path: Path
) -> None:
    lam, kinesis, sqs = hearth.client(), aws_client(moto, "kinesis"), aws_client(moto, "sqs")
    trace = tmp_path / "trace"
    traced_function(lam, fn_name, trace)
    arn = _stream(kinesis, fn_name)
    url, queue = _queue(sqs, f"{fn_name}-onfailure")
    _put(kinesis, fn_name, "a", "b", "fail", "d")
    uuid = lam.create_event_source_mapping(
        FunctionName=fn_name,
        EventSourceArn=arn,
        StartingPosition="TRIM_HORIZON",
        BatchSize=4,
        MaximumBatchingWindowInSeconds=1,
        MaximumRetryAttempts=0,
        BisectBatchOnFunctionError=True,
        DestinationConfig={"OnFailure": {"Destination": queue}},
    )["UUID"]
    (record,) = _messages(sqs, url, 1)
    assert record["KinesisBatchInfo"]["batchSize"] == 1
    wait_for(lambda: len(batches(trace)) >= 5)
    time.sleep(0.3)
    sizes = [[_data(r) for r in b["event"]["Records"]] for b in batches(trace)]
    assert sizes == [["a", "b", "fail", "d"], ["a", "b"], ["fail", "d"], ["fail"], ["d"]]
    lam.delete_event_source_mapping(UUID=uuid)


def test_partial_failure_resumes_from_the_lowest_failed_record(
    hearth: Server, moto: str, fn_name: str, tmp_path: Path
) -> None:
    lam, kinesis, sqs = hearth.client(), aws_client(moto, "kinesis"), aws_client(moto, "sqs")
    trace = tmp_path / "trace"
    traced_function(lam, fn_name, trace)
    arn = _stream(kinesis, fn_name)
    url, queue = _queue(sqs, f"{fn_name}-onfailure")
    _put(kinesis, fn_name, "a", "bad", "c")
    uuid = lam.create_event_source_mapping(
        FunctionName=fn_name,
        EventSourceArn=arn,
        StartingPosition="TRIM_HORIZON",
        BatchSize=3,
        MaximumBatchingWindowInSeconds=1,
        MaximumRetryAttempts=1,
        FunctionResponseTypes=["ReportBatchItemFailures"],
        DestinationConfig={"OnFailure": {"Destination": queue}},
    )["UUID"]
    (record,) = _messages(sqs, url, 1)
    assert record["KinesisBatchInfo"]["batchSize"] == 2
    assert record["responseContext"]["functionError"] is None
    seen = [[_data(r) for r in b["event"]["Records"]] for b in batches(trace)]
    assert seen == [["a", "bad", "c"], ["bad", "c"]]
    lam.delete_event_source_mapping(UUID=uuid)


def test_parallelization_keeps_order_per_partition_key(
    hearth: Server, moto: str, fn_name: str, tmp_path: Path
) -> None:
    lam, kinesis = hearth.client(), aws_client(moto, "kinesis")
    trace = tmp_path / "trace"
    traced_function(lam, fn_name, trace)
    arn = _stream(kinesis, fn_name)
    for i in range(20):
        _put(kinesis, fn_name, f"{i % 4}-{i}", key=f"key{i % 4}")
    uuid = lam.create_event_source_mapping(
        FunctionName=fn_name,
        EventSourceArn=arn,
        StartingPosition="TRIM_HORIZON",
        ParallelizationFactor=4,
        BatchSize=5,
    )["UUID"]
    wait_for(lambda: len(records(trace)) >= 20)
    per_key: dict[str, list[int]] = {}
    for record in records(trace):
        key, number = _data(record).split("-")
        assert record["kinesis"]["partitionKey"] == f"key{key}"
        per_key.setdefault(key, []).append(int(number))
    assert per_key == {k: sorted(v) for k, v in per_key.items()}
    assert sum(len(v) for v in per_key.values()) == 20
    lam.delete_event_source_mapping(UUID=uuid)


def test_filters_apply_to_kinesis_data(
    hearth: Server, moto: str, fn_name: str, tmp_path: Path
) -> None:
    lam, kinesis = hearth.client(), aws_client(moto, "kinesis")
    trace = tmp_path / "trace"
    traced_function(lam, fn_name, trace)
    arn = _stream(kinesis, fn_name)
    _put(kinesis, fn_name, '{"kind": "skip"}', '{"kind": "take"}', "not json", '{"kind": "take2"}')
    uuid = lam.create_event_source_mapping(
        FunctionName=fn_name,
        EventSourceArn=arn,
        StartingPosition="TRIM_HORIZON",
        FilterCriteria={"Filters": [{"Pattern": '{"data": {"kind": [{"prefix": "take"}]}}'}]},
    )["UUID"]
    wait_for(lambda: len(records(trace)) >= 2)
    time.sleep(0.5)
    assert [_data(r) for r in records(trace)] == ['{"kind": "take"}', '{"kind": "take2"}']
    lam.delete_event_source_mapping(UUID=uuid)


def test_dynamodb_stream_records_in_aws_shape(
    hearth: Server, moto: str, fn_name: str, tmp_path: Path
) -> None:
    lam, ddb = hearth.client(), aws_client(moto, "dynamodb")
    trace = tmp_path / "trace"
    traced_function(lam, fn_name, trace)
    table = ddb.create_table(
        TableName=fn_name,
        KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
        StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"},
    )
    arn = table["TableDescription"]["LatestStreamArn"]
    uuid = lam.create_event_source_mapping(
        FunctionName=fn_name, EventSourceArn=arn, StartingPosition="TRIM_HORIZON"
    )["UUID"]
    wait_state(lam, uuid, "Enabled")
    ddb.put_item(TableName=fn_name, Item={"id": {"S": "one"}, "blob": {"B": b"foobar"}})
    ddb.put_item(TableName=fn_name, Item={"id": {"S": "one"}, "n": {"N": "2"}})
    wait_for(lambda: len(records(trace)) >= 2)
    first, second = records(trace)[:2]
    assert (first["eventName"], second["eventName"]) == ("INSERT", "MODIFY")
    assert first["eventSource"] == "aws:dynamodb"
    assert first["eventSourceARN"] == arn
    assert first["awsRegion"] == REGION
    assert first["dynamodb"]["Keys"] == {"id": {"S": "one"}}
    assert first["dynamodb"]["NewImage"]["blob"] == {"B": "Zm9vYmFy"}
    assert second["dynamodb"]["OldImage"]["blob"] == {"B": "Zm9vYmFy"}
    assert isinstance(first["dynamodb"]["ApproximateCreationDateTime"], float)
    lam.delete_event_source_mapping(UUID=uuid)


def test_kill_9_mid_stream_batch_resumes_at_least_once(moto: str, tmp_path: Path) -> None:
    server = hearth_server(moto, tmp_path / "data").start()
    try:
        lam, kinesis = server.client(), aws_client(moto, "kinesis")
        trace = tmp_path / "trace"
        traced_function(lam, "streamkill", trace, SLEEP="2")
        arn = _stream(kinesis, "streamkill")
        _put(kinesis, "streamkill", "one")
        uuid = lam.create_event_source_mapping(
            FunctionName="streamkill",
            EventSourceArn=arn,
            StartingPosition="TRIM_HORIZON",
            BatchSize=1,
        )["UUID"]
        wait_for(lambda: [_data(r) for r in records(trace)] == ["one"])
        _put(kinesis, "streamkill", "sleep")
        wait_for(lambda: "sleep" in [_data(r) for r in records(trace)])
        server.stop(signal.SIGKILL)  # the "sleep" batch is in flight, not committed
        server.start()
        wait_for(lambda: [_data(r) for r in records(trace)].count("sleep") >= 2, timeout=30)
        _put(kinesis, "streamkill", "three")
        wait_for(lambda: "three" in [_data(r) for r in records(trace)], timeout=30)
        # "one" was committed before the kill: it is never delivered again.
        assert [_data(r) for r in records(trace)] == ["one", "sleep", "sleep", "three"]
        server.restart()
        assert wait_state(server.client(), uuid, "Enabled")
        time.sleep(1)
        assert [_data(r) for r in records(trace)] == ["one", "sleep", "sleep", "three"]
    finally:
        server.stop()


def test_latest_at_timestamp_and_disable_resume(
    hearth: Server, moto: str, fn_name: str, tmp_path: Path
) -> None:
    lam, kinesis = hearth.client(), aws_client(moto, "kinesis")
    arn = _stream(kinesis, fn_name)
    _put(kinesis, fn_name, "before")
    time.sleep(1.1)
    cut = time.time()
    time.sleep(0.1)
    _put(kinesis, fn_name, "after-cut")
    latest_trace, at_trace = tmp_path / "latest", tmp_path / "at"
    traced_function(lam, f"{fn_name[:50]}-latest", latest_trace)
    traced_function(lam, f"{fn_name[:50]}-at", at_trace)
    latest = lam.create_event_source_mapping(
        FunctionName=f"{fn_name[:50]}-latest", EventSourceArn=arn, StartingPosition="LATEST"
    )["UUID"]
    at = lam.create_event_source_mapping(
        FunctionName=f"{fn_name[:50]}-at",
        EventSourceArn=arn,
        StartingPosition="AT_TIMESTAMP",
        StartingPositionTimestamp=cut,
    )["UUID"]
    wait_state(lam, latest, "Enabled")
    time.sleep(0.5)  # the LATEST iterator is taken when the poller starts
    _put(kinesis, fn_name, "new")
    wait_for(lambda: len(records(latest_trace)) >= 1 and len(records(at_trace)) >= 2)
    assert [_data(r) for r in records(latest_trace)] == ["new"]
    assert [_data(r) for r in records(at_trace)] == ["after-cut", "new"]

    lam.update_event_source_mapping(UUID=latest, Enabled=False)
    wait_state(lam, latest, "Disabled")
    _put(kinesis, fn_name, "while-disabled")
    time.sleep(0.5)
    assert [_data(r) for r in records(latest_trace)] == ["new"]
    lam.update_event_source_mapping(UUID=latest, Enabled=True)
    wait_state(lam, latest, "Enabled")
    # Resumed from its committed position: nothing skipped, nothing repeated.
    wait_for(lambda: len(records(latest_trace)) >= 2)
    assert [_data(r) for r in records(latest_trace)] == ["new", "while-disabled"]
    for uuid in (latest, at):
        lam.delete_event_source_mapping(UUID=uuid)


def test_s3_and_sns_on_failure_destinations(
    hearth: Server, moto: str, fn_name: str, tmp_path: Path
) -> None:
    lam, kinesis, s3 = hearth.client(), aws_client(moto, "kinesis"), aws_client(moto, "s3")
    sns, sqs = aws_client(moto, "sns"), aws_client(moto, "sqs")
    trace = tmp_path / "trace"
    traced_function(lam, fn_name, trace, MODE="fail")
    arn = _stream(kinesis, fn_name)
    bucket = fn_name.lower().replace("_", "-")[:60]
    s3.create_bucket(Bucket=bucket)
    topic = sns.create_topic(Name=f"{fn_name}-t")["TopicArn"]
    url, queue = _queue(sqs, f"{fn_name}-via-sns")
    sns.subscribe(
        TopicArn=topic, Protocol="sqs", Endpoint=queue, Attributes={"RawMessageDelivery": "true"}
    )
    _put(kinesis, fn_name, "x")
    common = {
        "FunctionName": fn_name,
        "EventSourceArn": arn,
        "StartingPosition": "TRIM_HORIZON",
        "MaximumRetryAttempts": 0,
    }
    to_s3 = lam.create_event_source_mapping(
        **common, DestinationConfig={"OnFailure": {"Destination": f"arn:aws:s3:::{bucket}"}}
    )["UUID"]

    def stored() -> list[dict[str, Any]]:
        return list(s3.list_objects_v2(Bucket=bucket).get("Contents", []))

    wait_for(stored)
    (obj,) = stored()
    assert obj["Key"].startswith(f"aws/lambda/{to_s3}/shardId-000000000000/")
    body = json.loads(s3.get_object(Bucket=bucket, Key=obj["Key"])["Body"].read())
    assert body["requestContext"]["condition"] == "RetryAttemptsExhausted"
    lam.delete_event_source_mapping(UUID=to_s3)
    wait_for(
        lambda: not lam.list_event_source_mappings(FunctionName=fn_name)["EventSourceMappings"]
    )
    to_sns = lam.create_event_source_mapping(
        **common, DestinationConfig={"OnFailure": {"Destination": topic}}
    )["UUID"]
    (record,) = _messages(sqs, url, 1)
    assert record["KinesisBatchInfo"]["batchSize"] == 1
    lam.delete_event_source_mapping(UUID=to_sns)


def test_tumbling_window_passes_state_and_ends_with_a_final_invoke(
    hearth: Server, moto: str, fn_name: str, tmp_path: Path
) -> None:
    lam, kinesis = hearth.client(), aws_client(moto, "kinesis")
    trace = tmp_path / "trace"
    traced_function(lam, fn_name, trace)
    arn = _stream(kinesis, fn_name)
    uuid = lam.create_event_source_mapping(
        FunctionName=fn_name,
        EventSourceArn=arn,
        StartingPosition="TRIM_HORIZON",
        BatchSize=1,
        TumblingWindowInSeconds=2,
    )["UUID"]
    _put(kinesis, fn_name, "a", "b", "c")
    wait_for(lambda: sum(b["event"]["isFinalInvokeForWindow"] for b in batches(trace)) >= 1)
    wait_for(
        lambda: (
            sum(
                b["event"]["state"].get("n", 0)
                for b in batches(trace)
                if b["event"]["isFinalInvokeForWindow"]
            )
            == 3
        ),
        timeout=10,
    )
    events = [b["event"] for b in batches(trace)]
    first = events[0]
    assert first["state"] == {} and first["isFinalInvokeForWindow"] is False
    assert first["shardId"] == "shardId-000000000000" and first["eventSourceARN"] == arn
    assert set(first["window"]) == {"start", "end"}
    assert first["isWindowTerminatedEarly"] is False
    finals = [e for e in events if e["isFinalInvokeForWindow"]]
    assert all(e["Records"] == [] for e in finals)
    lam.delete_event_source_mapping(UUID=uuid)


def test_stream_batches_publish_iterator_age(
    hearth: Server, moto: str, fn_name: str, tmp_path: Path
) -> None:
    """AWS's IteratorAge: the age of each batch's last record when it was sent, in CloudWatch."""
    from datetime import UTC, datetime, timedelta

    from tests.integration.conftest import service_client

    lam, kinesis = hearth.client(), aws_client(moto, "kinesis")
    traced_function(lam, fn_name, tmp_path / "trace")
    arn = _stream(kinesis, fn_name)
    _put(kinesis, fn_name, "old")
    time.sleep(1.2)  # the record waits in the stream before the mapping exists
    lam.create_event_source_mapping(
        FunctionName=fn_name, EventSourceArn=arn, StartingPosition="TRIM_HORIZON"
    )
    cloudwatch = service_client(hearth.endpoint, "cloudwatch")
    now = datetime.now(UTC)

    def ages() -> list[dict[str, Any]] | None:
        points = cloudwatch.get_metric_statistics(
            Namespace="AWS/Lambda",
            MetricName="IteratorAge",
            Dimensions=[{"Name": "FunctionName", "Value": fn_name}],
            StartTime=now - timedelta(minutes=5),
            EndTime=now + timedelta(minutes=5),
            Period=60,
            Statistics=["Maximum", "SampleCount"],
        )["Datapoints"]
        return points or None

    points = wait_for(ages, timeout=30, interval=0.5)
    assert points[0]["Unit"] == "Milliseconds"
    assert points[0]["Maximum"] >= 1000  # at least the time it waited before the mapping


def _table(ddb: Any, name: str) -> str:
    table = ddb.create_table(
        TableName=name,
        KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
        StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_IMAGE"},
    )
    return str(table["TableDescription"]["LatestStreamArn"])


def _ids(batch: dict[str, Any]) -> list[str]:
    return [r["dynamodb"]["Keys"]["id"]["S"] for r in batch["event"]["Records"]]


def test_records_older_than_maximum_record_age_go_to_on_failure_unread(
    hearth: Server, moto: str, moto_clock: Path, fn_name: str, tmp_path: Path
) -> None:
    lam, sqs = hearth.client(), aws_client(moto, "sqs")
    kinesis, ddb = aws_client(moto, "kinesis"), aws_client(moto, "dynamodb")
    trace = tmp_path / "trace"
    traced_function(lam, fn_name, trace)
    stream = _stream(kinesis, fn_name)
    table = _table(ddb, fn_name)
    url, queue = _queue(sqs, f"{fn_name}-onfailure")
    # Two records of each source arrived two minutes ago, one just now.
    moto_clock.write_text("120")
    try:
        _put(kinesis, fn_name, "old-1", "old-2")
        for item in ("old-1", "old-2"):
            ddb.put_item(TableName=fn_name, Item={"id": {"S": item}})
    finally:
        moto_clock.write_text("")
    _put(kinesis, fn_name, "new")
    ddb.put_item(TableName=fn_name, Item={"id": {"S": "new"}})
    uuids = [
        lam.create_event_source_mapping(
            FunctionName=fn_name,
            EventSourceArn=arn,
            StartingPosition="TRIM_HORIZON",
            MaximumRecordAgeInSeconds=60,
            DestinationConfig={"OnFailure": {"Destination": queue}},
        )["UUID"]
        for arn in (stream, table)
    ]
    sent = _messages(sqs, url, 2)
    assert {r["requestContext"]["condition"] for r in sent} == {"RecordAgeExceeded"}
    info = {next(k for k in r if k.endswith("BatchInfo")): r for r in sent}
    assert set(info) == {"KinesisBatchInfo", "DDBStreamBatchInfo"}
    for key, arn in (("KinesisBatchInfo", stream), ("DDBStreamBatchInfo", table)):
        batch = info[key][key]
        assert (batch["batchSize"], batch["streamArn"]) == (2, arn)
        assert batch["startSequenceNumber"] < batch["endSequenceNumber"]
        assert "responseContext" not in info[key]  # never invoked with them
    # The function saw only the fresh record of each source.
    wait_for(lambda: len(records(trace)) >= 2)
    time.sleep(0.3)
    seen = sorted(
        _data(r) if "kinesis" in r else r["dynamodb"]["Keys"]["id"]["S"] for r in records(trace)
    )
    assert seen == ["new", "new"]
    for uuid in uuids:
        lam.delete_event_source_mapping(UUID=uuid)


def test_split_and_merged_shards_are_read_parents_first(
    hearth: Server, moto: str, fn_name: str, tmp_path: Path
) -> None:
    lam, kinesis = hearth.client(), aws_client(moto, "kinesis")
    trace = tmp_path / "trace"
    traced_function(lam, fn_name, trace)
    arn = _stream(kinesis, fn_name)
    keys = [f"key-{i}" for i in range(8)]
    for i, key in enumerate(keys):
        _put(kinesis, fn_name, f"A{i}", key=key)
    # shardId-000000000000 splits in two halves of the hash range, which then merge again.
    kinesis.split_shard(
        StreamName=fn_name,
        ShardToSplit="shardId-000000000000",
        NewStartingHashKey=str(2**127),
    )
    for i, key in enumerate(keys):
        _put(kinesis, fn_name, f"B{i}", key=key)
    kinesis.merge_shards(
        StreamName=fn_name,
        ShardToMerge="shardId-000000000001",
        AdjacentShardToMerge="shardId-000000000002",
    )
    for i, key in enumerate(keys):
        _put(kinesis, fn_name, f"C{i}", key=key)
    shards = kinesis.list_shards(StreamName=fn_name)["Shards"]
    assert len(shards) == 4
    children = {s["ShardId"] for s in shards if s.get("ParentShardId") == "shardId-000000000000"}
    assert len(children) == 2  # both halves got records: B is spread over both
    uuid = lam.create_event_source_mapping(
        FunctionName=fn_name, EventSourceArn=arn, StartingPosition="TRIM_HORIZON"
    )["UUID"]
    wait_for(lambda: len(records(trace)) >= 24, timeout=30)
    seen = [(r["eventID"].split(":")[0], _data(r)) for r in records(trace)]
    letters = [data[0] for _, data in seen]
    # Every parent record before any child's: A (the split shard), B (its two halves), C (the
    # merged shard); each shard in order; nothing twice.
    assert letters == sorted(letters), seen
    assert sorted(data for _, data in seen) == sorted(f"{x}{i}" for x in "ABC" for i in range(8))
    assert {shard for shard, data in seen if data[0] == "B"} == children
    for shard in {shard for shard, _ in seen}:
        mine = [data for s, data in seen if s == shard]
        assert mine == sorted(mine, key=lambda d: (d[0], int(d[1:])))
    assert {shard for shard, data in seen if data[0] == "C"} == {"shardId-000000000003"}
    lam.delete_event_source_mapping(UUID=uuid)


def test_dynamodb_retries_then_on_failure_record(
    hearth: Server, moto: str, fn_name: str, tmp_path: Path
) -> None:
    lam, ddb, sqs = hearth.client(), aws_client(moto, "dynamodb"), aws_client(moto, "sqs")
    trace = tmp_path / "trace"
    traced_function(lam, fn_name, trace)
    arn = _table(ddb, fn_name)
    url, queue = _queue(sqs, f"{fn_name}-onfailure")
    for item in ("a", "please fail", "c"):
        ddb.put_item(TableName=fn_name, Item={"id": {"S": item}})
    uuid = lam.create_event_source_mapping(
        FunctionName=fn_name,
        EventSourceArn=arn,
        StartingPosition="TRIM_HORIZON",
        BatchSize=1,
        MaximumRetryAttempts=2,
        DestinationConfig={"OnFailure": {"Destination": queue}},
    )["UUID"]
    (record,) = _messages(sqs, url, 1)
    assert record["requestContext"]["condition"] == "RetryAttemptsExhausted"
    assert record["requestContext"]["approximateInvokeCount"] == 3
    assert record["responseContext"]["functionError"] == "Unhandled"
    info = record["DDBStreamBatchInfo"]
    assert (info["batchSize"], info["streamArn"]) == (1, arn)
    assert info["shardId"].startswith("shardId-")
    assert info["startSequenceNumber"] == info["endSequenceNumber"]
    wait_for(lambda: "c" in [i for b in batches(trace) for i in _ids(b)])
    assert [i for b in batches(trace) for i in _ids(b)] == ["a"] + ["please fail"] * 3 + ["c"]
    failed = next(b for b in batches(trace) if _ids(b) == ["please fail"])
    assert (
        failed["event"]["Records"][0]["dynamodb"]["SequenceNumber"] == info["startSequenceNumber"]
    )
    lam.delete_event_source_mapping(UUID=uuid)


def test_dynamodb_bisect_isolates_the_failing_item(
    hearth: Server, moto: str, fn_name: str, tmp_path: Path
) -> None:
    lam, ddb, sqs = hearth.client(), aws_client(moto, "dynamodb"), aws_client(moto, "sqs")
    trace = tmp_path / "trace"
    traced_function(lam, fn_name, trace)
    arn = _table(ddb, fn_name)
    url, queue = _queue(sqs, f"{fn_name}-onfailure")
    for item in ("a", "b", "fail", "d"):
        ddb.put_item(TableName=fn_name, Item={"id": {"S": item}})
    uuid = lam.create_event_source_mapping(
        FunctionName=fn_name,
        EventSourceArn=arn,
        StartingPosition="TRIM_HORIZON",
        BatchSize=4,
        MaximumBatchingWindowInSeconds=1,
        MaximumRetryAttempts=0,
        BisectBatchOnFunctionError=True,
        DestinationConfig={"OnFailure": {"Destination": queue}},
    )["UUID"]
    (record,) = _messages(sqs, url, 1)
    info = record["DDBStreamBatchInfo"]
    assert info["batchSize"] == 1
    assert record["requestContext"]["condition"] == "RetryAttemptsExhausted"
    wait_for(lambda: len(batches(trace)) >= 5)
    time.sleep(0.3)
    assert [_ids(b) for b in batches(trace)] == [
        ["a", "b", "fail", "d"],
        ["a", "b"],
        ["fail", "d"],
        ["fail"],
        ["d"],
    ]
    (failed,) = [b for b in batches(trace) if _ids(b) == ["fail"]]
    assert failed["event"]["Records"][0]["dynamodb"]["SequenceNumber"] == info["endSequenceNumber"]
    lam.delete_event_source_mapping(UUID=uuid)
