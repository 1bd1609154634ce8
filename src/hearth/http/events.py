"""Payload format 2.0 both ways, as function URLs map it: pure functions, no I/O.

Request → event: headers lower-cased with repeated values joined by commas, cookies taken out
of the headers into `cookies`, the query both raw and parsed (repeated keys comma-joined),
`body` base64-encoded unless its content type is text. Result → HTTP: a JSON object with
`statusCode` is a response description; anything else is the body of a 200 JSON answer.
"""

from __future__ import annotations

import base64
import binascii
import json
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl

_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
# Content types whose bodies reach the function as text; every other body (and a body with no
# content type) is base64-encoded, as AWS does.
_TEXT_SUBTYPES = ("json", "xml", "javascript", "yaml", "csv", "html")


@dataclass(frozen=True)
class HttpRequest:
    """An HTTP request as it arrived (header names in any case, in the order received)."""

    method: str
    raw_path: str
    raw_query: str
    headers: tuple[tuple[str, str], ...]
    body: bytes
    source_ip: str
    protocol: str = "HTTP/1.1"


@dataclass(frozen=True)
class RequestContext:
    """What the event says about the endpoint and the call, beyond the request itself."""

    api_id: str
    domain_name: str
    request_id: str
    time_epoch_ms: int
    # "anonymous" for AuthType NONE; the caller's account for AWS_IAM.
    account_id: str = "anonymous"
    # requestContext.authorizer.iam for AWS_IAM URLs.
    iam: dict[str, Any] | None = None


@dataclass
class HttpAnswer:
    status: int
    headers: list[tuple[str, str]] = field(default_factory=list)
    body: bytes = b""


class BadFunctionResponse(Exception):
    """The function's result cannot be turned into an HTTP response (AWS answers 502)."""


def clf_time(epoch_ms: int) -> str:
    """requestContext.time: `12/Mar/2020:19:03:58 +0000`, in English whatever the locale."""
    t = time.gmtime(epoch_ms / 1000)
    return (
        f"{t.tm_mday:02d}/{_MONTHS[t.tm_mon - 1]}/{t.tm_year}:"
        f"{t.tm_hour:02d}:{t.tm_min:02d}:{t.tm_sec:02d} +0000"
    )


def is_text(content_type: str | None) -> bool:
    if not content_type:
        return False
    media = content_type.split(";", 1)[0].strip().lower()
    kind, _, subtype = media.partition("/")
    if kind == "text":
        return True
    return any(subtype == s or subtype.endswith("+" + s) for s in _TEXT_SUBTYPES)


def joined_headers(headers: Iterable[tuple[str, str]]) -> dict[str, str]:
    """Lower-cased names; a repeated header's values joined by commas, in order."""
    joined: dict[str, str] = {}
    for name, value in headers:
        key = name.lower()
        joined[key] = f"{joined[key]},{value}" if key in joined else value
    return joined


def split_cookies(value: str) -> list[str]:
    return [c.strip() for c in value.split(";") if c.strip()]


def query_parameters(raw_query: str) -> dict[str, str]:
    """queryStringParameters: decoded, repeated keys comma-joined in order."""
    params: dict[str, str] = {}
    for key, value in parse_qsl(raw_query, keep_blank_values=True):
        params[key] = f"{params[key]},{value}" if key in params else value
    return params


def v2_head(request: HttpRequest, route_key: str) -> tuple[dict[str, Any], dict[str, str]]:
    """The first keys of a payload format 2.0 event (function URLs and HTTP APIs alike), in
    AWS's order, and the request's headers as the event carries them (cookies apart)."""
    headers = joined_headers((n, v) for n, v in request.headers if n.lower() != "cookie")
    cookies = [c for n, v in request.headers if n.lower() == "cookie" for c in split_cookies(v)]
    event: dict[str, Any] = {
        "version": "2.0",
        "routeKey": route_key,
        "rawPath": request.raw_path,
        "rawQueryString": request.raw_query,
    }
    if cookies:
        event["cookies"] = cookies
    event["headers"] = headers
    if request.raw_query:
        event["queryStringParameters"] = query_parameters(request.raw_query)
    return event, headers


def url_event(request: HttpRequest, context: RequestContext) -> dict[str, Any]:
    """The payload format 2.0 event of a function URL request."""
    event, headers = v2_head(request, "$default")
    http: dict[str, Any] = {
        "method": request.method,
        "path": request.raw_path,
        "protocol": request.protocol,
        "sourceIp": request.source_ip,
        "userAgent": headers.get("user-agent", ""),
    }
    request_context: dict[str, Any] = {
        "accountId": context.account_id,
        "apiId": context.api_id,
    }
    if context.iam is not None:
        request_context["authorizer"] = {"iam": context.iam}
    request_context |= {
        "domainName": context.domain_name,
        "domainPrefix": context.domain_name.split(".", 1)[0],
        "http": http,
        "requestId": context.request_id,
        "routeKey": "$default",
        "stage": "$default",
        "time": clf_time(context.time_epoch_ms),
        "timeEpoch": context.time_epoch_ms,
    }
    event["requestContext"] = request_context
    binary = not is_text(headers.get("content-type"))
    if request.body:
        event["body"] = (
            base64.b64encode(request.body).decode()
            if binary
            else request.body.decode("utf-8", errors="replace")
        )
    event["isBase64Encoded"] = bool(request.body) and binary
    return event


def _header_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return value if isinstance(value, str) else json.dumps(value)


def url_answer(payload: bytes) -> HttpAnswer:
    """The HTTP response for a function's result (raises BadFunctionResponse for a result
    that describes a response but not a valid one)."""
    try:
        result = json.loads(payload)
    except (UnicodeDecodeError, json.JSONDecodeError):
        return HttpAnswer(200, [("content-type", "application/json")], payload)
    if isinstance(result, dict) and "statusCode" in result:
        return described(result)
    if isinstance(result, str):
        body = result.encode()
    else:
        body = json.dumps(result, separators=(",", ":"), ensure_ascii=False).encode()
    return HttpAnswer(200, [("content-type", "application/json")], body)


def described(result: dict[str, Any], default_content_type: str = "application/json") -> HttpAnswer:
    """The answer a `{statusCode, headers, cookies, body, isBase64Encoded}` result describes."""
    status = result.get("statusCode", 200)
    if isinstance(status, bool) or not isinstance(status, int) or not 100 <= status <= 599:
        raise BadFunctionResponse(f"invalid statusCode: {status!r}")
    headers = result.get("headers") or {}
    cookies = result.get("cookies") or []
    if not isinstance(headers, dict) or not isinstance(cookies, list):
        raise BadFunctionResponse("headers must be an object and cookies a list")
    answer = HttpAnswer(status)
    for name, value in headers.items():
        answer.headers.append((str(name).lower(), _header_value(value)))
    if not any(name == "content-type" for name, _ in answer.headers):
        answer.headers.append(("content-type", default_content_type))
    answer.headers.extend(("set-cookie", _header_value(c)) for c in cookies)
    body = result.get("body")
    if body is None:
        return answer
    text = body if isinstance(body, str) else json.dumps(body, separators=(",", ":"))
    if result.get("isBase64Encoded") is True:
        try:
            answer.body = base64.b64decode(text, validate=True)
        except (binascii.Error, ValueError) as exc:
            raise BadFunctionResponse("body is not valid base64") from exc
    else:
        answer.body = text.encode()
    return answer


# The content type with which a streamed response starts with a JSON prelude (status, headers,
# cookies), 8 NUL bytes, then the body: what `awslambda.HttpResponseStream.from` writes.
HTTP_INTEGRATION_RESPONSE = "application/vnd.awslambda.http-integration-response"
_PRELUDE_END = b"\x00" * 8


def split_prelude(buffer: bytes) -> tuple[HttpAnswer, bytes] | None:
    """A streamed HTTP integration response's head and the body bytes after it; None while
    the prelude is incomplete. Raises BadFunctionResponse for a prelude that is not one."""
    end = buffer.find(_PRELUDE_END)
    if end < 0:
        return None
    try:
        prelude = json.loads(buffer[:end]) if buffer[:end].strip() else {}
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise BadFunctionResponse("the response prelude is not JSON") from exc
    if not isinstance(prelude, dict):
        raise BadFunctionResponse("the response prelude is not an object")
    head = {k: prelude[k] for k in ("statusCode", "headers", "cookies") if k in prelude}
    return described(head, "application/octet-stream"), buffer[end + len(_PRELUDE_END) :]
