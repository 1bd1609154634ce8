"""A thin guard on uvicorn's HTTP protocol: what a connection may cost before it is trusted.

uvicorn (httptools) bounds neither the header block nor the time a client takes to send it,
and arms its keep-alive timer only after a response, so a connection that sends nothing, or a
header a byte at a time, or a 150 MB header, is held (and buffered) for ever. This subclass
adds, per connection:

- a header block of at most `max_header_bytes` and `max_headers` fields (431 and close);
- `header_timeout`: the headers of a request must be complete this long after the connection
  opened or the request's first byte arrived (408 and close; a connection that sent nothing
  is just closed);
- `body_timeout`: a request's body may pause at most this long between reads (408 and close);
- `max_connections` open at once: one more is answered 503 and closed, so the descriptors left
  over stay for execution environments (their sockets, pipes and logs).

Idle keep-alive connections are uvicorn's own `timeout_keep_alive`. Everything here runs in
the protocol callbacks, before any request reaches the ASGI app.
"""

from __future__ import annotations

import asyncio
import json
import resource
from asyncio import TimerHandle, Transport
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, ClassVar, cast

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from hearth.api.http import PEER_SCOPE_KEY

# AWS's Application Load Balancer takes at most 64 KB of request line and headers together.
MAX_HEADER_BYTES = 64 * 1024
MAX_HEADERS = 100
HEADER_TIMEOUT_SECONDS = 10.0
BODY_TIMEOUT_SECONDS = 30.0
IDLE_TIMEOUT_SECONDS = 5.0
# Descriptors kept back from connections: the server's own files and the environments'.
RESERVED_DESCRIPTORS = 128
# A refused connection gets this long to take its 503 before it is closed (closing at once
# would reset a connection whose request is already in; the client could miss the 503), but
# only this many at a time: past that they are closed at once, so refusals cost no descriptors.
_REFUSAL_LINGER_SECONDS = 1.0
_MAX_LINGERING = 32
# A request answered before its body was read (a 403, a 413) and closed: the rest of the body
# is read and dropped for this long, up to this many bytes, so that the client, still sending,
# reads the answer instead of a reset (Apache's "lingering close").
_DRAIN_SECONDS = 2.0
_DRAIN_BYTES = 16 << 20

# (peer address, local address) → who is at the other end, asked once per connection (the
# kernel is asked about one socket: tens of microseconds); None leaves requests without it.
PeerLookup = Callable[[tuple[str, int], tuple[str, int]], object]


@dataclass(frozen=True)
class EdgeLimits:
    max_connections: int
    max_header_bytes: int = MAX_HEADER_BYTES
    max_headers: int = MAX_HEADERS
    header_timeout: float = HEADER_TIMEOUT_SECONDS
    body_timeout: float = BODY_TIMEOUT_SECONDS


def default_max_connections() -> int:
    """Half of what RLIMIT_NOFILE leaves after the reserve: the other half is environments'."""
    soft, _ = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft == resource.RLIM_INFINITY:
        soft = 1 << 16
    return max(8, (soft - RESERVED_DESCRIPTORS) // 2)


def raise_descriptor_limit() -> int:
    """Raise the soft RLIMIT_NOFILE to the hard one (capped at 65536); the new soft limit."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    wanted = 1 << 16 if hard == resource.RLIM_INFINITY else min(hard, 1 << 16)
    if soft != resource.RLIM_INFINITY and soft < wanted:
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (wanted, hard))
            soft = wanted
        except (ValueError, OSError):
            pass
    return int(soft)


def _raw_response(status: str, code: str, message: str, error_type: str = "User") -> bytes:
    body = json.dumps({"Type": error_type, "message": message}).encode()
    head = (
        f"HTTP/1.1 {status}\r\n"
        f"content-type: application/json\r\n"
        f"x-amzn-ErrorType: {code}\r\n"
        f"content-length: {len(body)}\r\n"
        "connection: close\r\n\r\n"
    )
    return head.encode() + body


def guarded_protocol(
    limits: EdgeLimits, peer_lookup: PeerLookup | None = None
) -> type[HttpToolsProtocol]:
    """uvicorn's httptools protocol with `limits` applied (pass as `Config(http=...)`);
    with `peer_lookup`, every request's scope carries its connection's peer under
    PEER_SCOPE_KEY."""

    class GuardedHttpToolsProtocol(_Guarded):
        pass

    GuardedHttpToolsProtocol.limits = limits
    GuardedHttpToolsProtocol.peer_lookup = staticmethod(peer_lookup) if peer_lookup else None
    return GuardedHttpToolsProtocol


class _Guarded(HttpToolsProtocol):
    limits: EdgeLimits
    peer_lookup: ClassVar[PeerLookup | None] = None
    lingering: ClassVar[int] = 0  # refused connections waiting to close, per server

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._awaiting_headers = True
        self._header_bytes = 0
        self._header_count = 0
        self._received_any = False
        self._refused = False
        self._lingering = False
        self._draining: int | None = None  # bytes dropped since a lingering close began
        self._timer: TimerHandle | None = None
        self._peer: object = None

    # Connection

    def connection_made(self, transport: Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        if len(self.connections) > self.limits.max_connections:
            self._refused = True
            message = (
                f"Hearth is serving its limit of {self.limits.max_connections} connections; "
                "retry shortly."
            )
            transport.write(
                _raw_response(
                    "503 Service Unavailable", "ServiceException", message, error_type="Service"
                )
            )
            cls = type(self)
            if cls.lingering >= _MAX_LINGERING:
                transport.close()
                return
            cls.lingering += 1
            self._lingering = True
            self._arm(_REFUSAL_LINGER_SECONDS, self._close)
            return
        lookup = type(self).peer_lookup
        if lookup is not None:
            # Once per connection, when it is made: the peer socket cannot change owner on
            # the way, and a client that closes fast is seen as such (not as someone else).
            peer = transport.get_extra_info("peername")
            local = transport.get_extra_info("sockname")
            if peer and local:
                self._peer = lookup((peer[0], peer[1]), (local[0], local[1]))
        self._arm(self.limits.header_timeout, self._header_timed_out)

    def connection_lost(self, exc: Exception | None) -> None:
        if self._lingering:
            self._lingering = False
            type(self).lingering -= 1
        self._disarm()
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        if self._refused:
            self._close()
            return
        if self._draining is not None:
            self._draining += len(data)
            if self._draining > _DRAIN_BYTES:
                self._close()
            return
        self._received_any = True
        if not self._awaiting_headers:
            super().data_received(data)
            return
        if self._timer is None:  # a new request on a kept-alive connection
            self._arm(self.limits.header_timeout, self._header_timed_out)
        room = self.limits.max_header_bytes - self._header_bytes
        head, rest = data[: room + 1], data[room + 1 :]
        self._header_bytes += len(head)
        super().data_received(head)
        if self.transport.is_closing():
            return
        if self._awaiting_headers and self._header_bytes > self.limits.max_header_bytes:
            self._refuse_headers(f"over {self.limits.max_header_bytes} bytes")
            return
        if rest:
            self.data_received(rest)

    # Parser callbacks

    def on_message_begin(self) -> None:
        super().on_message_begin()
        if type(self).peer_lookup is not None:
            cast(dict[str, Any], self.scope)[PEER_SCOPE_KEY] = self._peer

    def on_header(self, name: bytes, value: bytes) -> None:
        self._header_count += 1
        if self._header_count <= self.limits.max_headers:
            super().on_header(name, value)

    def on_headers_complete(self) -> None:
        self._awaiting_headers = False
        self._disarm()
        if self._header_count > self.limits.max_headers:
            self._refuse_headers(f"more than {self.limits.max_headers} fields")
            return
        super().on_headers_complete()
        if self.cycle is not None:
            # The cycle closes its transport after a `connection: close` answer; closing
            # lingers when the body is not all in.
            self.cycle.transport = cast(Transport, _LingeringClose(self))
        if not self.transport.is_closing():
            self._arm(self.limits.body_timeout, self._body_timed_out)

    def on_body(self, body: bytes) -> None:
        if self.cycle is None or self.transport.is_closing():
            return  # the request was refused; the rest of its bytes are not wanted
        self._arm(self.limits.body_timeout, self._body_timed_out)
        super().on_body(body)

    def on_message_complete(self) -> None:
        self._disarm()
        self._awaiting_headers = True
        self._header_bytes = 0
        self._header_count = 0
        if self.cycle is not None:
            super().on_message_complete()

    # Refusals

    def eof_received(self) -> None:
        if self._draining is not None:
            self._close()

    def linger_or_close(self) -> None:
        """Close now if the request is all in; else drop what still comes for a while first."""
        if self._awaiting_headers or self.transport.is_closing() or self._draining is not None:
            self._close()
            return
        self._draining = 0
        self._arm(_DRAIN_SECONDS, self._close)
        if self.transport.can_write_eof():
            self.transport.write_eof()  # the client sees the answer end; its writes still land

    def _refuse_headers(self, what: str) -> None:
        message = f"Request header fields too large: {what}."
        self.transport.write(
            _raw_response("431 Request Header Fields Too Large", "BadRequest", message)
        )
        self._disarm()
        self._awaiting_headers = False  # what follows is dropped, not parsed
        self.linger_or_close()

    def _header_timed_out(self) -> None:
        self._timer = None
        if not self._received_any or (self._awaiting_headers and self._header_bytes == 0):
            self._close()  # idle: nothing to answer
            return
        message = f"Request headers not received within {self.limits.header_timeout:g} seconds."
        self._fail(_raw_response("408 Request Timeout", "RequestTimeout", message))

    def _body_timed_out(self) -> None:
        self._timer = None
        if self.cycle is not None and self.cycle.response_complete:
            return
        message = f"Request body paused for more than {self.limits.body_timeout:g} seconds."
        self._fail(_raw_response("408 Request Timeout", "RequestTimeout", message))

    def _fail(self, response: bytes) -> None:
        self._disarm()
        if self.cycle is not None and not self.cycle.response_complete:
            self.cycle.disconnected = True  # the app's receive() sees a disconnect
            self.cycle.message_event.set()
            if self.cycle.response_started:
                self._close()
                return
        if not self.transport.is_closing():
            self.transport.write(response)
        self._close()

    def _close(self) -> None:
        self._disarm()
        if not self.transport.is_closing():
            self.transport.close()

    def _arm(self, delay: float, callback: Any) -> None:
        self._disarm()
        self._timer = self.loop.call_later(delay, callback)

    def _disarm(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None


class _LingeringClose:
    """The transport a request cycle sees: the same, but `close` may linger (see above), and
    writes made in one turn of the event loop go out in one write at its end.

    uvicorn writes a response's head and its body separately: two syscalls, and two
    wake-ups of the client, which reads the head and then sleeps until the body comes.
    Joined, an answer costs one of each. Nothing waits longer than the current turn: a
    streamed response's head still leaves before its first chunk is produced."""

    def __init__(self, protocol: _Guarded) -> None:
        self._protocol = protocol
        self._held: list[bytes] | None = None

    def __getattr__(self, name: str) -> Any:
        return getattr(self._protocol.transport, name)

    def write(self, data: bytes) -> None:
        if self._held is None:
            self._held = [data]
            asyncio.get_running_loop().call_soon(self.flush)
        else:
            self._held.append(data)

    def flush(self) -> None:
        held, self._held = self._held, None
        if held and not self._protocol.transport.is_closing():
            self._protocol.transport.write(held[0] if len(held) == 1 else b"".join(held))

    def close(self) -> None:
        self.flush()
        self._protocol.linger_or_close()
