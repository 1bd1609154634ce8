"""The QueueReader guarantees, checked for both readers against the same moto queues
(in-process moto: botocore's calls under mock_aws, the embedded reader on its models)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable, Iterator
from typing import Any, TypeVar

import boto3
import pytest
from moto import mock_aws

from hearth.events.sources import is_missing_source
from hearth.events.sqs_readers import BotocoreQueue, EmbeddedQueue, QueueReader

T = TypeVar("T")
ARN = "arn:aws:sqs:us-east-1:123456789012:"


class InlineServices:
    """The embedded services' InProcess, running work at once (the test is the only thread)."""

    def __init__(self) -> None:
        self.changed: list[str] = []
        self._next: dict[str, asyncio.Event] = {}

    async def run(self, work: Callable[[], T]) -> T:
        return work()

    def mark_changed(self, backend: str) -> None:
        self.changed.append(backend)

    def next_request(self, backend: str) -> asyncio.Event:
        return self._next.setdefault(backend, asyncio.Event())

    def served(self, backend: str) -> None:
        """What EmbeddedServices does once it has served a request to `backend`."""
        event = self._next.pop(backend, None)
        if event is not None:
            event.set()


@pytest.fixture
def sqs() -> Iterator[Any]:
    with mock_aws():
        yield boto3.client(
            "sqs", region_name="us-east-1", aws_access_key_id="k", aws_secret_access_key="s"
        )


def reader(kind: str, sqs: Any, name: str) -> QueueReader:
    if kind == "embedded":
        return EmbeddedQueue(InlineServices(), ARN + name, asyncio.Event())

    async def call(fn: Any, *args: Any, **kwargs: Any) -> Any:
        return fn(*args, **kwargs)

    return BotocoreQueue(sqs, ARN + name, call, call)


KINDS = ["botocore", "embedded"]


@pytest.mark.parametrize("kind", KINDS)
def test_receive_takes_messages_in_flight_and_delete_removes_them(kind: str, sqs: Any) -> None:
    url = sqs.create_queue(QueueName="q", Attributes={"VisibilityTimeout": "30"})["QueueUrl"]
    for i in range(15):
        sqs.send_message(
            QueueUrl=url,
            MessageBody=f"m{i}",
            MessageAttributes={"a": {"DataType": "Binary", "BinaryValue": b"\x01"}},
        )
    queue = reader(kind, sqs, "q")

    async def scenario() -> None:
        first = await queue.receive(10, 0)
        second = await queue.receive(10, 0)
        assert len(first) == 10 and len(second) == 5  # in flight: not handed out twice
        assert await queue.receive(10, 0) == []
        message = first[0]
        assert message["Body"] == "m0"
        assert message["Attributes"]["ApproximateReceiveCount"] == "1"
        assert {"SentTimestamp", "SenderId", "ApproximateFirstReceiveTimestamp"} <= set(
            message["Attributes"]
        )
        assert message["MessageAttributes"]["a"]["BinaryValue"] == b"\x01"
        assert message["MD5OfBody"] and message["MD5OfMessageAttributes"]
        await queue.delete([m["ReceiptHandle"] for m in first + second] + ["not-a-handle"])

    asyncio.run(scenario())
    left = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
    assert (left["ApproximateNumberOfMessages"], left["ApproximateNumberOfMessagesNotVisible"]) == (
        "0",
        "0",
    )


@pytest.mark.parametrize("kind", KINDS)
def test_visibility_redrive_and_fifo_groups(kind: str, sqs: Any) -> None:
    dlq = sqs.create_queue(QueueName="dlq")["QueueUrl"]
    redrive = json.dumps({"deadLetterTargetArn": ARN + "dlq", "maxReceiveCount": 1})
    sqs.create_queue(QueueName="r", Attributes={"VisibilityTimeout": "0", "RedrivePolicy": redrive})
    url = sqs.get_queue_url(QueueName="r")["QueueUrl"]
    sqs.send_message(QueueUrl=url, MessageBody="once")
    fifo = sqs.create_queue(
        QueueName="f.fifo", Attributes={"FifoQueue": "true", "ContentBasedDeduplication": "true"}
    )["QueueUrl"]
    for body, group in (("a1", "a"), ("a2", "a"), ("b1", "b")):
        sqs.send_message(QueueUrl=fifo, MessageBody=body, MessageGroupId=group)
    queue, ordered = reader(kind, sqs, "r"), reader(kind, sqs, "f.fifo")

    async def scenario() -> None:
        (got,) = await queue.receive(10, 0)
        assert got["Body"] == "once"
        # Visible again at once (timeout 0), but received maxReceiveCount times: to the DLQ.
        assert await queue.receive(10, 0) == []
        first = await ordered.receive(1, 0)
        assert [m["Body"] for m in first] == ["a1"]
        # Group a is in flight: only b's message comes.
        assert [m["Body"] for m in await ordered.receive(10, 0)] == ["b1"]
        assert first[0]["Attributes"]["MessageGroupId"] == "a"

    asyncio.run(scenario())
    moved = sqs.receive_message(QueueUrl=dlq)["Messages"]
    assert [m["Body"] for m in moved] == ["once"]


@pytest.mark.parametrize("kind", KINDS)
def test_missing_queue_is_recognised(kind: str, sqs: Any) -> None:
    with pytest.raises(Exception) as raised:
        asyncio.run(reader(kind, sqs, "nope").receive(1, 0))
    assert is_missing_source(raised.value)


def test_embedded_long_poll_wakes_when_a_request_was_served(
    sqs: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A SendMessage served by the embedded services ends the reader's wait at once: with
    looks 30 s apart, the message is still received within moments."""
    monkeypatch.setattr("hearth.events.sqs_readers._FIRST_WAIT", 30.0)
    url = sqs.create_queue(QueueName="w")["QueueUrl"]
    services = InlineServices()
    queue = EmbeddedQueue(services, ARN + "w", asyncio.Event())

    async def scenario() -> float:
        loop = asyncio.get_running_loop()
        receiving = asyncio.ensure_future(queue.receive(10, 20))
        await asyncio.sleep(0.05)
        assert not receiving.done()  # waiting: the queue was empty at its look
        sqs.send_message(QueueUrl=url, MessageBody="now")
        sent = loop.time()
        services.served("kinesis")  # another service's request wakes nobody here
        await asyncio.sleep(0.05)
        assert not receiving.done()
        services.served("sqs")
        (message,) = await asyncio.wait_for(receiving, 10)
        assert message["Body"] == "now"
        return loop.time() - sent

    assert asyncio.run(scenario()) < 5
