"""Streamed invokes: the sink that carries bytes from the Runtime API to an HTTP answer, and
InvokeWithResponseStream
(`POST /2021-11-15/functions/{FunctionName}/response-streaming-invocations`).

InvokeWithResponseStream answers in AWS's event-stream framing: one `PayloadChunk` per piece
the function writes, sent as it arrives, then `InvokeComplete` (with `ErrorCode` and
`ErrorDetails` when the function failed, `LogResult` with `X-Amz-Log-Type: Tail`). Errors
found before the function runs (unknown function, throttle, bad input) are ordinary Lambda
API errors.
"""

from __future__ import annotations

import asyncio
import base64
import json
import re
from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import unquote

from hearth.api.functions import function_ref
from hearth.api.http import (
    PEER_SCOPE_KEY,
    Authenticator,
    Authorizer,
    Request,
    empty_response,
    read_body,
    render_error,
    send_response,
)
from hearth.api.invoke import MAX_SYNC_PAYLOAD, _check_json, _client_context
from hearth.errors import LambdaError, invalid_parameter, request_too_large, service_error
from hearth.http import eventstream
from hearth.invoke.invoker import Invoker
from hearth.invoke.types import InvokeResult

Scope = dict[str, Any]
Receive = Callable[[], Awaitable[dict[str, Any]]]
Send = Callable[[dict[str, Any]], Awaitable[None]]

PATH = re.compile(r"/2021-11-15/functions/(?P<FunctionName>[^/]+)/response-streaming-invocations")
OPERATION = "InvokeWithResponseStream"


class QueueSink:
    """A ResponseSink whose events a coroutine reads in order: `("start", (content_type,
    version))`, then `("data", bytes)` for each chunk."""

    def __init__(self) -> None:
        self.queue: asyncio.Queue[tuple[str, Any]] = asyncio.Queue()
        self.started = False

    def start(self, content_type: str, executed_version: str) -> None:
        self.started = True
        self.queue.put_nowait(("start", (content_type, executed_version)))

    def write(self, data: bytes) -> None:
        if data:
            self.queue.put_nowait(("data", data))


async def next_event(sink: QueueSink, task: asyncio.Task[InvokeResult]) -> tuple[str, Any] | None:
    """The sink's next event, or None once the invoke is over and nothing is left."""
    if not sink.queue.empty():
        return sink.queue.get_nowait()
    if task.done():
        return None
    getter = asyncio.ensure_future(sink.queue.get())
    await asyncio.wait({getter, task}, return_when=asyncio.FIRST_COMPLETED)
    if getter.done():
        return getter.result()
    getter.cancel()
    return sink.queue.get_nowait() if not sink.queue.empty() else None


def let_finish(task: asyncio.Task[InvokeResult]) -> None:
    """An invoke whose client went away runs to its end all the same: cancelling it would
    hand its environment back while the runtime is still writing."""
    if not task.done():
        task.add_done_callback(lambda t: t.cancelled() or t.exception())


def error_fields(payload: bytes) -> tuple[str, str]:
    """InvokeComplete's ErrorCode and ErrorDetails for a function error's payload."""
    try:
        error = json.loads(payload)
    except (UnicodeDecodeError, json.JSONDecodeError):
        return "Unhandled", payload.decode("utf-8", errors="replace")
    if not isinstance(error, dict):
        return "Unhandled", payload.decode("utf-8", errors="replace")
    return str(error.get("errorType", "Unhandled")), str(error.get("errorMessage", ""))


class StreamingInvokeApi:
    def __init__(
        self,
        invoker: Invoker,
        authenticate: Authenticator | None,
        authorize: Authorizer | None = None,
    ) -> None:
        self._invoker = invoker
        self._authenticate = authenticate
        self._authorize = authorize

    async def serve(self, name: str, scope: Scope, receive: Receive, send: Send) -> None:
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        raw_path = (scope.get("raw_path") or scope["path"].encode()).decode("latin-1")
        request = Request(
            method=scope["method"],
            raw_path=raw_path,
            query_string=scope["query_string"].decode("latin-1"),
            headers=headers,
            body=b"",
            operation=OPERATION,
            params={"FunctionName": unquote(name)},
            peer=scope.get(PEER_SCOPE_KEY),
        )
        try:
            await self._stream(request, receive, send)
        except LambdaError as error:
            await send_response(send, render_error(error), request.request_id)
        except Exception:  # pragma: no cover - a bug; AWS's shape for it all the same
            await send_response(send, render_error(service_error()), request.request_id)

    async def _stream(self, request: Request, receive: Receive, send: Send) -> None:
        if request.method != "POST":
            raise LambdaError(
                "UnknownOperationException",
                404,
                f"Unknown operation: {request.method} {unquote(request.raw_path)}",
            )
        request.body = await read_body(
            receive,
            MAX_SYNC_PAYLOAD,
            lambda: request_too_large(
                f"Request must be smaller than {MAX_SYNC_PAYLOAD} bytes for the {OPERATION} "
                "operation"
            ),
        )
        if self._authenticate is not None:
            self._authenticate.check(request)
        if self._authorize is not None:
            await self._authorize.authorize(request)
        ref = function_ref(request)
        invocation_type, log_type = _types(request)
        payload = _check_json(request.body)
        client_context = _client_context(request)
        if invocation_type == "DryRun":
            response = empty_response(204)
            response.headers["X-Amz-Executed-Version"] = self._invoker.resolve(ref).version
            await send_response(send, response, request.request_id)
            return
        sink = QueueSink()
        task = asyncio.ensure_future(
            self._invoker.invoke(ref, payload, client_context=client_context, sink=sink)
        )
        try:
            first = await next_event(sink, task)
            if first is None:
                result = task.result()  # raises what stopped the invoke before it ran
                version = result.executed_version
            else:
                version = first[1][1]
            await send(
                {
                    "type": "http.response.start",
                    "status": 200,
                    "headers": [
                        (b"x-amzn-requestid", request.request_id.encode()),
                        (b"content-type", b"application/vnd.amazon.eventstream"),
                        (b"x-amz-executed-version", version.encode()),
                    ],
                }
            )
            while (event := await next_event(sink, task)) is not None:
                if event[0] == "data":
                    await _chunk(send, eventstream.payload_chunk(event[1]))
            result = await task
        finally:
            let_finish(task)
        if not sink.started and not result.function_error and result.payload:
            await _chunk(send, eventstream.payload_chunk(result.payload))  # a buffered result
        log = base64.b64encode(result.log_tail.encode()).decode() if log_type == "Tail" else None
        if result.function_error:
            code, details = error_fields(result.payload)
            complete = eventstream.invoke_complete(code, details, log)
        else:
            complete = eventstream.invoke_complete(log_result=log)
        await send({"type": "http.response.body", "body": complete})


def _types(request: Request) -> tuple[str, str]:
    """The invocation type and log type asked for, as InvokeWithResponseStream allows them."""
    invocation_type = request.headers.get("x-amz-invocation-type", "RequestResponse")
    log_type = request.headers.get("x-amz-log-type", "None")
    if invocation_type not in ("RequestResponse", "DryRun"):
        raise invalid_parameter(f"Unsupported invocation type: {invocation_type}")
    if log_type not in ("None", "Tail"):
        raise invalid_parameter(f"Unsupported log type: {log_type}")
    return invocation_type, log_type


async def _chunk(send: Send, data: bytes) -> None:
    await send({"type": "http.response.body", "body": data, "more_body": True})
