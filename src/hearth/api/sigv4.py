"""AWS Signature Version 4 verification of incoming requests.

botocore computes the expected signature: the request as received is rebuilt as an
`AWSRequest` and run through `SigV4Auth`'s canonical request, string to sign and signing
key, so Hearth agrees with boto3 and the aws CLI by construction. Only the parsing of the
`Authorization` header and the checks around it are written here.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from http.client import HTTPMessage
from typing import Any, cast
from urllib.parse import parse_qsl

from botocore.auth import SIGV4_TIMESTAMP, SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from hearth.errors import LambdaError

_ALGORITHM = "AWS4-HMAC-SHA256"
_AUTH_PARAMS = ("Credential", "Signature", "SignedHeaders")
_MISMATCH = (
    "The request signature we calculated does not match the signature you provided. "
    "Check your AWS Secret Access Key and signing method. "
    "Consult the service documentation for details."
)


@dataclass(frozen=True)
class Credential:
    access_key_id: str
    secret_access_key: str


class _ExactHeaders(SigV4Auth):
    """botocore's signer, signing all the request's headers: `verify` adds just SignedHeaders.

    Left to itself botocore drops some (`user-agent`, `expect`...) and makes up `host`.
    """

    def headers_to_sign(self, request: AWSRequest) -> HTTPMessage:
        return request.headers


def _incomplete(message: str) -> LambdaError:
    return LambdaError("IncompleteSignatureException", 403, message)


def _invalid(message: str = _MISMATCH) -> LambdaError:
    return LambdaError("InvalidSignatureException", 403, message)


def _utc_now() -> datetime:
    return datetime.now(UTC)


def _parse(header: str, headers: Mapping[str, str]) -> tuple[str, str, str, str]:
    """Credential, SignedHeaders, Signature and X-Amz-Date, or AWS's complaint."""
    algorithm, _, rest = header.strip().partition(" ")
    params: dict[str, str] = {}
    if algorithm == _ALGORITHM:  # AWS reports any other scheme as lacking every parameter
        for token in filter(None, re.split(r"[\s,]+", rest)):
            key, eq, value = token.partition("=")
            if not eq:
                raise _incomplete(
                    f"'{token}' not a valid key=value pair (missing equal-sign) "
                    f"in Authorization header: '{header}'."
                )
            params[key] = value
    problems = [
        f"Authorization header requires '{p}' parameter." for p in _AUTH_PARAMS if not params.get(p)
    ]
    if "x-amz-date" not in headers:
        problems.append(
            "Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header."
        )
    if problems:
        raise _incomplete(" ".join([*problems, f"Authorization={header}"]))
    return params["Credential"], params["SignedHeaders"], params["Signature"], headers["x-amz-date"]


def _lower(headers: Mapping[str, str]) -> dict[str, str]:
    return {name.lower(): value for name, value in headers.items()}


def _parse_date(amz_date: str) -> datetime:
    try:
        return datetime.strptime(amz_date, SIGV4_TIMESTAMP).replace(tzinfo=UTC)
    except ValueError:
        raise _incomplete(
            f"Date must be in ISO-8601 'basic format'. Got '{amz_date}'. "
            "See http://en.wikipedia.org/wiki/ISO_8601"
        ) from None


# What S3 lets a client claim in X-Amz-Content-SHA256 instead of the body's hash. The
# chunked forms carry per-chunk signatures (or a trailing checksum) that are not checked:
# the request's own signature, which covers the claim and the headers, is.
S3_PAYLOAD_CLAIMS = frozenset(
    {
        "UNSIGNED-PAYLOAD",
        "STREAMING-UNSIGNED-PAYLOAD-TRAILER",
        "STREAMING-AWS4-HMAC-SHA256-PAYLOAD",
        "STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER",
    }
)
# A presigned URL may be used for up to seven days (X-Amz-Expires).
_MAX_PRESIGN_SECONDS = 7 * 24 * 3600


class _S3(_ExactHeaders):
    """S3 signs the path as sent: not normalised, not encoded a second time."""

    def _normalize_url_path(self, path: str) -> str:
        return path


class _Presigned(_ExactHeaders):
    """The signer as it signs a presigned URL: the payload is never hashed."""

    def payload(self, request: AWSRequest) -> str:
        return "UNSIGNED-PAYLOAD"


class _S3Presigned(_S3, _Presigned):
    pass


SecretLookup = Callable[[str], str | None]


class SigV4Verifier:
    """Checks that a request was signed by one of the known credentials.

    `more_secrets` answers for access keys that are not in `credentials` (the keys Hearth
    hands to functions); `payload_claims` are the X-Amz-Content-SHA256 values accepted in
    place of the body's hash (S3's).
    """

    def __init__(
        self,
        credentials: Iterable[Credential],
        *,
        service: str = "lambda",
        max_skew: timedelta = timedelta(minutes=5),
        clock: Callable[[], datetime] = _utc_now,
        more_secrets: SecretLookup | None = None,
        payload_claims: frozenset[str] = frozenset(),
    ) -> None:
        self._secrets = {c.access_key_id: c.secret_access_key for c in credentials}
        self._service = service
        self._max_skew = max_skew
        self._clock = clock
        self._more_secrets = more_secrets
        self._payload_claims = payload_claims

    def known_secret(self, access_key: str) -> str | None:
        """The secret of a key this verifier accepts, None for any other key."""
        secret = self._secrets.get(access_key)
        if secret is None and self._more_secrets is not None:
            secret = self._more_secrets(access_key)
        return secret

    def _secret(self, access_key: str) -> str:
        secret = self.known_secret(access_key)
        if secret is None:
            message = "The security token included in the request is invalid."
            raise LambdaError("UnrecognizedClientException", 403, message)
        return secret

    def check_headers(
        self,
        method: str,
        raw_path: str,
        query_string: str,
        headers: Mapping[str, str],
        *,
        service: str | None = None,
    ) -> str:
        """Every check that needs no body; the access key id, or `LambdaError` (403).

        Run before the body is read, so a client without a known key and a current, well-formed
        `Authorization` header cannot make Hearth buffer a body at all.
        """
        return self._check_headers(raw_path, _lower(headers), service or self._service)[0]

    def verify(
        self,
        method: str,
        raw_path: str,
        query_string: str,
        headers: Mapping[str, str],
        body: bytes,
        *,
        service: str | None = None,
    ) -> str:
        """The access key id that signed the request, for `service` (the verifier's own by
        default); raises `LambdaError` (403) otherwise."""
        service = service or self._service
        lowered = _lower(headers)
        access_key, signed, region = self._check_headers(raw_path, lowered, service)
        secret = self._secret(access_key)
        signed_headers, signature, amz_date = signed
        claimed_hash = lowered.get("x-amz-content-sha256")
        if (
            claimed_hash is not None
            and claimed_hash not in self._payload_claims
            and claimed_hash != hashlib.sha256(body).hexdigest()
        ):
            raise _invalid()  # botocore signs this claim instead of the body: it must be true
        request = AWSRequest(
            method=method,
            url=f"http://hearth.invalid{raw_path}",  # botocore encodes the raw path once more
            headers={name: lowered.get(name, "") for name in signed_headers},
            data=body,
            # Decoded as the router decodes it (parse_qs) so the signature covers what it acts
            # on; botocore re-encodes each pair. botocore accepts a list of pairs (a repeated
            # key must be signed every time); its stubs only admit a Mapping.
            params=cast(Mapping[str, Any], parse_qsl(query_string, keep_blank_values=True)),
        )
        request.context["timestamp"] = amz_date
        signer_class = _S3 if service == "s3" else _ExactHeaders
        signer = signer_class(Credentials(access_key, secret), service, region)
        canonical = signer.canonical_request(request)
        expected = signer.signature(signer.string_to_sign(request, canonical), request)
        if not hmac.compare_digest(expected.encode(), signature.encode()):
            raise _invalid()
        return access_key

    def _check_headers(
        self, raw_path: str, lowered: Mapping[str, str], service: str
    ) -> tuple[str, tuple[list[str], str, str], str]:
        """Access key, (signed header names, signature, X-Amz-Date) and region."""
        if "authorization" not in lowered:  # presigned URLs (X-Amz-Signature) are not supported
            raise LambdaError(
                "MissingAuthenticationTokenException", 403, "Missing Authentication Token"
            )
        credential, signed_headers, signature, amz_date = _parse(lowered["authorization"], lowered)
        names = signed_headers.split(";")
        if "host" not in names:  # unsigned, the request could be replayed to another endpoint
            raise _incomplete(
                "'Host' or ':authority' must be a 'SignedHeader' in the AWS Authorization."
            )
        when = _parse_date(amz_date)
        access_key, region = self._check_scope(credential, amz_date, service)
        self._secret(access_key)  # an unknown key is refused before anything else
        self._check_skew(amz_date, when)
        if "?" in raw_path or "#" in raw_path:  # urlsplit would leave the rest out of signing
            raise _invalid()
        return access_key, (names, signature, amz_date), region

    def verify_presigned(
        self, method: str, raw_path: str, query_string: str, headers: Mapping[str, str]
    ) -> str:
        """The access key id that presigned this URL (X-Amz-Signature in the query)."""
        lowered = {name.lower(): value for name, value in headers.items()}
        pairs = parse_qsl(query_string, keep_blank_values=True)
        query = dict(pairs)
        missing = [
            name
            for name in (
                "X-Amz-Algorithm",
                "X-Amz-Credential",
                "X-Amz-Date",
                "X-Amz-Expires",
                "X-Amz-SignedHeaders",
                "X-Amz-Signature",
            )
            if not query.get(name)
        ]
        if missing or query["X-Amz-Algorithm"] != _ALGORITHM:
            raise LambdaError(
                "AuthorizationQueryParametersError",
                400,
                "Query-string authentication version 4 requires the X-Amz-Algorithm, "
                "X-Amz-Credential, X-Amz-Signature, X-Amz-Date, X-Amz-SignedHeaders, "
                "and X-Amz-Expires parameters.",
            )
        amz_date = query["X-Amz-Date"]
        when = _parse_date(amz_date)
        access_key, region = self._check_scope(query["X-Amz-Credential"], amz_date, self._service)
        secret = self._secret(access_key)
        try:
            expires = int(query["X-Amz-Expires"])
        except ValueError:
            raise _invalid("X-Amz-Expires should be a number") from None
        if not 0 < expires <= _MAX_PRESIGN_SECONDS:
            raise _invalid("X-Amz-Expires must be less than a week (in seconds) that is 604800")
        now = self._clock()
        now = now.astimezone(UTC) if now.tzinfo else now.replace(tzinfo=UTC)
        if now > when + timedelta(seconds=expires):
            raise LambdaError("AccessDenied", 403, "Request has expired")
        if when > now + self._max_skew:
            raise LambdaError("AccessDenied", 403, "Request is not valid yet")
        if "?" in raw_path or "#" in raw_path:
            raise _invalid()
        request = AWSRequest(
            method=method,
            url=f"http://hearth.invalid{raw_path}",
            headers={
                name: lowered.get(name, "") for name in query["X-Amz-SignedHeaders"].split(";")
            },
            params=cast(Mapping[str, Any], [(k, v) for k, v in pairs if k != "X-Amz-Signature"]),
        )
        request.context["timestamp"] = amz_date
        presigned_class = _S3Presigned if self._service == "s3" else _Presigned
        signer = presigned_class(Credentials(access_key, secret), self._service, region)
        canonical = signer.canonical_request(request)
        expected = signer.signature(signer.string_to_sign(request, canonical), request)
        if not hmac.compare_digest(expected.encode(), query["X-Amz-Signature"].encode()):
            raise _invalid()
        return access_key

    def _check_scope(self, credential: str, amz_date: str, expected: str) -> tuple[str, str]:
        """The access key and region of `KEY/DATE/REGION/SERVICE/aws4_request`."""
        scope = credential.rsplit("/", 4)
        if len(scope) != 5 or scope[4] != "aws4_request":
            raise _invalid(
                "Credential should be scoped with a valid terminator: 'aws4_request', "
                f"not '{scope[-1]}'. "
            )
        access_key, date, region, service, _ = scope
        if service != expected:
            raise _invalid(f"Credential should be scoped to correct service: '{expected}'. ")
        if date != amz_date[:8]:
            raise _invalid(
                "Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date "
                f"from HTTP: '{date}' != '{amz_date[:8]}', from '{amz_date}'."
            )
        return access_key, region

    def _check_skew(self, amz_date: str, when: datetime) -> None:
        now = self._clock()
        now = now.astimezone(UTC) if now.tzinfo else now.replace(tzinfo=UTC)
        skew, stamp = self._max_skew, now.strftime(SIGV4_TIMESTAMP)
        minutes = f"{skew.total_seconds() / 60:g} min."
        if when < now - skew:
            raise _invalid(
                f"Signature expired: {amz_date} is now earlier than "
                f"{(now - skew).strftime(SIGV4_TIMESTAMP)} ({stamp} - {minutes})"
            )
        if when > now + skew:
            raise _invalid(
                f"Signature not yet current: {amz_date} is still later than "
                f"{(now + skew).strftime(SIGV4_TIMESTAMP)} ({stamp} + {minutes})"
            )
