"""Serving API Gateway APIs: stage → resource or route → authorizer → Lambda proxy
integration → answer, with API Gateway's errors (`{"message": ...}`):

- REST APIs: an unknown stage is 403 `Forbidden`, no resource or method 403
  `Missing Authentication Token`;
- HTTP APIs: no stage or route is 404 `Not Found`;
- both: a function error or a malformed proxy response is 502 `Internal server error`, an
  invoke Lambda refuses (throttle, missing function, no resource-policy permission for
  `apigateway.amazonaws.com` with a matching `AWS:SourceArn`) 500, a body over 10 MB 413.
"""

from __future__ import annotations

import json
import logging
import os
import time
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

from hearth.api.http import read_body
from hearth.arns import LATEST, ArnFormatter, FunctionRef, parse_function_ref
from hearth.errors import LambdaError
from hearth.http.access import allows_service
from hearth.http.apigw import authorizers as auth
from hearth.http.apigw.definitions import Api, ApiDefinitions, Authorizer, Method
from hearth.http.apigw.events import ApiContext, v1_answer, v1_event, v2_answer, v2_event
from hearth.http.apigw.routing import function_arn, match_resource, match_route
from hearth.http.events import BadFunctionResponse, HttpAnswer, HttpRequest
from hearth.http.hosts import ApiTarget
from hearth.invoke.invoker import Invoker
from hearth.invoke.types import InvokeResult
from hearth.models import PolicyStatement
from hearth.store.registry import RegistryReader

logger = logging.getLogger("hearth.http")

Scope = dict[str, Any]
Receive = Callable[[], Awaitable[dict[str, Any]]]
Send = Callable[[dict[str, Any]], Awaitable[None]]

MAX_BODY_BYTES = 10 * 1024 * 1024
MAX_EVENT_BYTES = 6 * 1024 * 1024


class ApiError(Exception):
    def __init__(self, status: int, message: str | None) -> None:
        super().__init__(message)
        self.answer = HttpAnswer(
            status,
            [("content-type", "application/json")],
            json.dumps({"message": message}).encode(),
        )


def _bad_gateway() -> ApiError:
    return ApiError(502, "Internal server error")


class ApiGatewayServer:
    def __init__(
        self,
        definitions: ApiDefinitions | None,
        invoker: Invoker,
        registry: RegistryReader,
        arns: ArnFormatter,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        # None: no API Gateway endpoint is configured, so no API exists.
        self._definitions = definitions
        self._invoker = invoker
        self._arns = arns
        self._clock = clock
        self._verdicts = auth.VerdictCache()
        self._registry = registry
        # (function, qualifier key) → its resource policy's statements; cleared on any change.
        self._policies: dict[tuple[str, str], tuple[PolicyStatement, ...]] = {}

    def invalidate(self) -> None:
        self._policies.clear()

    def _permitted(self, ref: FunctionRef, source_arn: str) -> bool:
        """API Gateway may invoke only what the function's resource policy lets it."""
        key = "" if ref.qualifier in (None, LATEST) else str(ref.qualifier)
        statements = self._policies.get((ref.name, key))
        if statements is None:
            with self._registry.transaction() as tx:
                record = tx.get_function(ref.name)
            policy = record.policies.get(key) if record is not None else None
            statements = policy.statements if policy is not None else ()
            if len(self._policies) > 10_000:
                self._policies.clear()
            self._policies[(ref.name, key)] = statements
        return allows_service(
            statements, "apigateway.amazonaws.com", source_arn, self._arns.account_id
        )

    async def serve(self, target: ApiTarget, scope: Scope, receive: Receive, send: Send) -> None:
        request_id = str(uuid.uuid4())
        try:
            answer = await self._answer(target, scope, receive, request_id)
        except ApiError as error:
            answer = error.answer
        except Exception:
            logger.exception("unhandled error serving API %s", target.api_id)
            answer = ApiError(500, "Internal server error").answer
        headers = [
            (b"x-amzn-requestid", request_id.encode()),
            (b"apigw-requestid", request_id.encode()),
        ]
        headers += [
            (n.encode("latin-1", "replace"), v.encode("latin-1", "replace"))
            for n, v in answer.headers
        ]
        headers.append((b"content-length", str(len(answer.body)).encode()))
        await send({"type": "http.response.start", "status": answer.status, "headers": headers})
        await send({"type": "http.response.body", "body": answer.body})

    async def _answer(
        self, target: ApiTarget, scope: Scope, receive: Receive, request_id: str
    ) -> HttpAnswer:
        api = await self._definitions.api(target.api_id) if self._definitions else None
        if api is None:
            raise ApiError(404, "Not Found")
        rest = api.kind == "rest"
        stage, path = _stage_of(api, target.raw_path)
        if stage is None:
            raise ApiError(403, "Forbidden") if rest else ApiError(404, "Not Found")
        method = scope["method"]
        body = await read_body(
            receive, MAX_BODY_BYTES, lambda: ApiError(413, "Request Entity Too Large")
        )
        request = _request(scope, body, path if rest else target.raw_path, rest)
        template, chosen, params = _target(api, method, path)
        variables = api.stages.get(stage, {})
        context = ApiContext(
            api_id=api.id,
            account_id=self._arns.account_id,
            domain_name=_host(request.headers),
            stage=stage,
            stage_variables=variables,
            resource=template,
            path_parameters=params,
            request_id=request_id,
            time_epoch_ms=int(time.time() * 1000),
        )
        authorizer = await self._authorize(api, chosen, request, context, path)
        if authorizer is not None:
            context = ApiContext(**{**context.__dict__, "authorizer": authorizer})
        integration = chosen.integration
        if integration is None or integration.kind != "AWS_PROXY":
            raise ApiError(500, "Internal server error")
        v1 = rest or integration.payload_version == "1.0"
        if v1:
            event = v1_event(request, context, f"/{stage}{path}" if stage != "$default" else path)
            if not rest:
                event = {"version": "1.0", **event}
        else:
            event = v2_event(request, context)
        payload = json.dumps(event, separators=(",", ":")).encode()
        if len(payload) > MAX_EVENT_BYTES:
            raise ApiError(413, "Request Entity Too Large")
        source = self._source_arn(api.id, f"{stage}/{method}{_arn_path(template)}")
        result = await self._invoke(integration.uri, variables, payload, source)
        if result.function_error:
            raise _bad_gateway()
        try:
            return (
                v1_answer(result.payload, api.binary_media_types)
                if v1
                else v2_answer(result.payload)
            )
        except BadFunctionResponse as exc:
            raise _bad_gateway() from exc

    def _source_arn(self, api_id: str, rest: str) -> str:
        return f"arn:aws:execute-api:{self._arns.region}:{self._arns.account_id}:{api_id}/{rest}"

    async def _invoke(
        self, uri: str, variables: dict[str, str], payload: bytes, source_arn: str
    ) -> InvokeResult:
        try:
            ref = parse_function_ref(function_arn(uri, variables))
            if not self._permitted(ref, source_arn):
                logger.info("API Gateway may not invoke %s for %s", ref.name, source_arn)
                raise ApiError(500, "Internal server error")
            return await self._invoker.invoke(ref, payload)
        except LambdaError as error:
            logger.info("API Gateway integration %s failed: %s", uri, error.message)
            raise ApiError(500, "Internal server error") from error

    # Authorizers -------------------------------------------------------------------------
    async def _authorize(
        self, api: Api, method: Method, request: HttpRequest, context: ApiContext, path: str
    ) -> dict[str, Any] | None:
        """The authorizer's context for the event; raises the API's 401 / 403 / 500."""
        if method.authorization_type != "CUSTOM" or method.authorizer_id is None:
            return None
        authorizer = api.authorizers.get(method.authorizer_id)
        rest = api.kind == "rest"
        if authorizer is None:
            raise ApiError(500, None if rest else "Internal Server Error")
        key = auth.identity(authorizer, request, context.stage_variables)
        if key is None:
            raise ApiError(401, "Unauthorized")
        arn = auth.method_arn(
            self._arns.region, self._arns.account_id, api.id, context.stage, request.method, path
        )
        now = self._clock()
        answer = self._verdicts.get(authorizer.id, key, now)
        try:
            if answer is None:
                answer = await self._ask(authorizer, rest, request, context, key, arn)
                self._verdicts.put(authorizer.id, key, answer, authorizer.ttl_seconds, now)
            if not rest and authorizer.simple_responses:
                verdict = auth.simple_verdict(answer)
            else:
                verdict = auth.policy_verdict(answer, arn)
            if not verdict.allowed:
                if not rest:
                    raise ApiError(403, "Forbidden")
                if verdict.explicit_deny:
                    raise ApiError(
                        403, "User is not authorized to access this resource with an explicit deny"
                    )
                raise ApiError(403, "User is not authorized to access this resource")
            if rest:
                return auth.rest_authorizer_context(verdict)
            return {"lambda": dict(verdict.context or {})}
        except auth.AuthorizerFailed as exc:
            raise ApiError(500, None if rest else "Internal Server Error") from exc

    async def _ask(
        self,
        authorizer: Authorizer,
        rest: bool,
        request: HttpRequest,
        context: ApiContext,
        key: tuple[str, ...],
        arn: str,
    ) -> Any:
        if authorizer.kind == "TOKEN":
            event: dict[str, Any] = auth.token_event(key[0], arn)
        elif rest or authorizer.payload_version == "1.0":
            event = {
                "type": "REQUEST",
                "methodArn": arn,
                **v1_event(request, context, request.raw_path),
            }
            event.pop("body", None)
            event.pop("isBase64Encoded", None)
            if not rest:
                event = {"version": "1.0", "identitySource": ",".join(key), **event}
        else:
            event = {"type": "REQUEST", "routeArn": arn, "identitySource": list(key)}
            event |= v2_event(request, context)
            event.pop("body", None)
            event.pop("isBase64Encoded", None)
        payload = json.dumps(event, separators=(",", ":")).encode()
        source = self._source_arn(context.api_id, f"authorizers/{authorizer.id}")
        try:
            ref = parse_function_ref(function_arn(authorizer.function_uri, context.stage_variables))
            if not self._permitted(ref, source):
                raise auth.AuthorizerFailed(f"API Gateway may not invoke {ref.name}")
            result = await self._invoker.invoke(ref, payload)
        except LambdaError as error:
            raise auth.AuthorizerFailed(error.message) from error
        if result.function_error:
            if _error_message(result.payload) == "Unauthorized":
                raise ApiError(401, "Unauthorized")
            raise auth.AuthorizerFailed("the authorizer failed")
        try:
            return json.loads(result.payload)
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise auth.AuthorizerFailed("the authorizer's answer is not JSON") from exc


def _request(scope: Scope, body: bytes, raw_path: str, rest: bool) -> HttpRequest:
    """The request as the event builders take it, with the headers API Gateway adds."""
    client = scope.get("client") or ("127.0.0.1", 0)
    server = scope.get("server") or ("127.0.0.1", 80)
    raw_headers = tuple((k.decode("latin-1"), v.decode("latin-1")) for k, v in scope["headers"])
    forwarded: tuple[tuple[str, str], ...] = (
        ("X-Amzn-Trace-Id", f"Root=1-{int(time.time()):08x}-{os.urandom(12).hex()}"),
        ("X-Forwarded-For", client[0]),
        ("X-Forwarded-Port", str(server[1])),
        ("X-Forwarded-Proto", "http"),
    )
    if not rest:  # HTTP APIs pass header names lower-cased
        forwarded = tuple((k.lower(), v) for k, v in forwarded)
    return HttpRequest(
        method=scope["method"],
        raw_path=raw_path,
        raw_query=scope["query_string"].decode("latin-1"),
        headers=raw_headers + forwarded,
        body=body,
        source_ip=client[0],
        protocol=f"HTTP/{scope.get('http_version', '1.1')}",
    )


def _target(api: Api, method: str, path: str) -> tuple[str, Method, dict[str, str]]:
    """The resource path template or route key a request reaches, its method, the path
    parameters; raises the API's 403 / 404 when there is none."""
    if api.kind == "rest":
        resource = match_resource(api.resources, method, path)
        if resource is None:
            raise ApiError(403, "Missing Authentication Token")
        return resource[0].path, resource[1], resource[2]
    route = match_route(api.routes, method, path)
    if route is None:
        raise ApiError(404, "Not Found")
    return route[0].key, route[0].method, route[1]


def _arn_path(template: str) -> str:
    """A resource path or route key as source ARNs spell it: `/items/{id}`, `$default`."""
    if template.startswith("/"):
        return template
    # A route key's path already starts with its slash ("GET /items/{id}").
    path = template.partition(" ")[2] if " " in template else template
    return path if path.startswith("/") else "/" + path


def _error_message(payload: bytes) -> str | None:
    try:
        error = json.loads(payload)
    except (UnicodeDecodeError, json.JSONDecodeError):
        return None
    return error.get("errorMessage") if isinstance(error, dict) else None


def _host(headers: tuple[tuple[str, str], ...]) -> str:
    host = next((v for k, v in headers if k.lower() == "host"), "")
    return host.rsplit(":", 1)[0] if ":" in host and not host.endswith("]") else host


def _stage_of(api: Api, raw_path: str) -> tuple[str | None, str]:
    """The stage a path names and the path after it; `$default` serves paths without one."""
    first, _, rest = raw_path.lstrip("/").partition("/")
    if first and first in api.stages and first != "$default":
        return first, "/" + rest
    if "$default" in api.stages:
        return "$default", raw_path or "/"
    return None, raw_path
