"""Serving function URLs: find the URL, check who may call it, apply CORS, invoke, answer.

Errors are answered as function URLs answer them: `{"Message": ...}` with
`x-amzn-ErrorType`; 403 for an unknown URL, a missing permission or a bad signature, 413 for
a request over 6 MB, 429 on a throttle, 502 when the function fails or returns a response
that cannot be one.
"""

from __future__ import annotations

import json
import logging
import os
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from hearth.api.http import read_body
from hearth.api.sigv4 import SigV4Verifier
from hearth.arns import ArnFormatter, FunctionRef
from hearth.errors import LambdaError
from hearth.http import cors
from hearth.http.access import allows_public_url
from hearth.http.events import (
    BadFunctionResponse,
    HttpAnswer,
    HttpRequest,
    RequestContext,
    url_answer,
    url_event,
)
from hearth.http.hosts import UrlTarget, url_domain
from hearth.http.url_streaming import stream_answer
from hearth.invoke.invoker import Invoker
from hearth.invoke.streams import ResponseSink
from hearth.invoke.types import InvokeResult
from hearth.models import FunctionUrlConfig
from hearth.store.registry import RegistryReader

logger = logging.getLogger("hearth.http")

Scope = dict[str, Any]
Receive = Callable[[], Awaitable[dict[str, Any]]]
Send = Callable[[dict[str, Any]], Awaitable[None]]

# The event, not the raw body, must fit Lambda's 6 MB synchronous request limit.
MAX_EVENT_BYTES = 6 * 1024 * 1024
FORBIDDEN = (
    "Forbidden. For troubleshooting Function URL authorization issues, see: "
    "https://docs.aws.amazon.com/lambda/latest/dg/urls-auth.html"
)


class UrlError(Exception):
    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.answer = HttpAnswer(
            status,
            [("content-type", "application/json"), ("x-amzn-errortype", code)],
            json.dumps({"Message": message}).encode(),
        )


def _forbidden() -> UrlError:
    return UrlError(403, "AccessDeniedException", FORBIDDEN)


@dataclass(frozen=True)
class _Resolved:
    """A URL as the hot path needs it; cached until the control plane changes anything."""

    config: FunctionUrlConfig
    # AuthType NONE: whether the resource policy lets anyone call it.
    public: bool
    # The alias the URL belongs to still exists (a URL outlives its alias, as on AWS).
    target_exists: bool


class FunctionUrlServer:
    def __init__(
        self,
        registry: RegistryReader,
        invoker: Invoker,
        arns: ArnFormatter,
        verifier: SigV4Verifier | None,
    ) -> None:
        self._registry = registry
        self._invoker = invoker
        self._arns = arns
        # None: Hearth accepts any credentials, but an AWS_IAM URL still needs a signature.
        self._verifier = verifier
        self._cache: dict[str, _Resolved | None] = {}

    def invalidate(self) -> None:
        self._cache.clear()

    def _resolve(self, url_id: str) -> _Resolved | None:
        if url_id in self._cache:
            return self._cache[url_id]
        with self._registry.transaction() as tx:
            config = tx.find_function_url(url_id)
            resolved = None
            if config is not None:
                record = tx.get_function(config.function_name)
                policy = record.policies.get(config.qualifier) if record else None
                exists = record is not None and (
                    not config.qualifier
                    or tx.get_alias(config.function_name, config.qualifier) is not None
                )
                resolved = _Resolved(
                    config, allows_public_url(policy.statements if policy else ()), exists
                )
        if len(self._cache) > 10_000:
            self._cache.clear()
        self._cache[url_id] = resolved
        return resolved

    async def serve(self, target: UrlTarget, scope: Scope, receive: Receive, send: Send) -> None:
        request_id = str(uuid.uuid4())
        try:
            answer = await self._answer(target, scope, receive, send, request_id)
        except UrlError as error:
            answer = error.answer
        except Exception:
            logger.exception("unhandled error serving function URL %s", target.url_id)
            answer = UrlError(500, "ServiceException", "Internal Server Error").answer
        if answer is not None:  # None: streamed, already sent
            await _send(send, answer, request_id)

    async def _answer(
        self, target: UrlTarget, scope: Scope, receive: Receive, send: Send, request_id: str
    ) -> HttpAnswer | None:
        resolved = self._resolve(target.url_id)
        if resolved is None or not resolved.target_exists:
            raise _forbidden()
        config = resolved.config
        raw_headers = tuple((k.decode("latin-1"), v.decode("latin-1")) for k, v in scope["headers"])
        headers = {k.lower(): v for k, v in raw_headers}
        method = scope["method"]
        if config.cors is not None and cors.is_preflight(method, headers):
            return cors.preflight(config.cors, headers)
        body = await read_body(receive, MAX_EVENT_BYTES, _too_large)
        raw_path = (scope.get("raw_path") or scope["path"].encode()).decode("latin-1")
        raw_query = scope["query_string"].decode("latin-1")
        iam = self._authorize(resolved, method, raw_path, raw_query, headers, body)
        client = scope.get("client") or ("127.0.0.1", 0)
        server = scope.get("server") or ("127.0.0.1", 80)
        forwarded = (
            ("x-amzn-trace-id", f"Root=1-{int(time.time()):08x}-{os.urandom(12).hex()}"),
            ("x-forwarded-for", client[0]),
            ("x-forwarded-port", str(server[1])),
            ("x-forwarded-proto", "http"),
        )
        request = HttpRequest(
            method=method,
            raw_path=target.raw_path,
            raw_query=raw_query,
            headers=raw_headers + forwarded,
            body=body,
            source_ip=client[0],
            protocol=f"HTTP/{scope.get('http_version', '1.1')}",
        )
        context = RequestContext(
            api_id=config.url_id,
            domain_name=url_domain(config.url_id, self._arns.region),
            request_id=request_id,
            time_epoch_ms=int(time.time() * 1000),
            account_id=iam["accountId"] if iam else "anonymous",
            iam=iam,
        )
        payload = json.dumps(url_event(request, context), separators=(",", ":")).encode()
        if len(payload) > MAX_EVENT_BYTES:
            raise UrlError(
                413,
                "RequestEntityTooLargeException",
                f"Request must be smaller than {MAX_EVENT_BYTES} bytes for the InvokeFunction "
                "operation",
            )
        origin = headers.get("origin")

        def finish(answer: HttpAnswer) -> HttpAnswer:
            return answer if config.cors is None else cors.apply(config.cors, origin, answer)

        if config.invoke_mode == "RESPONSE_STREAM":

            def invoke(sink: ResponseSink) -> Awaitable[InvokeResult]:
                return self._run(config, payload, request_id, sink)

            def head(answer: HttpAnswer) -> list[tuple[bytes, bytes]]:
                return _head(finish(answer), request_id)

            outcome = await stream_answer(invoke, send, head)
            if outcome is None or isinstance(outcome, HttpAnswer):
                return outcome
            return finish(_mapped(outcome))
        return finish(_mapped(await self._run(config, payload, request_id)))

    def _authorize(
        self,
        resolved: _Resolved,
        method: str,
        raw_path: str,
        raw_query: str,
        headers: dict[str, str],
        body: bytes,
    ) -> dict[str, Any] | None:
        """None for a public URL; the event's `authorizer.iam` for a signed one."""
        if resolved.config.auth_type == "NONE":
            if not resolved.public:
                raise _forbidden()
            return None
        authorization = headers.get("authorization", "")
        if not authorization.startswith("AWS4-HMAC-SHA256 "):
            raise _forbidden()
        if self._verifier is not None:
            try:
                access_key = self._verifier.verify(method, raw_path, raw_query, headers, body)
            except LambdaError as error:
                raise UrlError(error.status, error.code, error.message) from error
        else:
            access_key = authorization.split("Credential=", 1)[-1].split("/", 1)[0]
        account = self._arns.account_id
        return {
            "accessKey": access_key,
            "accountId": account,
            "callerId": access_key,
            "cognitoIdentity": None,
            "principalOrgId": None,
            "userArn": f"arn:aws:iam::{account}:root",
            "userId": account,
        }

    async def _run(
        self,
        config: FunctionUrlConfig,
        payload: bytes,
        request_id: str,
        sink: ResponseSink | None = None,
    ) -> InvokeResult:
        ref = FunctionRef(config.function_name, config.qualifier or None)
        try:
            return await self._invoker.invoke(ref, payload, request_id=request_id, sink=sink)
        except LambdaError as error:
            if error.status == 404:
                raise _forbidden() from error
            raise UrlError(error.status, error.code, error.message) from error


def _mapped(result: InvokeResult) -> HttpAnswer:
    if result.function_error:
        return _bad_gateway()
    try:
        return url_answer(result.payload)
    except BadFunctionResponse:
        return _bad_gateway()


def _bad_gateway() -> HttpAnswer:
    return HttpAnswer(502, [("content-type", "application/json")], b"Internal Server Error")


def _too_large() -> UrlError:
    # Base64 makes a body a third larger; anything past this cannot fit in the event.
    return UrlError(
        413,
        "RequestEntityTooLargeException",
        f"Request must be smaller than {MAX_EVENT_BYTES} bytes for the InvokeFunction operation",
    )


def _head(answer: HttpAnswer, request_id: str) -> list[tuple[bytes, bytes]]:
    headers = [(b"x-amzn-requestid", request_id.encode())]
    headers += [
        (n.encode("latin-1", "replace"), v.encode("latin-1", "replace")) for n, v in answer.headers
    ]
    return headers


async def _send(send: Send, answer: HttpAnswer, request_id: str) -> None:
    headers = _head(answer, request_id)
    headers.append((b"content-length", str(len(answer.body)).encode()))
    await send({"type": "http.response.start", "status": answer.status, "headers": headers})
    await send({"type": "http.response.body", "body": answer.body})
