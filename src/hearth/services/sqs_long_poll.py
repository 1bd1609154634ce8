"""SQS long polls answered without holding up the embedded services.

moto serves every request on one thread (services/embedded.py) and waits out a long poll
(`ReceiveMessage` with WaitTimeSeconds) on it, so one waiting receive (an event source
mapping's 20 s poll, say) would stall every other call, the SendMessage it waits for
included. Here a long poll becomes short polls (WaitTimeSeconds 0) repeated on the event
loop until a message comes or the wait is over: the same answer, and moto's thread is free
in between. AWS JSON protocol (what current SDKs speak); other requests pass through.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import json
import time
from collections.abc import Awaitable, Callable

from hearth.services.embedded import WireRequest, WireResponse

_TARGET = "AmazonSQS.ReceiveMessage"
_FIRST_PAUSE_SECONDS = 0.02
_MAX_PAUSE_SECONDS = 0.2

Call = Callable[[WireRequest], Awaitable[WireResponse]]


async def receive(
    request: WireRequest, call: Call, stop: asyncio.Event | None = None
) -> WireResponse:
    """Serve `request` through `call`, polling briefly when it is a long-poll receive; once
    `stop` is set (a shutdown), a long poll still waiting answers at once, with no messages
    (as a poll whose wait ran out), so the server's graceful stop need not wait for it."""
    if request.headers.get("x-amz-target") != _TARGET:
        return await call(request)
    try:
        body = json.loads(request.body)
        wait = float(body.get("WaitTimeSeconds") or 0) if isinstance(body, dict) else 0.0
    except (ValueError, TypeError, AttributeError):
        return await call(request)  # moto answers the malformed body
    if not 0 < wait <= 20:
        return await call(request)  # nothing to wait for, or moto's own validation error
    short = dataclasses.replace(request, body=json.dumps({**body, "WaitTimeSeconds": 0}).encode())
    deadline = time.monotonic() + wait
    pause = _FIRST_PAUSE_SECONDS
    while True:
        response = await call(short)
        if response.status != 200 or _has_messages(response) or time.monotonic() >= deadline:
            return response
        if stop is not None and stop.is_set():
            return response
        await _pause(min(pause, max(0.0, deadline - time.monotonic())), stop)
        pause = min(pause * 2, _MAX_PAUSE_SECONDS)


async def _pause(seconds: float, stop: asyncio.Event | None) -> None:
    if stop is None:
        await asyncio.sleep(seconds)
        return
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(stop.wait(), seconds)


def _has_messages(response: WireResponse) -> bool:
    try:
        answer = json.loads(response.body)
    except (ValueError, UnicodeDecodeError):
        return True  # not ours to judge: hand it back
    return not isinstance(answer, dict) or bool(answer.get("Messages"))
