"""The ASGI front door: requests for a function URL or an API Gateway API go to it,
InvokeWithResponseStream (which answers as the function writes, so it cannot go through the
buffered Lambda API app) to its handler, everything else to the app behind (the Lambda API
and whatever else is mounted on Hearth's port)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from hearth.http.apigw.server import ApiGatewayServer
from hearth.http.function_urls import FunctionUrlServer, Receive, Scope, Send
from hearth.http.hosts import api_target, url_target
from hearth.http.streaming import PATH as STREAMING_PATH
from hearth.http.streaming import StreamingInvokeApi

AsgiApp = Callable[[Scope, Receive, Send], Awaitable[None]]


class HttpIn:
    def __init__(
        self,
        app: AsgiApp,
        urls: FunctionUrlServer,
        streaming: StreamingInvokeApi,
        apis: ApiGatewayServer,
    ) -> None:
        self._app = app
        self._urls = urls
        self._streaming = streaming
        self._apis = apis

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            host = next((v for k, v in scope["headers"] if k == b"host"), b"")
            raw_path = scope.get("raw_path") or scope["path"].encode()
            target = url_target(host.decode("latin-1"), raw_path.decode("latin-1"))
            if target is not None:
                await self._urls.serve(target, scope, receive, send)
                return
            api = api_target(host.decode("latin-1"), raw_path.decode("latin-1"))
            if api is not None:
                await self._apis.serve(api, scope, receive, send)
                return
            streaming = STREAMING_PATH.fullmatch(raw_path.decode("latin-1"))
            if streaming is not None:
                await self._streaming.serve(streaming["FunctionName"], scope, receive, send)
                return
        await self._app(scope, receive, send)
