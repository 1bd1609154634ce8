"""One node's connection to NATS, on a thread of its own.

The registry's transactions are synchronous and run on Hearth's event loop; the NATS client
is asyncio. So the client lives on its own loop in its own thread: synchronous callers block
on `run` for one round trip (a loopback or LAN round trip: well under a millisecond to a few),
asynchronous callers await `call`. Watchers and consumers run as tasks on that loop.
"""

from __future__ import annotations

import asyncio
import logging
import socket
import threading
from collections.abc import Coroutine
from concurrent.futures import Future
from typing import Any, TypeVar
from urllib.parse import urlsplit

import nats
from nats.aio.client import Client
from nats.js import JetStreamContext

logger = logging.getLogger("hearth.cluster")

T = TypeVar("T")

# How long a first connection may take before `hearth serve --cluster` gives up.
CONNECT_TIMEOUT_SECONDS = 10.0
# A round trip that takes longer than this is a NATS that is down or partitioned away.
CALL_TIMEOUT_SECONDS = 10.0


class NatsUnavailable(RuntimeError):
    """NATS could not be reached (at start, or for one call)."""


class NatsLink:
    def __init__(self, servers: tuple[str, ...], name: str) -> None:
        self._servers = list(servers)
        self._name = name
        # The client retries a first connection as it would a lost one (for ever): a node
        # pointed at no NATS at all should say so at once instead.
        if not any(_accepts(url) for url in servers):
            raise NatsUnavailable(f"cannot reach NATS at {', '.join(servers)}: nothing listens")
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="nats", daemon=True)
        self._thread.start()
        self._nc: Client | None = None
        self._js: JetStreamContext | None = None
        try:
            self.run(self._connect(), timeout=CONNECT_TIMEOUT_SECONDS + 1)
        except Exception as exc:
            self._stop_loop()
            raise NatsUnavailable(
                f"cannot reach NATS at {', '.join(self._servers)}: {exc or type(exc).__name__}"
            ) from exc

    async def _connect(self) -> None:
        async def disconnected() -> None:
            logger.warning("cluster: lost the connection to NATS; reconnecting")

        async def reconnected() -> None:
            logger.warning("cluster: reconnected to NATS")

        async def error(exc: Exception) -> None:
            logger.debug("cluster: NATS client error: %s", exc)

        self._nc = await nats.connect(
            servers=self._servers,
            name=self._name,
            connect_timeout=CONNECT_TIMEOUT_SECONDS,
            allow_reconnect=True,
            max_reconnect_attempts=-1,  # a NATS restart must not strand a node
            reconnect_time_wait=0.5,
            disconnected_cb=disconnected,
            reconnected_cb=reconnected,
            error_cb=error,
        )
        self._js = self._nc.jetstream(timeout=CALL_TIMEOUT_SECONDS)

    @property
    def nc(self) -> Client:
        assert self._nc is not None
        return self._nc

    @property
    def js(self) -> JetStreamContext:
        assert self._js is not None
        return self._js

    @property
    def loop(self) -> asyncio.AbstractEventLoop:
        return self._loop

    def run(self, coro: Coroutine[Any, Any, T], timeout: float = CALL_TIMEOUT_SECONDS) -> T:
        """Run `coro` on the NATS loop and wait for it (from any other thread)."""
        future = asyncio.run_coroutine_threadsafe(coro, self._loop)
        try:
            return future.result(timeout)
        except TimeoutError:
            future.cancel()
            raise NatsUnavailable(f"NATS did not answer within {timeout:g} s") from None

    async def call(self, coro: Coroutine[Any, Any, T]) -> T:
        """Run `coro` on the NATS loop and await it (from another event loop)."""
        return await asyncio.wrap_future(asyncio.run_coroutine_threadsafe(coro, self._loop))

    def spawn(self, coro: Coroutine[Any, Any, None]) -> Future[None]:
        """Start a long-running task (a watcher, a consumer) on the NATS loop."""
        return asyncio.run_coroutine_threadsafe(coro, self._loop)

    def close(self) -> None:
        if self._nc is not None:
            # close, not drain: what must be stored is stored already (registry commits and
            # event acks are waited for), and a drain would wait for the claim's long poll.
            try:
                self.run(self._nc.close(), timeout=5)
            except Exception as exc:
                logger.debug("cluster: closing the NATS connection failed: %s", exc)
        self._stop_loop()

    def _stop_loop(self) -> None:
        async def cancel_all() -> None:
            current = asyncio.current_task()
            tasks = [t for t in asyncio.all_tasks() if t is not current]
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)

        if self._loop.is_running():
            try:
                asyncio.run_coroutine_threadsafe(cancel_all(), self._loop).result(5)
            except Exception as exc:
                logger.debug("cluster: cancelling NATS tasks failed: %s", exc)
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(5)
        if not self._thread.is_alive():
            self._loop.close()


def _accepts(url: str) -> bool:
    """Whether a TCP connection to the URL's host and port is accepted within a second."""
    parsed = urlsplit(url)
    try:
        with socket.create_connection((parsed.hostname or "127.0.0.1", parsed.port or 4222), 1):
            return True
    except (OSError, ValueError):
        return False
