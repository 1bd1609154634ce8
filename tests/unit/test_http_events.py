"""Payload format 2.0, CORS, URL hosts and the public-URL permission rule: table tests."""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest

from hearth.arns import function_url, port_of
from hearth.http import cors
from hearth.http.access import allows_public_url, allows_service
from hearth.http.events import (
    BadFunctionResponse,
    HttpAnswer,
    HttpRequest,
    RequestContext,
    clf_time,
    is_text,
    url_answer,
    url_event,
)
from hearth.http.hosts import UrlTarget, url_target
from hearth.models import PolicyStatement

ID = "abcdefghijklmnopqrstuvwxyz012345"
CONTEXT = RequestContext(
    api_id=ID, domain_name=f"{ID}.lambda-url.us-east-1.localhost", request_id="r", time_epoch_ms=0
)


def request(**changes: Any) -> HttpRequest:
    values: dict[str, Any] = {
        "method": "GET",
        "raw_path": "/",
        "raw_query": "",
        "headers": (),
        "body": b"",
        "source_ip": "10.0.0.1",
    }
    return HttpRequest(**{**values, **changes})


@pytest.mark.parametrize(
    ("content_type", "text"),
    [
        ("application/json", True),
        ("application/json; charset=utf-8", True),
        ("text/plain", True),
        ("application/vnd.api+json", True),
        ("application/xml", True),
        ("application/javascript", True),
        ("application/octet-stream", False),
        ("multipart/form-data; boundary=x", False),
        ("application/x-www-form-urlencoded", False),
        ("image/png", False),
        (None, False),
    ],
)
def test_text_content_types(content_type: str | None, text: bool) -> None:
    assert is_text(content_type) is text


def test_minimal_event() -> None:
    assert url_event(request(), CONTEXT) == {
        "version": "2.0",
        "routeKey": "$default",
        "rawPath": "/",
        "rawQueryString": "",
        "headers": {},
        "requestContext": {
            "accountId": "anonymous",
            "apiId": ID,
            "domainName": f"{ID}.lambda-url.us-east-1.localhost",
            "domainPrefix": ID,
            "http": {
                "method": "GET",
                "path": "/",
                "protocol": "HTTP/1.1",
                "sourceIp": "10.0.0.1",
                "userAgent": "",
            },
            "requestId": "r",
            "routeKey": "$default",
            "stage": "$default",
            "time": "01/Jan/1970:00:00:00 +0000",
            "timeEpoch": 0,
        },
        "isBase64Encoded": False,
    }


@pytest.mark.parametrize(
    ("headers", "expected_headers", "cookies"),
    [
        ((("A", "1"), ("a", "2")), {"a": "1,2"}, None),
        ((("Cookie", "x=1; y=2"),), {}, ["x=1", "y=2"]),
        ((("cookie", "x=1"), ("COOKIE", "y=2;")), {}, ["x=1", "y=2"]),
        ((("User-Agent", "ua"),), {"user-agent": "ua"}, None),
    ],
)
def test_headers_and_cookies(
    headers: tuple[tuple[str, str], ...], expected_headers: dict[str, str], cookies: Any
) -> None:
    event = url_event(request(headers=headers), CONTEXT)
    assert event["headers"] == expected_headers
    assert event.get("cookies") == cookies


@pytest.mark.parametrize(
    ("raw", "params"),
    [
        ("a=1", {"a": "1"}),
        ("a=1&a=2&b=", {"a": "1,2", "b": ""}),
        ("q=a%20b&r=%2F", {"q": "a b", "r": "/"}),
        ("flag", {"flag": ""}),
    ],
)
def test_query_parameters(raw: str, params: dict[str, str]) -> None:
    event = url_event(request(raw_query=raw), CONTEXT)
    assert event["rawQueryString"] == raw and event["queryStringParameters"] == params


@pytest.mark.parametrize(
    ("content_type", "body", "sent", "encoded"),
    [
        ("application/json", b'{"a": 1}', '{"a": 1}', False),
        ("image/png", b"\x89PNG", base64.b64encode(b"\x89PNG").decode(), True),
        (None, b"abc", base64.b64encode(b"abc").decode(), True),
    ],
)
def test_bodies(content_type: str | None, body: bytes, sent: str, encoded: bool) -> None:
    headers = (("Content-Type", content_type),) if content_type else ()
    event = url_event(request(body=body, headers=headers), CONTEXT)
    assert (event["body"], event["isBase64Encoded"]) == (sent, encoded)


def test_iam_authorizer_and_account() -> None:
    iam = {"accessKey": "AK", "accountId": "111122223333"}
    context = RequestContext(
        api_id=ID,
        domain_name="d",
        request_id="r",
        time_epoch_ms=0,
        account_id="111122223333",
        iam=iam,
    )
    event = url_event(request(), context)
    assert event["requestContext"]["authorizer"] == {"iam": iam}
    assert event["requestContext"]["accountId"] == "111122223333"


def test_clf_time() -> None:
    assert clf_time(1583348638390) == "04/Mar/2020:19:03:58 +0000"


JSON = [("content-type", "application/json")]


@pytest.mark.parametrize(
    ("result", "answer"),
    [
        ({"hello": "world"}, HttpAnswer(200, JSON, b'{"hello":"world"}')),
        ("hello", HttpAnswer(200, JSON, b"hello")),
        (3, HttpAnswer(200, JSON, b"3")),
        (3.1, HttpAnswer(200, JSON, b"3.1")),
        (True, HttpAnswer(200, JSON, b"true")),
        (["hello", 3, True], HttpAnswer(200, JSON, b'["hello",3,true]')),
        (None, HttpAnswer(200, JSON, b"null")),
        ({"statusCode": 200, "body": "body123"}, HttpAnswer(200, JSON, b"body123")),
        ({"statusCode": 204}, HttpAnswer(204, JSON, b"")),
        (
            {"statusCode": 201, "headers": {"X-A": 1, "Content-Type": "text/plain"}, "body": "x"},
            HttpAnswer(201, [("x-a", "1"), ("content-type", "text/plain")], b"x"),
        ),
        (
            {"statusCode": 200, "cookies": ["a=1", "b=2"], "body": "{}"},
            HttpAnswer(200, [*JSON, ("set-cookie", "a=1"), ("set-cookie", "b=2")], b"{}"),
        ),
        (
            {
                "statusCode": 200,
                "body": base64.b64encode(b"\x00\xff").decode(),
                "isBase64Encoded": True,
            },
            HttpAnswer(200, JSON, b"\x00\xff"),
        ),
    ],
)
def test_results_become_answers(result: Any, answer: HttpAnswer) -> None:
    assert url_answer(json.dumps(result).encode()) == answer


@pytest.mark.parametrize(
    "result",
    [
        {"statusCode": "200"},
        {"statusCode": True},
        {"statusCode": 99},
        {"statusCode": 200, "headers": ["a"]},
        {"statusCode": 200, "body": "!!", "isBase64Encoded": True},
    ],
)
def test_invalid_response_descriptions(result: Any) -> None:
    with pytest.raises(BadFunctionResponse):
        url_answer(json.dumps(result).encode())


# CORS -------------------------------------------------------------------------------------

CORS = {
    "AllowOrigins": ["https://a.example"],
    "AllowMethods": ["GET"],
    "AllowHeaders": ["x-h"],
    "ExposeHeaders": ["x-e"],
    "MaxAge": 5,
}


@pytest.mark.parametrize(
    ("config", "origin", "method", "allowed"),
    [
        (CORS, "https://a.example", "GET", "https://a.example"),
        (CORS, "HTTPS://A.EXAMPLE", "get", "HTTPS://A.EXAMPLE"),
        (CORS, "https://b.example", "GET", None),
        (CORS, "https://a.example", "POST", None),
        ({"AllowOrigins": ["*"], "AllowMethods": ["*"]}, "https://x", "PATCH", "*"),
        (
            {"AllowOrigins": ["*"], "AllowMethods": ["*"], "AllowCredentials": True},
            "https://x",
            "PATCH",
            "https://x",
        ),
        ({}, "https://x", "GET", None),
    ],
)
def test_preflight(config: dict[str, Any], origin: str, method: str, allowed: str | None) -> None:
    headers = {"origin": origin, "access-control-request-method": method}
    assert cors.is_preflight("OPTIONS", headers)
    answer = dict(cors.preflight(config, headers).headers)
    assert answer.get("access-control-allow-origin") == allowed


def test_preflight_needs_origin_and_method() -> None:
    assert not cors.is_preflight("OPTIONS", {"origin": "x"})
    assert not cors.is_preflight("GET", {"origin": "x", "access-control-request-method": "GET"})


def test_apply_replaces_the_functions_cors_headers() -> None:
    answer = HttpAnswer(200, [("access-control-allow-origin", "*"), ("x", "1")], b"")
    applied = cors.apply(CORS, "https://a.example", answer)
    assert applied.headers == [
        ("x", "1"),
        ("access-control-allow-origin", "https://a.example"),
        ("access-control-expose-headers", "x-e"),
        ("vary", "Origin"),
    ]
    assert cors.apply(CORS, "https://b.example", HttpAnswer(200, [("x", "1")])).headers == [
        ("x", "1")
    ]


# Hosts and the permission rule -------------------------------------------------------------


@pytest.mark.parametrize(
    ("host", "path", "target"),
    [
        (f"{ID}.lambda-url.us-east-1.localhost:9070", "/a/b", UrlTarget(ID, "/a/b")),
        (f"{ID.upper()}.LAMBDA-URL.us-east-1.localhost", "", UrlTarget(ID, "/")),
        ("127.0.0.1:9070", f"/lambda-url/{ID}/x/y", UrlTarget(ID, "/x/y")),
        ("127.0.0.1:9070", f"/lambda-url/{ID}", UrlTarget(ID, "/")),
        ("127.0.0.1:9070", "/2015-03-31/functions", None),
        ("127.0.0.1:9070", "/lambda-url/short/x", None),
        (f"{ID}.lambda-url.us-east-1.example.com", "/", None),
    ],
)
def test_url_targets(host: str, path: str, target: UrlTarget | None) -> None:
    assert url_target(host, path) == target


def test_function_url_and_ports() -> None:
    assert (
        function_url(ID, "eu-west-1", 9070) == f"http://{ID}.lambda-url.eu-west-1.localhost:9070/"
    )
    assert function_url(ID, "eu-west-1", None) == f"http://{ID}.lambda-url.eu-west-1.localhost/"
    assert [port_of(h) for h in ("a:1", "a", "[::1]:2", "[::1]")] == [1, None, 2, None]


def statement(**fields: Any) -> PolicyStatement:
    base = {"Effect": "Allow", "Principal": "*", "Action": "lambda:InvokeFunctionUrl"}
    return PolicyStatement("s", {**base, **fields})


@pytest.mark.parametrize(
    ("statements", "public"),
    [
        ([], False),
        ([statement()], True),
        ([statement(Condition={"StringEquals": {"lambda:FunctionUrlAuthType": "NONE"}})], True),
        ([statement(Condition={"StringEquals": {"lambda:FunctionUrlAuthType": "AWS_IAM"}})], False),
        ([statement(Action="lambda:InvokeFunction")], False),
        ([statement(Action="lambda:*")], True),
        ([statement(Principal={"AWS": "arn:aws:iam::1:root"})], False),
        ([statement(Principal={"AWS": "*"})], True),
        ([statement(Effect="Deny")], False),
    ],
)
def test_public_url_rule(statements: list[PolicyStatement], public: bool) -> None:
    assert allows_public_url(statements) is public


SOURCE = "arn:aws:execute-api:us-east-1:123456789012:abc/prod/GET/items"


def service_statement(**fields: Any) -> PolicyStatement:
    base = {
        "Effect": "Allow",
        "Principal": {"Service": "apigateway.amazonaws.com"},
        "Action": "lambda:InvokeFunction",
    }
    return PolicyStatement("s", {**base, **fields})


@pytest.mark.parametrize(
    ("statement", "allowed"),
    [
        (service_statement(), True),
        (service_statement(Principal={"Service": "sns.amazonaws.com"}), False),
        (service_statement(Action="lambda:InvokeFunctionUrl"), False),
        (
            service_statement(
                Condition={"ArnLike": {"AWS:SourceArn": "arn:aws:execute-api:us-east-1:*:abc/*"}}
            ),
            True,
        ),
        (
            service_statement(
                Condition={"ArnLike": {"AWS:SourceArn": "arn:aws:execute-api:us-east-1:*:xyz/*"}}
            ),
            False,
        ),
        (service_statement(Condition={"StringEquals": {"AWS:SourceAccount": "1"}}), False),
        (service_statement(Effect="Deny"), False),
    ],
)
def test_service_permission_rule(statement: PolicyStatement, allowed: bool) -> None:
    assert (
        allows_service([statement], "apigateway.amazonaws.com", SOURCE, "123456789012") is allowed
    )
