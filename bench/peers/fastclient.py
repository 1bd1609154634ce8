"""A light closed-loop load client: N keep-alive HTTP/1.1 connections driven by one selector
loop in a process of its own.

The threaded http.client clients cost more CPU per call than the fastest tools spend serving
it: at 8 clients on 2 cores the bare floor server measured the client, not itself. Here each
call is one prepared request written with one `send` and a response parsed from the bytes
(status line, Content-Length or chunked body), so the client's share of the cores is a few
tens of microseconds per call. Every tool gets this same client. A call succeeds as in
`client.succeeded`: a 200 whose body is JSON `{"ok": true}`; a refused or dropped connection
is an error, counted, and the connection is reopened.

    python -m peers.fastclient TARGETS_JSON CLIENTS [--total N | --seconds S]

(TARGETS_JSON: a list of [host, port, path]; connection i uses target i modulo their number)
prints {"ok", "errors", "elapsed_s", "clients_gave_up"} as JSON.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import selectors
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

# As client.GIVE_UP_AFTER: a connection failing this many times in a row stops.
GIVE_UP_AFTER = 200
# As HttpCaller's timeout: a call unanswered this long failed.
CALL_TIMEOUT_S = 60.0


def _ok(status: int, body: bytes) -> bool:
    if status != 200:
        return False
    try:
        return bool(json.loads(body) == {"ok": True})
    except ValueError:
        return False


def parse(buffer: bytes) -> tuple[int, int, bytes] | None:
    """(bytes used, status, body) of one complete response at the start of buffer, or None
    when more bytes are needed. Raises ValueError on what is not HTTP."""
    end = buffer.find(b"\r\n\r\n")
    if end < 0:
        return None
    head = buffer[:end].split(b"\r\n")
    status = int(head[0].split(b" ", 2)[1])
    length, chunked = 0, False
    for line in head[1:]:
        name, _, value = line.partition(b":")
        name = name.strip().lower()
        if name == b"content-length":
            length = int(value)
        elif name == b"transfer-encoding" and b"chunked" in value.lower():
            chunked = True
    start = end + 4
    if chunked:
        return _chunked(buffer, start, status)
    if len(buffer) < start + length:
        return None
    return start + length, status, buffer[start : start + length]


def _chunked(buffer: bytes, at: int, status: int) -> tuple[int, int, bytes] | None:
    body = []
    while True:
        line_end = buffer.find(b"\r\n", at)
        if line_end < 0:
            return None
        size = int(buffer[at:line_end].split(b";")[0], 16)
        at = line_end + 2
        if size == 0:
            break
        if len(buffer) < at + size + 2:
            return None
        body.append(buffer[at : at + size])
        at += size + 2
    trailer_end = buffer.find(b"\r\n", at)
    while trailer_end >= 0 and trailer_end != at:  # trailers, then an empty line
        at = trailer_end + 2
        trailer_end = buffer.find(b"\r\n", at)
    if trailer_end < 0:
        return None
    return trailer_end + 2, status, b"".join(body)


Target = tuple[str, int, str]  # host, port, path


class _Conn:
    def __init__(self, target: Target) -> None:
        host, port, path = target
        self.address = (host, port)
        self.request = (
            f"POST {path} HTTP/1.1\r\nHost: {host}:{port}\r\n"
            "Content-Type: application/json\r\nContent-Length: 2\r\n\r\n{}"
        ).encode()
        self.sock: socket.socket | None = None
        self.buffer = b""
        self.failing = 0


class _Loop:
    def __init__(
        self, targets: list[Target], clients: int, limit: int, deadline: float, timeout: float
    ) -> None:
        self.timeout = timeout
        self.selector = selectors.DefaultSelector()
        self.conns = [_Conn(targets[i % len(targets)]) for i in range(clients)]
        self.limit, self.deadline = limit, deadline
        self.ok = self.errors = self.sent = self.gave_up = 0

    def send(self, conn: _Conn) -> bool:
        """The next call on this connection (reopened if need be); False when it gave up."""
        while conn.failing < GIVE_UP_AFTER:
            try:
                if conn.sock is None:
                    sock = socket.create_connection(conn.address)
                    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
                    sock.setblocking(False)
                    conn.sock, conn.buffer = sock, b""
                conn.sock.sendall(conn.request)
                self.selector.register(conn.sock, selectors.EVENT_READ, conn)
                self.sent += 1
                return True
            except OSError:
                self.fail(conn, drop=True)
        self.gave_up += 1
        return False

    def next_call(self, conn: _Conn) -> bool:
        """After a call ended: the next one on this connection, or False when it is done."""
        over = self.sent >= self.limit or time.perf_counter() >= self.deadline
        return not over and self.send(conn)

    def fail(self, conn: _Conn, drop: bool) -> None:
        self.errors += 1
        conn.failing += 1
        if drop and conn.sock is not None:
            with contextlib.suppress(KeyError, ValueError):
                self.selector.unregister(conn.sock)
            conn.sock.close()
            conn.sock = None

    def readable(self, conn: _Conn) -> bool:
        """Read what came; True when the call on this connection is over."""
        assert conn.sock is not None
        try:
            data = conn.sock.recv(65536)
        except BlockingIOError:
            return False
        except OSError:
            data = b""
        if not data:
            self.fail(conn, drop=True)
            return True
        conn.buffer += data
        try:
            parsed = parse(conn.buffer)
        except (ValueError, IndexError):  # not HTTP: the connection is beyond use
            self.fail(conn, drop=True)
            return True
        if parsed is None:
            return False
        used, status, body = parsed
        conn.buffer = conn.buffer[used:]
        self.selector.unregister(conn.sock)
        if _ok(status, body):
            self.ok += 1
            conn.failing = 0
        else:
            self.fail(conn, drop=False)
        return True

    def run(self) -> None:
        active = sum(self.send(conn) for conn in self.conns[: min(len(self.conns), self.limit)])
        while active:
            events = self.selector.select(timeout=self.timeout)
            if not events:
                # Nothing answered for a whole timeout (as http.client's would have): every
                # call in flight failed, its connection is dropped.
                stuck = [key.data for key in self.selector.get_map().values()]
                for conn in stuck:
                    self.fail(conn, drop=True)
                active -= sum(not self.next_call(conn) for conn in stuck)
                continue
            for key, _ in events:
                conn: _Conn = key.data
                if self.readable(conn) and not self.next_call(conn):
                    active -= 1
        for conn in self.conns:
            if conn.sock is not None:
                conn.sock.close()


def closed_loop(
    targets: list[Target],
    clients: int,
    total: int | None,
    seconds: float | None,
    call_timeout: float = CALL_TIMEOUT_S,
) -> dict[str, Any]:
    """`clients` connections, each making its next call when its last one is answered, until
    `total` calls were made or `seconds` passed."""
    started = time.perf_counter()
    deadline = started + seconds if seconds is not None else float("inf")
    loop = _Loop(targets, clients, total if total is not None else 1 << 62, deadline, call_timeout)
    loop.run()
    elapsed = time.perf_counter() - started
    return {
        "ok": loop.ok,
        "errors": loop.errors,
        "elapsed_s": elapsed,
        "clients_gave_up": loop.gave_up,
    }


def run_closed_loop(
    targets: list[Target], clients: int, total: int | None = None, seconds: float | None = None
) -> dict[str, Any]:
    """The closed loop in a new process (its CPU is not the measured tool's, and the caller's
    own threads do not compete with it for the interpreter)."""
    command = [sys.executable, "-m", "peers.fastclient", json.dumps(targets), str(clients)]
    command += ["--total", str(total)] if total is not None else ["--seconds", str(seconds)]
    done = subprocess.run(
        command,
        capture_output=True,
        text=True,
        check=True,
        cwd=Path(__file__).resolve().parent.parent,
    )
    result: dict[str, Any] = json.loads(done.stdout)
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("targets", type=json.loads)
    parser.add_argument("clients", type=int)
    parser.add_argument("--total", type=int, default=None)
    parser.add_argument("--seconds", type=float, default=None)
    args = parser.parse_args()
    targets = [(str(host), int(port), str(path)) for host, port, path in args.targets]
    print(json.dumps(closed_loop(targets, args.clients, args.total, args.seconds)))


if __name__ == "__main__":
    main()
