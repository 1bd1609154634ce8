"""The host's end of the relay that lets a sandbox with no network reach Hearth's own port.

A `--network none` sandbox has a loopback interface of its own and nothing else, so the
`AWS_ENDPOINT_URL` it is given (Hearth's `http://127.0.0.1:PORT`) would lead nowhere. Each
such sandbox sees this relay's Unix socket at `/run/hearth/services.sock`, and its init
listens on the endpoint's address inside the namespace, forwarding there (sandbox_entry.py);
here every connection to the socket is forwarded to Hearth's TCP port. Only that one address
is reachable, and through it only the embedded AWS services: Hearth's own API (Lambda, Logs,
function URLs, the console) refuses relayed requests (services/relay_guard.py), so a
`--network none` function still cannot drive Hearth. Each relayed connection is Hearth's own
on the TCP side, so the relay remembers whose it is: the uid the kernel names for the Unix
socket's peer (SO_PEERCRED), or, when that is root (the sandbox's init, relaying the
function's TCP connections from inside), the sandbox uid the init announces first. A
function cannot pass for another: it is never root, and the kernel names its own uid.
The embedded IAM then holds a function to its role through the relay too.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import shutil
import socket
import struct
import tempfile
from urllib.parse import urlsplit

from hearth.sandbox.isolation import ServiceReach
from hearth.sandbox.mount_namespace import own_tmpfs, unmount
from hearth.sandbox.peers import TcpPeer

logger = logging.getLogger("hearth.sandbox")

_LOOPBACK = {"127.0.0.1", "localhost", "::1"}
_CHUNK = 65536
_UCRED = struct.Struct("=iII")  # pid, uid, gid
# A peer whose uid the kernel would not name: treated as no one (allowed nothing).
_UNKNOWN = TcpPeer(0, owned=False)
# sandbox_entry.SANDBOX_ANNOUNCE (that file imports only the standard library).
_ANNOUNCE = b"HEARTH-SANDBOX-UID "
_ANNOUNCE_TIMEOUT_SECONDS = 5.0


def loopback_target(url: str | None) -> tuple[str, int] | None:
    """The loopback (host, port) of an http endpoint URL; None for any other URL (an
    external endpoint is not Hearth's to relay)."""
    if not url:
        return None
    parts = urlsplit(url)
    if parts.scheme != "http" or parts.hostname not in _LOOPBACK:
        return None
    host = "127.0.0.1" if parts.hostname == "localhost" else parts.hostname
    return host, parts.port or 80


class HostRelay:
    def __init__(self) -> None:
        self._dir = tempfile.mkdtemp(prefix="hearth-services-")
        # A tmpfs of its own: the socket, bound into sandboxes, is then named in their
        # mountinfo as /services.sock, not by its host path.
        self._own_tmpfs = own_tmpfs(self._dir)
        self.reach = ServiceReach(os.path.join(self._dir, "services.sock"))
        self._server: asyncio.AbstractServer | None = None
        self._pipes: set[asyncio.Task[None]] = set()
        # The local ports of the relay's open connections to Hearth, each with the sandbox
        # peer it carries: a request arriving from one of them came from that sandbox
        # (`relayed`), and may reach only the services, as that sandbox's function.
        self._ports: dict[int, TcpPeer] = {}

    def relayed(self, client: tuple[str, int] | None) -> bool:
        """Whether a connection to Hearth from `client` is this relay's (from a sandbox)."""
        return self.peer_of(client) is not None

    def peer_of(self, client: tuple[str, int] | None) -> TcpPeer | None:
        """Who is behind a connection to Hearth from `client` when it is this relay's: the
        sandbox's uid (`owned` False when the kernel did not name it); None when it is not
        the relay's."""
        if client is None or client[0] not in _LOOPBACK:
            return None
        return self._ports.get(client[1])

    async def start(self, url: str | None) -> None:
        """Forward to `url`'s loopback address (nothing, for any other URL)."""
        target = loopback_target(url)
        if target is None:
            return
        self._server = await asyncio.start_unix_server(
            lambda r, w: self._forward(r, w, target), path=self.reach.socket_path
        )
        # Each sandbox's uid connects to it; connecting to a Unix socket takes write access.
        os.chmod(self.reach.socket_path, 0o666)  # noqa: S103
        self.reach.target = target

    async def _forward(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, target: tuple[str, int]
    ) -> None:
        sender = _sender(writer)
        if sender.owned and sender.uid == 0:
            sender = await _announced(reader)
        try:
            up_reader, up_writer = await asyncio.open_connection(*target)
        except OSError:
            writer.close()
            return
        port = int(up_writer.get_extra_info("sockname")[1])
        # Before a byte is forwarded: Hearth sees it as relayed, and as the sandbox's.
        self._ports[port] = sender
        pipes = [
            asyncio.create_task(_pipe(reader, up_writer)),
            asyncio.create_task(_pipe(up_reader, writer)),
        ]
        self._pipes.update(pipes)
        try:
            await asyncio.wait(pipes, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for pipe in pipes:
                pipe.cancel()
                self._pipes.discard(pipe)
            for end in (writer, up_writer):
                end.close()
            self._ports.pop(port, None)

    async def close(self) -> None:
        if self._server is not None:
            self._server.close()
            for pipe in list(self._pipes):
                pipe.cancel()
            with contextlib.suppress(Exception):
                await self._server.wait_closed()
        if self._own_tmpfs:
            unmount(self._dir)
        shutil.rmtree(self._dir, ignore_errors=True)


def _sender(writer: asyncio.StreamWriter) -> TcpPeer:
    """The uid of the process that connected to the relay's Unix socket (fixed when it
    connected: passing the socket on does not change it)."""
    sock = writer.get_extra_info("socket")
    try:
        raw = sock.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, _UCRED.size)
    except (OSError, AttributeError):
        return _UNKNOWN
    _, uid, _ = _UCRED.unpack(raw)
    return TcpPeer(int(uid), owned=True)


async def _announced(reader: asyncio.StreamReader) -> TcpPeer:
    """The sandbox uid a sandbox's init names on its first line; no one if it names none."""
    try:
        line = await asyncio.wait_for(reader.readline(), _ANNOUNCE_TIMEOUT_SECONDS)
    except (TimeoutError, ValueError, ConnectionError):
        return _UNKNOWN
    if not line.startswith(_ANNOUNCE) or not line.endswith(b"\n"):
        return _UNKNOWN
    try:
        return TcpPeer(int(line[len(_ANNOUNCE) :]), owned=True)
    except ValueError:
        return _UNKNOWN


async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    with contextlib.suppress(ConnectionError, asyncio.CancelledError):
        while data := await reader.read(_CHUNK):
            writer.write(data)
            await writer.drain()
