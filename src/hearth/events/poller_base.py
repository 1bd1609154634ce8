"""What every poller shares: the mapping it serves, the invoke call, status, filters.

A poller invokes through `InvokeFunction` (the `Invoker.invoke` of synchronous calls, so
leases, reserved concurrency and 429 throttles apply, and START / END / REPORT are logged).
A throttle raises before the function runs; `invoke_with_backoff` waits and tries again.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

from hearth.arns import FunctionRef, Source, source_of
from hearth.errors import LambdaError
from hearth.events.patterns import Pattern, matches, validate_pattern
from hearth.events.sources import SourceClients
from hearth.invoke.types import InvokeResult
from hearth.models import EventSourceMapping

logger = logging.getLogger("hearth.events.mappings")

THROTTLE_FIRST_DELAY = 0.05
THROTTLE_MAX_DELAY = 2.0


class InvokeFunction(Protocol):
    def __call__(
        self, ref: FunctionRef, payload: bytes, *, trace_header: str | None = ...
    ) -> Awaitable[InvokeResult]: ...


# What a batch stopped as a recursive loop comes to: handled, nothing to report (AWS drops
# the messages of a stopped loop; invoke/lineage.py).
DROPPED = InvokeResult(b"null", "", None, "")


@dataclass
class MappingStats:
    """Counts since this server started, shown in /_hearth/event-source-mappings."""

    records_received: int = 0
    records_filtered_out: int = 0
    batches_invoked: int = 0
    batches_succeeded: int = 0
    batches_failed: int = 0
    partial_failures: int = 0
    records_sent_on_failure: int = 0
    throttles: int = 0
    pollers: int = 0
    last_result: str = "No records processed"
    last_error: str | None = None
    lag: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "RecordsReceived": self.records_received,
            "RecordsFilteredOut": self.records_filtered_out,
            "BatchesInvoked": self.batches_invoked,
            "BatchesSucceeded": self.batches_succeeded,
            "BatchesFailed": self.batches_failed,
            "PartialFailures": self.partial_failures,
            "RecordsSentOnFailure": self.records_sent_on_failure,
            "Throttles": self.throttles,
            "Pollers": self.pollers,
            "LastProcessingResult": self.last_result,
            "LastError": self.last_error,
            "Lag": dict(self.lag),
        }


@dataclass
class PollerContext:
    mapping: EventSourceMapping
    function_arn: str
    invoke: InvokeFunction
    clients: SourceClients
    stats: MappingStats
    # Called with a new LastProcessingResult / state reason when they change.
    report: Callable[[dict[str, Any]], None]
    # The function's execution role (Kinesis records carry it as invokeIdentityArn).
    role: str = ""
    # Told, for each batch a stream poller sends, the age in ms of its last record (AWS's
    # IteratorAge metric); None records nothing.
    iterator_age: Callable[[float], None] | None = None
    stopping: asyncio.Event = field(default_factory=asyncio.Event)

    @property
    def source(self) -> Source:
        return source_of(self.mapping.event_source_arn)

    @property
    def config(self) -> dict[str, Any]:
        return self.mapping.config

    @property
    def region(self) -> str:
        return self.mapping.event_source_arn.split(":")[3]

    def ref(self) -> FunctionRef:
        return FunctionRef(self.mapping.function_name, self.mapping.qualifier)

    def reports_item_failures(self) -> bool:
        return "ReportBatchItemFailures" in self.config.get("FunctionResponseTypes", [])

    async def call(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        """Run a blocking botocore call on the pollers' own threads."""
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self.clients.executor, lambda: fn(*args, **kwargs))

    async def call_until_stopped(self, fn: Callable[..., Any], **kwargs: Any) -> Any:
        """`call`, but give up waiting (None) as soon as the poller is told to stop: a long
        poll must not hold up a disable or a shutdown."""
        call = asyncio.ensure_future(self.call(fn, **kwargs))
        stop = asyncio.ensure_future(self.stopping.wait())
        try:
            await asyncio.wait({call, stop}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            stop.cancel()
        if call.done():
            return call.result()
        call.cancel()
        return None

    def filters(self) -> list[Pattern]:
        criteria = self.config.get("FilterCriteria") or {}
        return [validate_pattern(f["Pattern"]) for f in criteria.get("Filters", [])]

    def result(self, text: str) -> None:
        if self.stats.last_result != text:
            self.stats.last_result = text
            if self.source is not Source.SQS:
                self.report({"LastProcessingResult": text})

    async def sleep(self, seconds: float) -> bool:
        """Sleep unless stopping; True when the poller should stop."""
        try:
            await asyncio.wait_for(self.stopping.wait(), seconds)
        except TimeoutError:
            return False
        return True

    async def invoke_with_backoff(
        self, payload: bytes, trace_header: str | None = None
    ) -> InvokeResult | None:
        """Invoke, waiting out throttles; None if the poller stopped or the function is gone;
        DROPPED if the invoke was stopped as a recursive loop (the batch is to be dropped)."""
        delay = THROTTLE_FIRST_DELAY
        extra = {"trace_header": trace_header} if trace_header else {}
        while not self.stopping.is_set():
            try:
                return await self.invoke(self.ref(), payload, **extra)
            except LambdaError as error:
                if error.code == "RecursiveInvocationException":
                    self.stats.last_error = f"{error.code}: {error.message}"
                    logger.warning(
                        "mapping %s: recursive loop stopped, batch dropped", self.mapping.uuid
                    )
                    return DROPPED
                if error.status == 429:
                    self.stats.throttles += 1
                elif error.status == 404 or error.code == "ResourceNotFoundException":
                    self.result("PROBLEM: Function not found.")
                    delay = max(delay, 1.0)
                else:
                    self.stats.last_error = f"{error.code}: {error.message}"
                    logger.warning("mapping %s: invoke failed: %s", self.mapping.uuid, error)
            if await self.sleep(delay):
                return None
            delay = min(delay * 2, THROTTLE_MAX_DELAY)
        return None


def keep(filters: list[Pattern], record: dict[str, Any], field_name: str, raw: str | None) -> bool:
    """Whether a record passes FilterCriteria (any filter matches), with `field_name` (SQS
    `body`, Kinesis `data`) parsed as JSON as AWS does when it is JSON, left as text if not."""
    if not filters:
        return True
    subject = dict(record)
    if raw is not None:
        try:
            subject[field_name] = json.loads(raw)
        except (ValueError, UnicodeDecodeError):
            subject[field_name] = raw
    return any(matches(pattern, subject) for pattern in filters)


def now() -> float:
    return time.time()
