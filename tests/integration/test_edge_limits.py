"""What one connection may cost (issue 11, items 1 and 2): the attacks, against a real server.

Each test holds the attack open while a normal, signed boto3 client keeps working, and checks
what the attack got: a refusal with a status, a closed connection, and no memory kept.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack, suppress
from typing import Any
from urllib.parse import urlsplit

import pytest
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from tests.integration.conftest import ROLE, Server, lambda_client, make_zip, service_client

KEY, SECRET = "AKIDLIMITS", "limits-secret"
TIMEOUT = 1.5  # header, body and idle timeouts of the servers here, in seconds


def _guarded(tmp_path_factory: pytest.TempPathFactory, name: str, **kwargs: Any) -> Server:
    return Server(
        tmp_path_factory.mktemp(name),
        extra_args=[
            "--access-key-id",
            KEY,
            "--header-timeout",
            str(TIMEOUT),
            "--body-timeout",
            str(TIMEOUT),
            "--idle-timeout",
            "2",
        ],
        env={"HEARTH_SECRET_ACCESS_KEY": SECRET},
        **kwargs,
    ).start()


@pytest.fixture(scope="module")
def guarded(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    server = _guarded(tmp_path_factory, "edge-limits")
    # The embedded services import moto on their own thread after the server starts (tens of
    # MB): wait for it, so the memory these tests measure is the attacks' alone.
    service_client(server.endpoint, "s3", key=KEY, secret=SECRET).list_buckets()
    yield server
    server.stop()


def _client(server: Server) -> Any:
    return lambda_client(server.endpoint, key=KEY, secret=SECRET)


def _connect(server: Server) -> socket.socket:
    parts = urlsplit(server.endpoint)
    return socket.create_connection((parts.hostname, parts.port), timeout=10)


def _response(sock: socket.socket) -> bytes:
    """Everything the server sends until it closes (b"" when it closes without a word)."""
    chunks = []
    try:
        while chunk := sock.recv(65536):
            chunks.append(chunk)
    except ConnectionResetError:
        pass
    return b"".join(chunks)


def _closed_within(sock: socket.socket, seconds: float) -> bytes:
    sock.settimeout(seconds)
    return _response(sock)


def _still_served(server: Server) -> float:
    start = time.monotonic()
    assert _client(server).list_functions()["Functions"] is not None
    return time.monotonic() - start


def test_a_huge_header_is_refused_at_64_kb_and_costs_no_memory(guarded: Server) -> None:
    before = guarded.rss_kb()
    outcomes: list[bytes] = []

    def attack() -> None:
        with _connect(guarded) as sock:
            sock.sendall(b"GET /2015-03-31/functions/ HTTP/1.1\r\nHost: x\r\nX-Big: ")
            try:
                for _ in range(200):  # up to 200 MB, as in the report
                    sock.sendall(b"a" * (1 << 20))
            except (BrokenPipeError, ConnectionResetError):
                pass
            outcomes.append(_response(sock))

    thread = threading.Thread(target=attack)
    thread.start()
    time.sleep(0.2)
    assert _still_served(guarded) < 2
    thread.join(30)
    assert not thread.is_alive()
    assert guarded.rss_kb() - before < 20_000
    # The refusal is sent before the close (the client may see a reset instead when it was
    # still writing; both end the attack).
    assert outcomes[0] == b"" or outcomes[0].startswith(b"HTTP/1.1 431 ")


def test_too_many_header_fields_get_431(guarded: Server) -> None:
    fields = b"".join(b"X-F%d: v\r\n" % i for i in range(101))
    with _connect(guarded) as sock:
        sock.sendall(b"GET /2015-03-31/functions/ HTTP/1.1\r\nHost: x\r\n" + fields + b"\r\n")
        answer = _closed_within(sock, 5)
    assert answer.startswith(b"HTTP/1.1 431 "), answer[:200]
    assert b"more than 100 fields" in answer


def test_slowloris_connections_are_closed_after_the_header_timeout(guarded: Server) -> None:
    with ExitStack() as stack:
        socks = [stack.enter_context(_connect(guarded)) for _ in range(50)]
        for sock in socks:
            sock.sendall(b"GET /2015-03-31/functions/ HTTP/1.1\r\nHost: x\r\n")
        start = time.monotonic()
        answers = []
        for _ in range(10):  # a header line every 0.3 s keeps each of them "active"
            if time.monotonic() - start > TIMEOUT + 1:
                break
            for sock in socks:
                with suppress(OSError):
                    sock.sendall(b"X-Slow: 1\r\n")
            assert _still_served(guarded) < 2
            time.sleep(0.3)
        answers = [_closed_within(sock, 5) for sock in socks]
        held = time.monotonic() - start
    assert held < TIMEOUT + 3
    assert all(a.startswith(b"HTTP/1.1 408 ") for a in answers), answers[0][:200]


def test_a_connection_that_sends_nothing_is_closed(guarded: Server) -> None:
    with _connect(guarded) as sock:
        start = time.monotonic()
        assert _closed_within(sock, 10) == b""
        assert time.monotonic() - start < TIMEOUT + 1


def _signed_head(server: Server, method: str, path: str, length: int) -> bytes:
    """A request line and headers signed with the server's key, declaring `length` bytes."""
    request = AWSRequest(method=method, url=f"{server.endpoint}{path}", data=b"")
    SigV4Auth(Credentials(KEY, SECRET), "lambda", "us-east-1").add_auth(request)
    head = [f"{method} {path} HTTP/1.1"]
    head += [f"{k}: {v}" for k, v in request.headers.items() if k.lower() != "content-length"]
    head += [f"Host: {urlsplit(server.endpoint).netloc}", f"Content-Length: {length}", "", ""]
    return "\r\n".join(head).encode()


def test_a_stalled_body_is_timed_out(guarded: Server) -> None:
    with _connect(guarded) as sock:
        sock.sendall(_signed_head(guarded, "GET", "/2015-03-31/functions/", 100) + b"{")
        start = time.monotonic()
        answer = _closed_within(sock, 10)
    assert time.monotonic() - start < TIMEOUT + 1.5
    assert answer.startswith(b"HTTP/1.1 408 "), answer[:200]


def _unsigned_post(server: Server, path: str, size: int) -> bytes:
    with _connect(server) as sock:
        sock.sendall(
            f"POST {path} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            f"Content-Length: {size}\r\n\r\n".encode()
        )
        try:
            for _ in range(size >> 20):
                sock.sendall(b"a" * (1 << 20))
        except (BrokenPipeError, ConnectionResetError):
            pass
        return _response(sock)


def test_unsigned_bodies_are_refused_before_they_are_read(guarded: Server) -> None:
    before = guarded.rss_kb()
    with ThreadPoolExecutor(4) as pool:
        answers = list(
            pool.map(lambda _: _unsigned_post(guarded, "/2015-03-31/functions", 65 << 20), range(4))
        )
    assert guarded.rss_kb() - before < 20_000
    for answer in answers:
        assert answer == b"" or answer.startswith(b"HTTP/1.1 403 "), answer[:200]
    assert any(b"MissingAuthenticationTokenException" in a for a in answers)


def test_a_declared_length_over_the_operations_bound_is_413_unread(guarded: Server) -> None:
    path = "/2015-03-31/functions/f/configuration"
    with _connect(guarded) as sock:
        sock.sendall(_signed_head(guarded, "PUT", path, 10 << 20))
        answer = _closed_within(sock, 5)  # answered and closed with no byte of the body sent
    assert answer.startswith(b"HTTP/1.1 413 "), answer[:200]
    assert b"RequestEntityTooLargeException" in answer
    assert (
        b"Request must be smaller than 262144 bytes for the UpdateFunctionConfiguration operation"
        in answer
    )


def test_idle_connections_past_the_descriptor_limit(
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    """500 idle connections against a server limited to 400 descriptors: the connections past
    its limit get a 503, and a cold start (an environment's descriptors) still works."""
    server = _guarded(tmp_path_factory, "edge-nofile", nofile=400)
    try:
        client = _client(server)
        client.create_function(
            FunctionName="cold",
            Runtime="python3.12",
            Handler="app.handler",
            Role=ROLE,
            Code={"ZipFile": make_zip()},
        )
        with ExitStack() as stack:
            socks = [stack.enter_context(_connect(server)) for _ in range(500)]
            time.sleep(0.3)
            result = client.invoke(FunctionName="cold", Payload=b'{"cold": true}')
            assert result["StatusCode"] == 200
            assert result["Payload"].read() == b'{"cold": true}'
            answers = [_closed_within(sock, 5) for sock in socks]
        refused = [a for a in answers if a.startswith(b"HTTP/1.1 503 ")]
        closed_idle = [a for a in answers if a == b""]
        # (400 - 128) // 2 = 136 are held (and closed when idle); the rest are refused.
        assert len(refused) >= 500 - 136 - 2
        assert len(refused) + len(closed_idle) == 500
        assert b"limit of 136 connections" in refused[0]
        assert "Too many open files" not in "".join(server.output)
    finally:
        server.stop()
