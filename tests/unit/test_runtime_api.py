"""The Runtime API server over loopback, with a recording session behind it: paths, headers,
refusals, the 6 MB response limit, malformed requests and refused peers."""

from __future__ import annotations

import asyncio
import base64
import json
from collections.abc import Awaitable, Callable
from typing import Any

from hearth.invoke.runtime_api import (
    MAX_RESPONSE_BYTES,
    RuntimeApiError,
    serve_runtime_api,
)
from hearth.invoke.types import Invocation

RUNTIME = "/2018-06-01/runtime"


class Session:
    def __init__(self) -> None:
        self.invocations: asyncio.Queue[Invocation] = asyncio.Queue()
        self.posts: list[tuple[str, str | None, str | None, bytes]] = []

    async def next_invocation(self) -> Invocation:
        return await self.invocations.get()

    def post_response(self, request_id: str, body: bytes) -> None:
        if request_id != "req-1":
            raise RuntimeApiError(400, "InvalidRequestID", f"Invalid request ID: {request_id}")
        self.posts.append(("response", request_id, None, body))

    def post_error(self, request_id: str, error_type: str | None, body: bytes) -> None:
        self.posts.append(("error", request_id, error_type, body))

    def post_init_error(self, error_type: str | None, body: bytes) -> None:
        self.posts.append(("init", None, error_type, body))

    def open_stream(self, request_id: str, content_type: str) -> Stream:
        if request_id != "req-1":
            raise RuntimeApiError(400, "InvalidRequestID", f"Invalid request ID: {request_id}")
        self.stream = Stream(content_type)
        return self.stream


class Stream:
    """Records a streamed response: its chunks as they came, and how it ended."""

    def __init__(self, content_type: str) -> None:
        self.content_type = content_type
        self.chunks: list[bytes] = []
        self.ended: Any = None  # (error type, error body) once closed, "aborted" if cut

    def write(self, data: bytes) -> None:
        self.chunks.append(data)

    def close(self, error_type: str | None, error_body: bytes | None) -> None:
        self.ended = (error_type, error_body)

    def abort(self) -> None:
        self.ended = "aborted"


async def request(port: int, raw: bytes) -> tuple[int, dict[str, str], bytes]:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        writer.write(raw)
        status_line = await reader.readline()
        if not status_line:
            return 0, {}, b""
        headers: dict[str, str] = {}
        while (line := await reader.readline()) not in (b"\r\n", b""):
            name, _, value = line.decode().partition(":")
            headers[name.strip().lower()] = value.strip()
        body = await reader.readexactly(int(headers.get("content-length", "0")))
        return int(status_line.split()[1]), headers, body
    finally:
        writer.close()
        await writer.wait_closed()


def post(path: str, body: bytes = b"{}", headers: str = "") -> bytes:
    head = f"POST {RUNTIME}/{path} HTTP/1.1\r\nHost: x\r\n{headers}Content-Length: {len(body)}"
    return head.encode() + b"\r\n\r\n" + body


def run(scenario: Callable[[Session, int], Awaitable[None]]) -> None:
    async def main() -> None:
        session = Session()
        server = await serve_runtime_api(session)
        try:
            await scenario(session, server.sockets[0].getsockname()[1])
        finally:
            server.close()
            await server.wait_closed()

    asyncio.run(main())


def test_next_hands_out_the_invocation_with_aws_headers() -> None:
    async def scenario(session: Session, port: int) -> None:
        waiting = asyncio.ensure_future(
            request(port, f"GET {RUNTIME}/invocation/next HTTP/1.1\r\nHost: x\r\n\r\n".encode())
        )
        await asyncio.sleep(0.01)
        assert not waiting.done()  # a long poll until an invocation is assigned
        arn = "arn:aws:lambda:us-east-1:123456789012:function:f"
        await session.invocations.put(Invocation("req-1", b'{"a":1}', 1234, arn, "Root=1", "cc"))
        status, headers, body = await waiting
        assert (status, body) == (200, b'{"a":1}')
        assert headers["lambda-runtime-aws-request-id"] == "req-1"
        assert headers["lambda-runtime-deadline-ms"] == "1234"
        assert headers["lambda-runtime-invoked-function-arn"] == arn
        assert headers["lambda-runtime-trace-id"] == "Root=1"
        assert headers["lambda-runtime-client-context"] == "cc"
        assert "lambda-runtime-cognito-identity" not in headers

    run(scenario)


def test_posts_reach_the_session() -> None:
    async def scenario(session: Session, port: int) -> None:
        assert (await request(port, post("invocation/req-1/response", b"[1]")))[0] == 202
        error_type = "Lambda-Runtime-Function-Error-Type: Runtime.Boom\r\n"
        assert (await request(port, post("invocation/req-1/error", b"{}", error_type)))[0] == 202
        assert (await request(port, post("init/error", b"{}", error_type)))[0] == 202
        assert session.posts == [
            ("response", "req-1", None, b"[1]"),
            ("error", "req-1", "Runtime.Boom", b"{}"),
            ("init", None, "Runtime.Boom", b"{}"),
        ]

    run(scenario)


def test_refusals_are_json_with_aws_error_types() -> None:
    async def scenario(session: Session, port: int) -> None:
        status, _, body = await request(port, post("invocation/other/response"))
        assert status == 400
        assert json.loads(body) == {
            "errorMessage": "Invalid request ID: other",
            "errorType": "InvalidRequestID",
        }
        status, _, body = await request(port, post("invocation/req-1/sideways"))
        assert (status, json.loads(body)["errorType"]) == (404, "InvalidRequest")
        get = f"GET {RUNTIME}/invocation/req-1/response HTTP/1.1\r\nHost: x\r\n\r\n".encode()
        assert (await request(port, get))[0] == 404
        assert (await request(port, b"NOT HTTP AT ALL\r\n\r\n"))[0] == 400
        assert session.posts == []

    run(scenario)


def test_a_response_over_6_mb_is_refused_and_becomes_the_functions_error() -> None:
    async def scenario(session: Session, port: int) -> None:
        status, _, body = await request(
            port, post("invocation/req-1/response", b"x" * (MAX_RESPONSE_BYTES + 1))
        )
        assert (status, json.loads(body)["errorType"]) == (413, "RequestEntityTooLarge")
        ((kind, request_id, error_type, payload),) = session.posts
        assert (kind, request_id, error_type) == ("error", "req-1", "Function.ResponseSizeTooLarge")
        assert json.loads(payload)["errorMessage"] == (
            "Response payload size exceeded maximum allowed payload size (6291556 bytes)."
        )

    run(scenario)


def test_a_refused_peer_learns_nothing() -> None:
    async def main() -> None:
        session = Session()
        server = await serve_runtime_api(session, admits=lambda peer: False)
        port = server.sockets[0].getsockname()[1]
        try:
            assert await request(port, post("invocation/req-1/response")) == (0, {}, b"")
            assert session.posts == []
        finally:
            server.close()
            await server.wait_closed()

    asyncio.run(main())


STREAM_HEAD = (
    f"POST {RUNTIME}/invocation/{{id}}/response HTTP/1.1\r\nHost: x\r\n"
    "Lambda-Runtime-Function-Response-Mode: streaming\r\nContent-Type: text/plain\r\n"
    "Transfer-Encoding: chunked\r\n\r\n"
)


def test_a_streamed_response_arrives_chunk_by_chunk_with_error_trailers() -> None:
    async def scenario(session: Session, port: int) -> None:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(STREAM_HEAD.format(id="req-1").encode() + b"5\r\nfirst\r\n")
        for _ in range(100):  # the first chunk is handed on before the body is complete
            await asyncio.sleep(0.01)
            if getattr(session, "stream", None) and session.stream.chunks:
                break
        assert session.stream.chunks == [b"first"] and not session.stream.ended
        assert session.stream.content_type == "text/plain"
        body = base64.b64encode(b'{"errorType":"E","errorMessage":"m"}')
        writer.write(
            b"6\r\nsecond\r\n0\r\nLambda-Runtime-Function-Error-Type: E\r\n"
            b"Lambda-Runtime-Function-Error-Body: " + body + b"\r\n\r\n"
        )
        assert (await reader.readline()).startswith(b"HTTP/1.1 202")
        assert session.stream.chunks == [b"first", b"second"]
        assert session.stream.ended == ("E", b'{"errorType":"E","errorMessage":"m"}')
        writer.close()
        await writer.wait_closed()

    run(scenario)


def test_a_stream_for_an_unknown_request_is_refused_and_a_cut_one_aborted() -> None:
    async def scenario(session: Session, port: int) -> None:
        raw = STREAM_HEAD.format(id="nope").encode() + b"2\r\nhi\r\n0\r\n\r\n"
        status, _, body = await request(port, raw)
        assert status == 400 and json.loads(body)["errorType"] == "InvalidRequestID"
        _reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(STREAM_HEAD.format(id="req-1").encode() + b"2\r\nhi\r\n")
        await asyncio.sleep(0.05)
        writer.close()  # the runtime goes away mid-stream
        await writer.wait_closed()
        for _ in range(100):
            await asyncio.sleep(0.01)
            if session.stream.ended is not None:
                break
        assert session.stream.ended == "aborted"

    run(scenario)
