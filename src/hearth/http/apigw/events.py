"""API Gateway's proxy events and responses: payload format 1.0 (REST APIs, and HTTP APIs
that ask for it) and 2.0 (HTTP APIs). Pure functions.

1.0 keeps header names as sent: `headers` holds each header's last value, `multiValueHeaders`
all of them; the same for the query. Absent parts are `null`. Its response must be an object
of `statusCode`, `headers`, `multiValueHeaders`, `body`, `isBase64Encoded` and nothing else;
anything else is a 502 `{"message": "Internal server error"}`.
"""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl

from hearth.http.events import (
    BadFunctionResponse,
    HttpAnswer,
    HttpRequest,
    clf_time,
    is_text,
    joined_headers,
    url_answer,
    v2_head,
)

_V1_RESPONSE_KEYS = frozenset(
    {"statusCode", "headers", "multiValueHeaders", "body", "isBase64Encoded"}
)
_NULL_IDENTITY = (
    "accessKey",
    "accountId",
    "caller",
    "cognitoAuthenticationProvider",
    "cognitoAuthenticationType",
    "cognitoIdentityId",
    "cognitoIdentityPoolId",
    "principalOrgId",
)


@dataclass(frozen=True)
class ApiContext:
    """The API-side facts of one request."""

    api_id: str
    account_id: str
    domain_name: str
    stage: str
    stage_variables: dict[str, str]
    # REST: the resource's path template (`/{proxy+}`); HTTP API: the route key.
    resource: str
    path_parameters: dict[str, str]
    request_id: str
    time_epoch_ms: int
    # Set by a Lambda authorizer: what `requestContext.authorizer` carries.
    authorizer: dict[str, Any] | None = None


def _body(request: HttpRequest, content_type: str | None) -> tuple[str | None, bool]:
    if not request.body:
        return None, False
    if is_text(content_type):
        return request.body.decode("utf-8", errors="replace"), False
    try:
        # Hearth: a body that is valid UTF-8 goes as text, as AWS sends a REST API's bodies
        # when no binary media types are set; other bytes go base64-encoded, never mangled.
        return request.body.decode("utf-8"), False
    except UnicodeDecodeError:
        return base64.b64encode(request.body).decode(), True


def header_case(name: str) -> str:
    """`content-type` → `Content-Type`. AWS passes 1.0 header names as the client wrote them;
    Hearth's HTTP server hands them over lower-cased, so they are given the usual casing (what
    nearly every client sends, and what handlers look up)."""
    return "-".join(part[:1].upper() + part[1:] for part in name.split("-"))


def v1_event(request: HttpRequest, api: ApiContext, stage_path: str) -> dict[str, Any]:
    """Payload format 1.0. `stage_path`: the path with the stage prefix, as requested."""
    headers: dict[str, str] = {}
    multi_headers: dict[str, list[str]] = {}
    for raw_name, value in request.headers:
        name = header_case(raw_name)
        headers[name] = value
        multi_headers.setdefault(name, []).append(value)
    query: dict[str, str] = {}
    multi_query: dict[str, list[str]] = {}
    for key, value in parse_qsl(request.raw_query, keep_blank_values=True):
        query[key] = value
        multi_query.setdefault(key, []).append(value)
    content_type = next((v for k, v in request.headers if k.lower() == "content-type"), None)
    body, encoded = _body(request, content_type)
    identity: dict[str, Any] = dict.fromkeys(_NULL_IDENTITY)
    identity |= {"sourceIp": request.source_ip, "user": None}
    identity["userAgent"] = headers.get("User-Agent") or joined_headers(request.headers).get(
        "user-agent"
    )
    identity["userArn"] = None
    context: dict[str, Any] = {
        "accountId": api.account_id,
        "apiId": api.api_id,
    }
    if api.authorizer is not None:
        context["authorizer"] = api.authorizer
    context |= {
        "domainName": api.domain_name,
        "domainPrefix": api.api_id,
        "extendedRequestId": api.request_id,
        "httpMethod": request.method,
        "identity": identity,
        "path": stage_path,
        "protocol": request.protocol,
        "requestId": api.request_id,
        "requestTime": clf_time(api.time_epoch_ms),
        "requestTimeEpoch": api.time_epoch_ms,
        "resourcePath": api.resource,
        "stage": api.stage,
    }
    return {
        "body": body,
        "headers": headers or None,
        "httpMethod": request.method,
        "isBase64Encoded": encoded,
        "multiValueHeaders": multi_headers or None,
        "multiValueQueryStringParameters": multi_query or None,
        "path": request.raw_path,
        "pathParameters": api.path_parameters or None,
        "queryStringParameters": query or None,
        "requestContext": context,
        "resource": api.resource,
        "stageVariables": api.stage_variables or None,
        # HTTP APIs add the version; REST APIs send none.
    }


def v2_event(request: HttpRequest, api: ApiContext) -> dict[str, Any]:
    """Payload format 2.0 for an HTTP API route."""
    event, headers = v2_head(request, api.resource)
    context: dict[str, Any] = {"accountId": api.account_id, "apiId": api.api_id}
    if api.authorizer is not None:
        context["authorizer"] = api.authorizer
    context |= {
        "domainName": api.domain_name,
        "domainPrefix": api.api_id,
        "http": {
            "method": request.method,
            "path": request.raw_path,
            "protocol": request.protocol,
            "sourceIp": request.source_ip,
            "userAgent": headers.get("user-agent", ""),
        },
        "requestId": api.request_id,
        "routeKey": api.resource,
        "stage": api.stage,
        "time": clf_time(api.time_epoch_ms),
        "timeEpoch": api.time_epoch_ms,
    }
    event["requestContext"] = context
    if request.body:
        binary = not is_text(headers.get("content-type"))
        event["body"] = (
            base64.b64encode(request.body).decode()
            if binary
            else request.body.decode("utf-8", errors="replace")
        )
        event["isBase64Encoded"] = binary
    else:
        event["isBase64Encoded"] = False
    if api.path_parameters:
        event["pathParameters"] = api.path_parameters
    if api.stage_variables:
        event["stageVariables"] = api.stage_variables
    return event


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return value if isinstance(value, str) else json.dumps(value)


def v1_answer(payload: bytes, binary_types: tuple[str, ...] = ()) -> HttpAnswer:
    """A 1.0 response, checked as API Gateway checks it."""
    try:
        result = json.loads(payload)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise BadFunctionResponse("not JSON") from exc
    if not isinstance(result, dict) or not result or not set(result) <= _V1_RESPONSE_KEYS:
        raise BadFunctionResponse("not a proxy response")
    status = result.get("statusCode", 200)
    try:
        status = int(status)
    except (TypeError, ValueError) as exc:
        raise BadFunctionResponse("invalid statusCode") from exc
    if not 100 <= status <= 599:
        raise BadFunctionResponse("invalid statusCode")
    answer = HttpAnswer(status, _merged_headers(result))
    content_type = next((v for k, v in answer.headers if k.lower() == "content-type"), None)
    if content_type is None:
        answer.headers.append(("Content-Type", "application/json"))
    body = result.get("body")
    text = "" if body is None else _text(body)
    if result.get("isBase64Encoded") is True and _binary(content_type, binary_types):
        try:
            answer.body = base64.b64decode(text, validate=True)
        except (binascii.Error, ValueError) as exc:
            raise BadFunctionResponse("body is not base64") from exc
    else:
        answer.body = text.encode()
    return answer


def _merged_headers(result: dict[str, Any]) -> list[tuple[str, str]]:
    """`multiValueHeaders` then `headers`, one header line per name (values comma-joined)."""
    headers = result.get("headers") or {}
    multi = result.get("multiValueHeaders") or {}
    if not isinstance(headers, dict) or not isinstance(multi, dict):
        raise BadFunctionResponse("headers must be objects")
    merged: dict[str, tuple[str, list[str]]] = {}
    for name, values in multi.items():
        if not isinstance(values, list):
            raise BadFunctionResponse("multiValueHeaders values must be lists")
        merged[name.lower()] = (name, [_text(v) for v in values])
    for name, value in headers.items():
        shown, values = merged.get(name.lower(), (name, []))
        merged[name.lower()] = (shown, [*values, _text(value)])
    return [(shown, ", ".join(values)) for shown, values in merged.values()]


def _binary(content_type: str | None, binary_types: tuple[str, ...]) -> bool:
    media = (content_type or "application/json").split(";", 1)[0].strip().lower()
    return any(t == "*/*" or t.lower() == media for t in binary_types)


def v2_answer(payload: bytes) -> HttpAnswer:
    """A 2.0 response: as function URLs map them."""
    return url_answer(payload)
