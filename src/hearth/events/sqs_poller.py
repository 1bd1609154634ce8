"""The SQS poller: long-polls a queue, invokes with batches, deletes what succeeded.

* A batch is up to BatchSize messages gathered within MaximumBatchingWindowInSeconds (at once
  when the window is 0), and at most 6 MB of payload; messages past the cap wait for the
  next batch.
* Messages are deleted only after the function succeeded with them. A failed batch (function
  error, or a partial batch response AWS reads as failed) is left alone: the messages come
  back after the queue's visibility timeout, and its redrive policy applies.
* Filtered-out messages are deleted without invoking, as on AWS.
* FIFO: SQS itself hands out one group's messages only while none of them is in flight; a
  partial failure also keeps the group's later messages of the batch, so order holds; a
  batch is deleted before the next receive (its groups are in flight until then).
* Pollers scale: one to start, one more whenever a receive comes back full, down to one when
  a receive comes back empty, never more than ScalingConfig.MaximumConcurrency.
* Queues of the embedded services are read in-process (`sqs_readers.EmbeddedQueue`), any
  other endpoint through botocore; both behind `QueueReader`.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from typing import Any

from hearth.arns import is_fifo
from hearth.events.batch_response import failed_items
from hearth.events.poller_base import PollerContext, keep, logger
from hearth.events.sources import is_missing_source
from hearth.events.sqs_readers import BotocoreQueue, EmbeddedQueue, QueueReader

MAX_PAYLOAD_BYTES = 6 * 1024 * 1024
# Room left in the 6 MB invoke payload for each record's fixed fields.
_RECORD_OVERHEAD = 1024
LONG_POLL_SECONDS = 20
DEFAULT_MAX_POLLERS = 5
_ERROR_BACKOFF_SECONDS = 1.0


def lambda_record(message: dict[str, Any], arn: str, region: str) -> dict[str, Any]:
    """A received SQS message in the shape Lambda hands to functions."""
    attributes = dict(message.get("Attributes", {}))
    return {
        "messageId": message["MessageId"],
        "receiptHandle": message["ReceiptHandle"],
        "body": message.get("Body", ""),
        "attributes": attributes,
        "messageAttributes": {
            name: _message_attribute(value)
            for name, value in message.get("MessageAttributes", {}).items()
        },
        "md5OfMessageAttributes": message.get("MD5OfMessageAttributes"),
        "md5OfBody": message.get("MD5OfBody"),
        "eventSource": "aws:sqs",
        "eventSourceARN": arn,
        "awsRegion": region,
    }


def _message_attribute(value: dict[str, Any]) -> dict[str, Any]:
    shaped: dict[str, Any] = {
        "stringListValues": [],
        "binaryListValues": [],
        "dataType": value.get("DataType", "String"),
    }
    if "StringValue" in value:
        shaped["stringValue"] = value["StringValue"]
    if "BinaryValue" in value:
        import base64  # noqa: PLC0415

        shaped["binaryValue"] = base64.b64encode(value["BinaryValue"]).decode()
    return shaped


class SqsPoller:
    def __init__(self, context: PollerContext) -> None:
        self._ctx = context
        self._arn = context.mapping.event_source_arn
        self._fifo = is_fifo(self._arn)
        self._reader = _reader(context)
        self._workers: set[asyncio.Task[None]] = set()
        self._leftover: list[dict[str, Any]] = []
        self._deleting: set[asyncio.Task[None]] = set()
        scaling = context.config.get("ScalingConfig") or {}
        self._max_pollers = int(scaling.get("MaximumConcurrency", DEFAULT_MAX_POLLERS))

    async def run(self) -> None:
        self._spawn()
        try:
            while self._workers:
                done, _ = await asyncio.wait(self._workers, return_when=asyncio.FIRST_COMPLETED)
                for task in done:
                    self._workers.discard(task)
                    if not task.cancelled() and task.exception() is not None:
                        logger.error("sqs poller crashed", exc_info=task.exception())
                if not self._workers and not self._ctx.stopping.is_set():
                    self._spawn()
        finally:
            for task in self._workers:
                task.cancel()
            for task in list(self._workers):
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await task
            if self._deleting:
                await asyncio.wait(self._deleting, timeout=5)
            self._ctx.stats.pollers = 0

    def _spawn(self) -> None:
        task = asyncio.create_task(self._worker())
        self._workers.add(task)
        self._ctx.stats.pollers = len(self._workers)

    async def _worker(self) -> None:
        ctx = self._ctx
        while not ctx.stopping.is_set():
            try:
                batch, full = await self._gather()
            except Exception as exc:
                if is_missing_source(exc):
                    ctx.result("PROBLEM: The event source does not exist.")
                ctx.stats.last_error = str(exc)
                if await ctx.sleep(_ERROR_BACKOFF_SECONDS):
                    return
                continue
            if not batch:
                if len(self._workers) > 1:
                    return  # scale down: another poller keeps watching
                continue
            if full and len(self._workers) < self._max_pollers:
                self._spawn()
            await self._process(batch)

    async def _gather(self) -> tuple[list[dict[str, Any]], bool]:
        """One batch: (messages, whether the queue had more than the batch could take)."""
        ctx = self._ctx
        size = int(ctx.config.get("BatchSize", 10))
        window = float(ctx.config.get("MaximumBatchingWindowInSeconds", 0))
        loop = asyncio.get_running_loop()
        deadline = loop.time() + window
        batch, self._leftover = self._leftover, []
        payload = sum(_size(m) for m in batch)
        while len(batch) < size and not ctx.stopping.is_set():
            remaining = deadline - loop.time()
            if batch and (window == 0 or remaining <= 0):
                break
            wait = LONG_POLL_SECONDS if not batch and window == 0 else max(0, min(20, remaining))
            count = min(self._reader.receive_limit, size - len(batch))
            messages = await self._reader.receive(count, int(wait + 0.999))
            if ctx.stopping.is_set():
                break  # what came is delivered again after the visibility timeout
            if not messages:
                if window == 0 or loop.time() >= deadline:
                    break
                continue
            for message in messages:
                grown = payload + _size(message)
                if batch and grown > MAX_PAYLOAD_BYTES:
                    self._leftover.append(message)
                else:
                    batch.append(message)
                    payload = grown
            if self._leftover:
                break
        return batch, len(batch) >= size or bool(self._leftover)

    async def _process(self, messages: list[dict[str, Any]]) -> None:
        ctx = self._ctx
        ctx.stats.records_received += len(messages)
        region = ctx.region
        records = [lambda_record(m, self._arn, region) for m in messages]
        filters = ctx.filters()
        kept: list[dict[str, Any]] = records
        dropped: list[dict[str, Any]] = []
        if filters:
            kept = []
            for record in records:
                (kept if keep(filters, record, "body", record["body"]) else dropped).append(record)
        if dropped:
            ctx.stats.records_filtered_out += len(dropped)
            await self._delete(dropped)
        if not kept:
            return
        payload = json.dumps({"Records": kept}, separators=(",", ":")).encode()
        ctx.stats.batches_invoked += 1
        # The trace header a message arrived with: a loop through this queue is counted there.
        trace = next(
            (
                r["attributes"]["AWSTraceHeader"]
                for r in kept
                if "AWSTraceHeader" in r["attributes"]
            ),
            None,
        )
        result = await ctx.invoke_with_backoff(payload, trace)
        if result is None:
            return  # stopping or function gone: the messages come back after the timeout
        if result.function_error:
            ctx.stats.batches_failed += 1
            ctx.result("PROBLEM: Function call failed.")
            return
        succeeded = kept
        if ctx.reports_item_failures():
            failed = failed_items(result.payload, {r["messageId"] for r in kept})
            if failed is None:
                ctx.stats.batches_failed += 1
                return
            if failed:
                ctx.stats.partial_failures += 1
                succeeded = _succeeded(kept, failed, fifo=self._fifo)
        ctx.stats.batches_succeeded += 1
        ctx.result("OK")
        if self._fifo:
            # A FIFO group stays in flight until its messages are deleted: a receive made
            # before then gets none of the group's next messages, and a long poll through
            # botocore would wait out its 20 s with them ready.
            await self._delete(succeeded)
            return
        # The next receive need not wait for the delete: an undeleted message only comes
        # back later (at least once). Deletes in flight are awaited when the poller stops.
        task = asyncio.create_task(self._delete(succeeded))
        self._deleting.add(task)
        task.add_done_callback(self._deleting.discard)

    async def _delete(self, records: list[dict[str, Any]]) -> None:
        try:
            await self._reader.delete([r["receiptHandle"] for r in records])
        except Exception as exc:
            # Undeleted messages are delivered again: at least once, never lost.
            logger.warning("mapping %s: delete failed: %s", self._ctx.mapping.uuid, exc)


def _reader(context: PollerContext) -> QueueReader:
    arn = context.mapping.event_source_arn
    services = context.clients.in_process("sqs")
    if services is not None and EmbeddedQueue.supported():
        return EmbeddedQueue(services, arn, context.stopping)
    client = context.clients.for_arn(context.source, arn)
    return BotocoreQueue(client, arn, context.call, context.call_until_stopped)


def _succeeded(
    records: list[dict[str, Any]], failed: set[str], *, fifo: bool
) -> list[dict[str, Any]]:
    if not fifo:
        return [r for r in records if r["messageId"] not in failed]
    # In a FIFO batch a failure holds back every later message of its group.
    blocked: set[str] = set()
    kept = []
    for record in records:
        group = record["attributes"].get("MessageGroupId", "")
        if record["messageId"] in failed or group in blocked:
            blocked.add(group)
            continue
        kept.append(record)
    return kept


def _size(message: dict[str, Any]) -> int:
    return len(message.get("Body", "").encode()) + _RECORD_OVERHEAD
