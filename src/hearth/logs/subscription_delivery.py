"""Log events matched by subscription filters, delivered to their Lambda functions.

Every batch of log events stored (a function's output through the writer, or PutLogEvents)
is passed to `observe`: each event that a filter of its group matches (the FilterLogEvents
pattern language) is held per filter and log stream, and about once a second each held batch
goes out as one asynchronous invoke, shaped as CloudWatch Logs shapes it:
`{"awslogs": {"data": base64(gzip(json))}}` around a DATA_MESSAGE (owner, logGroup,
logStream, subscriptionFilters, logEvents [id, timestamp, message]).

A destination function's own log groups never feed it: a function subscribed to every group
would otherwise be invoked by its own REPORT lines, for ever. Events held for the second
before a delivery are in memory only: a `kill -9` loses at most that second, a clean stop
delivers them first.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import gzip
import itertools
import json
import logging
from collections import defaultdict
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from hearth.logs.patterns import Matcher, PatternError, compile_pattern
from hearth.logs.store import NewEvent
from hearth.logs.subscriptions import Subscriptions

logger = logging.getLogger("hearth.logs")

DELIVERY_INTERVAL_SECONDS = 1.0
# Uncompressed message bytes per delivery: its payload stays under the 256 KB of an
# asynchronous invoke even if gzip gains nothing (base64 adds a third).
MAX_BATCH_BYTES = 128 * 1024
EVENT_OVERHEAD_BYTES = 26

# (function ARN, payload as it reaches the function) → durable on return.
Fire = Callable[[str, bytes], Awaitable[None]]
# A function name → the log groups its own output goes to.
OwnGroups = Callable[[str], frozenset[str]]


def default_groups(function_name: str) -> frozenset[str]:
    return frozenset({f"/aws/lambda/{function_name}"})


def awslogs_payload(
    owner: str, group: str, stream: str, filter_name: str, events: Sequence[dict[str, Any]]
) -> bytes:
    message = {
        "messageType": "DATA_MESSAGE",
        "owner": owner,
        "logGroup": group,
        "logStream": stream,
        "subscriptionFilters": [filter_name],
        "logEvents": list(events),
    }
    data = base64.b64encode(gzip.compress(json.dumps(message).encode())).decode()
    return json.dumps({"awslogs": {"data": data}}).encode()


def _function_name(arn: str) -> str:
    # arn:aws:lambda:region:account:function:name[:qualifier]
    parts = arn.split(":")
    return parts[6] if len(parts) > 6 else arn


class SubscriptionDelivery:
    def __init__(
        self,
        subscriptions: Subscriptions,
        fire: Fire,
        owner: str,
        own_groups: OwnGroups = default_groups,
        interval_seconds: float = DELIVERY_INTERVAL_SECONDS,
    ) -> None:
        self._subscriptions = subscriptions
        self._fire = fire
        self._owner = owner
        self._own_groups = own_groups
        self._interval = interval_seconds
        self._matchers: dict[str, Matcher] = {}
        # (group, filter name, stream) → (destination, [event])
        self._held: dict[tuple[str, str, str], tuple[str, list[dict[str, Any]]]] = {}
        self._ids = itertools.count()
        self._task: asyncio.Task[None] | None = None
        self.delivered = 0

    def _matcher(self, pattern: str) -> Matcher | None:
        found = self._matchers.get(pattern)
        if found is None:
            try:
                found = self._matchers[pattern] = compile_pattern(pattern)
            except PatternError:
                return None  # PutSubscriptionFilter refuses it; never match on one
        return found

    def observe(self, events: Sequence[NewEvent]) -> None:
        by_group: defaultdict[str, list[NewEvent]] = defaultdict(list)
        for event in events:
            by_group[event[0]].append(event)
        for group, grouped in by_group.items():
            for subscription in self._subscriptions.for_group(group):
                destination = subscription.destination_arn
                if group in self._own_groups(_function_name(destination)):
                    continue
                matches = self._matcher(subscription.pattern)
                if matches is None:
                    continue
                for _, stream, timestamp, message in grouped:
                    if not matches(message):
                        continue
                    key = (group, subscription.name, stream)
                    held = self._held.setdefault(key, (destination, []))[1]
                    # CloudWatch Logs' event ids are 56 digits; these sort as they arrive.
                    event_id = f"{timestamp:020d}{next(self._ids):036d}"
                    held.append({"id": event_id, "timestamp": timestamp, "message": message})

    async def deliver(self) -> None:
        """Send what is held, one invoke per filter and stream (split to stay in size)."""
        held, self._held = self._held, {}
        for (group, name, stream), (destination, events) in held.items():
            for batch in _batches(events):
                payload = awslogs_payload(self._owner, group, stream, name, batch)
                try:
                    await self._fire(destination, payload)
                except Exception:
                    logger.exception("log subscription %s of %s: delivery failed", name, group)
                    continue
                self.delivered += 1

    def start(self) -> None:
        self._task = asyncio.create_task(self._run())

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(self._interval)
            await self.deliver()

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        await self.deliver()


def _batches(events: list[dict[str, Any]]) -> list[list[dict[str, Any]]]:
    batches: list[list[dict[str, Any]]] = [[]]
    size = 0
    for event in events:
        cost = len(event["message"].encode()) + EVENT_OVERHEAD_BYTES
        if batches[-1] and size + cost > MAX_BATCH_BYTES:
            batches.append([])
            size = 0
        batches[-1].append(event)
        size += cost
    return batches
