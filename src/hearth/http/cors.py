"""A function URL's CORS configuration, enforced: pure functions over AWS's Cors shape.

With CORS configured, Hearth answers preflight requests itself (the function never sees
them) and sets the CORS response headers on every answer to a cross-origin request,
replacing any the function returned, as AWS does.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from hearth.http.events import HttpAnswer

_CORS_PREFIX = "access-control-"


def _allowed_origin(cors: Mapping[str, Any], origin: str) -> str | None:
    """The Access-Control-Allow-Origin value for this origin, None if it is not allowed."""
    origins = cors.get("AllowOrigins") or []
    if "*" in origins:
        # A credentialed request may not be answered with "*": name the origin instead.
        return origin if cors.get("AllowCredentials") else "*"
    lowered = origin.lower()
    return origin if any(o.lower() == lowered for o in origins) else None


def is_preflight(method: str, headers: Mapping[str, str]) -> bool:
    """`headers`: lower-cased names."""
    return (
        method == "OPTIONS" and "origin" in headers and "access-control-request-method" in headers
    )


def preflight(cors: Mapping[str, Any], headers: Mapping[str, str]) -> HttpAnswer:
    """The answer to a preflight request: 200, with the allow headers only when the origin
    and the requested method are allowed."""
    answer = HttpAnswer(200)
    allow_origin = _allowed_origin(cors, headers["origin"])
    methods = [m.upper() for m in cors.get("AllowMethods") or []]
    requested = headers["access-control-request-method"].upper()
    if allow_origin is None or not ("*" in methods or requested in methods):
        return answer
    answer.headers.append(("access-control-allow-origin", allow_origin))
    answer.headers.append(("access-control-allow-methods", ",".join(methods)))
    allow_headers = cors.get("AllowHeaders") or []
    if allow_headers:
        answer.headers.append(("access-control-allow-headers", ",".join(allow_headers)))
    if cors.get("AllowCredentials"):
        answer.headers.append(("access-control-allow-credentials", "true"))
    max_age = cors.get("MaxAge")
    if max_age:
        answer.headers.append(("access-control-max-age", str(max_age)))
    if allow_origin != "*":
        answer.headers.append(("vary", "Origin"))
    return answer


def apply(cors: Mapping[str, Any], origin: str | None, answer: HttpAnswer) -> HttpAnswer:
    """The function's answer with the URL's CORS headers in place of its own."""
    answer.headers = [(n, v) for n, v in answer.headers if not n.startswith(_CORS_PREFIX)]
    if origin is None:
        return answer
    allow_origin = _allowed_origin(cors, origin)
    if allow_origin is None:
        return answer
    answer.headers.append(("access-control-allow-origin", allow_origin))
    expose = cors.get("ExposeHeaders") or []
    if expose:
        answer.headers.append(("access-control-expose-headers", ",".join(expose)))
    if cors.get("AllowCredentials"):
        answer.headers.append(("access-control-allow-credentials", "true"))
    if allow_origin != "*":
        answer.headers.append(("vary", "Origin"))
    return answer
