"""The dispatcher: claims queued events, runs them, and acts on the retry policy's decision.

One asyncio task claims as many events as there are free slots (`concurrency`) and runs each
in its own task:

* `Kind.INVOKE` goes through the same `Invoker.invoke` as a synchronous call (logs, START /
  END / REPORT, concurrency limits all apply), with the event's id as the request id, as on
  AWS. The outcome: a function error when the result has one (Unhandled or Handled,
  timeouts and crashes included); a throttle when the invoker raises 429 before the
  function runs; a system error for any other failure. `decide(...)` then says retry
  (→ `reschedule`) or finish (→ `ack`, with the destination record and the dead letter
  queued in the same write).
* `Kind.DELIVER` sends a record or dead letter through the `MessageSink`; a failure
  re-queues it with backoff (1 s doubling to 5 min), forever: a record is never dropped.

Events whose function was deleted are dropped (and counted), as AWS drops them.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Protocol

from hearth.arns import LATEST, ArnFormatter, FunctionRef
from hearth.errors import ErrorCode, LambdaError, is_disk_full
from hearth.events.config import AsyncConfigs
from hearth.events.destinations import (
    MessageSink,
    dead_letter_attributes,
    destination_record,
    follow_up,
)
from hearth.events.queue import TRACE_ATTRIBUTE, Event, EventQueue, Kind
from hearth.events.retry import (
    Action,
    Condition,
    Outcome,
    decide,
    delivery_delay,
)
from hearth.invoke.types import InvokeResult

logger = logging.getLogger("hearth.events")

# Longest sleep of an idle dispatcher; anything enqueued in this process wakes it at once.
IDLE_POLL_SECONDS = 1.0
# Backoff of an outcome's write while the disk stays full.
SETTLE_RETRY_INITIAL_SECONDS = 0.1
SETTLE_RETRY_MAX_SECONDS = 5.0
# A claim's lease: longer than the longest function timeout (900 s), so only a dead server
# lets a lease run out; `recover` at start frees a dead server's claims straight away.
LEASE_SECONDS = 960.0
# How long a shutdown waits for running events before leaving them to the next start.
SHUTDOWN_GRACE_SECONDS = 5.0


class InvokeFunction(Protocol):
    def __call__(
        self, ref: FunctionRef, payload: bytes, *, request_id: str, trace_header: str | None = ...
    ) -> Awaitable[InvokeResult]: ...


class AsyncObserver(Protocol):
    """Told what the AWS/Lambda async metrics count. Called on the dispatch path, so an
    implementation only records (no I/O)."""

    def event_age(self, function: str, qualifier: str | None, age_ms: float) -> None:
        """An event is about to run, this long after it was queued (AsyncEventAge)."""
        ...

    def dropped(self, function: str, qualifier: str | None) -> None:
        """An event was given up without a successful run (AsyncEventsDropped)."""
        ...

    def delivery_failed(self, function: str | None, dead_letter: bool) -> None:
        """A send to a dead-letter queue (DeadLetterErrors) or a destination
        (DestinationDeliveryFailures) failed; it will be retried."""
        ...


class _NoObserver:
    def event_age(self, function: str, qualifier: str | None, age_ms: float) -> None:
        pass

    def dropped(self, function: str, qualifier: str | None) -> None:
        pass

    def delivery_failed(self, function: str | None, dead_letter: bool) -> None:
        pass


@dataclass
class DispatchStats:
    """Counts since this server started (the queue keeps the durable redelivery count)."""

    succeeded: int = 0
    function_errors: int = 0
    throttles: int = 0
    system_errors: int = 0
    retries_scheduled: int = 0
    discarded: int = 0
    dropped_function_missing: int = 0
    dropped_recursive: int = 0
    # Destination records and dead letters handed on (to a destination function's queue,
    # or sent to SQS / SNS / EventBridge).
    delivered: int = 0
    delivery_failures: int = 0
    # Outcomes that could not be written at first because the disk was full.
    settle_retries: int = 0


class Dispatcher:
    def __init__(
        self,
        queue: EventQueue,
        invoke: InvokeFunction,
        configs: AsyncConfigs,
        sink: MessageSink,
        arns: ArnFormatter,
        *,
        concurrency: int,
        base_retry_delay_seconds: float,
        lease_seconds: float = LEASE_SECONDS,
        clock: Callable[[], float] = time.time,
        observer: AsyncObserver | None = None,
        make_room: Callable[[], bool] | None = None,
    ) -> None:
        self._observer: AsyncObserver = observer or _NoObserver()
        self._queue = queue
        self._invoke = invoke
        self._configs = configs
        self._sink = sink
        self._arns = arns
        self._concurrency = max(1, concurrency)
        self._base_delay = base_retry_delay_seconds
        self._lease = lease_seconds
        self._clock = clock
        # Frees held-back disk space (store/reserve.py); whether there was any to free.
        self._make_room = make_room
        self._wakeup = asyncio.Event()
        self._running: set[asyncio.Task[None]] = set()
        self._loop_task: asyncio.Task[None] | None = None
        self.stats = DispatchStats()

    def notify(self) -> None:
        """Something was enqueued: look now rather than at the next poll."""
        self._wakeup.set()

    def start(self) -> None:
        self._loop_task = asyncio.create_task(self._run(), name="hearth-dispatcher")

    async def stop(self) -> None:
        """Stop claiming; give running events a moment, then leave them to the next start
        (they are still leased in the queue, so nothing is lost)."""
        if self._loop_task is not None:
            self._loop_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._loop_task
        if self._running:
            await asyncio.wait(self._running, timeout=SHUTDOWN_GRACE_SECONDS)
        for task in list(self._running):
            task.cancel()
        if self._running:
            await asyncio.wait(self._running)

    async def _run(self) -> None:
        recovered = await self._queue.recover(now=self._clock())
        if recovered:
            logger.warning(
                "%d queued events were in flight when Hearth last stopped; they run again "
                "(their functions may see them twice)",
                recovered,
            )
        while True:
            self._wakeup.clear()
            free = self._concurrency - len(self._running)
            timeout: float | None = None  # all slots busy: a finishing event wakes us
            if free > 0:
                try:
                    await self._claim(free)
                except Exception:
                    logger.exception("claiming queued events failed")
                    await asyncio.sleep(IDLE_POLL_SECONDS)
                    continue
                if len(self._running) >= self._concurrency:
                    continue
                due = await self._queue.next_visible_at()
                timeout = (
                    IDLE_POLL_SECONDS
                    if due is None
                    else min(max(due - self._clock(), 0.001), IDLE_POLL_SECONDS)
                )
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wakeup.wait(), timeout)

    async def _claim(self, free: int) -> None:
        events = await self._queue.claim(free, now=self._clock(), lease_seconds=self._lease)
        for event in events:
            task = asyncio.create_task(self.handle(event))
            self._running.add(task)
            task.add_done_callback(self._finished)

    def _finished(self, task: asyncio.Task[None]) -> None:
        self._running.discard(task)
        self._wakeup.set()
        if not task.cancelled() and task.exception() is not None:
            logger.error("a queued event failed", exc_info=task.exception())

    async def handle(self, event: Event) -> None:
        """Run one claimed event and settle it in the queue (the claim loop calls this;
        unit tests drive it directly)."""
        if event.kind is Kind.DELIVER:
            await self._deliver(event)
        else:
            await self._run_invoke(event)

    # Invocations -------------------------------------------------------------------------
    async def _run_invoke(self, event: Event) -> None:
        ref = FunctionRef(event.target, event.qualifier)
        result: InvokeResult | None = None
        self._observer.event_age(event.target, event.qualifier, event.age(self._clock()) * 1000)
        # The trace header of the message that caused this event (SNS, an SQS-style source):
        # how a loop is counted (invoke/lineage.py).
        trace = event.attributes.get(TRACE_ATTRIBUTE, {}).get("StringValue")
        extra = {"trace_header": trace} if trace else {}
        try:
            result = await self._invoke(ref, event.payload, request_id=event.id, **extra)
        except LambdaError as error:
            if error.code == "RecursiveInvocationException":
                # AWS drops the event of a stopped loop (no retry, no destination).
                logger.warning("dropping event %s: recursive loop for %s", event.id, event.target)
                self.stats.dropped_recursive += 1
                self._observer.dropped(event.target, event.qualifier)
                await self._settle(lambda: self._queue.ack(event))
                return
            if error.code == ErrorCode.RESOURCE_NOT_FOUND:
                logger.warning("dropping event %s: %s", event.id, error.message)
                self.stats.dropped_function_missing += 1
                self._observer.dropped(event.target, event.qualifier)
                await self._settle(lambda: self._queue.ack(event))
                return
            outcome = Outcome.THROTTLED if error.status == 429 else Outcome.SYSTEM_ERROR
        except Exception:
            logger.exception("event %s could not be run", event.id)
            outcome = Outcome.SYSTEM_ERROR
        else:
            outcome = Outcome.FUNCTION_ERROR if result.function_error else Outcome.SUCCESS
        self._count(outcome)
        config = self._configs.config(event.target, event.qualifier)
        now = self._clock()
        function_errors = event.function_errors + (outcome is Outcome.FUNCTION_ERROR)
        decision = decide(
            outcome,
            function_errors=function_errors,
            requeues=event.requeues,
            event_age_seconds=event.age(now),
            max_retry_attempts=config.max_retry_attempts,
            max_event_age_seconds=config.max_event_age_seconds,
            base_delay_seconds=self._base_delay,
        )
        if decision.action is Action.RETRY:
            requeued = outcome in (Outcome.THROTTLED, Outcome.SYSTEM_ERROR)
            retry = event.counted(
                function_errors=function_errors, requeues=event.requeues + requeued
            )
            self.stats.retries_scheduled += 1
            await self._settle(
                lambda: self._queue.reschedule(retry, now=now, delay_seconds=decision.delay_seconds)
            )
            return
        assert decision.condition is not None
        follow_ups = self._outcome_events(event, decision.condition, result, outcome, now)
        if decision.action is Action.GIVE_UP:
            self.stats.discarded += 1
            self._observer.dropped(event.target, event.qualifier)
            logger.warning(
                "event %s for %s given up: %s", event.id, event.target, decision.condition
            )
        await self._settle(lambda: self._queue.ack(event, follow_ups))
        # A record for a function destination is delivered once it is committed to that
        # function's queue (AWS invokes a destination function asynchronously); records for
        # SQS / SNS / EventBridge count when they are sent (_deliver).
        self.stats.delivered += sum(1 for e in follow_ups if e.kind is Kind.INVOKE)

    async def _settle(self, write: Callable[[], Awaitable[bool]]) -> None:
        """Write what became of an event that ran. If this write were lost the event would
        run again after a restart, so a full disk does not end it: the disk's reserve is
        released and the write tried again, then again with backoff until it lands (the
        event stays leased meanwhile, so nothing else runs it)."""
        delay = SETTLE_RETRY_INITIAL_SECONDS
        while True:
            try:
                await write()
                return
            except Exception as exc:
                if not is_disk_full(exc):
                    raise
                self.stats.settle_retries += 1
            if self._make_room is not None and self._make_room():
                continue
            await asyncio.sleep(delay)
            delay = min(delay * 2, SETTLE_RETRY_MAX_SECONDS)

    def _count(self, outcome: Outcome) -> None:
        stats = self.stats
        if outcome is Outcome.SUCCESS:
            stats.succeeded += 1
        elif outcome is Outcome.FUNCTION_ERROR:
            stats.function_errors += 1
        elif outcome is Outcome.THROTTLED:
            stats.throttles += 1
        else:
            stats.system_errors += 1

    def _outcome_events(
        self,
        event: Event,
        condition: Condition,
        result: InvokeResult | None,
        outcome: Outcome,
        now: float,
    ) -> list[Event]:
        """The destination record and dead letter an outcome sends, as queued events.

        AWS treats the two independently: a discarded event goes to the OnFailure
        destination (as a record) *and* to the dead-letter queue (as the raw event).
        """
        config = self._configs.config(event.target, event.qualifier)
        events: list[Event] = []
        success = condition is Condition.SUCCESS
        destination = config.on_success if success else config.on_failure
        if destination:
            arn = self._arns.function(event.target, event.qualifier or LATEST)
            record = destination_record(
                event, condition=condition, function_arn=arn, result=result, now=now
            )
            events.append(follow_up(destination, record, now, {}))
        if not success:
            ran = result.executed_version if result is not None else event.qualifier
            dead_letter = self._configs.dead_letter_target(event.target, ran)
            if dead_letter:
                code = 200 if outcome is Outcome.FUNCTION_ERROR else 429
                if outcome is Outcome.SYSTEM_ERROR:
                    code = 500
                attributes = dead_letter_attributes(event, result, code)
                events.append(follow_up(dead_letter, event.payload, now, attributes))
        return events

    # Deliveries --------------------------------------------------------------------------
    async def _deliver(self, event: Event) -> None:
        try:
            await asyncio.to_thread(
                self._sink.send, event.target, event.payload.decode(), event.attributes
            )
        except Exception as error:
            delay = delivery_delay(event.requeues)
            self.stats.delivery_failures += 1
            self._observer.delivery_failed(_source_function(event), bool(event.attributes))
            logger.warning(
                "delivery of %s to %s failed (%s); retrying in %.0f s",
                event.id,
                event.target,
                error,
                delay,
            )
            retry = event.counted(function_errors=0, requeues=event.requeues + 1)
            await self._settle(
                lambda: self._queue.reschedule(retry, now=self._clock(), delay_seconds=delay)
            )
            return
        self.stats.delivered += 1
        await self._settle(lambda: self._queue.ack(event))


def _source_function(delivery: Event) -> str | None:
    """The function a destination record came from (its requestContext names it); a dead
    letter is the raw event and does not say."""
    try:
        record = json.loads(delivery.payload)
        arn = record["requestContext"]["functionArn"]
        return str(arn).split(":")[6]
    except (ValueError, KeyError, TypeError, IndexError):
        return None
