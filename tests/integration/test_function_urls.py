"""Function URLs against a real `hearth serve`: boto3 for the configs, http.client and curl
for the calls, by host name and by path."""

from __future__ import annotations

import base64
import http.client
import json
import subprocess
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit

import pytest
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from botocore.exceptions import ClientError

from tests.integration.conftest import (
    REGION,
    Server,
    aws,
    create_function,
    lambda_client,
    make_zip,
)
from tests.integration.test_functions import error_of

HANDLER = """
import base64, json, time

def handler(event, context):
    mode = (event.get("queryStringParameters") or {}).get("mode", "echo")
    if mode == "raise":
        raise ValueError("boom")
    if mode == "binary":
        return {"statusCode": 201, "headers": {"Content-Type": "image/png", "X-Count": 3},
                "cookies": ["a=1", "b=2; Path=/"],
                "body": base64.b64encode(b"\\x89PNG\\x00\\xff").decode(), "isBase64Encoded": True}
    if mode == "plain":
        return {"hello": "world"}
    if mode == "string":
        return "hello"
    if mode == "bad":
        return {"statusCode": "teapot"}
    if mode == "cors":
        return {"statusCode": 200, "headers": {"Access-Control-Allow-Origin": "https://evil"},
                "body": "ok"}
    if mode == "version":
        return context.function_version
    return {"statusCode": 200, "body": json.dumps(event)}
"""

PUBLIC = {
    "StatementId": "url",
    "Action": "lambda:InvokeFunctionUrl",
    "Principal": "*",
    "FunctionUrlAuthType": "NONE",
}


def call(
    url: str,
    path: str = "/",
    *,
    method: str = "GET",
    headers: list[tuple[str, str]] | None = None,
    body: bytes | None = None,
) -> tuple[int, http.client.HTTPMessage, bytes]:
    """One request to a function URL; its host is sent as given, the connection goes to the
    loopback port (as `*.localhost` resolves)."""
    parts = urlsplit(url)
    connection = http.client.HTTPConnection("127.0.0.1", parts.port or 80, timeout=30)
    try:
        connection.putrequest(method, path, skip_host=True, skip_accept_encoding=True)
        connection.putheader("Host", parts.netloc)
        for name, value in headers or []:
            connection.putheader(name, value)
        connection.putheader("Content-Length", str(len(body or b"")))
        connection.endheaders(body)
        response = connection.getresponse()
        return response.status, response.headers, response.read()
    finally:
        connection.close()


@pytest.fixture
def url_fn(client: Any, fn_name: str) -> str:
    create_function(client, fn_name, make_zip({"app.py": HANDLER}))
    return fn_name


@pytest.fixture
def public_url(client: Any, url_fn: str) -> str:
    url: str = client.create_function_url_config(FunctionName=url_fn, AuthType="NONE")[
        "FunctionUrl"
    ]
    client.add_permission(FunctionName=url_fn, **PUBLIC)
    return url


# The control plane ------------------------------------------------------------------------


def test_url_config_lifecycle(client: Any, url_fn: str, server: Server) -> None:
    created = client.create_function_url_config(FunctionName=url_fn, AuthType="NONE")
    assert created["ResponseMetadata"]["HTTPStatusCode"] == 201
    arn = f"arn:aws:lambda:{REGION}:123456789012:function:{url_fn}"
    assert created["FunctionArn"] == arn
    assert "InvokeMode" not in created and "LastModifiedTime" not in created
    url = created["FunctionUrl"]
    port = urlsplit(server.endpoint).port
    assert url.startswith("http://") and url.endswith(f".lambda-url.{REGION}.localhost:{port}/")
    with pytest.raises(ClientError) as exc:
        client.create_function_url_config(FunctionName=url_fn, AuthType="NONE")
    assert error_of(exc) == (
        "ResourceConflictException",
        409,
        f"Failed to create function url config for [functionArn = {arn}]. Error message:  "
        "FunctionUrlConfig exists for this Lambda function",
    )
    got = client.get_function_url_config(FunctionName=url_fn)
    assert (got["FunctionUrl"], got["AuthType"], got["InvokeMode"]) == (url, "NONE", "BUFFERED")
    assert got["CreationTime"] == got["LastModifiedTime"] == created["CreationTime"]
    cors = {"AllowOrigins": ["https://example.com"], "AllowMethods": ["GET"], "MaxAge": 60}
    updated = client.update_function_url_config(FunctionName=url_fn, AuthType="AWS_IAM", Cors=cors)
    assert (updated["AuthType"], updated["Cors"], updated["FunctionUrl"]) == ("AWS_IAM", cors, url)
    assert "InvokeMode" not in updated and updated["LastModifiedTime"] >= got["LastModifiedTime"]
    client.publish_version(FunctionName=url_fn)
    client.create_alias(FunctionName=url_fn, Name="live", FunctionVersion="1")
    aliased = client.create_function_url_config(
        FunctionName=url_fn, Qualifier="live", AuthType="NONE", InvokeMode="BUFFERED"
    )
    assert aliased["FunctionArn"] == f"{arn}:live" and aliased["InvokeMode"] == "BUFFERED"
    assert aliased["FunctionUrl"] != url
    listed = client.list_function_url_configs(FunctionName=url_fn)["FunctionUrlConfigs"]
    assert [c["FunctionArn"] for c in listed] == [arn, f"{arn}:live"]
    first = client.list_function_url_configs(FunctionName=url_fn, MaxItems=1)
    second = client.list_function_url_configs(FunctionName=url_fn, Marker=first["NextMarker"])
    assert [c["FunctionArn"] for c in first["FunctionUrlConfigs"] + second["FunctionUrlConfigs"]]
    assert "NextMarker" not in second and len(second["FunctionUrlConfigs"]) == 1
    assert (
        client.delete_function_url_config(FunctionName=url_fn)["ResponseMetadata"]["HTTPStatusCode"]
        == 204
    )
    with pytest.raises(ClientError) as exc:
        client.get_function_url_config(FunctionName=url_fn)
    assert error_of(exc) == (
        "ResourceNotFoundException",
        404,
        "The resource you requested does not exist.",
    )
    # The alias's URL stays.
    assert client.get_function_url_config(FunctionName=url_fn, Qualifier="live")["FunctionUrl"]
    client.delete_function(FunctionName=url_fn)
    status, _, _ = call(aliased["FunctionUrl"])
    assert status == 403


QUALIFIER_PATTERN = r"((?!^\d+$)^[0-9a-zA-Z-_]+$)"


@pytest.mark.parametrize(
    ("operation", "kwargs", "expected"),
    [
        (
            "create_function_url_config",
            {"FunctionName": "absent-fn", "AuthType": "NONE"},
            ("ResourceNotFoundException", 404, "Function does not exist"),
        ),
        (
            "get_function_url_config",
            {"FunctionName": "absent-fn"},
            ("ResourceNotFoundException", 404, "The resource you requested does not exist."),
        ),
        (
            "update_function_url_config",
            {"FunctionName": "absent-fn", "AuthType": "NONE"},
            ("ResourceNotFoundException", 404, "Function does not exist"),
        ),
        (
            "delete_function_url_config",
            {"FunctionName": "absent-fn"},
            ("ResourceNotFoundException", 404, "The resource you requested does not exist."),
        ),
        (
            "list_function_url_configs",
            {"FunctionName": "absent-fn"},
            ("ResourceNotFoundException", 404, "Function does not exist"),
        ),
        (
            "get_function_url_config",
            {"FunctionName": "absent-fn", "Qualifier": "1"},
            (
                "ValidationException",
                400,
                "1 validation error detected: Value '1' at 'qualifier' failed to satisfy "
                f"constraint: Member must satisfy regular expression pattern: {QUALIFIER_PATTERN}",
            ),
        ),
        (
            "create_function_url_config",
            {"FunctionName": "absent-fn", "Qualifier": "$LATEST", "AuthType": "NONE"},
            (
                "ValidationException",
                400,
                "1 validation error detected: Value '$LATEST' at 'qualifier' failed to satisfy "
                f"constraint: Member must satisfy regular expression pattern: {QUALIFIER_PATTERN}",
            ),
        ),
        (
            "get_function_url_config",
            {"FunctionName": "absent-fn:one", "Qualifier": "two"},
            (
                "InvalidParameterValueException",
                400,
                "The derived qualifier from the function name does not match the specified "
                "qualifier.",
            ),
        ),
    ],
)
def test_url_config_errors(
    raw_client: Any, operation: str, kwargs: dict[str, Any], expected: tuple[str, int, str]
) -> None:
    with pytest.raises(ClientError) as exc:
        getattr(raw_client, operation)(**kwargs)
    assert error_of(exc) == expected


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        (
            {"AuthType": "BASIC"},
            "1 validation error detected: Value 'BASIC' at 'authType' failed to satisfy "
            "constraint: Member must satisfy enum value set: [AWS_IAM, NONE]",
        ),
        (
            {"AuthType": "NONE", "InvokeMode": "UNKNOWN"},
            "1 validation error detected: Value 'UNKNOWN' at 'invokeMode' failed to satisfy "
            "constraint: Member must satisfy enum value set: [RESPONSE_STREAM, BUFFERED]",
        ),
        (
            {"AuthType": "NONE", "Cors": {"MaxAge": 86401}},
            "1 validation error detected: Value '86401' at 'cors.maxAge' failed to satisfy "
            "constraint: Member must have value less than or equal to 86400",
        ),
        (
            {"AuthType": "NONE", "Cors": {"AllowMethods": ["OPTIONS"]}},
            "1 validation error detected: Value '[OPTIONS]' at 'cors.allowMethods' failed to "
            "satisfy constraint: Member must satisfy constraint: [Member must have length less "
            "than or equal to 6, Member must have length greater than or equal to 0, Member "
            "must satisfy regular expression pattern: .*]",
        ),
    ],
)
def test_invalid_url_configs_change_nothing(
    raw_client: Any, url_fn: str, kwargs: dict[str, Any], message: str
) -> None:
    with pytest.raises(ClientError) as exc:
        raw_client.create_function_url_config(FunctionName=url_fn, **kwargs)
    # The API edge's model checker answers these first; it words the constraint from
    # botocore's model (enum values in the model's order), so only the field is compared.
    code, status, got = error_of(exc)
    field = message.split(" at '", 1)[1].split("'", 1)[0]
    assert (code, status) == ("ValidationException", 400) and f"at '{field}'" in got
    assert raw_client.list_function_url_configs(FunctionName=url_fn)["FunctionUrlConfigs"] == []


def test_missing_auth_type_and_malformed_body(server: Server, url_fn: str) -> None:
    path = f"/2021-10-31/functions/{url_fn}/url"
    status, headers, body = call(server.endpoint, path, method="POST", body=b"{}")
    assert (status, headers["x-amzn-ErrorType"]) == (400, "ValidationException")
    assert "Value null at 'authType' failed to satisfy constraint" in json.loads(body)["message"]
    status, headers, _ = call(server.endpoint, path, method="POST", body=b"{nope")
    assert (status, headers["x-amzn-ErrorType"]) == (400, "InvalidRequestContentException")
    status, headers, _ = call(
        server.endpoint, path, method="POST", body=b'{"AuthType":"NONE","Cors":{"MaxAge":"x"}}'
    )
    # A mistyped member: the model checker's SerializationException, as AWS's own edge.
    assert (status, headers["x-amzn-ErrorType"]) == (400, "SerializationException")


# Calling a URL ----------------------------------------------------------------------------


def test_without_the_public_permission_a_url_is_forbidden(client: Any, url_fn: str) -> None:
    url = client.create_function_url_config(FunctionName=url_fn, AuthType="NONE")["FunctionUrl"]
    status, headers, body = call(url)
    assert (status, headers["x-amzn-ErrorType"]) == (403, "AccessDeniedException")
    assert json.loads(body) == {
        "Message": "Forbidden. For troubleshooting Function URL authorization issues, see: "
        "https://docs.aws.amazon.com/lambda/latest/dg/urls-auth.html"
    }
    # A permission for signed calls only does not open it either.
    client.add_permission(**{**PUBLIC, "FunctionUrlAuthType": "AWS_IAM"}, FunctionName=url_fn)
    assert call(url)[0] == 403
    client.add_permission(**{**PUBLIC, "StatementId": "public"}, FunctionName=url_fn)
    assert call(url)[0] == 200


def test_event_is_payload_format_2(public_url: str) -> None:
    status, headers, body = call(
        public_url,
        "/pa%2Fth/1?mode=echo&multi=a&multi=b%2Fc&empty=",
        method="POST",
        headers=[
            ("Content-Type", "application/json"),
            ("X-Repeated", "one"),
            ("x-repeated", "two"),
            ("Extra-Headers", "With WeiRd CapS"),
            ("Cookie", "c1=v1; c2=v2"),
            ("User-Agent", "test/echo"),
        ],
        body=b'{"foo": "bar"}',
    )
    assert status == 200, body
    event = json.loads(body)
    url_id = urlsplit(public_url).hostname.split(".")[0]  # type: ignore[union-attr]
    assert event["version"] == "2.0" and event["routeKey"] == "$default"
    assert event["rawPath"] == "/pa%2Fth/1"
    assert event["rawQueryString"] == "mode=echo&multi=a&multi=b%2Fc&empty="
    assert event["queryStringParameters"] == {"mode": "echo", "multi": "a,b/c", "empty": ""}
    assert event["cookies"] == ["c1=v1", "c2=v2"]
    assert "cookie" not in event["headers"]
    assert event["headers"]["x-repeated"] == "one,two"
    assert event["headers"]["extra-headers"] == "With WeiRd CapS"
    assert event["headers"]["host"] == urlsplit(public_url).netloc
    assert event["headers"]["x-forwarded-for"] == "127.0.0.1"
    assert event["headers"]["x-forwarded-proto"] == "http"
    assert event["body"] == '{"foo": "bar"}' and event["isBase64Encoded"] is False
    context = event["requestContext"]
    assert context["accountId"] == "anonymous" and context["apiId"] == url_id
    assert context["domainName"] == f"{url_id}.lambda-url.{REGION}.localhost"
    assert context["domainPrefix"] == url_id
    assert context["http"] == {
        "method": "POST",
        "path": "/pa%2Fth/1",
        "protocol": "HTTP/1.1",
        "sourceIp": "127.0.0.1",
        "userAgent": "test/echo",
    }
    assert context["requestId"] == headers["x-amzn-RequestId"]
    assert (context["routeKey"], context["stage"]) == ("$default", "$default")
    assert isinstance(context["timeEpoch"], int) and context["time"].endswith(" +0000")
    assert "authorizer" not in context


def test_binary_body_and_the_path_form(server: Server, public_url: str) -> None:
    url_id = urlsplit(public_url).hostname.split(".")[0]  # type: ignore[union-attr]
    raw = bytes(range(256))
    status, _, body = call(
        server.endpoint,
        f"/lambda-url/{url_id}/upload",
        method="PUT",
        headers=[("Content-Type", "application/octet-stream")],
        body=raw,
    )
    assert status == 200
    event = json.loads(body)
    assert event["rawPath"] == "/upload" and event["rawQueryString"] == ""
    assert "queryStringParameters" not in event and "cookies" not in event
    assert event["isBase64Encoded"] is True and base64.b64decode(event["body"]) == raw
    status, _, body = call(server.endpoint, f"/lambda-url/{url_id}")
    assert status == 200 and json.loads(body)["rawPath"] == "/"
    assert "body" not in json.loads(body) and json.loads(body)["isBase64Encoded"] is False


def test_responses_map_as_aws_maps_them(public_url: str) -> None:
    status, headers, body = call(public_url, "/?mode=binary")
    assert (status, body) == (201, b"\x89PNG\x00\xff")
    assert headers["content-type"] == "image/png" and headers["x-count"] == "3"
    assert headers.get_all("set-cookie") == ["a=1", "b=2; Path=/"]
    status, headers, body = call(public_url, "/?mode=plain")
    assert (status, headers["content-type"], body) == (
        200,
        "application/json",
        b'{"hello":"world"}',
    )
    assert call(public_url, "/?mode=string")[2] == b"hello"
    status, _, body = call(public_url, "/?mode=raise")
    assert (status, body) == (502, b"Internal Server Error")
    assert call(public_url, "/?mode=bad")[0] == 502


def test_oversized_body_is_413(public_url: str) -> None:
    status, headers, body = call(public_url, "/", method="POST", body=b"x" * (6 * 1024 * 1024 + 1))
    assert (status, headers["x-amzn-ErrorType"]) == (413, "RequestEntityTooLargeException")
    assert "Request must be smaller than 6291456 bytes" in json.loads(body)["Message"]


def test_throttled_url_is_429(client: Any, url_fn: str, public_url: str) -> None:
    client.put_function_concurrency(FunctionName=url_fn, ReservedConcurrentExecutions=0)
    status, headers, _ = call(public_url)
    assert (status, headers["x-amzn-ErrorType"]) == (429, "TooManyRequestsException")


def test_unknown_url_is_forbidden(server: Server) -> None:
    port = urlsplit(server.endpoint).port
    status, _, _ = call(f"http://{'0' * 32}.lambda-url.{REGION}.localhost:{port}/")
    assert status == 403
    assert call(server.endpoint, f"/lambda-url/{'0' * 32}/x")[0] == 403


def test_cors_preflight_and_headers(client: Any, url_fn: str) -> None:
    cors = {
        "AllowOrigins": ["https://app.example"],
        "AllowMethods": ["GET", "POST"],
        "AllowHeaders": ["x-custom"],
        "ExposeHeaders": ["x-count"],
        "MaxAge": 300,
        "AllowCredentials": True,
    }
    url = client.create_function_url_config(FunctionName=url_fn, AuthType="NONE", Cors=cors)[
        "FunctionUrl"
    ]
    client.add_permission(FunctionName=url_fn, **PUBLIC)
    preflight = [("Origin", "https://app.example"), ("Access-Control-Request-Method", "POST")]
    status, headers, body = call(url, "/?mode=raise", method="OPTIONS", headers=preflight)
    assert status == 200 and body == b""  # answered by Hearth: the function would have failed
    assert headers["access-control-allow-origin"] == "https://app.example"
    assert headers["access-control-allow-methods"] == "GET,POST"
    assert headers["access-control-allow-headers"] == "x-custom"
    assert headers["access-control-max-age"] == "300"
    assert headers["access-control-allow-credentials"] == "true"
    other = [("Origin", "https://evil.example"), ("Access-Control-Request-Method", "POST")]
    status, headers, _ = call(url, "/", method="OPTIONS", headers=other)
    assert status == 200 and "access-control-allow-origin" not in headers
    status, headers, body = call(url, "/?mode=cors", headers=[("Origin", "https://app.example")])
    assert (status, body) == (200, b"ok")
    assert headers.get_all("access-control-allow-origin") == ["https://app.example"]
    assert headers["access-control-expose-headers"] == "x-count"
    _, headers, _ = call(url, "/?mode=cors", headers=[("Origin", "https://evil.example")])
    assert "access-control-allow-origin" not in headers


def sign(url: str, path: str, key: str, secret: str) -> list[tuple[str, str]]:
    request = AWSRequest(method="GET", url=url.rstrip("/") + path)
    SigV4Auth(Credentials(key, secret), "lambda", REGION).add_auth(request)
    return [(k, v) for k, v in request.headers.items() if k.lower() != "host"]


def test_iam_url_needs_a_signature(client: Any, url_fn: str) -> None:
    url = client.create_function_url_config(FunctionName=url_fn, AuthType="AWS_IAM")["FunctionUrl"]
    assert call(url)[0] == 403
    status, _, body = call(url, "/?mode=echo", headers=sign(url, "/?mode=echo", "AKIDX", "s"))
    assert status == 200, body
    iam = json.loads(body)["requestContext"]["authorizer"]["iam"]
    assert iam["accessKey"] == "AKIDX" and iam["accountId"] == "123456789012"


def test_alias_url_runs_the_alias_and_dies_with_it(client: Any, url_fn: str) -> None:
    client.publish_version(FunctionName=url_fn)
    client.create_alias(FunctionName=url_fn, Name="live", FunctionVersion="1")
    url = client.create_function_url_config(FunctionName=url_fn, Qualifier="live", AuthType="NONE")[
        "FunctionUrl"
    ]
    client.add_permission(FunctionName=url_fn, Qualifier="live", **PUBLIC)
    assert call(url, "/?mode=version")[2] == b"1"
    client.delete_alias(FunctionName=url_fn, Name="live")
    assert call(url, "/?mode=version")[0] == 403


def test_curl_reaches_the_host_name(public_url: str) -> None:
    result = subprocess.run(
        ["curl", "-sS", "-i", f"{public_url}?mode=string"],
        capture_output=True,
        text=True,
        timeout=30,
        check=True,
    )
    assert result.stdout.startswith("HTTP/1.1 200") and result.stdout.endswith("\n\nhello")


KEY, SECRET = "AKIDURLTEST", "url-secret"


@pytest.fixture(scope="module")
def secured(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    server = Server(
        tmp_path_factory.mktemp("secured-urls"),
        extra_args=["--access-key-id", KEY],
        env={"HEARTH_SECRET_ACCESS_KEY": SECRET},
    ).start()
    yield server
    server.stop()


def test_iam_url_verifies_the_signature(secured: Server) -> None:
    client = lambda_client(secured.endpoint, key=KEY, secret=SECRET)
    create_function(client, "iam-url", make_zip({"app.py": HANDLER}))
    url = client.create_function_url_config(FunctionName="iam-url", AuthType="AWS_IAM")[
        "FunctionUrl"
    ]
    status, _, body = call(url, "/?mode=string", headers=sign(url, "/?mode=string", KEY, SECRET))
    assert (status, body) == (200, b"hello")
    status, headers, body = call(
        url, "/?mode=string", headers=sign(url, "/?mode=string", KEY, "wrong")
    )
    assert (status, headers["x-amzn-ErrorType"]) == (403, "InvalidSignatureException")
    status, headers, _ = call(
        url, "/?mode=string", headers=sign(url, "/?mode=string", "AKIDOTHER", SECRET)
    )
    assert (status, headers["x-amzn-ErrorType"]) == (403, "UnrecognizedClientException")
    # The signature covers the query: a changed one does not verify.
    signed = sign(url, "/?mode=string", KEY, SECRET)
    assert call(url, "/?mode=plain", headers=signed)[0] == 403


def test_aws_cli_creates_a_url_curl_calls(server: Server, client: Any, url_fn: str) -> None:
    created = json.loads(
        aws(
            server.endpoint,
            "create-function-url-config",
            "--function-name",
            url_fn,
            "--auth-type",
            "NONE",
        ).stdout
    )
    aws(
        server.endpoint,
        "add-permission",
        "--function-name",
        url_fn,
        "--statement-id",
        "url",
        "--action",
        "lambda:InvokeFunctionUrl",
        "--principal",
        "*",
        "--function-url-auth-type",
        "NONE",
    )
    got = json.loads(
        aws(server.endpoint, "get-function-url-config", "--function-name", url_fn).stdout
    )
    assert got["FunctionUrl"] == created["FunctionUrl"] and got["InvokeMode"] == "BUFFERED"
    result = subprocess.run(
        ["curl", "-sS", "-b", "session=abc", f"{created['FunctionUrl']}x?mode=echo"],
        capture_output=True,
        text=True,
        timeout=30,
        check=True,
    )
    event = json.loads(result.stdout)
    assert event["rawPath"] == "/x" and event["cookies"] == ["session=abc"]
    assert event["headers"]["user-agent"].startswith("curl/")
