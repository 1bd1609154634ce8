"""CloudWatch's wire protocols, as botocore speaks them: Smithy RPC v2 CBOR
(`POST /service/GraniteServiceVersion20100801/operation/<Op>`, what current botocore picks)
and AWS JSON 1.0 (`X-Amz-Target: GraniteServiceVersion20100801.<Op>` on `POST /`)."""

from __future__ import annotations

import math
from datetime import datetime
from typing import Any

import cbor2

from hearth.api.cloudwatch_api import CloudWatchApi, cw_error
from hearth.api.http import Request, Response, Router, json_response
from hearth.errors import LambdaError

SERVICE = "GraniteServiceVersion20100801"
TARGET_PREFIX = SERVICE + "."
_CBOR_HEADERS = {"smithy-protocol": "rpc-v2-cbor"}


class CloudWatchWire:
    def __init__(self, api: CloudWatchApi) -> None:
        self._api = api

    def register(self, router: Router) -> None:
        path = f"/service/{SERVICE}/operation/{{Operation}}"
        router.add(
            "CloudWatch", "POST", path, self.cbor, service="monitoring", max_body=2 * 1024 * 1024
        )

    async def cbor(self, request: Request) -> Response:
        try:
            try:
                body = cbor2.loads(request.body) if request.body else {}
            except (cbor2.CBORDecodeError, ValueError, TypeError) as exc:
                raise cw_error("SerializationException", f"Could not parse CBOR: {exc}") from exc
            if not isinstance(body, dict):
                raise cw_error("SerializationException", "The body must be a CBOR map.")
            result = self._api.call(request.params["Operation"], body)
            payload = cbor2.dumps(_clean(result), datetime_as_timestamp=True, timezone=None)
            return Response(200, payload, dict(_CBOR_HEADERS), "application/cbor")
        except LambdaError as error:
            payload = cbor2.dumps({"__type": error.code, "message": error.message})
            return Response(
                error.status,
                payload,
                {**_CBOR_HEADERS, **error.headers},
                "application/cbor",
            )

    async def json(self, request: Request) -> Response:
        target = request.headers.get("x-amz-target", "")
        try:
            body = request.json()
        except LambdaError as error:
            raise cw_error("SerializationException", error.message) from error
        result = self._api.call(target.removeprefix(TARGET_PREFIX), body)
        return json_response(_epochs(_clean(result)))


def _clean(value: Any) -> Any:
    """Drop None (a statistic with no data) and non-finite numbers, which no protocol sends."""
    if isinstance(value, dict):
        return {k: _clean(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [_clean(v) for v in value]
    if isinstance(value, float) and not math.isfinite(value):
        return 0.0
    return value


def _epochs(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _epochs(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_epochs(v) for v in value]
    if isinstance(value, datetime):
        return value.timestamp()
    return value
