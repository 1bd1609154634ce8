"""S3 refuses a notification configuration whose Lambda function may not be invoked by it.

PutBucketNotificationConfiguration is checked before moto stores it, as S3 validates its
destinations: every `CloudFunction` must be a Lambda function ARN ("The ARN could not be
parsed") of a function whose resource policy lets `s3.amazonaws.com` invoke it for this
bucket ("Unable to validate the following destination configurations"), unless the request
says `x-amz-skip-destination-validation: true`. Errors as recorded on AWS
(spec/aws-recorded/s3).
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable
from urllib.parse import parse_qs, unquote
from xml.etree import ElementTree
from xml.sax.saxutils import escape

from hearth.arns import FunctionRef
from hearth.services.embedded import WireRequest, WireResponse

_FUNCTION_ARN = re.compile(
    r"arn:aws[a-zA-Z-]*:lambda:[a-z]{2}(?:-gov)?-[a-z]+-\d:(?P<account>\d{12}):function:"
    r"(?P<name>[a-zA-Z0-9_-]{1,64})(?::(?P<qualifier>\$LATEST|[a-zA-Z0-9_-]{1,128}))?"
)
# The function, the service principal, the source ARN, the source account → allowed?
MayInvoke = Callable[[FunctionRef, str, str, str], bool]


def _error(code: str, message: str, **arguments: str) -> WireResponse:
    request_id = uuid.uuid4().hex[:16].upper()
    extra = "".join(f"<{k}>{escape(v)}</{k}>" for k, v in arguments.items())
    body = (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        f"<Error><Code>{code}</Code><Message>{escape(message)}</Message>{extra}"
        f"<RequestId>{request_id}</RequestId></Error>"
    )
    return WireResponse(400, [("Content-Type", "application/xml")], body.encode())


def _function_arns(body: bytes) -> list[str] | None:
    """The CloudFunction values of a NotificationConfiguration; None if it is not XML."""
    try:
        root = ElementTree.fromstring(body)  # noqa: S314 - expat, no external entities
    except ElementTree.ParseError:
        return None
    return [
        (element.text or "").strip()
        for element in root.iter()
        if element.tag.rsplit("}", 1)[-1] == "CloudFunction"
    ]


class NotificationPermissions:
    def __init__(self, may_invoke: MayInvoke, account_id: str) -> None:
        self._may_invoke = may_invoke
        self._account_id = account_id

    async def __call__(self, service: str, request: WireRequest) -> WireResponse | None:
        if service != "s3" or request.method != "PUT":
            return None
        if "notification" not in parse_qs(request.query_string, keep_blank_values=True):
            return None
        arns = _function_arns(request.body)
        if arns is None:
            return None  # moto answers MalformedXML
        bucket = unquote(request.raw_path.lstrip("/").split("/", 1)[0])
        skip = request.headers.get("x-amz-skip-destination-validation", "").lower() == "true"
        refused: list[str] = []
        for arn in arns:
            found = _FUNCTION_ARN.fullmatch(arn)
            if found is None:
                return _error(
                    "InvalidArgument",
                    "The ARN could not be parsed",
                    ArgumentName="CloudFunction",
                    ArgumentValue=arn,
                )
            if skip:
                continue
            ref = FunctionRef(found["name"], found["qualifier"])
            allowed = found["account"] == self._account_id and self._may_invoke(
                ref, "s3.amazonaws.com", f"arn:aws:s3:::{bucket}", self._account_id
            )
            if not allowed:
                refused.append(arn)
        if not refused:
            return None
        arguments: dict[str, str] = {}
        for i, arn in enumerate(refused, start=1):
            arguments[f"ArgumentName{i}"] = f"{arn}, null"
            arguments[f"ArgumentValue{i}"] = f"Not authorized to invoke function [{arn}]"
        return _error(
            "InvalidArgument",
            "Unable to validate the following destination configurations",
            **arguments,
        )
