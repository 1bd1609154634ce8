"""What users put into the embedded services survives a restart, and a kill -9 after a second."""

from __future__ import annotations

import signal
import time
from pathlib import Path

import pytest

from tests.integration.conftest import Server, service_client

pytestmark = pytest.mark.integration


def test_the_services_state_survives_restarts(tmp_path: Path) -> None:
    server = Server(tmp_path, extra_args=["--isolation", "process"]).start()
    try:
        e = server.endpoint
        s3 = service_client(e, "s3")
        s3.create_bucket(Bucket="kept")
        s3.put_object(Bucket="kept", Key="dir/ü.txt", Body=b"x" * 100_000)
        ddb = service_client(e, "dynamodb")
        ddb.create_table(
            TableName="kept",
            KeySchema=[{"AttributeName": "k", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "k", "AttributeType": "S"}],
            BillingMode="PAY_PER_REQUEST",
        )
        ddb.put_item(TableName="kept", Item={"k": {"S": "1"}, "v": {"N": "7"}})
        sqs = service_client(e, "sqs")
        queue = sqs.create_queue(QueueName="kept")["QueueUrl"]
        sqs.send_message(QueueUrl=queue, MessageBody="waiting")
        sns = service_client(e, "sns")
        topic = sns.create_topic(Name="kept")["TopicArn"]
        sns.subscribe(
            TopicArn=topic, Protocol="sqs", Endpoint="arn:aws:sqs:us-east-1:123456789012:kept"
        )

        server.restart()  # SIGTERM: the last snapshot is written on the way out
        e = server.endpoint
        s3, ddb, sqs = (
            service_client(e, "s3"),
            service_client(e, "dynamodb"),
            service_client(e, "sqs"),
        )
        assert s3.get_object(Bucket="kept", Key="dir/ü.txt")["Body"].read() == b"x" * 100_000
        assert ddb.get_item(TableName="kept", Key={"k": {"S": "1"}})["Item"]["v"] == {"N": "7"}
        queue = sqs.get_queue_url(QueueName="kept")["QueueUrl"]
        assert [m["Body"] for m in sqs.receive_message(QueueUrl=queue)["Messages"]] == ["waiting"]
        subscriptions = service_client(e, "sns").list_subscriptions()["Subscriptions"]
        assert [s["Protocol"] for s in subscriptions] == ["sqs"]

        s3.put_object(Bucket="kept", Key="after", Body=b"late")
        time.sleep(2.5)  # past the one-second snapshot
        server.stop(signal.SIGKILL)
        server.start()
        body = service_client(server.endpoint, "s3").get_object(Bucket="kept", Key="after")["Body"]
        assert body.read() == b"late"
    finally:
        if server.process is not None:
            server.stop()
