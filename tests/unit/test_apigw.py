"""API Gateway's pure parts: routing, 1.0 / 2.0 mapping, authorizer verdicts, the TTL cache,
the event-stream encoder, and the server over the in-memory definitions fake."""

from __future__ import annotations

import asyncio
import json
import struct
import zlib
from typing import Any

import pytest
from botocore.eventstream import EventStreamBuffer

from hearth.arns import ArnFormatter
from hearth.http import eventstream
from hearth.http.apigw import authorizers as auth
from hearth.http.apigw.definitions import (
    Api,
    Authorizer,
    Integration,
    MemoryApiDefinitions,
    Method,
    Resource,
    Route,
)
from hearth.http.apigw.events import ApiContext, header_case, v1_answer, v1_event, v2_event
from hearth.http.apigw.routing import function_arn, match_resource, match_route, match_template
from hearth.http.apigw.server import ApiGatewayServer
from hearth.http.events import BadFunctionResponse, HttpAnswer, HttpRequest, split_prelude
from hearth.http.hosts import ApiTarget, api_target
from hearth.store.memory import MemoryRegistry

PROXY = Method(Integration("AWS_PROXY", "arn:aws:lambda:us-east-1:1:function:f"))


@pytest.mark.parametrize(
    ("template", "path", "params"),
    [
        ("/", "/", {}),
        ("/items", "/items", {}),
        ("/items", "/items/", {}),
        ("/items/{id}", "/items/42", {"id": "42"}),
        ("/items/{id}", "/items/a%20b", {"id": "a b"}),
        ("/{proxy+}", "/a/b/c", {"proxy": "a/b/c"}),
        ("/files/{path+}", "/files/x/y", {"path": "x/y"}),
        ("/items/{id}", "/items", None),
        ("/items/{id}", "/items/1/2", None),
        ("/{proxy+}", "/", None),
        ("/items", "/other", None),
    ],
)
def test_templates(template: str, path: str, params: dict[str, str] | None) -> None:
    found = match_template(template, path)
    assert (found[1] if found else None) == params


def test_the_most_specific_resource_wins() -> None:
    resources = [
        Resource("/{proxy+}", {"ANY": PROXY}),
        Resource("/items/{id}", {"GET": PROXY}),
        Resource("/items/special", {"GET": PROXY}),
    ]
    picked = [match_resource(resources, "GET", p) for p in ("/items/special", "/items/3", "/x/y")]
    assert [p[0].path if p else None for p in picked] == [
        "/items/special",
        "/items/{id}",
        "/{proxy+}",
    ]
    assert match_resource(resources, "POST", "/items/3") is None  # the resource has no POST
    assert match_resource(resources, "POST", "/x") is not None  # ANY


def test_routes_prefer_method_then_specificity_then_default() -> None:
    routes = [
        Route("$default", PROXY),
        Route("ANY /items/{id}", PROXY),
        Route("GET /items/{id}", PROXY),
        Route("GET /items/new", PROXY),
    ]
    keys = [match_route(routes, m, p) for m, p in (("GET", "/items/new"), ("GET", "/items/1"))]
    assert [k[0].key if k else None for k in keys] == ["GET /items/new", "GET /items/{id}"]
    assert match_route(routes, "DELETE", "/items/1")[0].key == "ANY /items/{id}"  # type: ignore[index]
    assert match_route(routes, "GET", "/nothing")[0].key == "$default"  # type: ignore[index]
    assert match_route(routes[1:], "GET", "/nothing") is None


@pytest.mark.parametrize(
    ("uri", "arn"),
    [
        (
            "arn:aws:apigateway:us-east-1:lambda:path/2015-03-31/functions/"
            "arn:aws:lambda:us-east-1:1:function:f/invocations",
            "arn:aws:lambda:us-east-1:1:function:f",
        ),
        (
            "arn:aws:lambda:us-east-1:1:function:f:live",
            "arn:aws:lambda:us-east-1:1:function:f:live",
        ),
        (
            "arn:aws:lambda:us-east-1:1:function:f:${stageVariables.alias}",
            "arn:aws:lambda:us-east-1:1:function:f:prod",
        ),
    ],
)
def test_function_arns(uri: str, arn: str) -> None:
    assert function_arn(uri, {"alias": "prod"}) == arn


def request(**changes: Any) -> HttpRequest:
    values: dict[str, Any] = {
        "method": "GET",
        "raw_path": "/items/1",
        "raw_query": "",
        "headers": (),
        "body": b"",
        "source_ip": "10.0.0.1",
    }
    return HttpRequest(**{**values, **changes})


CONTEXT = ApiContext(
    api_id="abc",
    account_id="123456789012",
    domain_name="abc.execute-api.localhost",
    stage="prod",
    stage_variables={},
    resource="/items/{id}",
    path_parameters={"id": "1"},
    request_id="r",
    time_epoch_ms=0,
)


def test_v1_event_nulls_and_multi_values() -> None:
    event = v1_event(request(), CONTEXT, "/prod/items/1")
    assert (event["headers"], event["multiValueHeaders"], event["queryStringParameters"]) == (
        None,
        None,
        None,
    )
    assert (event["body"], event["stageVariables"]) == (None, None)
    event = v1_event(
        request(raw_query="a=1&a=2", headers=(("x-a", "1"), ("x-a", "2"))), CONTEXT, "/p"
    )
    assert event["headers"] == {"X-A": "2"} and event["multiValueHeaders"] == {"X-A": ["1", "2"]}
    assert event["queryStringParameters"] == {"a": "2"}
    assert event["multiValueQueryStringParameters"] == {"a": ["1", "2"]}
    assert event["requestContext"]["path"] == "/p"


@pytest.mark.parametrize(
    ("body", "content_type", "sent", "encoded"),
    [
        (b"text", "text/plain", "text", False),
        (b"\xff\x00", "application/octet-stream", "/wA=", True),
        (b"utf8 ok", "application/octet-stream", "utf8 ok", False),
    ],
)
def test_v1_bodies(body: bytes, content_type: str, sent: str, encoded: bool) -> None:
    event = v1_event(request(body=body, headers=(("content-type", content_type),)), CONTEXT, "/")
    assert (event["body"], event["isBase64Encoded"]) == (sent, encoded)


def test_header_case() -> None:
    assert [header_case(h) for h in ("content-type", "x-amz-date", "host")] == [
        "Content-Type",
        "X-Amz-Date",
        "Host",
    ]


def test_v2_event_has_route_key_and_parameters() -> None:
    context = ApiContext(**{**CONTEXT.__dict__, "resource": "GET /items/{id}"})
    event = v2_event(request(), context)
    assert event["routeKey"] == "GET /items/{id}" and event["pathParameters"] == {"id": "1"}
    assert event["requestContext"]["routeKey"] == "GET /items/{id}"
    assert "stageVariables" not in event and "body" not in event


JSON_CT = ("Content-Type", "application/json")


@pytest.mark.parametrize(
    ("result", "answer"),
    [
        ({"statusCode": 200}, HttpAnswer(200, [JSON_CT], b"")),
        ({"statusCode": "201", "body": "x"}, HttpAnswer(201, [JSON_CT], b"x")),
        ({"headers": {"a": "b"}}, HttpAnswer(200, [("a", "b"), JSON_CT], b"")),
        (
            {"statusCode": 200, "multiValueHeaders": {"M": ["1"]}, "headers": {"m": "2"}},
            HttpAnswer(200, [("M", "1, 2"), JSON_CT], b""),
        ),
        (
            {"statusCode": 200, "body": "dGVzdA==", "isBase64Encoded": True},
            HttpAnswer(200, [JSON_CT], b"dGVzdA=="),
        ),
    ],
)
def test_v1_answers(result: Any, answer: HttpAnswer) -> None:
    assert v1_answer(json.dumps(result).encode()) == answer


def test_v1_base64_bodies_decode_for_binary_media_types() -> None:
    result = {"statusCode": 200, "body": "dGVzdA==", "isBase64Encoded": True}
    assert v1_answer(json.dumps(result).encode(), ("*/*",)).body == b"test"


@pytest.mark.parametrize(
    "result",
    [
        "just a string",
        {},
        {"statusCode": 200, "wrong": 1},
        {"statusCode": "teapot"},
        {"statusCode": 200, "multiValueHeaders": {"a": "not a list"}},
        [1],
    ],
)
def test_v1_malformed_answers(result: Any) -> None:
    with pytest.raises(BadFunctionResponse):
        v1_answer(json.dumps(result).encode())


# Authorizers --------------------------------------------------------------------------------

TOKEN = Authorizer("a1", "TOKEN", "uri", ("method.request.header.Authorization",))
ARN = "arn:aws:execute-api:us-east-1:1:abc/prod/GET/items/1"


def policy(effect: str, resource: Any = ARN, action: Any = "execute-api:Invoke") -> dict[str, Any]:
    statement = {"Action": action, "Effect": effect, "Resource": resource}
    return {
        "principalId": "p",
        "policyDocument": {"Version": "2012-10-17", "Statement": [statement]},
    }


@pytest.mark.parametrize(
    ("answer", "allowed", "explicit"),
    [
        (policy("Allow"), True, False),
        (policy("Deny"), False, True),
        (policy("Allow", "arn:aws:execute-api:us-east-1:1:abc/prod/*"), True, False),
        (policy("Allow", "arn:aws:execute-api:us-east-1:1:abc/*/POST/*"), False, False),
        (policy("Allow", [ARN, "other"]), True, False),
        (policy("Allow", action="execute-api:*"), True, False),
        (policy("Allow", action="s3:GetObject"), False, False),
        (
            {
                "principalId": "p",
                "policyDocument": {
                    "Statement": [
                        policy("Allow")["policyDocument"]["Statement"][0],
                        policy("Deny", "*")["policyDocument"]["Statement"][0],
                    ]
                },
            },
            False,
            True,
        ),
    ],
)
def test_policy_verdicts(answer: Any, allowed: bool, explicit: bool) -> None:
    verdict = auth.policy_verdict(answer, ARN)
    assert (verdict.allowed, verdict.explicit_deny) == (allowed, explicit)


@pytest.mark.parametrize("answer", [{}, {"policyDocument": "x"}, "allow", {"policyDocument": {}}])
def test_malformed_policies_fail(answer: Any) -> None:
    with pytest.raises(auth.AuthorizerFailed):
        auth.policy_verdict(answer, ARN)


def test_simple_verdicts() -> None:
    assert auth.simple_verdict({"isAuthorized": True, "context": {"a": 1}}).context == {"a": 1}
    assert not auth.simple_verdict({"isAuthorized": False}).allowed
    with pytest.raises(auth.AuthorizerFailed):
        auth.simple_verdict({"isAuthorized": "yes"})


def test_rest_context_values_become_strings() -> None:
    verdict = auth.Verdict(True, principal_id="p", context={"s": "x", "n": 2, "b": False})
    assert auth.rest_authorizer_context(verdict) == {
        "s": "x",
        "n": "2",
        "b": "false",
        "principalId": "p",
        "integrationLatency": 0,
    }
    with pytest.raises(auth.AuthorizerFailed):
        auth.rest_authorizer_context(auth.Verdict(True, context={"nested": {"a": 1}}))


@pytest.mark.parametrize(
    ("sources", "headers", "query", "key"),
    [
        (("method.request.header.Authorization",), (("authorization", "t"),), "", ("t",)),
        (("method.request.header.Authorization",), (), "", None),
        (("method.request.header.Authorization",), (("authorization", ""),), "", None),
        (("$request.querystring.tenant",), (), "tenant=a", ("a",)),
        (
            ("$request.header.X", "$request.querystring.q", "stageVariables.s"),
            (("x", "1"),),
            "q=2",
            ("1", "2", "sv"),
        ),
    ],
)
def test_identity_sources(
    sources: tuple[str, ...], headers: Any, query: str, key: tuple[str, ...] | None
) -> None:
    authorizer = Authorizer("a", "REQUEST", "uri", sources)
    assert auth.identity(authorizer, request(headers=headers, raw_query=query), {"s": "sv"}) == key


def test_cache_keeps_answers_for_their_ttl() -> None:
    cache = auth.VerdictCache()
    cache.put("a", ("t",), {"x": 1}, 10, now=100)
    cache.put("a", ("u",), {"x": 2}, 0, now=100)  # TTL 0: not cached
    assert cache.get("a", ("t",), now=109) == {"x": 1}
    assert cache.get("b", ("t",), now=109) is None
    assert cache.get("a", ("u",), now=100) is None
    assert cache.get("a", ("t",), now=110) is None


# Hosts, the prelude, event-stream framing ----------------------------------------------------


@pytest.mark.parametrize(
    ("host", "path", "target"),
    [
        ("abc123.execute-api.localhost:9070", "/prod/x", ApiTarget("abc123", "/prod/x")),
        ("127.0.0.1:9070", "/execute-api/abc123/prod/x", ApiTarget("abc123", "/prod/x")),
        ("127.0.0.1:9070", "/2015-03-31/functions", None),
        ("abc.execute-api.example.com", "/", None),
    ],
)
def test_api_targets(host: str, path: str, target: ApiTarget | None) -> None:
    assert api_target(host, path) == target


def test_split_prelude() -> None:
    assert split_prelude(b'{"statusCode": 201') is None
    head, rest = split_prelude(b'{"statusCode":201,"headers":{"A":"b"}}' + b"\0" * 8 + b"body")  # type: ignore[misc]
    assert (head.status, head.headers, rest) == (
        201,
        [("a", "b"), ("content-type", "application/octet-stream")],
        b"body",
    )
    with pytest.raises(BadFunctionResponse):
        split_prelude(b"not json" + b"\0" * 8)


def test_event_stream_frames_parse_with_botocore() -> None:
    buffer = EventStreamBuffer()
    buffer.add_data(eventstream.payload_chunk(b"hello") + eventstream.invoke_complete("E", "d"))
    messages: list[Any] = list(buffer)
    assert messages[0].headers[":event-type"] == "PayloadChunk"
    assert messages[0].payload == b"hello"
    assert json.loads(messages[1].payload) == {"ErrorCode": "E", "ErrorDetails": "d"}
    frame = eventstream.payload_chunk(b"")
    total, _headers_length = struct.unpack("!II", frame[:8])
    assert total == len(frame) and struct.unpack("!I", frame[8:12])[0] == zlib.crc32(frame[:8])


# The server over the fake --------------------------------------------------------------------


class _NoInvoker:
    async def invoke(self, *args: Any, **kwargs: Any) -> Any:
        raise AssertionError("nothing should be invoked")


def test_server_errors_without_invoking() -> None:
    api = Api("abc", "rest", {"prod": {}}, resources=(Resource("/items", {"GET": PROXY}),))
    server = ApiGatewayServer(
        MemoryApiDefinitions(api),
        _NoInvoker(),  # type: ignore[arg-type]
        MemoryRegistry(),
        ArnFormatter("us-east-1", "1"),
    )

    async def answer(path: str, method: str = "GET") -> tuple[int, bytes]:
        sent: list[dict[str, Any]] = []

        async def receive() -> dict[str, Any]:
            return {"type": "http.request", "body": b""}

        async def send(message: dict[str, Any]) -> None:
            sent.append(message)

        scope = {"method": method, "headers": [], "query_string": b"", "path": path}
        await server.serve(ApiTarget("abc", path), scope, receive, send)
        return sent[0]["status"], sent[1]["body"]

    assert asyncio.run(answer("/dev/items")) == (403, b'{"message": "Forbidden"}')
    assert asyncio.run(answer("/prod/items", "POST")) == (
        403,
        b'{"message": "Missing Authentication Token"}',
    )
