"""Invoke: `POST /2015-03-31/functions/{FunctionName}/invocations`."""

from __future__ import annotations

import base64
import json
import time
from collections.abc import Callable

from hearth.api.deep_json import is_json
from hearth.api.functions import function_ref
from hearth.api.http import Request, Response, Router, empty_response
from hearth.arns import FunctionRef
from hearth.errors import invalid_parameter, invalid_request_content, request_too_large
from hearth.events.queue import Event, EventQueue, Kind
from hearth.invoke.invoker import Invoker

MAX_SYNC_PAYLOAD = 6 * 1024 * 1024
# AWS raised the Event payload limit from 256 KB to 1 MB in 2025.
MAX_ASYNC_PAYLOAD = 1024 * 1024
MAX_CLIENT_CONTEXT = 3583


def _client_context(request: Request) -> str | None:
    raw = request.headers.get("x-amz-client-context")
    if raw is None:
        return None
    if len(raw) > MAX_CLIENT_CONTEXT:
        raise invalid_parameter(
            f"Client context must be smaller than {MAX_CLIENT_CONTEXT} bytes when base64 encoded."
        )
    try:
        decoded = base64.b64decode(raw, validate=True).decode()
        json.loads(decoded)
    except ValueError as exc:  # not ASCII, not base64, not UTF-8, not JSON
        raise invalid_parameter(
            "Client context must be a valid Base64-encoded JSON object."
        ) from exc
    except RecursionError:
        if not is_json(decoded):
            raise invalid_parameter(
                "Client context must be a valid Base64-encoded JSON object."
            ) from None
    return decoded


def _check_json(payload: bytes) -> bytes:
    if not payload.strip():
        return b"{}"  # an invoke without a payload hands the function an empty object
    try:
        json.loads(payload)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise invalid_request_content(f"Could not parse request body into json: {exc}") from exc
    except RecursionError:
        # Deeper than json.loads goes; AWS takes any valid JSON, so check it without recursion.
        if not is_json(payload.decode("utf-8", errors="replace")):
            raise invalid_request_content(
                "Could not parse request body into json: not a valid JSON document"
            ) from None
    return payload


def _check_async_size(body: bytes) -> None:
    if len(body) > MAX_ASYNC_PAYLOAD:
        raise request_too_large(
            f"{len(body)} byte payload is too large for the Event invocation type "
            f"(limit {MAX_ASYNC_PAYLOAD} bytes)"
        )


class InvokeApi:
    def __init__(
        self,
        invoker: Invoker,
        events: EventQueue,
        notify: Callable[[], None],
        require_room: Callable[[], None] = lambda: None,
    ) -> None:
        self._invoker = invoker
        self._events = events
        # Wakes the dispatcher once an event is queued.
        self._notify = notify
        # Raises ENOSPC while the disk is full: the space left is for acknowledgements.
        self._require_room = require_room

    def register(self, router: Router) -> None:
        router.add(
            "InvokeFunction",
            "POST",
            "/2015-03-31/functions/{FunctionName}/invocations",
            self.invoke,
            max_body=MAX_SYNC_PAYLOAD,
        )
        # The deprecated predecessor of an Event invoke; some old tools still call it.
        router.add(
            "InvokeAsync",
            "POST",
            "/2014-11-13/functions/{FunctionName}/invoke-async",
            self.invoke_async,
            max_body=MAX_SYNC_PAYLOAD,
        )

    async def invoke(self, request: Request) -> Response:
        ref = function_ref(request)
        invocation_type = request.headers.get("x-amz-invocation-type", "RequestResponse")
        log_type = request.headers.get("x-amz-log-type", "None")
        if invocation_type not in ("RequestResponse", "Event", "DryRun"):
            raise invalid_parameter(f"Unsupported invocation type: {invocation_type}")
        if log_type not in ("None", "Tail"):
            raise invalid_parameter(f"Unsupported log type: {log_type}")
        if invocation_type == "Event":
            _check_async_size(request.body)
        payload = _check_json(request.body)
        client_context = _client_context(request)
        if invocation_type == "DryRun":
            version = self._invoker.resolve(ref)
            response = empty_response(204)
            response.headers["X-Amz-Executed-Version"] = version.version
            return response
        if invocation_type == "Event":
            return await self._queue_event(request, ref, payload)
        result = await self._invoker.invoke(ref, payload, client_context=client_context)
        response = Response(200, result.payload)
        response.headers["X-Amz-Executed-Version"] = result.executed_version
        if result.function_error:
            response.headers["X-Amz-Function-Error"] = result.function_error
        if log_type == "Tail":
            response.headers["X-Amz-Log-Result"] = base64.b64encode(
                result.log_tail.encode()
            ).decode()
        return response

    async def invoke_async(self, request: Request) -> Response:
        """InvokeAsync: the same as an Event invoke, answered 202 with no body (the model's
        `Status` is the status code; SDKs read it from there)."""
        ref = function_ref(request)
        _check_async_size(request.body)
        await self._queue_event(request, ref, _check_json(request.body))
        return empty_response(202)

    async def _queue_event(self, request: Request, ref: FunctionRef, payload: bytes) -> Response:
        """Event: 202 once the event is durably queued; the client context is not passed on
        (AWS passes it to synchronous invocations only)."""
        self._invoker.resolve(ref)  # an unknown or inactive function fails now, as on AWS
        event = Event(
            id=request.request_id,
            kind=Kind.INVOKE,
            target=ref.name,
            payload=payload,
            enqueued_at=time.time(),
            qualifier=ref.qualifier,
        )
        self._require_room()
        await self._events.enqueue([event])
        self._notify()
        self._invoker.event_received(ref)
        return empty_response(202)
