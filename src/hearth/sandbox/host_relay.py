"""The host's end of the relay that lets a sandbox with no network reach Hearth's own port.

A `--network none` sandbox has a loopback interface of its own and nothing else, so the
`AWS_ENDPOINT_URL` it is given (Hearth's `http://127.0.0.1:PORT`) would lead nowhere. Each
such sandbox sees this relay's Unix socket at `/run/hearth/services.sock`, and its init
listens on the endpoint's address inside the namespace, forwarding there (sandbox_entry.py);
here every connection to the socket is forwarded to Hearth's TCP port. Only that one address
is reachable: the sandbox still has no other way out. What it reaches is what the function
could reach on the host network: Hearth's port, which checks the function's credentials.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import shutil
import tempfile
from urllib.parse import urlsplit

from hearth.sandbox.isolation import ServiceReach

logger = logging.getLogger("hearth.sandbox")

_LOOPBACK = {"127.0.0.1", "localhost", "::1"}
_CHUNK = 65536


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
        self.reach = ServiceReach(os.path.join(self._dir, "services.sock"))
        self._server: asyncio.AbstractServer | None = None
        self._pipes: set[asyncio.Task[None]] = set()

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
        try:
            up_reader, up_writer = await asyncio.open_connection(*target)
        except OSError:
            writer.close()
            return
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

    async def close(self) -> None:
        if self._server is not None:
            self._server.close()
            for pipe in list(self._pipes):
                pipe.cancel()
            with contextlib.suppress(Exception):
                await self._server.wait_closed()
        shutil.rmtree(self._dir, ignore_errors=True)


async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    with contextlib.suppress(ConnectionError, asyncio.CancelledError):
        while data := await reader.read(_CHUNK):
            writer.write(data)
            await writer.drain()
