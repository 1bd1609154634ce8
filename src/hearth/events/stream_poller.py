"""The stream poller (Kinesis, DynamoDB Streams): every shard, in order, one batch at a time.

Per shard: read from the committed position (else StartingPosition), gather up to BatchSize
records within MaximumBatchingWindowInSeconds, and settle the batch before reading on:

* records older than MaximumRecordAgeInSeconds go to the OnFailure destination unread;
* a function error retries the batch (MaximumRetryAttempts, -1 = until the records expire),
  split in halves first when BisectBatchOnFunctionError is on; a partial batch response
  retries from the lowest failed sequence number; when retries run out the batch's
  description goes to the OnFailure destination (AWS's record with KinesisBatchInfo /
  DDBStreamBatchInfo) and the shard moves on;
* with ParallelizationFactor > 1 a batch is split into lanes by partition key (item key) and
  the lanes run at once, each in order;
* the position is committed (durably) only after the whole batch settled, so a crash replays
  at most that batch. A shard read to its end is marked done, and its children (after a split
  or merge) start only once every parent is done.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import uuid as uuid_module
import zlib
from datetime import UTC, datetime
from typing import Any

from hearth.arns import Source
from hearth.events.batch_response import failed_items
from hearth.events.destinations import aws_record_timestamp
from hearth.events.embedded_streams import EmbeddedKinesisReader
from hearth.events.patterns import Pattern, matches
from hearth.events.poller_base import PollerContext, logger, now
from hearth.events.positions import SHARD_END, Positions
from hearth.events.sources import is_missing_source
from hearth.events.sqs_readers import EmbeddedQueue, InProcess, first_set
from hearth.events.stream_readers import DynamoDBReader, KinesisReader, Page, StreamReader
from hearth.invoke.types import InvokeResult

IDLE_POLL_SECONDS = 0.05
# A shard of the embedded services is read again as soon as a request reaches the embedded
# Kinesis or DynamoDB (a PutRecord, a PutItem), else after this long.
IDLE_WAKEABLE_SECONDS = 0.25
SHARD_REFRESH_SECONDS = 5.0
_RETRY_FIRST_DELAY = 0.1
_RETRY_MAX_DELAY = 2.0


def _moto_5() -> bool:
    return EmbeddedQueue.supported()  # the same moto models check as the SQS reader's


def _iso(moment: float) -> str:
    return datetime.fromtimestamp(moment, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


class StreamPoller:
    def __init__(self, context: PollerContext, positions: Positions, sink: Any) -> None:
        self._ctx = context
        self._positions = positions
        self._sink = sink
        arn = context.mapping.event_source_arn
        role = context.role
        services = context.clients.in_process("kinesis")
        self._reader: StreamReader
        # The embedded services when the stream is theirs: an idle shard waits for a request
        # to the service whose requests make its records (`_wake_on`).
        self._services: InProcess | None = None
        self._wake_on = "kinesis"
        if context.source is Source.KINESIS and services is not None and _moto_5():
            # A stream of the embedded services: read from moto's models in-process.
            self._reader = EmbeddedKinesisReader(services, arn, role)
            self._services = services
        elif context.source is Source.KINESIS:
            self._reader = KinesisReader(
                context.clients.for_arn(context.source, arn), context.call, arn, role
            )
        else:
            client = context.clients.for_arn(context.source, arn)
            self._reader = DynamoDBReader(client, context.call, arn, role)
            tables = context.clients.in_process("dynamodb")
            if tables is not None and context.clients.in_process("dynamodbstreams") is not None:
                # Read through Hearth's port, but written by requests to DynamoDB: those wake
                # the shard (its own reads are DynamoDB Streams requests, and wake nobody).
                self._services, self._wake_on = tables, "dynamodb"
        self._tasks: dict[str, asyncio.Task[None]] = {}
        self._done: set[str] = set()
        self._closed: set[str] = set()  # as of the last look at the shards
        # TumblingWindowInSeconds: per shard, the open window's start and its state.
        self._tumbling = int(context.config.get("TumblingWindowInSeconds", 0))
        self._windows: dict[str, tuple[float, Any]] = {}

    async def run(self) -> None:  # noqa: PLR0912 - the shard lifecycle in one place
        ctx = self._ctx
        try:
            while not ctx.stopping.is_set():
                try:
                    shards = await self._reader.shards()
                except Exception as exc:
                    ctx.stats.last_error = str(exc)
                    if is_missing_source(exc):
                        ctx.result("PROBLEM: The event source does not exist.")
                    if await ctx.sleep(1.0):
                        return
                    continue
                known = {s.id for s in shards}
                self._closed = {s.id for s in shards if s.closed}
                for shard in shards:
                    if shard.id in self._tasks or shard.id in self._done:
                        continue
                    if self._positions.get(ctx.mapping.uuid, shard.id) == SHARD_END:
                        self._done.add(shard.id)
                        continue
                    # Parents first: a child waits until every parent still listed is done.
                    if any(p in known and p not in self._done for p in shard.parents):
                        continue
                    self._tasks[shard.id] = asyncio.create_task(self._shard(shard.id))
                ctx.stats.pollers = len(self._tasks)
                finished = [s for s, t in self._tasks.items() if t.done()]
                for shard_id in finished:
                    task = self._tasks.pop(shard_id)
                    if not task.cancelled() and task.exception() is None:
                        self._done.add(shard_id)
                    elif not task.cancelled():
                        logger.error("shard %s poller failed", shard_id, exc_info=task.exception())
                if finished:
                    continue  # children may start now
                # Look at the shards again when one ends (its children may start), or soon.
                stop = asyncio.ensure_future(ctx.stopping.wait())
                await asyncio.wait(
                    {stop, *self._tasks.values()},
                    timeout=SHARD_REFRESH_SECONDS,
                    return_when=asyncio.FIRST_COMPLETED,
                )
                stop.cancel()
                if ctx.stopping.is_set():
                    return
        finally:
            for task in self._tasks.values():
                task.cancel()
            for task in self._tasks.values():
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await task
            ctx.stats.pollers = 0

    async def _first_iterator(self, shard: str) -> str:
        ctx = self._ctx
        committed = self._positions.get(ctx.mapping.uuid, shard)
        if committed is not None:
            return await self._reader.iterator(shard, "AFTER_SEQUENCE_NUMBER", committed)
        position = str(ctx.config.get("StartingPosition", "LATEST"))
        if position == "LATEST" and ctx.source is Source.KINESIS and "_CreatedAt" in ctx.config:
            return await self._reader.iterator(
                shard, "AT_TIMESTAMP", timestamp=float(ctx.config["_CreatedAt"])
            )
        if position == "AT_TIMESTAMP":
            return await self._reader.iterator(
                shard, "AT_TIMESTAMP", timestamp=float(ctx.config["StartingPositionTimestamp"])
            )
        return await self._reader.iterator(shard, position)

    async def _shard(self, shard: str) -> None:  # noqa: PLR0912, PLR0915 - gather, settle, commit
        ctx = self._ctx
        size = int(ctx.config.get("BatchSize", 100))
        window = float(ctx.config.get("MaximumBatchingWindowInSeconds", 0))
        iterator: str | None = await self._first_iterator(shard)
        loop = asyncio.get_running_loop()
        # The next page is read while the function runs with this batch (one batch in flight
        # still: the page is only looked at once this batch has settled).
        ahead: asyncio.Task[Page] | None = None
        # Taken before each read, so a record put while the read runs still ends the wait.
        served = ahead_served = self._next_request()
        try:
            while iterator is not None and not ctx.stopping.is_set():
                batch: list[dict[str, Any]] = []
                deadline = loop.time() + window
                while iterator is not None and len(batch) < size:
                    try:
                        if ahead is not None:
                            fetched, ahead, served = ahead, None, ahead_served
                            page = await fetched
                        else:
                            served = self._next_request()
                            page = await self._reader.page(iterator, size - len(batch))
                    except Exception as exc:
                        ctx.stats.last_error = str(exc)
                        if await ctx.sleep(1.0):
                            return
                        iterator = await self._first_iterator(shard)
                        batch = []
                        continue
                    iterator = page.next_iterator
                    if page.millis_behind is not None:
                        ctx.stats.lag[shard] = {"MillisBehindLatest": page.millis_behind}
                    batch.extend(self._reader.event_record(r, shard) for r in page.records)
                    if not page.records and not batch and shard in self._closed:
                        iterator = None  # read to the end of a closed shard
                        break
                    if not page.records:
                        if not await self._close_due_window(shard):
                            return
                        if batch and loop.time() >= deadline:
                            break
                        if await self._idle(served):
                            return
                        continue
                    if window == 0 or loop.time() >= deadline:
                        break
                if not batch:
                    continue
                if iterator is not None:
                    ahead_served = self._next_request()
                    ahead = asyncio.create_task(self._reader.page(iterator, size))
                ctx.stats.records_received += len(batch)
                settled = await self._settle(shard, batch)
                if not settled:
                    return  # stopping: the batch is read again from the committed position
                self._positions.commit(ctx.mapping.uuid, shard, self._reader.sequence(batch[-1]))
            if iterator is None:
                self._positions.commit(ctx.mapping.uuid, shard, SHARD_END)
        finally:
            if ahead is not None:
                ahead.cancel()
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await ahead

    def _next_request(self) -> asyncio.Event | None:
        return None if self._services is None else self._services.next_request(self._wake_on)

    async def _idle(self, served: asyncio.Event | None) -> bool:
        """Wait before reading an idle shard again; True when the poller should stop."""
        if served is None:
            return await self._ctx.sleep(IDLE_POLL_SECONDS)
        await first_set(served, self._ctx.stopping, IDLE_WAKEABLE_SECONDS)
        return self._ctx.stopping.is_set()

    # Settling a batch --------------------------------------------------------------------
    async def _settle(self, shard: str, batch: list[dict[str, Any]]) -> bool:
        """Run the batch to an end (success, OnFailure, expiry); False if stopping first."""
        ctx = self._ctx
        filters = ctx.filters()
        kept = [r for r in batch if self._passes(filters, r)]
        ctx.stats.records_filtered_out += len(batch) - len(kept)
        if not kept:
            return True
        if self._tumbling:
            return await self._settle_windows(shard, kept)
        factor = int(ctx.config.get("ParallelizationFactor", 1))
        if factor <= 1:
            return await self._settle_lane(shard, kept)
        lanes: dict[int, list[dict[str, Any]]] = {}
        for record in kept:
            key = self._reader.partition_key(record).encode()
            lanes.setdefault(zlib.crc32(key) % factor, []).append(record)
        results = await asyncio.gather(*(self._settle_lane(shard, lane) for lane in lanes.values()))
        return all(results)

    def _passes(self, filters: list[Pattern], record: dict[str, Any]) -> bool:
        if not filters:
            return True
        subject, text = self._reader.filter_subject(record)
        if text is not None:
            try:
                subject["kinesis"]["data"] = json.loads(text)
            except ValueError:
                subject["kinesis"]["data"] = text
            # AWS filters Kinesis records on `data` at the top level of the pattern.
            subject = {**subject, "data": subject["kinesis"]["data"]}
        return any(matches(pattern, subject) for pattern in filters)

    async def _settle_lane(self, shard: str, records: list[dict[str, Any]]) -> bool:
        pending = [records]
        while pending:
            batch = pending.pop(0)
            outcome = await self._run_batch(shard, batch)
            if outcome is None:
                return False
            pending = outcome + pending
        return True

    async def _run_batch(  # noqa: PLR0912 - AWS's retry rules in order
        self, shard: str, batch: list[dict[str, Any]]
    ) -> list[list[dict[str, Any]]] | None:
        """Retry one batch until it settles; returns halves still to run after a bisect,
        [] when settled, None when stopping."""
        ctx = self._ctx
        config = ctx.config
        max_retries = int(config.get("MaximumRetryAttempts", -1))
        max_age = int(config.get("MaximumRecordAgeInSeconds", -1))
        bisect = bool(config.get("BisectBatchOnFunctionError", False))
        attempts = 0
        delay = _RETRY_FIRST_DELAY
        last: InvokeResult | None = None
        while True:
            if max_age != -1:
                fresh_from = next(
                    (i for i, r in enumerate(batch) if now() - self._reader.arrival(r) <= max_age),
                    len(batch),
                )
                if fresh_from:
                    await self._on_failure(
                        shard, batch[:fresh_from], "RecordAgeExceeded", None, attempts
                    )
                    batch = batch[fresh_from:]
                if not batch:
                    return []
            event: dict[str, Any] = {"Records": batch, **self._window_fields(shard, final=False)}
            payload = json.dumps(event, separators=(",", ":")).encode()
            ctx.stats.batches_invoked += 1
            if ctx.iterator_age is not None:
                ctx.iterator_age((now() - self._reader.arrival(batch[-1])) * 1000)
            result = await ctx.invoke_with_backoff(payload)
            if result is None:
                return None
            attempts += 1
            last = result
            failed_from: int | None = 0
            if not result.function_error:
                if not ctx.reports_item_failures():
                    failed_from = None
                else:
                    sequences = [self._reader.sequence(r) for r in batch]
                    failed = failed_items(result.payload, set(sequences))
                    if failed is not None and not failed:
                        failed_from = None
                    elif failed:
                        ctx.stats.partial_failures += 1
                        failed_from = min(sequences.index(s) for s in failed)
            if failed_from is None:
                self._keep_state(shard, result.payload)
                ctx.stats.batches_succeeded += 1
                ctx.result("OK")
                return []
            ctx.stats.batches_failed += 1
            ctx.result("PROBLEM: Function call failed.")
            batch = batch[failed_from:]
            if bisect and result.function_error and len(batch) > 1:
                # Each half is retried on its own, down to the one record that fails.
                middle = len(batch) // 2
                return [batch[:middle], batch[middle:]]
            if max_retries != -1 and attempts > max_retries:
                await self._on_failure(shard, batch, "RetryAttemptsExhausted", last, attempts)
                return []
            if await ctx.sleep(delay):
                return None
            delay = min(delay * 2, _RETRY_MAX_DELAY)

    # Tumbling windows ---------------------------------------------------------------------
    def _window_fields(self, shard: str, *, final: bool) -> dict[str, Any]:
        if not self._tumbling or shard not in self._windows:
            return {}
        start, state = self._windows[shard]
        return {
            "window": {
                "start": _iso(start),
                "end": _iso(start + self._tumbling),
            },
            "state": state,
            "shardId": shard,
            "eventSourceARN": self._ctx.mapping.event_source_arn,
            "isFinalInvokeForWindow": final,
            "isWindowTerminatedEarly": False,
        }

    def _keep_state(self, shard: str, payload: bytes) -> None:
        if not self._tumbling or shard not in self._windows:
            return
        try:
            answer = json.loads(payload)
        except ValueError:
            return
        if isinstance(answer, dict) and isinstance(answer.get("state"), dict):
            self._windows[shard] = (self._windows[shard][0], answer["state"])

    async def _settle_windows(self, shard: str, records: list[dict[str, Any]]) -> bool:
        """Records go to the function window by window (by arrival time); a window's final
        invoke (no records, `isFinalInvokeForWindow`) comes before the next window's first."""
        groups: dict[float, list[dict[str, Any]]] = {}
        for record in records:
            start = float(int(self._reader.arrival(record)) // self._tumbling * self._tumbling)
            groups.setdefault(start, []).append(record)
        for start, group in sorted(groups.items()):
            current = self._windows.get(shard)
            if current is not None and current[0] != start and not await self._final_invoke(shard):
                return False
            if shard not in self._windows:
                self._windows[shard] = (start, {})
            if not await self._settle_lane(shard, group):
                return False
        return True

    async def _close_due_window(self, shard: str) -> bool:
        current = self._windows.get(shard)
        if current is None or now() < current[0] + self._tumbling:
            return True
        return await self._final_invoke(shard)

    async def _final_invoke(self, shard: str) -> bool:
        event = {"Records": [], **self._window_fields(shard, final=True)}
        result = await self._ctx.invoke_with_backoff(json.dumps(event).encode())
        if result is None:
            return False
        self._windows.pop(shard, None)
        return True

    def _put_object(self, bucket_arn: str, shard: str, record: dict[str, Any]) -> None:
        """An S3 OnFailure destination gets the record as an object, at AWS's key."""
        ctx = self._ctx
        moment = datetime.now(UTC)
        key = (
            f"aws/lambda/{ctx.mapping.uuid}/{shard}/{moment:%Y/%m/%d}/"
            f"{moment:%Y-%m-%dT%H.%M.%S}-{uuid_module.uuid4()}"
        )
        client = ctx.clients.client("s3", ctx.region)
        client.put_object(
            Bucket=bucket_arn.rsplit(":", maxsplit=1)[-1], Key=key, Body=json.dumps(record).encode()
        )

    async def _on_failure(
        self,
        shard: str,
        batch: list[dict[str, Any]],
        condition: str,
        result: InvokeResult | None,
        attempts: int,
    ) -> None:
        ctx = self._ctx
        destination = (ctx.config.get("DestinationConfig") or {}).get("OnFailure", {})
        target = destination.get("Destination")
        ctx.stats.records_sent_on_failure += len(batch)
        if not target:
            return  # discarded, as AWS does without a destination
        record: dict[str, Any] = {
            "requestContext": {
                "requestId": str(uuid_module.uuid4()),
                "functionArn": ctx.function_arn,
                "condition": condition,
                "approximateInvokeCount": max(attempts, 1),
            },
        }
        if result is not None:
            record["responseContext"] = {
                "statusCode": 200,
                "executedVersion": result.executed_version,
                "functionError": result.function_error,
            }
        record["version"] = "1.0"
        record["timestamp"] = aws_record_timestamp(now())
        record[self._reader.batch_info_key] = {
            "shardId": shard,
            "startSequenceNumber": self._reader.sequence(batch[0]),
            "endSequenceNumber": self._reader.sequence(batch[-1]),
            "approximateArrivalOfFirstRecord": aws_record_timestamp(self._reader.arrival(batch[0])),
            "approximateArrivalOfLastRecord": aws_record_timestamp(self._reader.arrival(batch[-1])),
            "batchSize": len(batch),
            "streamArn": ctx.mapping.event_source_arn,
        }
        body = json.dumps(record, separators=(",", ":"))
        delay = _RETRY_FIRST_DELAY
        while True:
            try:
                if target.split(":")[2] == "s3":
                    await ctx.call(self._put_object, target, shard, record)
                else:
                    await ctx.call(self._sink.send, target, body, {})
                return
            except Exception as exc:
                # The position does not move past the batch until its record is out.
                logger.warning("mapping %s: OnFailure send failed: %s", ctx.mapping.uuid, exc)
                if await ctx.sleep(delay):
                    return
                delay = min(delay * 2, _RETRY_MAX_DELAY)
