"""AWS errors in each embedded service's own wire format (an S3 client reads XML, DynamoDB's JSON).

Hearth's errors are `LambdaError`s (Lambda's codes); a service's SDK expects that service's
codes, so the few errors the gateway raises itself (authentication, body size) are renamed
here, as each service names them.
"""

from __future__ import annotations

import json
import uuid
from xml.sax.saxutils import escape

from hearth.errors import LambdaError
from hearth.services.embedded import WireResponse
from hearth.services.scope import PROTOCOLS

# Lambda's code → (S3's code, the query services' code).
_RENAMED = {
    "UnrecognizedClientException": ("InvalidAccessKeyId", "InvalidClientTokenId"),
    "InvalidSignatureException": ("SignatureDoesNotMatch", "SignatureDoesNotMatch"),
    "IncompleteSignatureException": ("AuthorizationHeaderMalformed", "IncompleteSignature"),
    "MissingAuthenticationTokenException": ("AccessDenied", "MissingAuthenticationToken"),
    "RequestTooLargeException": ("EntityTooLarge", "RequestEntityTooLarge"),
}
_S3_MESSAGES = {
    "InvalidAccessKeyId": "The AWS Access Key Id you provided does not exist in our records.",
}


def render(service: str, error: LambdaError) -> WireResponse:
    protocol = PROTOCOLS.get(service, "json")
    request_id = str(uuid.uuid4())
    s3_code, query_code = _RENAMED.get(error.code, (error.code, error.code))
    if protocol == "rest-xml":
        message = _S3_MESSAGES.get(s3_code, error.message)
        body = (
            '<?xml version="1.0" encoding="UTF-8"?>\n'
            f"<Error><Code>{escape(s3_code)}</Code><Message>{escape(message)}</Message>"
            f"<RequestId>{request_id}</RequestId></Error>"
        )
        return WireResponse(
            error.status,
            [("Content-Type", "application/xml"), ("x-amz-request-id", request_id)],
            body.encode(),
        )
    if protocol == "query":
        body = (
            '<ErrorResponse xmlns="https://iam.amazonaws.com/doc/2010-05-08/"><Error>'
            f"<Type>Sender</Type><Code>{escape(query_code)}</Code>"
            f"<Message>{escape(error.message)}</Message></Error>"
            f"<RequestId>{request_id}</RequestId></ErrorResponse>"
        )
        return WireResponse(
            error.status,
            [("Content-Type", "text/xml"), ("x-amzn-RequestId", request_id)],
            body.encode(),
        )
    payload = {"__type": error.code, "message": error.message}
    return WireResponse(
        error.status,
        [
            ("Content-Type", "application/x-amz-json-1.0"),
            ("x-amzn-RequestId", request_id),
            ("x-amzn-ErrorType", error.code),
        ],
        json.dumps(payload).encode(),
    )
