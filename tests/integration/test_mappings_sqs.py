"""SQS event source mappings against moto's server: the API, delivery, failures, FIFO order,
filters, partial batch responses, reserved concurrency, and a kill -9 mid-batch."""

from __future__ import annotations

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
    hearth,
    hearth_server,
    records,
    status,
    traced_function,
    wait_state,
)

pytestmark = pytest.mark.integration
__all__ = ["hearth"]  # fixture


def _queue(sqs: Any, name: str, **attributes: str) -> tuple[str, str]:
    url = sqs.create_queue(QueueName=name, Attributes=attributes)["QueueUrl"]
    return url, f"arn:aws:sqs:{REGION}:{ACCOUNT}:{name}"


def _error(call: Any) -> dict[str, Any]:
    with pytest.raises(ClientError) as raised:
        call()
    response: Any = raised.value.response
    return {
        "Code": response["Error"]["Code"],
        "Message": response["Error"]["Message"],
        "Status": response["ResponseMetadata"]["HTTPStatusCode"],
    }


def _queue_empty(sqs: Any, url: str) -> bool:
    attrs = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
    return bool(attrs["ApproximateNumberOfMessages"] == "0") and (
        attrs["ApproximateNumberOfMessagesNotVisible"] == "0"
    )


def test_lifecycle_shapes_and_states(
    hearth: Server, moto: str, fn_name: str, tmp_path: Path
) -> None:
    lam, sqs = hearth.client(), aws_client(moto, "sqs")
    traced_function(lam, fn_name, tmp_path / "trace")
    _, arn = _queue(sqs, f"{fn_name}-q")
    created = lam.create_event_source_mapping(
        FunctionName=fn_name, EventSourceArn=arn, Tags={"team": "a"}
    )
    assert created["ResponseMetadata"]["HTTPStatusCode"] == 202
    created.pop("ResponseMetadata")
    uuid = created["UUID"]
    assert created == {
        "UUID": uuid,
        "BatchSize": 10,
        "EventSourceArn": arn,
        "EventSourceMappingArn": f"arn:aws:lambda:{REGION}:{ACCOUNT}:event-source-mapping:{uuid}",
        "FunctionArn": f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:{fn_name}",
        "FunctionResponseTypes": [],
        "LastModified": created["LastModified"],
        "MaximumBatchingWindowInSeconds": 0,
        "State": "Creating",
        "StateTransitionReason": "USER_INITIATED",
    }
    wait_state(lam, uuid, "Enabled")
    listed = lam.list_event_source_mappings(FunctionName=fn_name)["EventSourceMappings"]
    assert [m["UUID"] for m in listed] == [uuid]
    assert lam.list_event_source_mappings(EventSourceArn=arn + "x")["EventSourceMappings"] == []
    mapping_arn = created["EventSourceMappingArn"]
    assert lam.list_tags(Resource=mapping_arn)["Tags"] == {"team": "a"}
    lam.tag_resource(Resource=mapping_arn, Tags={"b": "2"})
    lam.untag_resource(Resource=mapping_arn, TagKeys=["team"])
    assert lam.list_tags(Resource=mapping_arn)["Tags"] == {"b": "2"}

    updated = lam.update_event_source_mapping(UUID=uuid, BatchSize=5, Enabled=False)
    assert updated["State"] == "Disabling"
    assert wait_state(lam, uuid, "Disabled")["BatchSize"] == 5
    assert lam.update_event_source_mapping(UUID=uuid, Enabled=True)["State"] == "Enabling"
    wait_state(lam, uuid, "Enabled")

    deleted = lam.delete_event_source_mapping(UUID=uuid)
    assert deleted["State"] == "Deleting"
    assert deleted["ResponseMetadata"]["HTTPStatusCode"] == 202
    wait_for(
        lambda: not lam.list_event_source_mappings(FunctionName=fn_name)["EventSourceMappings"]
    )
    missing = _error(lambda: lam.get_event_source_mapping(UUID=uuid))
    assert missing == {
        "Code": "ResourceNotFoundException",
        "Message": "The resource you requested does not exist.",
        "Status": 404,
    }
    assert _error(lambda: lam.list_tags(Resource=mapping_arn))["Message"] == (
        f"Event source mapping not found: {mapping_arn}"
    )

    # DeleteFunction leaves the function's mappings, as AWS does.
    kept = lam.create_event_source_mapping(FunctionName=fn_name, EventSourceArn=arn)["UUID"]
    wait_state(lam, kept, "Enabled")
    lam.delete_function(FunctionName=fn_name)
    assert lam.get_event_source_mapping(UUID=kept)["State"] == "Enabled"
    lam.delete_event_source_mapping(UUID=kept)


def test_bad_requests_get_aws_errors_and_leave_nothing(
    hearth: Server, moto: str, fn_name: str, tmp_path: Path
) -> None:
    lam, sqs = hearth.client(validate=False), aws_client(moto, "sqs")
    traced_function(lam, fn_name, tmp_path / "trace")
    _, arn = _queue(sqs, f"{fn_name}-q")
    _, fifo = _queue(sqs, f"{fn_name}-q.fifo", FifoQueue="true")
    bad = "InvalidParameterValueException"
    cases: list[tuple[dict[str, Any], str, str]] = [
        # A well-formed ARN of a service Lambda does not poll (a malformed one is the model's
        # ValidationException, before this check).
        (
            {"EventSourceArn": f"arn:aws:foo:us-east-1:{ACCOUNT}:x"},
            bad,
            "Unrecognized event source.",
        ),
        ({"FunctionName": "nope"}, bad, "Function does not exist"),
        (
            {"BatchSize": 11},
            bad,
            "Maximum batch window in seconds must be greater than 0 if maximum batch size is "
            "greater than 10",
        ),
        (
            {"BatchSize": 10001, "MaximumBatchingWindowInSeconds": 1},
            "ValidationException",
            "1 validation error detected: Value '10001' at 'batchSize' failed to satisfy "
            "constraint: Member must have value less than or equal to 10000",
        ),
        (
            {"MaximumBatchingWindowInSeconds": 301},
            "ValidationException",
            "1 validation error detected: Value '301' at 'maximumBatchingWindowInSeconds' "
            "failed to satisfy constraint: Member must have value less than or equal to 300",
        ),
        (
            {"EventSourceArn": fifo, "MaximumBatchingWindowInSeconds": 1},
            bad,
            "Batching window is not supported for FIFO queues",
        ),
        (
            {"FilterCriteria": {"Filters": [{"Pattern": "simple string"}]}},
            bad,
            "Invalid filter pattern definition.",
        ),
        (
            {"FilterCriteria": {"Filters": [{"Pattern": '{"body": {"a": "not-a-list"}}'}]}},
            bad,
            "Invalid filter pattern definition.",
        ),
        (
            {"StartingPosition": "LATEST"},
            bad,
            f"Unsupported starting position for arn type: {arn}",
        ),
        (
            {"DestinationConfig": {"OnFailure": {"Destination": arn}}},
            bad,
            "Unsupported DestinationConfig parameter for given event source mapping type.",
        ),
        (
            {"EventSourceArn": f"arn:aws:sqs:{REGION}:{ACCOUNT}:{fn_name}-missing"},
            bad,
            "Error occurred while ReceiveMessage. SQS Error Code: "
            "AWS.SimpleQueueService.NonExistentQueue. SQS Error Message: "
            "The specified queue does not exist.",
        ),
        (
            {"ScalingConfig": {"MaximumConcurrency": 1}},
            "ValidationException",
            "1 validation error detected: Value '1' at 'scalingConfig.maximumConcurrency' "
            "failed to satisfy constraint: Member must have value greater than or equal to 2",
        ),
    ]
    for changes, code, message in cases:
        request = {"FunctionName": fn_name, "EventSourceArn": arn, **changes}
        error = _error(lambda r=request: lam.create_event_source_mapping(**r))
        assert (error["Code"], error["Message"], error["Status"]) == (code, message, 400), changes
    malformed = _error(
        lambda: lam.create_event_source_mapping(
            FunctionName=fn_name, EventSourceArn="arn:aws:foo:us-east-1:1:x"
        )
    )
    assert (malformed["Code"], malformed["Status"]) == ("ValidationException", 400)
    assert malformed["Message"].startswith(
        "1 validation error detected: Value 'arn:aws:foo:us-east-1:1:x' at 'eventSourceArn' "
        "failed to satisfy constraint: Member must satisfy regular expression pattern: arn:"
    )
    assert lam.list_event_source_mappings(FunctionName=fn_name)["EventSourceMappings"] == []

    first = lam.create_event_source_mapping(FunctionName=fn_name, EventSourceArn=arn)
    duplicate = _error(
        lambda: lam.create_event_source_mapping(FunctionName=fn_name, EventSourceArn=arn)
    )
    assert duplicate == {
        "Code": "ResourceConflictException",
        "Message": f'An event source mapping with SQS arn (" {arn} ") and function (" {fn_name} ") '
        f"already exists. Please update or delete the existing mapping with UUID {first['UUID']}",
        "Status": 409,
    }
    for call in (
        lambda: lam.get_event_source_mapping(UUID="00000000-0000-0000-0000-000000000000"),
        lambda: lam.delete_event_source_mapping(UUID="00000000-0000-0000-0000-000000000000"),
        lambda: lam.update_event_source_mapping(UUID="00000000-0000-0000-0000-000000000000"),
    ):
        assert _error(call)["Code"] == "ResourceNotFoundException"
    lam.delete_event_source_mapping(UUID=first["UUID"])


def test_messages_are_delivered_in_aws_shape_and_deleted(
    hearth: Server, moto: str, fn_name: str, tmp_path: Path
) -> None:
    lam, sqs = hearth.client(), aws_client(moto, "sqs")
    trace = tmp_path / "trace"
    traced_function(lam, fn_name, trace)
    url, arn = _queue(sqs, f"{fn_name}-q")
    uuid = lam.create_event_source_mapping(FunctionName=fn_name, EventSourceArn=arn)["UUID"]
    wait_state(lam, uuid, "Enabled")
    sent = sqs.send_message(
        QueueUrl=url,
        MessageBody='{"foo": "bar"}',
        MessageAttributes={"kind": {"DataType": "String", "StringValue": "x"}},
    )
    wait_for(lambda: records(trace))
    (record,) = records(trace)
    assert set(record) == {
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
    assert record["messageId"] == sent["MessageId"]
    assert record["body"] == '{"foo": "bar"}'
    assert record["eventSource"] == "aws:sqs"
    assert record["eventSourceARN"] == arn
    assert record["awsRegion"] == REGION
    assert record["attributes"]["ApproximateReceiveCount"] == "1"
    assert {"SentTimestamp", "SenderId", "ApproximateFirstReceiveTimestamp"} <= set(
        record["attributes"]
    )
    assert record["messageAttributes"] == {
        "kind": {
            "stringValue": "x",
            "stringListValues": [],
            "binaryListValues": [],
            "dataType": "String",
        }
    }
    wait_for(lambda: _queue_empty(sqs, url))
    lam.delete_event_source_mapping(UUID=uuid)


def test_failures_return_after_visibility_timeout_and_redrive(
    hearth: Server, moto: str, fn_name: str, tmp_path: Path
) -> None:
    lam, sqs = hearth.client(), aws_client(moto, "sqs")
    trace = tmp_path / "trace"
    traced_function(lam, fn_name, trace)
    _, dlq_arn = _queue(sqs, f"{fn_name}-dlq")
    dlq_url = sqs.get_queue_url(QueueName=f"{fn_name}-dlq")["QueueUrl"]
    redrive = json.dumps({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": 2})
    url, arn = _queue(sqs, f"{fn_name}-q", VisibilityTimeout="1", RedrivePolicy=redrive)
    uuid = lam.create_event_source_mapping(FunctionName=fn_name, EventSourceArn=arn)["UUID"]
    wait_state(lam, uuid, "Enabled")
    sqs.send_message(QueueUrl=url, MessageBody="please fail")
    wait_for(lambda: len(records(trace)) >= 2, timeout=20)
    counts = [r["attributes"]["ApproximateReceiveCount"] for r in records(trace)]
    assert counts[:2] == ["1", "2"]

    def in_dlq() -> bool:
        got = sqs.receive_message(QueueUrl=dlq_url, WaitTimeSeconds=1).get("Messages", [])
        return bool(got) and got[0]["Body"] == "please fail"

    wait_for(in_dlq, timeout=20)
    lam.delete_event_source_mapping(UUID=uuid)


def test_partial_batch_response_deletes_only_successes(
    hearth: Server, moto: str, fn_name: str, tmp_path: Path
) -> None:
    lam, sqs = hearth.client(), aws_client(moto, "sqs")
    trace = tmp_path / "trace"
    traced_function(lam, fn_name, trace)
    url, arn = _queue(sqs, f"{fn_name}-q", VisibilityTimeout="2")
    uuid = lam.create_event_source_mapping(
        FunctionName=fn_name,
        EventSourceArn=arn,
        BatchSize=10,
        MaximumBatchingWindowInSeconds=1,
        FunctionResponseTypes=["ReportBatchItemFailures"],
    )["UUID"]
    wait_state(lam, uuid, "Enabled")
    sqs.send_message_batch(
        QueueUrl=url,
        Entries=[{"Id": str(i), "MessageBody": "bad" if i == 1 else f"ok-{i}"} for i in range(3)],
    )
    # The bad one comes back after the visibility timeout; the good ones never do.
    wait_for(lambda: [r["body"] for r in records(trace)].count("bad") >= 2, timeout=20)
    bodies = [r["body"] for r in records(trace)]
    assert sorted(b for b in bodies if b != "bad") == ["ok-0", "ok-2"]
    lam.delete_event_source_mapping(UUID=uuid)


# AWS's rules for partial batch responses: (answer, whether the message comes back).
ANSWERS = [
    ("null", False),
    ("{}", False),
    ('""', False),
    ('{"batchItemFailures": []}', False),
    ('{"batchItemFailures": null}', False),
    ('{"batchItemFailures": [{"itemIdentifier": ""}]}', True),
    ('{"batchItemFailures": [{"itemIdentifier": null}]}', True),
    ('{"batchItemFailures": [{"foo": "bar"}]}', True),
    ('{"batchItemFailures": [{"itemIdentifier": "not-in-batch"}]}', True),
]


def test_partial_batch_response_rules(
    hearth: Server, moto: str, fn_name: str, tmp_path: Path
) -> None:
    lam, sqs = hearth.client(), aws_client(moto, "sqs")
    trace = tmp_path / "trace"
    traced_function(lam, fn_name, trace)
    url, arn = _queue(sqs, f"{fn_name}-q", VisibilityTimeout="1")
    uuid = lam.create_event_source_mapping(
        FunctionName=fn_name,
        EventSourceArn=arn,
        BatchSize=1,
        FunctionResponseTypes=["ReportBatchItemFailures"],
    )["UUID"]
    wait_state(lam, uuid, "Enabled")
    for answer, _ in ANSWERS:
        sqs.send_message(QueueUrl=url, MessageBody=f"answer:{answer}")
    wait_for(lambda: {r["body"] for r in records(trace)} >= {f"answer:{a}" for a, _ in ANSWERS})
    time.sleep(3)  # past the visibility timeout: a failed message is back by now
    seen = [r["body"] for r in records(trace)]
    assert {a: seen.count(f"answer:{a}") > 1 for a, _ in ANSWERS} == dict(ANSWERS)
    lam.delete_event_source_mapping(UUID=uuid)


def test_filters_drop_and_delete_what_does_not_match(
    hearth: Server, moto: str, fn_name: str, tmp_path: Path
) -> None:
    lam, sqs = hearth.client(), aws_client(moto, "sqs")
    trace = tmp_path / "trace"
    traced_function(lam, fn_name, trace)
    url, arn = _queue(sqs, f"{fn_name}-q")
    uuid = lam.create_event_source_mapping(
        FunctionName=fn_name,
        EventSourceArn=arn,
        FilterCriteria={
            "Filters": [
                {"Pattern": '{"body": {"kind": ["order"], "n": [{"numeric": [">", 5]}]}}'},
                {"Pattern": '{"body": [{"prefix": "plain-"}]}'},
            ]
        },
    )["UUID"]
    wait_state(lam, uuid, "Enabled")
    for body in ['{"kind": "order", "n": 3}', '{"kind": "order", "n": 9}', "plain-text", "other"]:
        sqs.send_message(QueueUrl=url, MessageBody=body)
    wait_for(lambda: len(records(trace)) >= 2)
    wait_for(lambda: _queue_empty(sqs, url))
    time.sleep(0.5)
    assert sorted(r["body"] for r in records(trace)) == sorted(
        ['{"kind": "order", "n": 9}', "plain-text"]
    )
    lam.delete_event_source_mapping(UUID=uuid)


def test_fifo_keeps_order_per_group(
    hearth: Server, moto: str, fn_name: str, tmp_path: Path
) -> None:
    lam, sqs = hearth.client(), aws_client(moto, "sqs")
    trace = tmp_path / "trace"
    traced_function(lam, fn_name, trace)
    url, arn = _queue(sqs, f"{fn_name}-q.fifo", FifoQueue="true", ContentBasedDeduplication="true")
    uuid = lam.create_event_source_mapping(FunctionName=fn_name, EventSourceArn=arn, BatchSize=3)[
        "UUID"
    ]
    wait_state(lam, uuid, "Enabled")
    for i in range(12):
        sqs.send_message(QueueUrl=url, MessageBody=f"{i % 3}-{i}", MessageGroupId=str(i % 3))
    wait_for(lambda: len(records(trace)) >= 12, timeout=30)
    seen: dict[str, list[int]] = {}
    for record in records(trace):
        group, number = record["body"].split("-")
        assert record["attributes"]["MessageGroupId"] == group
        seen.setdefault(group, []).append(int(number))
    assert seen == {g: sorted(v) for g, v in seen.items()}
    assert sum(len(v) for v in seen.values()) == 12
    lam.delete_event_source_mapping(UUID=uuid)


def test_reserved_concurrency_one_throttles_but_loses_nothing(
    hearth: Server, moto: str, fn_name: str, tmp_path: Path
) -> None:
    lam, sqs = hearth.client(), aws_client(moto, "sqs")
    trace = tmp_path / "trace"
    traced_function(lam, fn_name, trace)
    lam.put_function_concurrency(FunctionName=fn_name, ReservedConcurrentExecutions=1)
    url, arn = _queue(sqs, f"{fn_name}-q")
    uuid = lam.create_event_source_mapping(
        FunctionName=fn_name,
        EventSourceArn=arn,
        BatchSize=1,
        ScalingConfig={"MaximumConcurrency": 5},
    )["UUID"]
    wait_state(lam, uuid, "Enabled")
    sqs.send_message_batch(
        QueueUrl=url, Entries=[{"Id": str(i), "MessageBody": str(i)} for i in range(10)]
    )
    sqs.send_message_batch(
        QueueUrl=url, Entries=[{"Id": str(i), "MessageBody": str(i + 10)} for i in range(10)]
    )
    wait_for(lambda: len(records(trace)) >= 20, timeout=30)
    assert sorted(int(r["body"]) for r in records(trace)) == list(range(20))
    mine = [m for m in status(hearth.endpoint)["EventSourceMappings"] if m["UUID"] == uuid]
    assert mine[0]["BatchesSucceeded"] == 20
    lam.delete_event_source_mapping(UUID=uuid)


def test_kill_9_mid_batch_loses_nothing(moto: str, tmp_path: Path) -> None:
    server = hearth_server(moto, tmp_path / "data").start()
    try:
        lam, sqs = server.client(), aws_client(moto, "sqs")
        trace = tmp_path / "trace"
        traced_function(lam, "killed", trace, SLEEP="5")
        url, arn = _queue(sqs, "killed-q", VisibilityTimeout="2")
        uuid = lam.create_event_source_mapping(FunctionName="killed", EventSourceArn=arn)["UUID"]
        wait_state(lam, uuid, "Enabled")
        sqs.send_message(QueueUrl=url, MessageBody="sleep")
        wait_for(lambda: records(trace))  # the handler is sleeping in the batch
        server.stop(signal.SIGKILL)
        server.start()
        # The message was never deleted: it is delivered again after the restart.
        wait_for(lambda: len(records(trace)) >= 2, timeout=30)
        wait_for(lambda: _queue_empty(sqs, url), timeout=30)
        assert {r["body"] for r in records(trace)} == {"sleep"}
    finally:
        server.stop()


def test_cli_creates_lists_shows_and_deletes(
    hearth: Server, moto: str, fn_name: str, tmp_path: Path
) -> None:
    import os
    import subprocess
    import sys

    lam, sqs = hearth.client(), aws_client(moto, "sqs")
    trace = tmp_path / "trace"
    traced_function(lam, fn_name, trace)
    url, arn = _queue(sqs, f"{fn_name}-q")
    env = {**os.environ, "HEARTH_ENDPOINT_URL": hearth.endpoint, "COLUMNS": "250"}

    def cli(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "hearth", "mappings", *args],
            capture_output=True,
            text=True,
            env=env,
            timeout=60,
            check=False,
        )

    created = cli("create", "--function", fn_name, "--source", arn, "--filter", '{"body": ["go"]}')
    assert created.returncode == 0, created.stderr
    uuid = created.stdout.strip()
    wait_state(lam, uuid, "Enabled")
    sqs.send_message(QueueUrl=url, MessageBody="go")
    wait_for(lambda: records(trace))
    listed = cli("list", "--function", fn_name)
    assert uuid in listed.stdout and "Enabled" in listed.stdout
    shown = json.loads(cli("show", uuid).stdout)
    assert shown["State"] == "Enabled"
    assert shown["Status"]["RecordsReceived"] == 1
    bad = cli("create", "--function", fn_name, "--source", "nope")
    assert bad.returncode != 0
    assert "ValidationException" in bad.stderr or "InvalidParameterValueException" in bad.stderr
    assert cli("delete", uuid).returncode == 0
