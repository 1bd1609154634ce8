"""Routing by credential scope: which service a request is for."""

from __future__ import annotations

from hearth.services.scope import backend_for, credential_scope

AUTH = (
    "AWS4-HMAC-SHA256 Credential=AKID/20260101/eu-west-1/{}/aws4_request, "
    "SignedHeaders=host;x-amz-date, Signature=abc"
)


def test_signed_requests_name_their_service() -> None:
    scope = credential_scope({"authorization": AUTH.format("S3")}, "")
    assert scope is not None
    assert (scope.access_key, scope.region, scope.service, scope.presigned) == (
        "AKID",
        "eu-west-1",
        "s3",
        False,
    )


def test_presigned_urls_name_it_in_the_query() -> None:
    query = "X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKID%2F20260101%2Fus-east-1%2Fs3%2Faws4_request"
    scope = credential_scope({}, query)
    assert scope is not None and scope.presigned and scope.service == "s3"
    legacy = credential_scope({}, "AWSAccessKeyId=AKID&Expires=1&Signature=x")
    assert legacy is not None and legacy.sigv2 and legacy.service == "s3"


def test_unsigned_and_malformed_requests_have_no_scope() -> None:
    assert credential_scope({}, "") is None
    assert credential_scope({"authorization": "AWS4-HMAC-SHA256 Credential=AKID/x"}, "") is None
    assert credential_scope({"authorization": "Bearer token"}, "") is None


def test_dynamodb_streams_sign_as_dynamodb() -> None:
    assert backend_for("dynamodb", {"x-amz-target": "DynamoDB_20120810.PutItem"}) == "dynamodb"
    streams = {"x-amz-target": "DynamoDBStreams_20120810.GetRecords"}
    assert backend_for("dynamodb", streams) == "dynamodbstreams"
    assert backend_for("lambda", {}) is None
    assert backend_for("ec2", {}) is None
