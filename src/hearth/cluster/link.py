"""One node's connection to NATS, on a thread of its own.

The registry's transactions are synchronous and run on Hearth's event loop; the NATS client
is asyncio. So the client lives on its own loop in its own thread: synchronous callers block
on `run` for one round trip (a loopback or LAN round trip: well under a millisecond to a few),
asynchronous callers await `call`. Watchers and consumers run as tasks on that loop.

When NATS is out of reach (restarted, or a partition) the client reconnects for ever, and
meanwhile nothing waits for it: a `run` or `call` made while the link is down fails at once
with `NatsUnavailable` (ServiceException, HTTP 503, to an API caller), one in flight when the
link drops fails as the drop is noticed, and nothing is buffered to be sent after the
reconnect (so a write answered with that error is not applied later behind the caller's
back; the one exception is a commit whose last message reached NATS just as the link
dropped, which may have landed: the error says so). A link that goes silent without closing
(a partition) is noticed by the client's pings within `PING_SECONDS * (MAX_PINGS + 1)`.
"""

from __future__ import annotations

import asyncio
import logging
import socket
import threading
from collections.abc import Callable, Coroutine
from concurrent.futures import Future
from typing import Any, TypeVar
from urllib.parse import urlsplit

import nats
import nats.errors
from nats.aio.client import Client
from nats.js import JetStreamContext
from nats.js.errors import ServiceUnavailableError

from hearth.errors import LambdaError

logger = logging.getLogger("hearth.cluster")

T = TypeVar("T")

# How long a first connection may take before `hearth serve --cluster` gives up.
CONNECT_TIMEOUT_SECONDS = 10.0
# A round trip that takes longer than this is a NATS that is down or partitioned away.
CALL_TIMEOUT_SECONDS = 10.0
# The client pings NATS this often and drops a link that missed this many answers: a partition
# that leaves the TCP connection open is noticed within about 6 s, not the client's default 6 min.
PING_SECONDS = 2
MAX_PINGS = 2

# What a NATS that is down, restarting or partitioned away looks like to the client.
_UNREACHABLE: tuple[type[BaseException], ...] = (
    nats.errors.TimeoutError,
    nats.errors.ConnectionClosedError,
    nats.errors.OutboundBufferLimitError,
    nats.errors.NoServersError,
    nats.errors.StaleConnectionError,
    nats.errors.UnexpectedEOF,
    ServiceUnavailableError,
    TimeoutError,
    ConnectionError,
)


class NatsUnavailable(LambdaError):
    """NATS could not be reached (at start, or for one call): to an API caller, AWS's
    ServiceException with HTTP 503, the status of a service that is briefly unavailable."""

    def __init__(self, reason: str, *, may_have_taken_effect: bool = True) -> None:
        super().__init__(
            "ServiceException",
            503,
            f"Hearth's cluster cannot reach NATS ({reason}); retry shortly.",
            error_type="Service",
        )
        self.reason = reason
        # False when the call was refused before anything was sent (the link was down).
        self.may_have_taken_effect = may_have_taken_effect

    def __str__(self) -> str:
        return self.reason


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
        # The `run` and `call` coroutines under way (on the NATS loop): failed when the link drops.
        self._in_flight: set[asyncio.Task[Any]] = set()
        self._dropped = False  # set (on the NATS loop) between a drop and the reconnect
        self._reconnect_listeners: list[Callable[[], None]] = []
        try:
            self.run(self._connect(), timeout=CONNECT_TIMEOUT_SECONDS + 1)
        except Exception as exc:
            self._stop_loop()
            raise NatsUnavailable(
                f"cannot reach NATS at {', '.join(self._servers)}: {exc or type(exc).__name__}"
            ) from exc

    async def _connect(self) -> None:
        async def disconnected() -> None:
            if self._nc is None or self._nc.is_closed:
                return  # closing, not lost
            logger.warning("cluster: lost the connection to NATS; reconnecting")
            self._dropped = True
            # What the client had not yet written when the link dropped would go out after
            # the reconnect, behind callers that were told their call failed: dropped (an
            # unsent ack only makes an event run again; the commit it was is failed below).
            self._nc._pending.clear()
            self._nc._pending_data_size = 0
            for task in list(self._in_flight):
                task.cancel()  # each fails with NatsUnavailable (see _guarded)

        async def reconnected() -> None:
            self._dropped = False
            logger.warning("cluster: reconnected to NATS")
            for listener in self._reconnect_listeners:
                try:
                    listener()
                except Exception:
                    logger.exception("cluster: a reconnect listener failed")

        async def error(exc: Exception) -> None:
            logger.debug("cluster: NATS client error: %s", exc)

        self._nc = await nats.connect(
            servers=self._servers,
            name=self._name,
            connect_timeout=CONNECT_TIMEOUT_SECONDS,
            allow_reconnect=True,
            max_reconnect_attempts=-1,  # a NATS restart must not strand a node
            reconnect_time_wait=0.5,
            ping_interval=PING_SECONDS,
            max_outstanding_pings=MAX_PINGS,
            # Nothing is kept to be sent after a reconnect: a call made while the link is
            # down fails (OutboundBufferLimitError) instead of landing later, unannounced.
            pending_size=0,
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

    @property
    def connected(self) -> bool:
        """Whether the link is up now (it may drop the next moment)."""
        return self._nc is not None and self._nc.is_connected and not self._dropped

    def on_reconnect(self, listener: Callable[[], None]) -> None:
        """Call `listener` (on the NATS loop) each time the link is back after a drop."""
        self._reconnect_listeners.append(listener)

    def run(self, coro: Coroutine[Any, Any, T], timeout: float = CALL_TIMEOUT_SECONDS) -> T:
        """Run `coro` on the NATS loop and wait for it (from any other thread).

        Raises NatsUnavailable at once while the link is down, when it drops, after
        `timeout`, or for the client's own errors of a NATS out of reach (a request timed
        out, the connection closed); other errors of `coro` come through as they are."""
        future = asyncio.run_coroutine_threadsafe(self._guarded(coro, True), self._loop)
        try:
            return future.result(timeout)
        except TimeoutError:
            future.cancel()
            raise NatsUnavailable(f"NATS did not answer within {timeout:g} s") from None

    async def call(self, coro: Coroutine[Any, Any, T], *, translate: bool = False) -> T:
        """Run `coro` on the NATS loop and await it (from another event loop), without a
        timeout of its own beyond the client's. Raises NatsUnavailable at once while the link
        is down, and when it drops; the client's errors come through as they are (a caller
        may wait out a request timeout or "no responders" itself), or, with `translate`, as
        `run` gives them."""
        return await asyncio.wrap_future(
            asyncio.run_coroutine_threadsafe(self._guarded(coro, translate), self._loop)
        )

    async def _guarded(self, coro: Coroutine[Any, Any, T], translate: bool) -> T:
        if self._nc is not None and (self._dropped or not self._nc.is_connected):
            coro.close()
            raise NatsUnavailable(
                "the connection is down; the node is reconnecting", may_have_taken_effect=False
            )
        task = asyncio.current_task()
        assert task is not None
        self._in_flight.add(task)
        try:
            return await coro
        except asyncio.CancelledError:
            if self._dropped:
                raise NatsUnavailable(
                    "the connection dropped during the call, which may or may not have taken effect"
                ) from None
            raise
        except _UNREACHABLE as exc:
            if not translate:
                raise
            raise NatsUnavailable(f"{type(exc).__name__}: {exc}".rstrip(": ")) from exc
        finally:
            self._in_flight.discard(task)

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
