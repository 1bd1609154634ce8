"""The Lambda Runtime API, served to one execution environment.

Every runtime (Hearth's own clients, AWS's `awslambdaric` / `aws-lambda-ric`, a custom
`bootstrap`) finds it at `AWS_LAMBDA_RUNTIME_API=host:port`. The API carries no environment
id, so each environment gets a listener of its own and the listener knows whose it is.
This is the hot path of every invoke: a small asyncio protocol over httptools, no framework.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import json
from collections.abc import Callable
from typing import Protocol, cast

import httptools

from hearth.invoke.payloads import error_payload
from hearth.invoke.types import Invocation

PREFIX = b"/2018-06-01/runtime/"
# AWS's limit is 100 bytes over 6 MiB (its recorded error names 6291556), so a JSON string of
# 6 MiB characters, quotes included, gets through.
MAX_RESPONSE_BYTES = 6 * 1024 * 1024 + 100


class RuntimeApiError(Exception):
    """A refusal the runtime sees as `{"errorMessage", "errorType"}` with an HTTP status."""

    def __init__(self, status: int, error_type: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.error_type = error_type
        self.message = message


class ResponseStream(Protocol):
    """A streamed response being written (`Lambda-Runtime-Function-Response-Mode: streaming`).

    `write` takes each body chunk as it arrives; `close` ends the stream, with the error the
    runtime reported in its trailers, if any; `abort` ends it when the connection is lost
    before the body was complete."""

    def write(self, data: bytes) -> None: ...

    def close(self, error_type: str | None, error_body: bytes | None) -> None: ...

    def abort(self) -> None: ...


class RuntimeSession(Protocol):
    """The environment behind one Runtime API listener.

    Guarantees asked of implementations: `next_invocation` waits (without a time limit)
    until an invocation is assigned; the post_* methods return at once, raising
    RuntimeApiError for an unknown request id or a post in the wrong state.
    """

    async def next_invocation(self) -> Invocation: ...

    def post_response(self, request_id: str, body: bytes) -> None: ...

    def post_error(self, request_id: str, error_type: str | None, body: bytes) -> None: ...

    def post_init_error(self, error_type: str | None, body: bytes) -> None: ...

    def open_stream(self, request_id: str, content_type: str) -> ResponseStream:
        """Begin a streamed response; raises RuntimeApiError like the post_* methods."""
        ...


_ACCEPTED = b'{"status":"OK"}'


# Decides whether a TCP peer (host, port) may use an environment's Runtime API.
PeerCheck = Callable[[tuple[str, int]], bool]

# Connections one listener holds open at once. A runtime client needs one or two; more is a
# runtime churning or hoarding connections, and each one costs the server's event loop.
MAX_CONNECTIONS_PER_LISTENER = 8


class _Open:
    """The connections a listener holds open."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.count = 0


class _Connection(asyncio.Protocol):
    def __init__(
        self, session: RuntimeSession, admits: PeerCheck | None = None, open_: _Open | None = None
    ) -> None:
        self._session = session
        self._admits = admits
        self._open = open_
        self._counted = False
        self._parser = httptools.HttpRequestParser(self)
        self._transport: asyncio.Transport | None = None
        self._url = b""
        self._headers: dict[bytes, bytes] = {}
        self._body: list[bytes] = []
        self._body_size = 0
        self._pending: asyncio.Task[None] | None = None
        # A streamed /response in progress, the refusal of one, and its trailers.
        self._stream: ResponseStream | None = None
        self._refusal: RuntimeApiError | None = None
        self._trailers: dict[bytes, bytes] | None = None
        # Replies made while one read is parsed go out in one write at its end; those made
        # before a pipelined /next wait for its answer and go out with it (see data_received).
        self._batch: list[bytes] | None = None
        self._held = b""

    # asyncio.Protocol
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # uvloop's transports are not asyncio.Transport subclasses, but they behave as one.
        self._transport = cast(asyncio.Transport, transport)
        if self._open is not None:
            if self._open.count >= self._open.limit:
                self._close()  # over the cap: refused before anything is read or looked up
                return
            self._open.count += 1
            self._counted = True
        if self._admits is not None:
            peer = transport.get_extra_info("peername")
            if not peer or not self._admits((peer[0], peer[1])):
                self._close()  # another environment's process: it learns nothing here

    def data_received(self, data: bytes) -> None:
        # A runtime that pipelines (Hearth's own clients send POST /response and GET /next in
        # one write) reads the POST's 202 only just before the /next answer, so the 202 waits
        # for that answer and both go out in one write: one wake-up of the runtime and one
        # syscall fewer per invoke. A runtime that waits for the 202 before asking for /next
        # gets it at once: it is only held when the /next is already in the same read.
        self._batch = []
        try:
            self._parser.feed_data(data)
        except httptools.HttpParserError:
            self._reply(400, b'{"errorMessage":"Malformed request","errorType":"InvalidRequest"}')
            self._flush_batch()
            self._close()
            return
        self._flush_batch()

    def _flush_batch(self) -> None:
        batch, self._batch = self._batch, None
        if not batch:
            return
        if self._pending is not None:  # a /next is waiting: it carries these replies
            self._held += b"".join(batch)
        elif self._transport is not None and not self._transport.is_closing():
            self._transport.write(b"".join(batch))

    def connection_lost(self, exc: Exception | None) -> None:
        if self._counted and self._open is not None:
            self._open.count -= 1
            self._counted = False
        if self._pending is not None:
            self._pending.cancel()
        if self._stream is not None:
            self._stream.abort()
            self._stream = None
        self._transport = None

    # httptools callbacks
    def on_message_begin(self) -> None:
        self._url = b""
        self._headers = {}
        self._body = []
        self._body_size = 0
        self._trailers = None
        self._refusal = None

    def on_url(self, url: bytes) -> None:
        self._url += url

    def on_header(self, name: bytes, value: bytes) -> None:
        if self._trailers is not None:  # after the headers: a trailer of a chunked body
            self._trailers[name.lower()] = value
        else:
            self._headers[name.lower()] = value

    def on_headers_complete(self) -> None:
        self._trailers = {}
        mode = self._headers.get(b"lambda-runtime-function-response-mode")
        if mode is None or mode.lower() != b"streaming":
            return
        path = self._url.split(b"?", 1)[0]
        parts = path[len(PREFIX) :].decode("latin-1").split("/")
        if len(parts) != 3 or parts[0] != "invocation" or parts[2] != "response":
            return
        content_type = self._headers.get(b"content-type", b"application/octet-stream")
        try:
            self._stream = self._session.open_stream(parts[1], content_type.decode("latin-1"))
        except RuntimeApiError as refusal:
            self._refusal = refusal

    def on_body(self, body: bytes) -> None:
        if self._stream is not None:
            self._stream.write(body)
            return
        self._body_size += len(body)
        if self._body_size <= MAX_RESPONSE_BYTES + 1:
            self._body.append(body)

    def on_message_complete(self) -> None:
        if self._stream is not None or self._refusal is not None:
            self._end_stream()
            return
        method = self._parser.get_method()
        path = self._url.split(b"?", 1)[0]
        body = b"".join(self._body)
        if method == b"GET" and path == PREFIX + b"invocation/next":
            # A long poll: hold reading this connection until an invocation is handed out.
            assert self._transport is not None
            self._transport.pause_reading()
            self._pending = asyncio.ensure_future(self._next())
            return
        try:
            self._post(method, path, body)
        except RuntimeApiError as refusal:
            payload = {"errorMessage": refusal.message, "errorType": refusal.error_type}
            self._reply(refusal.status, json.dumps(payload).encode())
            return
        self._reply(202, _ACCEPTED)

    # handling
    def _end_stream(self) -> None:
        stream, self._stream = self._stream, None
        refusal, self._refusal = self._refusal, None
        if refusal is not None:
            payload = {"errorMessage": refusal.message, "errorType": refusal.error_type}
            self._reply(refusal.status, json.dumps(payload).encode())
            return
        assert stream is not None
        trailers = self._trailers or {}
        error_type = trailers.get(b"lambda-runtime-function-error-type")
        error_body = trailers.get(b"lambda-runtime-function-error-body")
        decoded: bytes | None = None
        if error_body is not None:
            try:
                decoded = base64.b64decode(error_body, validate=True)
            except (binascii.Error, ValueError):
                decoded = error_body  # AWS's clients send base64; take it as is otherwise
        stream.close(error_type.decode("latin-1") if error_type else None, decoded)
        self._reply(202, _ACCEPTED)

    def _post(self, method: bytes, path: bytes, body: bytes) -> None:
        if method != b"POST" or not path.startswith(PREFIX):
            raise RuntimeApiError(404, "InvalidRequest", "Unknown Runtime API path")
        rest = path[len(PREFIX) :].decode("latin-1")
        error_type = self._headers.get(b"lambda-runtime-function-error-type")
        error_type_text = error_type.decode("latin-1") if error_type else None
        if rest == "init/error":
            self._session.post_init_error(error_type_text, body)
            return
        parts = rest.split("/")
        if len(parts) != 3 or parts[0] != "invocation":
            raise RuntimeApiError(404, "InvalidRequest", "Unknown Runtime API path")
        request_id, action = parts[1], parts[2]
        if action == "response":
            if self._body_size > MAX_RESPONSE_BYTES:
                self._session.post_error(
                    request_id,
                    "Function.ResponseSizeTooLarge",
                    error_payload(
                        "Function.ResponseSizeTooLarge",
                        "Response payload size exceeded maximum allowed "
                        f"payload size ({MAX_RESPONSE_BYTES} bytes).",
                    ),
                )
                raise RuntimeApiError(
                    413,
                    "RequestEntityTooLarge",
                    f"Exceeded maximum allowed payload size ({MAX_RESPONSE_BYTES} bytes).",
                )
            self._session.post_response(request_id, body)
        elif action == "error":
            self._session.post_error(request_id, error_type_text, body)
        else:
            raise RuntimeApiError(404, "InvalidRequest", "Unknown Runtime API path")

    async def _next(self) -> None:
        try:
            invocation = await self._session.next_invocation()
        except asyncio.CancelledError:
            # The environment is gone: end the long poll's connection now (reading is paused,
            # so the runtime's own close would never be noticed).
            self._write_held()
            self._close()
            raise
        headers = [
            b"Lambda-Runtime-Aws-Request-Id: " + invocation.request_id.encode(),
            b"Lambda-Runtime-Deadline-Ms: " + str(invocation.deadline_ms).encode(),
            b"Lambda-Runtime-Invoked-Function-Arn: " + invocation.invoked_function_arn.encode(),
            b"Lambda-Runtime-Trace-Id: " + invocation.trace_id.encode(),
        ]
        if invocation.client_context is not None:
            headers.append(b"Lambda-Runtime-Client-Context: " + invocation.client_context.encode())
        if invocation.cognito_identity is not None:
            headers.append(
                b"Lambda-Runtime-Cognito-Identity: " + invocation.cognito_identity.encode()
            )
        self._reply(200, invocation.payload, headers)
        if self._transport is not None:
            self._transport.resume_reading()
        self._pending = None

    def _reply(self, status: int, body: bytes, headers: list[bytes] | None = None) -> None:
        if self._transport is None or self._transport.is_closing():
            return
        reason = {200: b"OK", 202: b"Accepted", 400: b"Bad Request", 403: b"Forbidden"}.get(
            status, b"Error"
        )
        head = [
            b"HTTP/1.1 %d %s" % (status, reason),
            b"Content-Type: application/json",
            b"Content-Length: %d" % len(body),
            *(headers or []),
        ]
        data = b"\r\n".join(head) + b"\r\n\r\n" + body
        if self._batch is not None:
            self._batch.append(data)
            return
        if self._held:
            data, self._held = self._held + data, b""
        self._transport.write(data)

    def _write_held(self) -> None:
        held, self._held = self._held, b""
        if held and self._transport is not None and not self._transport.is_closing():
            self._transport.write(held)

    def _close(self) -> None:
        if self._transport is not None:
            self._transport.close()


async def serve_runtime_api(
    session: RuntimeSession, host: str = "127.0.0.1", admits: PeerCheck | None = None
) -> asyncio.Server:
    """Start a listener for one environment; its address is `server.sockets[0].getsockname()`.
    With `admits`, a connection it refuses is closed before a byte is read."""
    loop = asyncio.get_running_loop()
    open_ = _Open(MAX_CONNECTIONS_PER_LISTENER)
    return await loop.create_server(lambda: _Connection(session, admits, open_), host, 0)


async def serve_runtime_api_unix(session: RuntimeSession, path: str) -> asyncio.Server:
    """The same API on a Unix socket: cheaper than loopback TCP for Hearth's own runtime
    clients, and a path can be shared into a sandbox that has no network."""
    loop = asyncio.get_running_loop()
    open_ = _Open(MAX_CONNECTIONS_PER_LISTENER)
    return await loop.create_unix_server(lambda: _Connection(session, None, open_), path)
