"""The ASGI app on Hearth's port: Hearth's own API, or an embedded AWS service, by scope.

A request whose credential scope names an embedded service (S3, DynamoDB, SNS...) is
authenticated here (when SigV4 is required) and answered by the embedded implementation;
everything else (Lambda, Logs, unsigned requests, health) goes to Hearth's own app untouched.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from hearth.api.http import PEER_SCOPE_KEY, Receive, Scope, Send, read_body
from hearth.api.sigv4 import SigV4Verifier
from hearth.errors import LambdaError, request_too_large, service_error
from hearth.services import sqs_long_poll
from hearth.services.embedded import ServiceCalls, WireRequest, WireResponse
from hearth.services.errors import render
from hearth.services.scope import HEARTH_SERVICES, CredentialScope, backend_for, credential_scope
from hearth.services.sigv2 import verify_sigv2_presigned

logger = logging.getLogger("hearth.services")

AsgiApp = Callable[[Scope, Receive, Send], Awaitable[None]]
# Runs before the embedded service sees a request: an answer of its own replaces the
# service's (a refusal), None lets the request through.
Interceptor = Callable[[str, WireRequest], Awaitable[WireResponse | None]]
# Runs after the embedded service answered (with the answer), on the event loop.
Observer = Callable[[str, WireRequest, WireResponse], Awaitable[None]]
# Changes a request before the embedded service sees it (after it was authenticated).
Rewriter = Callable[[str, WireRequest], WireRequest]

# S3's largest single PUT; the other services' requests are far smaller (Kinesis's PutRecords,
# the largest, is 10 MB), so they are bounded lower, before moto sees them.
MAX_S3_BODY = 5 * 1024**3
MAX_SERVICE_BODY = 32 * 1024**2


class Gateway:
    def __init__(
        self,
        hearth_app: AsgiApp,
        embedded: ServiceCalls | None,
        verifiers: Mapping[str, SigV4Verifier] | None,
        interceptors: tuple[Interceptor, ...] = (),
        observers: tuple[Observer, ...] = (),
        external: frozenset[str] = frozenset(),
        rewriters: tuple[Rewriter, ...] = (),
    ) -> None:
        self._rewriters = rewriters
        self._hearth_app = hearth_app
        self._embedded = embedded
        # None: SigV4 is not required. Otherwise one verifier per signing name.
        self._verifiers = verifiers
        self._interceptors = interceptors
        self._observers = observers
        # Signing names served elsewhere (--service-endpoint): not answered here.
        self._external = external
        # Set when the server stops: long polls waiting for messages answer at once.
        self.stopping = asyncio.Event()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or self._embedded is None:
            await self._hearth_app(scope, receive, send)
            return
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        query_string = scope["query_string"].decode("latin-1")
        claimed = credential_scope(headers, query_string)
        if claimed is None and _is_form_upload(scope["method"], headers):
            # A browser-style POST upload signs its form fields, not the request: only S3
            # takes those. Their signature is not checked, so with SigV4 required they are
            # refused (below) rather than let through.
            claimed = CredentialScope("", "", "s3", presigned=True)
        raw_path = (scope.get("raw_path") or scope["path"].encode()).decode("latin-1")
        backend = None if claimed is None else backend_for(claimed.service, headers, raw_path)
        if (
            claimed is None
            or claimed.service in HEARTH_SERVICES
            or claimed.service in self._external
            or backend is None
        ):
            await self._hearth_app(scope, receive, send)
            return
        try:
            # A signature's headers are checked before any body is read, as for Lambda's API:
            # a client without a valid key cannot make Hearth buffer a body at all.
            self._check_headers(claimed, scope["method"], raw_path, query_string, headers)
            limit = MAX_S3_BODY if claimed.service == "s3" else MAX_SERVICE_BODY
            body = await read_body(
                receive,
                limit,
                lambda: request_too_large(
                    "Your proposed upload exceeds the maximum allowed object size."
                ),
            )
            client = scope.get("client") or ("127.0.0.1", 0)
            request = WireRequest(
                scope["method"],
                raw_path,
                query_string,
                headers,
                body,
                client[0],
                scope.get(PEER_SCOPE_KEY),
            )
            self._authenticate(claimed, request)
            response = await self._serve(claimed.service, backend, request)
        except LambdaError as error:
            response = render(claimed.service, error)
        except Exception:
            logger.exception("embedded %s failed on %s %s", backend, scope["method"], raw_path)
            response = render(claimed.service, service_error())
        await _send(send, response, head=scope["method"] == "HEAD")

    async def _serve(self, service: str, backend: str, request: WireRequest) -> WireResponse:
        assert self._embedded is not None
        for rewrite in self._rewriters:
            request = rewrite(service, request)
        for intercept in self._interceptors:
            refusal = await intercept(service, request)
            if refusal is not None:
                return refusal
        embedded = self._embedded
        if service == "sqs":
            response = await sqs_long_poll.receive(
                request, lambda r: embedded.call(backend, r), self.stopping
            )
        else:
            response = await embedded.call(backend, request)
        for observe in self._observers:
            await observe(service, request, response)
        return response

    def _check_headers(
        self,
        claimed: CredentialScope,
        method: str,
        raw_path: str,
        query_string: str,
        headers: Mapping[str, str],
    ) -> None:
        if self._verifiers is None or not claimed.access_key:
            return
        if claimed.presigned or claimed.sigv2:
            return  # checked whole in _authenticate; a presigned request's body is not signed
        self._verifiers[claimed.service].check_headers(method, raw_path, query_string, headers)

    def _authenticate(self, claimed: CredentialScope, request: WireRequest) -> None:
        if self._verifiers is None:
            return
        verifier = self._verifiers[claimed.service]
        if not claimed.access_key:
            raise LambdaError(
                "AccessDenied", 403, "POST form uploads are not supported with SigV4 required"
            )
        if claimed.sigv2:
            verify_sigv2_presigned(
                verifier.known_secret,
                request.method,
                request.raw_path,
                request.query_string,
                request.headers,
            )
        elif claimed.presigned:
            verifier.verify_presigned(
                request.method, request.raw_path, request.query_string, request.headers
            )
        else:
            verifier.verify(
                request.method,
                request.raw_path,
                request.query_string,
                request.headers,
                request.body,
            )


def _is_form_upload(method: str, headers: Mapping[str, str]) -> bool:
    return method == "POST" and headers.get("content-type", "").startswith("multipart/form-data")


async def _send(send: Send, response: WireResponse, *, head: bool) -> None:
    headers: list[tuple[bytes, bytes]] = []
    length: str | None = None
    for name, value in response.headers:
        lowered = name.lower()
        if lowered == "content-length":
            length = str(value)
        if lowered in ("content-length", "transfer-encoding", "connection"):
            continue
        headers.append((name.encode("latin-1"), str(value).encode("latin-1")))
    # A HEAD answer tells the length of the body a GET would have; others tell their own.
    if not (head and length is not None):
        length = str(len(response.body))
    headers.append((b"content-length", length.encode()))
    message: dict[str, Any] = {"type": "http.response.start", "status": response.status}
    message["headers"] = headers
    await send(message)
    await send({"type": "http.response.body", "body": response.body})
