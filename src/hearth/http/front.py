"""The ASGI front door: requests for a function URL go to it, everything else to the app
behind (the Lambda API and whatever else is mounted on Hearth's port)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from hearth.http.function_urls import FunctionUrlServer, Receive, Scope, Send
from hearth.http.hosts import url_target

AsgiApp = Callable[[Scope, Receive, Send], Awaitable[None]]


class HttpIn:
    def __init__(self, app: AsgiApp, urls: FunctionUrlServer) -> None:
        self._app = app
        self._urls = urls

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            host = next((v for k, v in scope["headers"] if k == b"host"), b"")
            raw_path = scope.get("raw_path") or scope["path"].encode()
            target = url_target(host.decode("latin-1"), raw_path.decode("latin-1"))
            if target is not None:
                await self._urls.serve(target, scope, receive, send)
                return
        await self._app(scope, receive, send)
