"""How the SQS poller reads a queue: through botocore (any endpoint), or straight from the
embedded services' moto models when the queue lives in this process.

Both readers keep the same guarantees (`QueueReader`):
* `receive` returns up to `count` messages in botocore's ReceiveMessage shape (all system
  attributes and message attributes), each now in flight for the queue's visibility timeout,
  waiting up to `wait_seconds` for the first one; an empty list when none came;
* `delete` deletes by receipt handle and never raises for a handle SQS refuses (an undeleted
  message comes back after its visibility timeout: at least once, never lost);
* a queue that does not exist raises an error `is_missing_source` recognises.

Why the in-process reader: through botocore each batch of 10 costs a ReceiveMessage and a
DeleteMessageBatch serialized to HTTP, routed through the gateway and rendered by moto, and
moto's own ReceiveMessage / DeleteMessage are O(queue length) per message (every message it
returns recomputes all queue attributes, and reads the clock through datetime arithmetic
for every message it looks at; each deleted handle scans the whole queue twice). With a
backlog of thousands that caps a mapping at a few hundred messages a second. The in-process
reader does one pass over the queue per receive and per delete, with one clock reading, on
moto's thread (the only place moto's models may be touched), and applies what moto's
ReceiveMessage applies: visibility and delay, FIFO groups in flight, the redrive policy's
maxReceiveCount, the retention period.
"""

from __future__ import annotations

import asyncio
import base64
import importlib.metadata
import os
import time
from collections.abc import Callable
from typing import Any, Protocol, TypeVar

from hearth.events.sources import queue_url

T = TypeVar("T")

# Between empty receives of the in-process reader's long poll. A request to the embedded
# SQS (a SendMessage, most likely) ends the wait at once; without one, messages still become
# receivable with time (a visibility timeout or a delay running out), so the reader looks
# again after these waits: short at first, then a few cheap looks a second on an idle queue.
_FIRST_WAIT = 0.01
_MAX_WAIT = 0.25


class QueueReader(Protocol):
    # The most messages one `receive` may be asked for.
    receive_limit: int

    async def receive(self, count: int, wait_seconds: int) -> list[dict[str, Any]]: ...

    async def delete(self, receipt_handles: list[str]) -> None: ...


class InProcess(Protocol):
    """The embedded services: run work on moto's thread, and note that a backend changed
    (so the services' snapshot saves it)."""

    async def run(self, work: Callable[[], T]) -> T: ...

    def mark_changed(self, backend: str) -> None: ...

    def next_request(self, backend: str) -> asyncio.Event:
        """Set once a request to `backend` (through the API, not `run`) has been served."""
        ...


Call = Callable[..., Any]


class BotocoreQueue:
    """Any SQS endpoint, through botocore (calls run on the pollers' threads via `call`)."""

    receive_limit = 10  # ReceiveMessage's MaxNumberOfMessages

    def __init__(self, client: Any, arn: str, call: Call, call_until_stopped: Call) -> None:
        self._client = client
        self._arn = arn
        self._call = call
        self._call_until_stopped = call_until_stopped
        self._url: str | None = None

    async def _queue_url(self) -> str:
        if self._url is None:
            self._url = await self._call(queue_url, self._client, self._arn)
        return self._url

    async def receive(self, count: int, wait_seconds: int) -> list[dict[str, Any]]:
        answer = await self._call_until_stopped(
            self._client.receive_message,
            QueueUrl=await self._queue_url(),
            MaxNumberOfMessages=count,
            WaitTimeSeconds=wait_seconds,
            AttributeNames=["All"],
            MessageAttributeNames=["All"],
            MessageSystemAttributeNames=["All"],
        )
        return list((answer or {}).get("Messages", []))

    async def delete(self, receipt_handles: list[str]) -> None:
        url = await self._queue_url()
        for start in range(0, len(receipt_handles), 10):
            chunk = receipt_handles[start : start + 10]
            entries = [{"Id": str(i), "ReceiptHandle": h} for i, h in enumerate(chunk)]
            await self._call(self._client.delete_message_batch, QueueUrl=url, Entries=entries)


class MissingQueue(Exception):
    """Raised like botocore's ClientError for a queue that does not exist."""

    def __init__(self, name: str) -> None:
        super().__init__(f"The specified queue {name} does not exist.")
        self.response = {"Error": {"Code": "AWS.SimpleQueueService.NonExistentQueue"}}


class EmbeddedQueue:
    """A queue of the embedded services, read from moto's models on moto's thread.

    Relies on moto 5's SQS model attributes (`Queue._messages`, `_pending_messages`,
    `deleted_messages`, `dead_letter_queue`, `redrive_policy`; `Message.visible_at`,
    `delayed_until`, `receipt_handle`, `_old_receipt_handles`); `supported` says whether the
    installed moto is the major version they were written for (else the poller reads
    through botocore)."""

    # A whole batch in one pass over the queue (ReceiveMessage's limit of 10 is the API's).
    receive_limit = 10_000

    def __init__(self, services: InProcess, arn: str, stopping: asyncio.Event) -> None:
        _, _, _, self._region, self._account, self._name = arn.split(":", 5)
        self._services = services
        self._stopping = stopping

    @staticmethod
    def supported() -> bool:
        # Checked without importing moto: it is imported on moto's thread only.
        try:
            return importlib.metadata.version("moto").split(".")[0] == "5"
        except importlib.metadata.PackageNotFoundError:
            return False

    def _queue(self) -> Any:
        from moto.sqs.models import sqs_backends  # noqa: PLC0415

        queue = sqs_backends[self._account][self._region].queues.get(self._name)
        if queue is None:
            raise MissingQueue(self._name)
        return queue

    async def receive(self, count: int, wait_seconds: int) -> list[dict[str, Any]]:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + wait_seconds
        pause = _FIRST_WAIT
        while True:
            # Taken before the look: a message sent while it runs still ends the wait.
            served = self._services.next_request("sqs")
            messages = await self._services.run(lambda: self._receive(count))
            if messages or loop.time() >= deadline or self._stopping.is_set():
                return messages
            await first_set(served, self._stopping, min(pause, deadline - loop.time()))
            pause = min(pause * 2, _MAX_WAIT)

    def _receive(self, count: int) -> list[dict[str, Any]]:
        """One pass over the queue (moto's thread)."""
        queue = self._queue()
        now_ms = time.time() * 1000
        retention_ms = int(queue.message_retention_period) * 1000
        visibility_ms = int(queue.visibility_timeout) * 1000
        pending: set[Any] = queue._pending_messages
        fifo = bool(queue.fifo_queue)
        max_receives = (
            int(queue.redrive_policy["maxReceiveCount"])
            if queue.dead_letter_queue is not None and queue.redrive_policy
            else None
        )
        # A message still in `pending` whose visibility ran out is no longer in flight.
        for message in [m for m in pending if now_ms > m.visible_at]:
            pending.discard(message)
        groups_in_flight = {m.group_id for m in pending if m.group_id is not None}
        taken: list[dict[str, Any]] = []
        to_dlq: list[Any] = []
        for message in queue._messages:
            if now_ms <= message.visible_at or now_ms < message.delayed_until:
                continue
            if fifo and message.group_id is not None and message.group_id in groups_in_flight:
                continue
            if max_receives is not None and message.approximate_receive_count >= max_receives:
                to_dlq.append(message)
                continue
            if message.sent_timestamp + retention_ms <= now_ms:
                continue
            pending.add(message)
            if not message.approximate_first_receive_timestamp:
                message.approximate_first_receive_timestamp = int(now_ms)
            message.approximate_receive_count += 1
            message.visible_at = now_ms + visibility_ms
            message._old_receipt_handles.append(message.receipt_handle)
            message.receipt_handle = _receipt_handle()
            taken.append(_shape(message))
            if len(taken) >= count:
                break
        if to_dlq:
            moved = set(map(id, to_dlq))
            queue._messages = [m for m in queue._messages if id(m) not in moved]
            for message in to_dlq:
                queue.dead_letter_queue.add_message(message)
        if taken or to_dlq:
            self._services.mark_changed("sqs")
        return taken

    async def delete(self, receipt_handles: list[str]) -> None:
        if receipt_handles:
            await self._services.run(lambda: self._delete(set(receipt_handles)))

    def _delete(self, handles: set[str]) -> None:
        """Delete by receipt handle (moto's thread); unknown handles are left alone.

        The messages are found among those in flight (a few batches), and then in the queue
        from its head, where received messages are: a backlog of thousands is not walked
        for every batch."""
        queue = self._queue()
        found = {id(m): m for m in queue._pending_messages if m.receipt_handle in handles}
        missing = handles - {m.receipt_handle for m in found.values()}
        if missing:
            # Older handles of a message received again, or one no longer in flight.
            for message in queue._messages:
                if not missing.isdisjoint(message.all_receipt_handles):
                    found[id(message)] = message
        if not found:
            return
        messages: list[Any] = queue._messages
        left = len(found)
        at = []
        for index, message in enumerate(messages):
            if id(message) in found:
                at.append(index)
                left -= 1
                if not left:
                    break
        for index in reversed(at):
            del messages[index]
        for message in found.values():
            queue._pending_messages.discard(message)
            queue.deleted_messages.update(message.all_receipt_handles)
        self._services.mark_changed("sqs")


async def first_set(one: asyncio.Event, other: asyncio.Event, timeout: float) -> None:
    """Wait until either event is set, or `timeout` seconds."""
    waits = {asyncio.ensure_future(one.wait()), asyncio.ensure_future(other.wait())}
    try:
        await asyncio.wait(waits, timeout=max(0.0, timeout), return_when=asyncio.FIRST_COMPLETED)
    finally:
        for wait in waits:
            wait.cancel()


def _receipt_handle() -> str:
    # moto draws 185 characters one random.choice at a time; any unique text does.
    return base64.urlsafe_b64encode(os.urandom(96)).decode()


def _shape(message: Any) -> dict[str, Any]:
    """A moto message as botocore's ReceiveMessage answer gives it (all attributes)."""
    attributes: dict[str, str] = {
        "SenderId": str(message.sender_id),
        "SentTimestamp": str(message.sent_timestamp),
        "ApproximateReceiveCount": str(message.approximate_receive_count),
        "ApproximateFirstReceiveTimestamp": str(message.approximate_first_receive_timestamp),
    }
    if message.deduplication_id is not None:
        attributes["MessageDeduplicationId"] = message.deduplication_id
    if message.group_id is not None:
        attributes["MessageGroupId"] = message.group_id
    trace = (message.system_attributes or {}).get("AWSTraceHeader")
    if trace and trace.get("StringValue"):
        attributes["AWSTraceHeader"] = trace["StringValue"]
    if message.sequence_number is not None:
        attributes["SequenceNumber"] = message.sequence_number
    shaped: dict[str, Any] = {
        "MessageId": message.id,
        "ReceiptHandle": message.receipt_handle,
        "MD5OfBody": message.body_md5,
        "Body": message.body,
        "Attributes": attributes,
    }
    if message.message_attributes:
        shaped["MessageAttributes"] = {
            name: _attribute(value) for name, value in message.message_attributes.items()
        }
        shaped["MD5OfMessageAttributes"] = message.attribute_md5
    return shaped


def _attribute(value: dict[str, Any]) -> dict[str, Any]:
    shaped = dict(value)
    binary = shaped.get("BinaryValue")
    if isinstance(binary, str):
        # moto keeps binary values as the base64 text they were sent as; botocore decodes.
        shaped["BinaryValue"] = base64.b64decode(binary)
    return shaped
