"""Recursive-loop detection: a function that feeds its own SQS queue or SNS topic is stopped
after 16 rounds (the messages dropped), unless its recursion config says Allow."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import pytest

from tests.integration.conftest import (
    Server,
    create_function,
    log_events,
    make_zip,
    service_client,
)

ACCOUNT = "123456789012"
# Each round (counted by its START line) sends the message on again.
LOOPER = """
import os, boto3
sqs, sns = boto3.client("sqs"), boto3.client("sns")
def handler(event, context):
    if event["Records"][0].get("eventSource") == "aws:sqs":
        sqs.send_message(QueueUrl=os.environ["QUEUE"], MessageBody="again")
    else:
        sns.publish(TopicArn=os.environ["TOPIC"], Message="again")
"""


@pytest.fixture(scope="module")
def rounds(server: Server) -> Callable[[str], int]:
    def count(name: str) -> int:
        events = log_events(server.endpoint, f"/aws/lambda/{name}")
        return sum(e["message"].startswith("START RequestId") for e in events)

    return count


def _settles_at(count: Callable[[], int], expected: int, timeout: float = 60.0) -> None:
    """Wait until `count` reaches `expected`, then check it stays there a moment."""
    deadline = time.monotonic() + timeout
    while count() < expected:
        assert time.monotonic() < deadline, f"only {count()} rounds of {expected}"
        time.sleep(0.2)
    time.sleep(1.0)
    assert count() == expected


def test_lambda_sqs_and_sns_loops_stop_after_16_rounds_unless_allowed(
    server: Server, client: Any, fn_name: str, rounds: Callable[[str], int]
) -> None:
    sqs = service_client(server.endpoint, "sqs")
    sns = service_client(server.endpoint, "sns")
    url = sqs.create_queue(QueueName=fn_name)["QueueUrl"]
    topic = sns.create_topic(Name=fn_name)["TopicArn"]
    # One function for both loops: one cold start (boto3's import) instead of two.
    create_function(
        client,
        fn_name,
        make_zip({"app.py": LOOPER}),
        Environment={"Variables": {"QUEUE": url, "TOPIC": topic}},
        Timeout=10,
    )
    mapping = client.create_event_source_mapping(
        EventSourceArn=f"arn:aws:sqs:us-east-1:{ACCOUNT}:{fn_name}",
        FunctionName=fn_name,
        BatchSize=1,
    )
    try:
        sqs.send_message(QueueUrl=url, MessageBody="start")
        _settles_at(lambda: rounds(fn_name), 16)
        # The 17th message was dropped, not left to come back.
        attributes = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
        assert attributes["ApproximateNumberOfMessages"] == "0"
        assert attributes["ApproximateNumberOfMessagesNotVisible"] == "0"
    finally:
        client.delete_event_source_mapping(UUID=mapping["UUID"])

    client.add_permission(
        FunctionName=fn_name,
        StatementId="sns",
        Action="lambda:InvokeFunction",
        Principal="sns.amazonaws.com",
        SourceArn=topic,
    )
    function_arn = f"arn:aws:lambda:us-east-1:{ACCOUNT}:function:{fn_name}"
    subscription = sns.subscribe(TopicArn=topic, Protocol="lambda", Endpoint=function_arn)
    sns.publish(TopicArn=topic, Message="start")
    _settles_at(lambda: rounds(fn_name), 32)

    # Allowed, the same loop goes on past 16 rounds (until the subscription is removed).
    client.put_function_recursion_config(FunctionName=fn_name, RecursiveLoop="Allow")
    sns.publish(TopicArn=topic, Message="start again")
    deadline = time.monotonic() + 60
    while rounds(fn_name) < 32 + 20:
        assert time.monotonic() < deadline, rounds(fn_name)
        time.sleep(0.1)
    sns.unsubscribe(SubscriptionArn=subscription["SubscriptionArn"])


# Each round writes a new object to the bucket whose notification invoked it.
S3_LOOPER = """
import boto3
s3 = boto3.client("s3")
def handler(event, context):
    s3_record = event["Records"][0]["s3"]
    bucket, key = s3_record["bucket"]["name"], s3_record["object"]["key"]
    s3.put_object(Bucket=bucket, Key=key + "x", Body=b"again")
"""


def _dropped_metric(server: Server, name: str) -> float:
    cloudwatch = service_client(server.endpoint, "cloudwatch")
    now = time.time()
    found = cloudwatch.get_metric_statistics(
        Namespace="AWS/Lambda",
        MetricName="RecursiveInvocationsDropped",
        Dimensions=[{"Name": "FunctionName", "Value": name}],
        StartTime=now - 600,
        EndTime=now + 60,
        Period=60,
        Statistics=["Sum"],
    )
    return float(sum(point["Sum"] for point in found["Datapoints"]))


def test_lambda_s3_loop_stops_after_16_rounds_with_its_metric_unless_allowed(
    server: Server,
    client: Any,
    fn_name: str,
    rounds: Callable[[str], int],
) -> None:
    s3 = service_client(server.endpoint, "s3")
    bucket = "s3-loop-" + fn_name.lower().replace("_", "-")[-40:]
    s3.create_bucket(Bucket=bucket)
    create_function(client, fn_name, make_zip({"app.py": S3_LOOPER}), Timeout=10)
    client.add_permission(
        FunctionName=fn_name,
        StatementId="s3",
        Action="lambda:InvokeFunction",
        Principal="s3.amazonaws.com",
        SourceArn=f"arn:aws:s3:::{bucket}",
    )
    function_arn = f"arn:aws:lambda:us-east-1:{ACCOUNT}:function:{fn_name}"
    notifications = {
        "LambdaFunctionConfigurations": [
            {"LambdaFunctionArn": function_arn, "Events": ["s3:ObjectCreated:*"]}
        ]
    }
    s3.put_bucket_notification_configuration(Bucket=bucket, NotificationConfiguration=notifications)
    s3.put_object(Bucket=bucket, Key="start", Body=b"start")
    _settles_at(lambda: rounds(fn_name), 16)
    # The 16th round's write was stored; its event, the 17th round, was not run.
    keys = [o["Key"] for o in s3.list_objects_v2(Bucket=bucket)["Contents"]]
    assert sorted(keys, key=len) == ["start" + "x" * n for n in range(17)]
    deadline = time.monotonic() + 10
    while _dropped_metric(server, fn_name) != 1.0:
        assert time.monotonic() < deadline, _dropped_metric(server, fn_name)
        time.sleep(0.2)
    said = [line for line in server.output if f":function:{fn_name}: stopped" in line]
    assert len(said) == 1 and "recursive loop (round 17;" in said[0], said

    # Allowed, the same loop goes on past 16 rounds (until the notification is removed).
    client.put_function_recursion_config(FunctionName=fn_name, RecursiveLoop="Allow")
    s3.put_object(Bucket=bucket, Key="again", Body=b"again")
    deadline = time.monotonic() + 60
    while rounds(fn_name) < 16 + 20:
        assert time.monotonic() < deadline, rounds(fn_name)
        time.sleep(0.1)
    s3.put_bucket_notification_configuration(Bucket=bucket, NotificationConfiguration={})
    assert _dropped_metric(server, fn_name) == 1.0
