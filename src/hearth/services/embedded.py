"""moto, mounted in-process: one WSGI app per backend, called on one worker thread.

moto is a WSGI (Flask) application and is not written for concurrent requests against one
backend, so every call into it (requests, the triggers' reads of its models, snapshots) runs
on a single dedicated thread: the event loop never blocks on it, and moto's state never sees
two writers. Its operations are in-memory and short, so one thread keeps up with a
development workload.
"""

from __future__ import annotations

import asyncio
import io
import os
import sys
from collections.abc import Callable, Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, Protocol, TypeVar
from urllib.parse import unquote_to_bytes

T = TypeVar("T")

WsgiApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]


@dataclass(frozen=True)
class WireRequest:
    """A request as it arrived, body read, headers with lower-case names."""

    method: str
    raw_path: str
    query_string: str
    headers: Mapping[str, str]
    body: bytes
    client: str = "127.0.0.1"
    # What the edge knows of the connection's peer (api.http.PEER_SCOPE_KEY), if it asked.
    peer: object = None


@dataclass(frozen=True)
class WireResponse:
    status: int
    headers: list[tuple[str, str]]
    body: bytes


class ServiceCalls(Protocol):
    """What answers an authenticated request to an embedded service: moto in this process
    (`EmbeddedServices`), or in a cluster the node that serves them (`SharedServices`)."""

    async def call(self, backend: str, request: WireRequest) -> WireResponse: ...


class EmbeddedServices:
    """moto's backends behind one `call` per request."""

    def __init__(self, account_id: str) -> None:
        # moto reads its default account when it is imported; it must be set first.
        os.environ.setdefault("MOTO_ACCOUNT_ID", account_id)
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="moto")
        self._apps: dict[str, WsgiApp] = {}
        # The request moto is serving now (one at a time, on its thread): the triggers' hooks
        # read who made it.
        self._current: WireRequest | None = None
        # Whether a request ran since the last snapshot took this flag (moto's thread only).
        self._changed = False
        # moto backends that requests used (or a snapshot restored): the ones holding state.
        self.touched: set[str] = set()
        # Per backend, the event the next served request sets (event loop only).
        self._next_request: dict[str, asyncio.Event] = {}

    def current_request(self) -> WireRequest | None:
        return self._current

    async def run(self, work: Callable[[], T]) -> T:
        """Run `work` on moto's thread: the only place moto's models may be touched."""
        return await asyncio.get_running_loop().run_in_executor(self._executor, work)

    def run_first(self, work: Callable[[], object]) -> None:
        """Queue `work` ahead of any request (start-up): requests wait for it, Hearth does not."""
        self._executor.submit(work)

    def mark_changed(self, backend: str) -> None:
        """Note that work run through `run` changed `backend`'s state (moto's thread): the
        snapshot saves it, as it does after a request."""
        self._changed = True
        self.touched.add(backend)

    def take_changed(self) -> bool:
        """Whether any request ran since the last call (on moto's thread)."""
        changed, self._changed = self._changed, False
        return changed

    def next_request(self, backend: str) -> asyncio.Event:
        """An event set once a request to `backend` that had not finished when this was
        called has been served (event loop only). In-process pollers wait on it between looks
        at an idle queue or stream, so a SendMessage or PutRecord wakes them at once instead
        of at their next look; their own reads go through `run` and wake nobody."""
        event = self._next_request.get(backend)
        if event is None:
            event = self._next_request[backend] = asyncio.Event()
        return event

    async def call(self, backend: str, request: WireRequest) -> WireResponse:
        try:
            return await self.run(lambda: self._call(backend, request))
        finally:
            served = self._next_request.pop(backend, None)
            if served is not None:
                served.set()

    def warm(self, backends: Iterable[str] = ("s3", "dynamodb", "sns", "sqs")) -> None:
        """Import moto and build the apps most applications call (seconds of imports), so the
        first request does not wait for them. Runs on moto's thread."""
        for backend in backends:
            self._app(backend)

    def _app(self, backend: str) -> WsgiApp:
        app = self._apps.get(backend)
        if app is None:
            from moto.moto_server.werkzeug_app import create_backend_app  # noqa: PLC0415

            app = create_backend_app(backend)  # type: ignore[arg-type]
            self._apps[backend] = app
        return app

    def _call(self, backend: str, request: WireRequest) -> WireResponse:
        captured: list[Any] = []

        def start_response(
            status: str, headers: list[tuple[str, str]], exc_info: Any = None
        ) -> Any:
            captured[:] = [status, headers]
            return lambda data: None

        self._current = request
        # Reads count too: moto changes state on some (SQS receives, Kinesis iterators).
        self._changed = True
        self.touched.add(backend)
        try:
            chunks = self._app(backend)(_environ(request), start_response)
            try:
                body = b"".join(chunks)
            finally:
                close = getattr(chunks, "close", None)
                if close is not None:
                    close()
        finally:
            self._current = None
        status, headers = captured
        return WireResponse(int(status.split(" ", 1)[0]), list(headers), body)

    def close(self) -> None:
        self._executor.shutdown(wait=True)


def _environ(request: WireRequest) -> dict[str, Any]:
    """The WSGI environ for a request (PEP 3333: PATH_INFO is the decoded path as latin-1)."""
    host = request.headers.get("host", "127.0.0.1")
    name, _, port = host.partition(":")
    environ: dict[str, Any] = {
        "REQUEST_METHOD": request.method,
        "SCRIPT_NAME": "",
        "PATH_INFO": unquote_to_bytes(request.raw_path).decode("latin-1"),
        "QUERY_STRING": request.query_string,
        "RAW_URI": request.raw_path + (f"?{request.query_string}" if request.query_string else ""),
        "SERVER_NAME": name,
        "SERVER_PORT": port or "80",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "REMOTE_ADDR": request.client,
        "CONTENT_LENGTH": str(len(request.body)),
        "wsgi.version": (1, 0),
        "wsgi.url_scheme": "http",
        "wsgi.input": io.BytesIO(request.body),
        "wsgi.errors": sys.stderr,
        "wsgi.multithread": False,
        "wsgi.multiprocess": False,
        "wsgi.run_once": False,
    }
    environ["REQUEST_URI"] = environ["RAW_URI"]
    for key, value in request.headers.items():
        if key == "content-type":
            environ["CONTENT_TYPE"] = value
        elif key != "content-length":
            environ["HTTP_" + key.upper().replace("-", "_")] = value
    return environ
