"""Push triggers become Event invokes in Hearth's durable queue.

S3 notifications, SNS `lambda` subscriptions, EventBridge targets: each is an asynchronous
invoke on AWS, so each becomes one `Kind.INVOKE` event here, and the dispatcher's retries,
dead-letter queues and destinations apply as to any `InvocationType: Event` call.

`deliver` is called on moto's thread, inside the request that caused the trigger: it returns
once the event is durable, so the S3 PUT (or SNS Publish) is answered only after its trigger
is safe, as AWS acknowledges only what it will deliver.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
import uuid
from collections.abc import Callable
from typing import Any, Protocol

from hearth.arns import parse_function_ref
from hearth.events.queue import TRACE_ATTRIBUTE, Event, EventQueue, Kind

logger = logging.getLogger("hearth.services")

# How long a trigger waits for the queue's write before the request fails instead.
_DURABLE_TIMEOUT_SECONDS = 30.0


class Triggers(Protocol):
    """Where push triggers go. `deliver` is thread-safe and durable on return.
    `trace_header`: the X-Ray trace header of the request that caused the event."""

    def deliver(self, function_arn: str, event: Any, trace_header: str | None = None) -> None: ...


class QueueTriggers:
    def __init__(
        self, events: EventQueue, notify: Callable[[], None], loop: asyncio.AbstractEventLoop
    ) -> None:
        self._events = events
        self._notify = notify
        self._loop = loop

    def deliver(self, function_arn: str, event: Any, trace_header: str | None = None) -> None:
        queued = _event(function_arn, json.dumps(event).encode(), trace_header)
        future = asyncio.run_coroutine_threadsafe(self._events.enqueue([queued]), self._loop)
        future.result(_DURABLE_TIMEOUT_SECONDS)
        self._loop.call_soon_threadsafe(self._notify)

    async def enqueue(self, function_arn: str, payload: bytes) -> None:
        """`deliver` for the event loop's own triggers (schedules, log subscriptions), with
        the payload as it is to reach the function (Scheduler passes Input verbatim)."""
        await self._events.enqueue([_event(function_arn, payload)])
        self._notify()


def _event(function_arn: str, payload: bytes, trace_header: str | None = None) -> Event:
    ref = parse_function_ref(function_arn)  # checked when the trigger was configured
    return Event(
        id=str(uuid.uuid4()),
        kind=Kind.INVOKE,
        target=ref.name,
        payload=payload,
        enqueued_at=time.time(),
        qualifier=ref.qualifier,
        # The trace header of the request that caused it: a loop is counted through it.
        attributes={TRACE_ATTRIBUTE: {"StringValue": trace_header}} if trace_header else {},
    )


class RecordingTriggers:
    """The in-memory twin, for tests: keeps what would have been delivered."""

    def __init__(self) -> None:
        self.delivered: list[tuple[str, Any]] = []

    def deliver(self, function_arn: str, event: Any, trace_header: str | None = None) -> None:
        self.delivered.append((function_arn, event))
