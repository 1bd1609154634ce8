"""S3's legacy presigned URLs (Signature Version 2: `?AWSAccessKeyId=&Expires=&Signature=`).

boto3 still makes these for S3 by default (`generate_presigned_url` without `s3v4`), so with
SigV4 required they must be checked too. botocore's own HMAC-SHA1 signer builds the string to
sign; only the checks around it are here.
"""

from __future__ import annotations

import hmac
import time
from collections.abc import Callable, Mapping
from typing import Any, cast
from urllib.parse import parse_qs, urlsplit

from botocore.auth import HmacV1Auth
from botocore.awsrequest import HTTPHeaders
from botocore.credentials import Credentials

from hearth.errors import LambdaError


class _AtExpiry(HmacV1Auth):
    def __init__(self, credentials: Credentials, expires: str) -> None:
        super().__init__(credentials)
        self._expires = expires

    def _get_date(self) -> str:
        return self._expires  # a query-signed request signs Expires where others sign Date


def is_sigv2_presigned(query_string: str) -> bool:
    return "AWSAccessKeyId=" in query_string and "Signature=" in query_string


def sigv2_access_key(query_string: str) -> str | None:
    values = parse_qs(query_string, keep_blank_values=True).get("AWSAccessKeyId")
    return values[0] if values else None


def verify_sigv2_presigned(
    secret_for: Callable[[str], str | None],
    method: str,
    raw_path: str,
    query_string: str,
    headers: Mapping[str, str],
    now: Callable[[], float] = time.time,
) -> str:
    """The access key that signed the URL; raises `LambdaError` (403) otherwise."""
    query = {k: v[0] for k, v in parse_qs(query_string, keep_blank_values=True).items()}
    access_key, expires, signature = (
        query.get("AWSAccessKeyId"),
        query.get("Expires"),
        query.get("Signature"),
    )
    if not access_key or not expires or not signature:
        raise LambdaError(
            "AccessDenied",
            403,
            "Query-string authentication requires the Signature, "
            "Expires and AWSAccessKeyId parameters",
        )
    secret = secret_for(access_key)
    if secret is None:
        raise LambdaError(
            "UnrecognizedClientException",
            403,
            "The security token included in the request is invalid.",
        )
    try:
        expiry = int(expires)
    except ValueError:
        raise LambdaError(
            "AccessDenied", 403, "Invalid date (should be seconds since epoch)"
        ) from None
    if now() > expiry:
        raise LambdaError("AccessDenied", 403, "Request has expired")
    signed = HTTPHeaders()
    for name, value in headers.items():
        if name in ("content-md5", "content-type") or name.startswith("x-amz-"):
            signed[name] = value
    # The query's own x-amz-* parameters (botocore moves signed headers there) count as headers.
    for name, value in query.items():
        if name.lower().startswith("x-amz-"):
            signed[name.lower()] = value
    rest = "&".join(
        p
        for p in query_string.split("&")
        if p.split("=", 1)[0] not in ("AWSAccessKeyId", "Expires", "Signature")
    )
    split = urlsplit(f"http://hearth.invalid{raw_path}" + (f"?{rest}" if rest else ""))
    signer = _AtExpiry(Credentials(access_key, secret), expires)
    # botocore's stubs ask for a Mapping; it needs HTTPHeaders (it calls get_all).
    expected = signer.get_signature(method, split, cast(Mapping[str, Any], signed))
    if not hmac.compare_digest(expected.encode(), signature.encode()):
        raise LambdaError(
            "InvalidSignatureException",
            403,
            "The request signature we calculated does not match the signature you provided. "
            "Check your key and signing method.",
        )
    return access_key
