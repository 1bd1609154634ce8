"""moto's SQS with Hearth's speed-ups: the same answers, and sends that do not walk the queue."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from moto import mock_aws

from hearth.services import moto_speedups


@pytest.fixture
def sqs() -> Iterator[Any]:
    moto_speedups.install_sqs()
    with mock_aws():
        yield boto3.client(
            "sqs", region_name="us-east-1", aws_access_key_id="k", aws_secret_access_key="s"
        )


def test_sends_keep_deduplication_and_counts(sqs: Any) -> None:
    fifo = sqs.create_queue(
        QueueName="d.fifo", Attributes={"FifoQueue": "true", "ContentBasedDeduplication": "true"}
    )["QueueUrl"]
    for _ in range(2):  # the same body twice: content-based deduplication keeps one
        sqs.send_message(QueueUrl=fifo, MessageBody="same", MessageGroupId="g")
    sqs.send_message_batch(
        QueueUrl=fifo,
        Entries=[{"Id": "1", "MessageBody": "same", "MessageGroupId": "g"}],
    )
    plain = sqs.create_queue(
        QueueName="p.fifo", Attributes={"FifoQueue": "true", "ContentBasedDeduplication": "false"}
    )["QueueUrl"]
    with pytest.raises(sqs.exceptions.ClientError, match="MessageDeduplicationId"):
        sqs.send_message(QueueUrl=plain, MessageBody="x", MessageGroupId="g")
    standard = sqs.create_queue(QueueName="s")["QueueUrl"]
    sqs.send_message_batch(
        QueueUrl=standard, Entries=[{"Id": str(i), "MessageBody": "x"} for i in range(10)]
    )
    sqs.send_message(QueueUrl=standard, MessageBody="late", DelaySeconds=60)
    sqs.receive_message(QueueUrl=standard, MaxNumberOfMessages=3)

    def attributes(url: str) -> dict[str, str]:
        answer = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])
        return dict(answer["Attributes"])

    assert attributes(fifo)["ApproximateNumberOfMessages"] == "1"
    assert attributes(fifo)["ContentBasedDeduplication"] == "true"
    assert attributes(plain)["ContentBasedDeduplication"] == "false"
    counts = attributes(standard)
    assert (
        counts["ApproximateNumberOfMessages"],
        counts["ApproximateNumberOfMessagesNotVisible"],
        counts["ApproximateNumberOfMessagesDelayed"],
    ) == ("7", "3", "1")
    assert "ContentBasedDeduplication" not in counts


def test_a_send_does_not_count_the_queue(sqs: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    from moto.sqs.models import Queue

    url = sqs.create_queue(QueueName="big")["QueueUrl"]
    counted: list[int] = []
    queue_type: Any = Queue
    full = queue_type.messages.fget

    def counting(self: Any) -> Any:
        counted.append(1)
        return full(self)

    monkeypatch.setattr(Queue, "messages", property(counting))
    sqs.send_message(QueueUrl=url, MessageBody="x")
    sqs.send_message_batch(QueueUrl=url, Entries=[{"Id": "1", "MessageBody": "y"}])
    assert counted == []
    sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["ApproximateNumberOfMessages"])
    assert counted  # the attribute map itself still counts
