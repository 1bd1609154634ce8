"""What the cluster fault tests need besides real nodes and a real nats-server: a TCP proxy
between one node and NATS that can be cut (a partition), and an HTTP endpoint that functions
report to (which node ran which event)."""

from __future__ import annotations

import contextlib
import json
import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


class Partition:
    """A TCP proxy from a loopback port to NATS. `cut()` stops carrying bytes either way
    while keeping every connection open, as a partition does (nothing tells either side;
    only missed pings do); `heal()` carries bytes again, for new connections (the ones held
    through the cut are closed, as a long partition's would be by the time it ends)."""

    def __init__(self, target_host: str, target_port: int) -> None:
        self._target = (target_host, target_port)
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port: int = self._listener.getsockname()[1]
        self._open = threading.Event()
        self._open.set()
        self._lock = threading.Lock()
        self._pairs: list[tuple[socket.socket, socket.socket, threading.Event]] = []
        self._closed = False
        threading.Thread(target=self._accept, daemon=True).start()

    @property
    def url(self) -> str:
        return f"nats://127.0.0.1:{self.port}"

    def cut(self) -> None:
        self._open.clear()

    def heal(self) -> None:
        with self._lock:
            pairs, self._pairs = self._pairs, []
        for client, upstream, dead in pairs:
            dead.set()
            for sock in (client, upstream):
                _close(sock)
        self._open.set()

    def close(self) -> None:
        self._closed = True
        _close(self._listener)
        self.heal()

    def _accept(self) -> None:
        while not self._closed:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            try:
                upstream = socket.create_connection(self._target, timeout=5)
                upstream.settimeout(None)
            except OSError:
                _close(client)
                continue
            dead = threading.Event()
            with self._lock:
                self._pairs.append((client, upstream, dead))
            for src, dst in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pump, args=(src, dst, dead), daemon=True).start()

    def _pump(self, src: socket.socket, dst: socket.socket, dead: threading.Event) -> None:
        while not dead.is_set():
            try:
                data = src.recv(65536)
            except OSError:
                break
            if not data:
                break
            # While cut, bytes are held here (and the sender's buffers fill), never delivered.
            while not self._open.wait(0.1):
                if dead.is_set():
                    return
            if dead.is_set():
                return
            try:
                dst.sendall(data)
            except OSError:
                break
        dead.set()
        _close(src)
        _close(dst)


def _close(sock: socket.socket) -> None:
    with contextlib.suppress(OSError):
        sock.shutdown(socket.SHUT_RDWR)
    sock.close()


class Reports:
    """An HTTP endpoint functions POST JSON to; `seen` holds what they sent, in order."""

    def __init__(self) -> None:
        self.seen: list[dict[str, Any]] = []
        self._lock = threading.Lock()
        reports = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                with reports._lock:
                    reports.seen.append(json.loads(body))
                self.send_response(204)
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def snapshot(self) -> list[dict[str, Any]]:
        with self._lock:
            return list(self.seen)

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


# A function that reports where it ran: at its start, then after `event["sleep"]` seconds.
REPORTING = """
import json, os, time, urllib.request

def report(url, body):
    data = json.dumps(body).encode()
    urllib.request.urlopen(urllib.request.Request(url, data, method="POST"), timeout=5)

def handler(event, context):
    node = os.environ["AWS_ENDPOINT_URL"]
    report(event["url"], {"step": "start", "id": event["id"], "node": node})
    time.sleep(event.get("sleep", 0))
    report(event["url"], {"step": "done", "id": event["id"], "node": node})
    return "ok"
"""
