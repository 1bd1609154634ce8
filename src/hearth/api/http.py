"""A small ASGI layer shaped for AWS's rest-json APIs.

Why not a general web framework: AWS path labels arrive percent-encoded and must be decoded
per segment (a label may be a whole ARN), some operations are told apart only by the query
string (`GET /layers?find=LayerVersion`), and every answer carries AWS's request id and error
shape. That is the product's own wire format, so it is written here, in one place; uvicorn
(with httptools and uvloop) does the HTTP itself.
"""

from __future__ import annotations

import json
import logging
import re
import uuid
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol
from urllib.parse import parse_qs, unquote

from hearth.errors import (
    LambdaError,
    disk_full,
    invalid_request_content,
    is_disk_full,
    request_too_large,
    service_error,
    unknown_operation,
)

logger = logging.getLogger("hearth.api")

# Where the edge (api/guard.py) puts what it knows of a request's connection's peer.
PEER_SCOPE_KEY = "hearth.peer"

Scope = dict[str, Any]
Message = dict[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]

# The largest body any operation takes: AWS's CreateFunction request limit (a 50 MB zip
# grows to about 67 MB in base64, plus the JSON around it). Only the operations that carry a
# zip (CreateFunction, UpdateFunctionCode, PublishLayerVersion) are given it.
MAX_REQUEST_BYTES = 70_167_211
# Every other operation carries a configuration: a few KB (4 KB of environment variables,
# 50 tags, a policy statement). A generous bound keeps a stray 70 MB body out of memory.
MAX_CONFIG_BYTES = 256 * 1024


@dataclass
class Request:
    method: str
    raw_path: str
    query_string: str
    headers: dict[str, str]
    body: bytes
    operation: str = ""
    params: dict[str, str] = field(default_factory=dict)
    # The region this server answers for (ARNs naming another are refused).
    region: str = "us-east-1"
    # The service a SigV4 signature must be scoped to for this request's route.
    service: str = "lambda"
    request_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    body_unread: bool = True
    _json: dict[str, Any] | None = field(default=None, repr=False)
    # The local address the connection arrived on (ASGI's `server`): ours, not the client's.
    server: tuple[str, int] | None = None
    # The operator's `--public-url`, when Hearth is reached through a proxy or port mapping.
    public_url: str | None = None
    # Who is at the other end of the connection, when the edge asked (guard.PEER_SCOPE_KEY).
    peer: object = None

    @property
    def query(self) -> dict[str, list[str]]:
        return parse_qs(self.query_string, keep_blank_values=True)

    def query_value(self, name: str) -> str | None:
        values = self.query.get(name)
        return values[0] if values else None

    def json(self) -> dict[str, Any]:
        """The body as a JSON object (parsed once); an empty body is an empty object."""
        if self._json is None:
            self._json = _parse_object(self.body)
        return self._json

    def base_url(self) -> str:
        """`http://` and the address this connection reached us on.

        Never the client's `Host` header: URLs built from it (Code.Location) would point
        wherever the client said (`Host: evil.example:1/x?`).
        """
        if self.public_url:
            return self.public_url
        if self.server is None:
            return "http://127.0.0.1"
        host, port = self.server[0], self.server[1]
        shown = f"[{host}]" if ":" in host else host
        return f"http://{shown}:{port}"


def _parse_object(body: bytes) -> dict[str, Any]:
    if not body.strip():
        return {}
    try:
        data = json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise invalid_request_content(f"Could not parse request body into json: {exc}") from exc
    except RecursionError:
        # No operation's input nests anywhere near this deep; the parser's stack gave out.
        raise invalid_request_content(
            "Could not parse request body into json: the document nests too deeply"
        ) from None
    if not isinstance(data, dict):
        raise invalid_request_content(
            "Could not parse request body into json: expected a JSON object"
        )
    return data


@dataclass
class Response:
    status: int = 200
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)
    content_type: str = "application/json"


def json_response(data: Mapping[str, Any], status: int = 200) -> Response:
    return Response(status, json.dumps(data, separators=(",", ":")).encode())


def empty_response(status: int = 204) -> Response:
    return Response(status, b"", content_type="")


Handler = Callable[[Request], Awaitable[Response]]


class Authenticator(Protocol):
    """Checks a request's signature; raises `LambdaError` (403) when it is not acceptable."""

    def check_headers(self, request: Request) -> None:
        """Everything that can be checked without the body (called before it is read)."""

    def check(self, request: Request) -> None:
        """The whole signature, body included."""


class Authorizer(Protocol):
    """Decides whether the (authenticated) caller may make the request; raises
    `LambdaError` (403) when not. Runs after the body is read, before any handler."""

    async def authorize(self, request: Request) -> None:
        """Returns when the request may go on."""


# Which service a route's requests are signed for: a name, or a choice made per request
# (`POST /` carries CloudWatch Logs and CloudWatch alike).
SigningService = str | Callable[[Request], str]


@dataclass(frozen=True)
class Route:
    operation: str
    method: str
    pattern: re.Pattern[str]
    handler: Handler
    # Extra discriminator for operations that share a method and path (AWS's `?find=...`).
    required_query: tuple[tuple[str, str], ...] = ()
    authenticated: bool = True
    max_body: int = MAX_CONFIG_BYTES
    service: SigningService = "lambda"


_LABEL = re.compile(r"\{(\w+)\}")


def compile_path(template: str) -> re.Pattern[str]:
    """`/2015-03-31/functions/{FunctionName}` → a regex over the *raw* path.

    A label matches one encoded segment; it is decoded after matching, so an encoded `/`
    inside a label can never change which route matches.
    """
    parts = _LABEL.split(template)
    regex = ""
    for i, part in enumerate(parts):
        regex += f"(?P<{part}>[^/]+)" if i % 2 else re.escape(part)
    return re.compile(regex)


class Router:
    def __init__(self) -> None:
        self._routes: list[Route] = []

    def add(
        self,
        operation: str,
        method: str,
        template: str,
        handler: Handler,
        *,
        query: Iterable[tuple[str, str]] = (),
        authenticated: bool = True,
        max_body: int = MAX_CONFIG_BYTES,
        service: SigningService = "lambda",
    ) -> None:
        route = Route(
            operation,
            method,
            compile_path(template),
            handler,
            tuple(query),
            authenticated,
            max_body,
            service,
        )
        # Routes with a query discriminator are tried before their plain twin.
        self._routes.insert(0, route) if route.required_query else self._routes.append(route)

    def match(self, method: str, raw_path: str, query_string: str) -> tuple[Route, dict[str, str]]:
        query = parse_qs(query_string, keep_blank_values=True)
        for route in self._routes:
            if route.method != method:
                continue
            found = route.pattern.fullmatch(raw_path)
            if found is None:
                continue
            if any(query.get(k, [None])[0] != v for k, v in route.required_query):
                continue
            return route, {k: unquote(v) for k, v in found.groupdict().items()}
        raise unknown_operation(method, unquote(raw_path))


class LambdaApp:
    """The ASGI application: routing, authentication, body limits, error rendering."""

    def __init__(
        self,
        router: Router,
        authenticate: Authenticator | None = None,
        check: Callable[[Request], None] | None = None,
        public_url: str | None = None,
        *,
        region: str = "us-east-1",
        authorize: Authorizer | None = None,
    ) -> None:
        self._router = router
        self._authorize = authorize
        self._public_url = public_url.rstrip("/") if public_url else None
        self._authenticate = authenticate
        self._region = region
        # Checks a request against the service model before its handler runs.
        self._check = check

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await self._lifespan(receive, send)
            return
        if scope["type"] != "http":  # pragma: no cover - websockets are not served
            return
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        raw_path = scope.get("raw_path") or scope["path"].encode()
        request = Request(
            method=scope["method"],
            raw_path=raw_path.decode("latin-1"),
            query_string=scope["query_string"].decode("latin-1"),
            headers=headers,
            body=b"",
            region=self._region,
            server=_server_address(scope.get("server")),
            public_url=self._public_url,
            peer=scope.get(PEER_SCOPE_KEY),
        )
        try:
            response = await self._dispatch(request, receive)
        except LambdaError as error:
            response = render_error(error)
            if request.body_unread and _declares_body(headers):
                # Refused before its body was read: close rather than drain what was not wanted.
                response.headers["connection"] = "close"
        except Exception as exc:
            if is_disk_full(exc):  # the one foreign failure a client is told the cause of
                logger.warning("%s failed: the data dir's disk is full", request.operation)
                response = render_error(disk_full(request.operation))
            else:
                logger.exception("unhandled error in %s %s", request.method, request.raw_path)
                response = render_error(service_error())
        await send_response(send, response, request.request_id)

    async def _dispatch(self, request: Request, receive: Receive) -> Response:
        route, params = self._router.match(request.method, request.raw_path, request.query_string)
        request.operation = route.operation
        request.params = params
        authenticate = self._authenticate if route.authenticated else None
        request.service = (
            route.service if isinstance(route.service, str) else route.service(request)
        )
        # Nothing of the body is read before the headers pass: an unsigned client cannot make
        # Hearth hold a body, and a declared length over the operation's bound is refused unread.
        if authenticate is not None:
            authenticate.check_headers(request)
        _check_declared_length(request, route.max_body)
        request.body = await read_body(
            receive, route.max_body, lambda: _too_large(route.max_body, route.operation)
        )
        request.body_unread = False
        if authenticate is not None:
            authenticate.check(request)
        if self._authorize is not None:
            await self._authorize.authorize(request)
        if self._check is not None:
            self._check(request)
        return await route.handler(request)

    async def _lifespan(self, receive: Receive, send: Send) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await send({"type": "lifespan.shutdown.complete"})
                return


def _server_address(server: Any) -> tuple[str, int] | None:
    if isinstance(server, (tuple, list)) and len(server) == 2 and server[1] is not None:
        return str(server[0]), int(server[1])
    return None


def render_error(error: LambdaError) -> Response:
    response = json_response(error.body(), error.status)
    response.headers["x-amzn-ErrorType"] = error.code
    response.headers.update(error.headers)
    return response


def _too_large(limit: int, operation: str) -> LambdaError:
    return request_too_large(
        f"Request must be smaller than {limit} bytes for the {operation} operation"
    )


def _declares_body(headers: Mapping[str, str]) -> bool:
    length = headers.get("content-length", "0")
    return "transfer-encoding" in headers or not length.isdigit() or int(length) > 0


def _check_declared_length(request: Request, limit: int) -> None:
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise _too_large(limit, request.operation)


async def read_body(receive: Receive, limit: int, too_large: Callable[[], Exception]) -> bytes:
    """A request's body, read to its end or the client's disconnect. `too_large()` is raised
    as soon as more than `limit` bytes arrived, so an oversized body is never held whole.
    Shared by every HTTP surface on Hearth's port (API, URLs, API Gateway, services)."""
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            break
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            raise too_large()
        chunks.append(chunk)
        if not message.get("more_body", False):
            break
    return b"".join(chunks)


async def send_response(send: Send, response: Response, request_id: str) -> None:
    """A buffered response, with its request id and length."""
    headers = [
        (b"x-amzn-requestid", request_id.encode()),
        (b"content-length", str(len(response.body)).encode()),
    ]
    if response.content_type:
        headers.append((b"content-type", response.content_type.encode()))
    headers.extend((k.encode(), v.encode("latin-1")) for k, v in response.headers.items())
    await send({"type": "http.response.start", "status": response.status, "headers": headers})
    await send({"type": "http.response.body", "body": response.body})
