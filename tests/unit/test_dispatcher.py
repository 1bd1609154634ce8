"""The dispatcher's decisions, with the queue, the invoker and the message sink faked.

Throttles cannot be produced by a real server yet (concurrency limits come separately), so
the contract is checked here: the invoker raises 429 before the function runs, and the
event waits with backoff and runs later, never dropped, never counted as a retry.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
from collections.abc import Callable, Coroutine
from typing import Any

import pytest

from hearth.arns import LATEST, ArnFormatter, FunctionRef
from hearth.errors import not_found, service_error, too_many_requests
from hearth.events.config import AsyncConfigs
from hearth.events.destinations import MemorySink
from hearth.events.dispatcher import Dispatcher
from hearth.events.memory_queue import MemoryEventQueue
from hearth.events.queue import Event, Kind
from hearth.invoke.types import InvokeResult
from hearth.store.memory import MemoryRegistry
from tests.unit.factories import put_function

START = 1_700_000_000.0
QUEUE_ARN = "arn:aws:sqs:us-east-1:123456789012:failures"
DLQ_ARN = "arn:aws:sns:us-east-1:123456789012:dead-letters"


class Clock:
    def __init__(self) -> None:
        self.now = START

    def __call__(self) -> float:
        return self.now


class Script:
    """A fake invoke that answers from a list: an exception to raise or a result."""

    def __init__(self, *answers: Exception | InvokeResult) -> None:
        self.answers = list(answers)
        self.calls: list[tuple[FunctionRef, str]] = []

    async def __call__(
        self, ref: FunctionRef, payload: bytes, *, request_id: str, trace_header: str | None = None
    ) -> InvokeResult:
        self.calls.append((ref, request_id))
        answer = self.answers.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return answer


OK = InvokeResult(b'{"ok": true}', LATEST, None, "")
FAILED = InvokeResult(b'{"errorMessage": "boom", "errorType": "E"}', "2", "Unhandled", "")


class Rig:
    def __init__(self, script: Script, **config: Any) -> None:
        self.registry = MemoryRegistry()
        put_function(self.registry, "fn")
        with self.registry.transaction() as tx:
            record = tx.get_function("fn")
            assert record is not None
            if config:
                tx.put_function(
                    dataclasses.replace(record, event_invoke_configs={"": dict(config)})
                )
            for version in (LATEST, "2"):
                stored = tx.get_version("fn", version)
                assert stored is not None
                tx.put_version(dataclasses.replace(stored, dead_letter_target_arn=DLQ_ARN))
        self.queue = MemoryEventQueue()
        self.sink = MemorySink()
        self.clock = Clock()
        self.script = script
        self.dispatcher = Dispatcher(
            self.queue,
            script,
            AsyncConfigs(self.registry),
            self.sink,
            ArnFormatter("us-east-1", "123456789012"),
            concurrency=4,
            base_retry_delay_seconds=60.0,
            clock=self.clock,
        )

    async def enqueue(self, payload: bytes = b'{"n": 1}') -> None:
        await self.queue.enqueue([Event("ev-1", Kind.INVOKE, "fn", payload, self.clock.now)])

    async def step(self) -> list[Event]:
        """Claim what is visible now and run it to completion."""
        events = await self.queue.claim(10, now=self.clock.now, lease_seconds=960)
        for event in events:
            await self.dispatcher.handle(event)
        return events

    async def next_delay(self) -> float:
        due = await self.queue.next_visible_at()
        assert due is not None
        return due - self.clock.now


def run(body: Callable[[], Coroutine[Any, Any, None]]) -> None:
    asyncio.run(body())


def test_a_throttled_event_waits_with_backoff_and_runs_later() -> None:
    throttle = too_many_requests("ReservedFunctionConcurrentInvocationLimitExceeded")
    rig = Rig(Script(throttle, throttle, throttle, OK), OnSuccess=None)

    async def body() -> None:
        await rig.enqueue()
        delays = []
        for _ in range(3):
            assert len(await rig.step()) == 1
            delays.append(await rig.next_delay())
            rig.clock.now += delays[-1]
        assert delays == [1.0, 2.0, 4.0]
        (ran,) = await rig.step()
        assert ran.attempts == 4 and ran.requeues == 3 and ran.function_errors == 0
        assert await rig.queue.next_visible_at() is None  # done: acked
        assert rig.dispatcher.stats.throttles == 3 and rig.dispatcher.stats.succeeded == 1
        assert [request_id for _, request_id in rig.script.calls] == ["ev-1"] * 4

    run(body)


def test_throttles_do_not_use_up_function_error_retries() -> None:
    throttle = too_many_requests("ConcurrentInvocationLimitExceeded")
    rig = Rig(Script(FAILED, throttle, throttle, FAILED, FAILED), MaximumRetryAttempts=2)

    async def body() -> None:
        await rig.enqueue()
        delays = []
        while not rig.dispatcher.stats.discarded:
            await rig.step()
            delays.append(await rig.next_delay())
            rig.clock.now += delays[-1]
        delays.pop()  # the dead letter, sent at once
        # Function error → 60 s; throttles → 1 s, 2 s; function error → 120 s; then give up.
        assert delays == [60.0, 1.0, 2.0, 120.0]
        assert not rig.script.answers
        assert rig.dispatcher.stats.discarded == 1

    run(body)


def test_an_event_throttled_until_too_old_goes_to_on_failure_and_the_dlq() -> None:
    throttle = too_many_requests("ConcurrentInvocationLimitExceeded")
    rig = Rig(
        Script(*[throttle] * 20),
        MaximumEventAgeInSeconds=60,
        DestinationConfig={"OnFailure": {"Destination": QUEUE_ARN}},
    )

    async def body() -> None:
        await rig.enqueue()
        while not rig.dispatcher.stats.discarded:
            await rig.step()
            rig.clock.now += await rig.next_delay()
        # 1 + 2 + 4 + 8 + 16 = 31 s; the next wait (32 s) would pass 60 s: given up.
        assert rig.clock.now == START + 31
        assert {e.kind for e in await rig.step()} == {Kind.DELIVER}
        sent = {arn: (json.loads(body), attrs) for arn, body, attrs in rig.sink.sent}
        record, _ = sent[QUEUE_ARN]
        assert record["requestContext"]["condition"] == "EventAgeExceeded"
        assert record["requestContext"]["approximateInvokeCount"] == 6
        assert "responseContext" not in record and "responsePayload" not in record
        dead_letter, attrs = sent[DLQ_ARN]
        assert dead_letter == {"n": 1}
        assert attrs["RequestID"] == {"DataType": "String", "StringValue": "ev-1"}
        assert attrs["ErrorCode"] == {"DataType": "Number", "StringValue": "429"}
        assert await rig.queue.next_visible_at() is None

    run(body)


def test_retries_exhausted_sends_the_record_and_the_raw_event_to_the_dlq() -> None:
    rig = Rig(
        Script(FAILED),
        MaximumRetryAttempts=0,
        DestinationConfig={"OnFailure": {"Destination": QUEUE_ARN}},
    )

    async def body() -> None:
        await rig.enqueue(b'{"order": 7}')
        await rig.step()
        deliveries = await rig.step()
        assert {e.target for e in deliveries} == {QUEUE_ARN, DLQ_ARN}
        sent = {arn: (body, attrs) for arn, body, attrs in rig.sink.sent}
        record = json.loads(sent[QUEUE_ARN][0])
        assert record["requestContext"]["condition"] == "RetriesExhausted"
        assert record["responseContext"] == {
            "statusCode": 200,
            "executedVersion": "2",
            "functionError": "Unhandled",
        }
        assert record["responsePayload"] == {"errorMessage": "boom", "errorType": "E"}
        body, attrs = sent[DLQ_ARN]
        assert json.loads(body) == {"order": 7}
        assert attrs["ErrorCode"]["StringValue"] == "200"
        assert attrs["ErrorMessage"] == {"DataType": "String", "StringValue": "boom"}

    run(body)


def test_system_errors_are_requeued_like_throttles() -> None:
    rig = Rig(Script(service_error(), RuntimeError("sandbox died"), OK))

    async def body() -> None:
        await rig.enqueue()
        delays = []
        for _ in range(2):
            await rig.step()
            delays.append(await rig.next_delay())
            rig.clock.now += delays[-1]
        await rig.step()
        assert delays == [1.0, 2.0]
        assert rig.dispatcher.stats.system_errors == 2 and rig.dispatcher.stats.succeeded == 1

    run(body)


def test_a_failing_destination_keeps_the_record_and_retries() -> None:
    rig = Rig(Script(OK), DestinationConfig={"OnSuccess": {"Destination": QUEUE_ARN}})

    async def body() -> None:
        await rig.enqueue()
        await rig.step()
        rig.sink.failing = True
        delays = []
        for _ in range(3):
            await rig.step()
            delays.append(await rig.next_delay())
            rig.clock.now += delays[-1]
        assert delays == [1.0, 2.0, 4.0]
        rig.sink.failing = False
        await rig.step()
        ((arn, body, _),) = rig.sink.sent
        assert arn == QUEUE_ARN
        assert json.loads(body)["requestContext"]["condition"] == "Success"
        assert await rig.queue.next_visible_at() is None
        assert rig.dispatcher.stats.delivery_failures == 3

    run(body)


def test_a_record_for_a_function_destination_counts_as_delivered_not_succeeded() -> None:
    target = "arn:aws:lambda:us-east-1:123456789012:function:fn:$LATEST"
    rig = Rig(Script(OK), DestinationConfig={"OnSuccess": {"Destination": target}})

    async def body() -> None:
        await rig.enqueue()
        await rig.step()
        stats = rig.dispatcher.stats
        assert (stats.succeeded, stats.delivered) == (1, 1)
        ((record,),) = [await rig.queue.claim(10, now=rig.clock.now, lease_seconds=960)]
        assert (record.kind, record.target, record.qualifier) == (Kind.INVOKE, "fn", LATEST)

    run(body)


@pytest.mark.parametrize("qualifier", [None, LATEST])
def test_unqualified_and_latest_share_a_config(qualifier: str | None) -> None:
    rig = Rig(Script(FAILED, FAILED), MaximumRetryAttempts=1)
    configs = AsyncConfigs(rig.registry)
    assert configs.config("fn", qualifier).max_retry_attempts == 1
    assert configs.config("fn", "1").max_retry_attempts == 2  # a version without its own


def test_an_event_for_a_deleted_function_is_dropped() -> None:
    rig = Rig(Script(not_found("Function not found: arn:aws:lambda:...:fn")))

    async def body() -> None:
        await rig.enqueue()
        await rig.step()
        assert await rig.queue.next_visible_at() is None
        assert rig.dispatcher.stats.dropped_function_missing == 1

    run(body)


def test_the_claim_loop_runs_what_is_enqueued() -> None:
    rig = Rig(Script(OK, OK, OK))

    async def body() -> None:
        rig.dispatcher.start()
        for i in range(3):
            await rig.queue.enqueue([Event(f"e{i}", Kind.INVOKE, "fn", b"{}", rig.clock.now)])
            rig.dispatcher.notify()
        for _ in range(200):
            if rig.dispatcher.stats.succeeded == 3:
                break
            await asyncio.sleep(0.01)
        await rig.dispatcher.stop()
        assert rig.dispatcher.stats.succeeded == 3
        assert sorted(r for _, r in rig.script.calls) == ["e0", "e1", "e2"]

    run(body)
