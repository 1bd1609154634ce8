"""SQS / SNS destinations and dead-letter queues, delivered through botocore to moto's server."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest

from tests.integration.async_helpers import RECORDER, async_status, wait_for
from tests.integration.conftest import REGION, Server, create_function, make_zip

pytestmark = pytest.mark.integration

CREDENTIALS = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing"}
ACCOUNT = "123456789012"


@pytest.fixture(scope="module")
def hearth(moto: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    server = Server(
        tmp_path_factory.mktemp("dest-data"),
        # Functions here report to files in the test's directory, which the sandbox hides:
        # plain processes (test_async_sandboxed.py runs events in the sandbox).
        ["--async-retry-delay", "0.1", "--aws-endpoint-url", moto, "--isolation", "process"],
        env={**CREDENTIALS, "AWS_DEFAULT_REGION": REGION},
    )
    server.start()
    yield server
    server.stop()


def client(moto: str, service: str) -> Any:
    return boto3.client(  # type: ignore[call-overload]
        service,
        endpoint_url=moto,
        region_name=REGION,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )


def queue_arn(name: str) -> str:
    return f"arn:aws:sqs:{REGION}:{ACCOUNT}:{name}"


def receive(sqs: Any, url: str, count: int, timeout: float = 30) -> list[dict[str, Any]]:
    got: list[dict[str, Any]] = []

    def poll() -> bool:
        answer = sqs.receive_message(
            QueueUrl=url, MaxNumberOfMessages=10, MessageAttributeNames=["All"], WaitTimeSeconds=1
        )
        got.extend(answer.get("Messages", []))
        return len(got) >= count

    wait_for(poll, timeout=timeout)
    return got


def test_sqs_on_success_and_sns_on_failure(
    hearth: Server, moto: str, fn_name: str, tmp_path: Path
) -> None:
    sqs, sns = client(moto, "sqs"), client(moto, "sns")
    success_url = sqs.create_queue(QueueName=f"{fn_name}-ok")["QueueUrl"]
    topic = sns.create_topic(Name=f"{fn_name}-failures")["TopicArn"]
    watch_url = sqs.create_queue(QueueName=f"{fn_name}-watch")["QueueUrl"]
    sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=queue_arn(f"{fn_name}-watch"))

    lam = hearth.client()
    create_function(lam, fn_name, make_zip({"app.py": RECORDER}))
    lam.put_function_event_invoke_config(
        FunctionName=fn_name,
        MaximumRetryAttempts=0,
        DestinationConfig={
            "OnSuccess": {"Destination": queue_arn(f"{fn_name}-ok")},
            "OnFailure": {"Destination": topic},
        },
    )
    trace = str(tmp_path / "trace.jsonl")
    ok = lam.invoke(
        FunctionName=fn_name,
        InvocationType="Event",
        Payload=json.dumps({"file": trace, "id": "ok"}).encode(),
    )["ResponseMetadata"]["RequestId"]
    bad = lam.invoke(
        FunctionName=fn_name,
        InvocationType="Event",
        Payload=json.dumps({"file": trace, "id": "bad", "fail": True}).encode(),
    )["ResponseMetadata"]["RequestId"]

    (success,) = receive(sqs, success_url, 1)
    record = json.loads(success["Body"])
    assert record["requestContext"]["requestId"] == ok
    assert record["requestContext"]["condition"] == "Success"
    assert record["requestPayload"] == {"file": trace, "id": "ok"}
    assert record["responsePayload"] == {"seen": "ok"}

    (notification,) = receive(sqs, watch_url, 1)
    failure = json.loads(json.loads(notification["Body"])["Message"])
    assert failure["requestContext"]["requestId"] == bad
    assert failure["requestContext"]["condition"] == "RetriesExhausted"
    assert failure["responseContext"]["functionError"] == "Unhandled"


def test_dead_letter_queue_gets_the_raw_event_with_aws_attributes(
    hearth: Server, moto: str, fn_name: str, tmp_path: Path
) -> None:
    sqs = client(moto, "sqs")
    dlq_url = sqs.create_queue(QueueName=f"{fn_name}-dlq")["QueueUrl"]
    lam = hearth.client()
    create_function(
        lam,
        fn_name,
        make_zip({"app.py": RECORDER}),
        DeadLetterConfig={"TargetArn": queue_arn(f"{fn_name}-dlq")},
    )
    lam.put_function_event_invoke_config(FunctionName=fn_name, MaximumRetryAttempts=1)
    event = {"file": str(tmp_path / "trace.jsonl"), "id": 42, "fail": True}
    request_id = lam.invoke(
        FunctionName=fn_name, InvocationType="Event", Payload=json.dumps(event).encode()
    )["ResponseMetadata"]["RequestId"]

    (letter,) = receive(sqs, dlq_url, 1)
    assert json.loads(letter["Body"]) == event
    attributes = letter["MessageAttributes"]
    assert attributes["RequestID"] == {"StringValue": request_id, "DataType": "String"}
    assert attributes["ErrorCode"] == {"StringValue": "200", "DataType": "Number"}
    assert attributes["ErrorMessage"] == {"StringValue": "asked to fail: 42", "DataType": "String"}


def test_a_destination_that_is_missing_keeps_the_record_until_it_exists(
    hearth: Server, moto: str, fn_name: str, tmp_path: Path
) -> None:
    sqs = client(moto, "sqs")
    lam = hearth.client()
    create_function(lam, fn_name, make_zip({"app.py": RECORDER}))
    lam.put_function_event_invoke_config(
        FunctionName=fn_name,
        DestinationConfig={"OnSuccess": {"Destination": queue_arn(f"{fn_name}-later")}},
    )
    failures_before = async_status(hearth.endpoint)["SinceStart"]["DeliveryFailures"]
    request_id = lam.invoke(
        FunctionName=fn_name,
        InvocationType="Event",
        Payload=json.dumps({"file": str(tmp_path / "t.jsonl")}).encode(),
    )["ResponseMetadata"]["RequestId"]
    # The queue does not exist: deliveries fail and are retried (1 s, 2 s, ...).
    wait_for(
        lambda: (
            async_status(hearth.endpoint)["SinceStart"]["DeliveryFailures"] >= failures_before + 2
        ),
        timeout=30,
    )
    assert async_status(hearth.endpoint)["Queue"]["Delayed"] >= 1
    url = sqs.create_queue(QueueName=f"{fn_name}-later")["QueueUrl"]
    (message,) = receive(sqs, url, 1, timeout=60)
    assert json.loads(message["Body"])["requestContext"]["requestId"] == request_id


def test_eventbridge_destination(hearth: Server, moto: str, fn_name: str, tmp_path: Path) -> None:
    sqs, events = client(moto, "sqs"), client(moto, "events")
    url = sqs.create_queue(QueueName=f"{fn_name}-bus")["QueueUrl"]
    bus = events.create_event_bus(Name=f"{fn_name}-bus")["EventBusArn"]
    events.put_rule(
        Name="lambda-results",
        EventBusName=f"{fn_name}-bus",
        EventPattern=json.dumps({"source": ["lambda"]}),
    )
    events.put_targets(
        Rule="lambda-results",
        EventBusName=f"{fn_name}-bus",
        Targets=[{"Id": "q", "Arn": queue_arn(f"{fn_name}-bus")}],
    )
    lam = hearth.client()
    create_function(lam, fn_name, make_zip({"app.py": RECORDER}))
    lam.put_function_event_invoke_config(
        FunctionName=fn_name, DestinationConfig={"OnSuccess": {"Destination": bus}}
    )
    request_id = lam.invoke(
        FunctionName=fn_name,
        InvocationType="Event",
        Payload=json.dumps({"file": str(tmp_path / "t.jsonl")}).encode(),
    )["ResponseMetadata"]["RequestId"]
    (message,) = receive(sqs, url, 1)
    envelope = json.loads(message["Body"])
    assert envelope["source"] == "lambda"
    assert envelope["detail-type"] == "Lambda Function Invocation Result - Success"
    assert envelope["detail"]["requestContext"]["requestId"] == request_id
