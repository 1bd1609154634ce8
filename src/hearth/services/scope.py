"""Which AWS service a request is for: its SigV4 credential scope, read without trusting it.

A signed request names its service in `Authorization: AWS4-HMAC-SHA256 Credential=KEY/DATE/
REGION/SERVICE/aws4_request, ...`; a presigned URL in its `X-Amz-Credential` query parameter.
Verifying the signature is the gateway's job; this only routes.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import parse_qs

# Signing names Hearth answers itself.
HEARTH_SERVICES = frozenset({"lambda", "logs", "monitoring"})

# Signing name → moto's backend name, for the services the embedded implementation serves.
EMBEDDED_BACKENDS: Mapping[str, str] = {
    "s3": "s3",
    "dynamodb": "dynamodb",
    "sns": "sns",
    "sqs": "sqs",
    "kinesis": "kinesis",
    "events": "events",
    "sts": "sts",
    "iam": "iam",
    "secretsmanager": "secretsmanager",
    "ssm": "ssm",
    "scheduler": "scheduler",
    # REST APIs; HTTP APIs sign with the same name and are told apart by their /v2/ paths.
    "apigateway": "apigateway",
}

# Wire protocol per signing name: how an error must be written for that service's SDK.
PROTOCOLS: Mapping[str, str] = {
    "s3": "rest-xml",
    "dynamodb": "json",
    "sns": "query",
    "sqs": "json",
    "kinesis": "json",
    "events": "json",
    "sts": "query",
    "iam": "query",
    "secretsmanager": "json",
    "ssm": "json",
    "scheduler": "rest-json",
}

_CREDENTIAL = re.compile(r"Credential=([^,\s]+)")


@dataclass(frozen=True)
class CredentialScope:
    access_key: str
    region: str
    # The SigV4 signing name, lower case ("s3", "dynamodb", "lambda"...).
    service: str
    presigned: bool
    # S3's legacy query signature (AWSAccessKeyId / Signature / Expires), not SigV4.
    sigv2: bool = False


def credential_scope(headers: Mapping[str, str], query_string: str) -> CredentialScope | None:
    """The scope a request claims, or None when it is unsigned or the scope is malformed.

    `headers` have lower-case names.
    """
    presigned = False
    credential: str | None = None
    auth = headers.get("authorization")
    if auth is not None:
        found = _CREDENTIAL.search(auth)
        credential = found.group(1) if found else None
    elif "x-amz-credential" in query_string.lower():
        query = {k.lower(): v for k, v in parse_qs(query_string, keep_blank_values=True).items()}
        values = query.get("x-amz-credential")
        credential = values[0] if values else None
        presigned = True
    if credential is None:
        if "AWSAccessKeyId=" in query_string and "Signature=" in query_string:
            keys = parse_qs(query_string, keep_blank_values=True).get("AWSAccessKeyId", [""])
            return CredentialScope(keys[0], "", "s3", presigned=True, sigv2=True)
        return None
    parts = credential.rsplit("/", 4)
    if len(parts) != 5:
        return None
    access_key, _, region, service, _ = parts
    return CredentialScope(access_key, region, service.lower(), presigned)


def backend_for(service: str, headers: Mapping[str, str], raw_path: str = "") -> str | None:
    """moto's backend for an embedded service's request, None for services not embedded.

    DynamoDB Streams signs as `dynamodb` and differs only in its X-Amz-Target prefix;
    API Gateway's v2 (HTTP APIs) signs as `apigateway` and differs only in its paths.
    """
    if service == "dynamodb" and headers.get("x-amz-target", "").startswith("DynamoDBStreams"):
        return "dynamodbstreams"
    if service == "apigateway" and raw_path.startswith("/v2/"):
        return "apigatewayv2"
    return EMBEDDED_BACKENDS.get(service)
