"""`GET /_hearth/async`: Hearth's own view of the asynchronous queue (not an AWS operation).

Queue depth, and the redelivery count: how many times an event was handed out again because
an earlier run of it never finished (a crash, kill -9). Each redelivery may have made the
function see that event twice, so it bounds the duplicates. The dispatcher's counts since
start (successes, function errors, throttles, retries, deliveries) come along.
"""

from __future__ import annotations

import dataclasses
import time

from hearth.api.http import Request, Response, Router, json_response
from hearth.events.dispatcher import Dispatcher
from hearth.events.queue import EventQueue


def _camel(name: str) -> str:
    return "".join(part.capitalize() for part in name.split("_"))


class AsyncStatusApi:
    def __init__(self, queue: EventQueue, dispatcher: Dispatcher) -> None:
        self._queue = queue
        self._dispatcher = dispatcher

    def register(self, router: Router) -> None:
        # Signed like any API call when SigV4 is required: the counts say what the account runs.
        router.add("AsyncStatus", "GET", "/_hearth/async", self.status, max_body=0)

    async def status(self, request: Request) -> Response:
        counts = await self._queue.counts(now=time.time())
        stats = dataclasses.asdict(self._dispatcher.stats)
        return json_response(
            {
                "Queue": {_camel(k): v for k, v in dataclasses.asdict(counts).items()},
                "SinceStart": {_camel(k): v for k, v in stats.items()},
            }
        )
