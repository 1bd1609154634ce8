"""RESPONSE_STREAM function URLs: the answer goes out with chunked transfer as the function
writes it.

A stream that starts with `HttpResponseStream.from`'s prelude (content type
`application/vnd.awslambda.http-integration-response`) sets the status, headers and cookies;
any other stream is a 200 body of the stream's content type. A function that does not stream
is answered as a BUFFERED URL would answer it. Once the head is sent, a failure can only cut
the body short, as on AWS; before that it is a 502.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

from hearth.http.events import (
    HTTP_INTEGRATION_RESPONSE,
    BadFunctionResponse,
    HttpAnswer,
    split_prelude,
)
from hearth.http.streaming import QueueSink, let_finish, next_event
from hearth.invoke.streams import ResponseSink
from hearth.invoke.types import InvokeResult

Send = Callable[[dict[str, object]], Awaitable[None]]
# Runs the invoke with the given sink.
StreamedInvoke = Callable[[ResponseSink], Awaitable[InvokeResult]]
# Finishes a head before it is sent (CORS, request id).
Finish = Callable[[HttpAnswer], list[tuple[bytes, bytes]]]


async def stream_answer(
    invoke: StreamedInvoke, send: Send, finish: Finish
) -> InvokeResult | HttpAnswer | None:
    """Stream the function's answer to `send`. Returns None once it was sent; otherwise what
    to answer: the InvokeResult of a function that did not stream, or a 502."""
    sink = QueueSink()
    task = asyncio.ensure_future(invoke(sink))
    try:
        first = await next_event(sink, task)
        if first is None:
            return await task  # raises what stopped the invoke before it ran
        content_type = str(first[1][0])
        head: HttpAnswer | None = None
        sent = False
        pending = b""
        if content_type.split(";", 1)[0].strip().lower() != HTTP_INTEGRATION_RESPONSE:
            head = HttpAnswer(200, [("content-type", content_type)])
        while (event := await next_event(sink, task)) is not None:
            data: bytes = event[1]
            if head is None:
                pending += data
                try:
                    split = split_prelude(pending)
                except BadFunctionResponse:
                    return _bad_gateway()
                if split is None:
                    continue
                head, data = split
            if not sent:
                # The head goes with the first bytes, so a function that fails before
                # writing anything still gets its 502.
                await _start(send, head, finish)
                sent = True
            if data:
                await send({"type": "http.response.body", "body": data, "more_body": True})
        result = await task
        if not sent:
            if head is None or result.function_error:
                return _bad_gateway()
            await _start(send, head, finish)
    finally:
        let_finish(task)
    await send({"type": "http.response.body", "body": b""})
    return None


def _bad_gateway() -> HttpAnswer:
    return HttpAnswer(502, [("content-type", "application/json")], b"Internal Server Error")


async def _start(send: Send, head: HttpAnswer, finish: Finish) -> None:
    # No content-length: the server sends the body with chunked transfer encoding.
    await send({"type": "http.response.start", "status": head.status, "headers": finish(head)})
