"""API Gateway in front of functions: APIs created with boto3 on moto's server (the control
plane), served by a real `hearth serve` reading them through botocore, called over HTTP."""

from __future__ import annotations

import http.client
import json
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit

import boto3
import pytest

from tests.integration.conftest import REGION, Server, create_function, make_zip

ACCOUNT = "123456789012"

ECHO = """
import json
def handler(event, context):
    q = event.get("queryStringParameters") or {}
    mode = q.get("mode")
    if mode == "bad":
        return {"statusCode": 200, "wrong": 1}
    if mode == "raise":
        raise ValueError("nope")
    if mode == "multi":
        return {"statusCode": 201, "headers": {"X-One": "a", "Flag": True},
                "multiValueHeaders": {"X-One": ["b"], "X-Two": ["c", "d"]}, "body": "m"}
    return {"statusCode": 200, "headers": {"content-type": "application/json"},
            "body": json.dumps(event)}
"""

AUTHORIZER = """
calls = 0
def handler(event, context):
    global calls
    calls += 1
    token = event.get("authorizationToken")
    if token is None:
        token = (event.get("headers") or {}).get("authorization") or (event.get("headers") or {}).get("Authorization")
    if token == "unauthorized":
        raise Exception("Unauthorized")
    if token == "broken":
        return {"nope": 1}
    if event.get("version") == "2.0" and "routeArn" in event and token in ("yes", "no"):
        return {"isAuthorized": token == "yes", "context": {"user": "ada", "calls": calls}}
    effect = "Allow" if token == "allow" else "Deny"
    arn = event.get("methodArn") or event.get("routeArn")
    return {"principalId": "user-1",
            "policyDocument": {"Version": "2012-10-17", "Statement": [
                {"Action": "execute-api:Invoke", "Effect": effect, "Resource": arn}]},
            "context": {"user": "ada", "calls": calls, "admin": True}}
"""


@pytest.fixture(scope="module")
def hearth(moto: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    server = Server(
        tmp_path_factory.mktemp("apigw-data"),
        ["--aws-endpoint-url", moto],
        env={"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing"},
    ).start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def functions(hearth: Server) -> dict[str, str]:
    client = hearth.client()
    create_function(client, "apigw-echo", make_zip({"app.py": ECHO}))
    create_function(client, "apigw-auth", make_zip({"app.py": AUTHORIZER}))
    create_function(client, "apigw-closed", make_zip({"app.py": ECHO}))
    for name in ("apigw-echo", "apigw-auth"):
        # What SAM and the console add: API Gateway may invoke it for this account's APIs.
        client.add_permission(
            FunctionName=name,
            StatementId="apigateway",
            Action="lambda:InvokeFunction",
            Principal="apigateway.amazonaws.com",
            SourceArn=f"arn:aws:execute-api:{REGION}:{ACCOUNT}:*",
        )
    return {
        name: f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:{name}"
        for name in ("apigw-echo", "apigw-auth", "apigw-closed")
    }


def aws(moto: str, service: str) -> Any:
    session: Any = boto3.session.Session()
    return session.client(
        service,
        endpoint_url=moto,
        region_name=REGION,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )


def lambda_uri(arn: str) -> str:
    return f"arn:aws:apigateway:{REGION}:lambda:path/2015-03-31/functions/{arn}/invocations"


def call(
    hearth: Server,
    api_id: str,
    path: str,
    *,
    method: str = "GET",
    headers: dict[str, str] | None = None,
    body: bytes = b"",
) -> tuple[int, http.client.HTTPMessage, bytes]:
    port = urlsplit(hearth.endpoint).port
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        connection.request(
            method,
            path,
            body=body or None,
            headers={"Host": f"{api_id}.execute-api.localhost:{port}", **(headers or {})},
        )
        response = connection.getresponse()
        return response.status, response.headers, response.read()
    finally:
        connection.close()


@pytest.fixture(scope="module")
def rest_api(moto: str, functions: dict[str, str]) -> str:
    apigw = aws(moto, "apigateway")
    api = apigw.create_rest_api(name="shop")["id"]
    root = apigw.get_resources(restApiId=api)["items"][0]["id"]
    authorizer = apigw.create_authorizer(
        restApiId=api,
        name="token",
        type="TOKEN",
        authorizerUri=lambda_uri(functions["apigw-auth"]),
        identitySource="method.request.header.Authorization",
        authorizerResultTtlInSeconds=300,
    )["id"]
    request_authorizer = apigw.create_authorizer(
        restApiId=api,
        name="request",
        type="REQUEST",
        authorizerUri=lambda_uri(functions["apigw-auth"]),
        identitySource="method.request.header.Authorization,method.request.querystring.tenant",
        authorizerResultTtlInSeconds=0,
    )["id"]

    def method(
        parent: str, part: str, verb: str, function: str = "apigw-echo", **auth: Any
    ) -> None:
        resource = apigw.create_resource(restApiId=api, parentId=parent, pathPart=part)["id"]
        apigw.put_method(
            restApiId=api,
            resourceId=resource,
            httpMethod=verb,
            authorizationType=auth.get("authorizationType", "NONE"),
            **({"authorizerId": auth["authorizerId"]} if "authorizerId" in auth else {}),
        )
        apigw.put_integration(
            restApiId=api,
            resourceId=resource,
            httpMethod=verb,
            type="AWS_PROXY",
            integrationHttpMethod="POST",
            uri=lambda_uri(functions[function]),
        )

    method(root, "{proxy+}", "ANY")
    method(root, "closed", "GET", function="apigw-closed")
    items = apigw.create_resource(restApiId=api, parentId=root, pathPart="items")["id"]
    method(items, "{id}", "GET")
    method(root, "secure", "GET", authorizationType="CUSTOM", authorizerId=authorizer)
    method(root, "tenant", "GET", authorizationType="CUSTOM", authorizerId=request_authorizer)
    apigw.create_deployment(restApiId=api, stageName="prod", variables={"color": "blue"})
    return str(api)


def test_rest_api_proxy_event(hearth: Server, rest_api: str) -> None:
    status, headers, body = call(
        hearth,
        rest_api,
        "/prod/items/42?a=1&a=2&b=x",
        headers={"tEsT-HEADeR": "aValUE", "User-Agent": "test/ua"},
    )
    assert status == 200, body
    event = json.loads(body)
    assert event["resource"] == "/items/{id}" and event["path"] == "/items/42"
    assert event["httpMethod"] == "GET" and event["pathParameters"] == {"id": "42"}
    # Hearth: header names get the usual casing (the HTTP server lower-cases them).
    assert event["headers"]["Test-Header"] == "aValUE" and event["headers"]["Host"]
    assert event["multiValueHeaders"]["Test-Header"] == ["aValUE"]
    assert event["queryStringParameters"] == {"a": "2", "b": "x"}
    assert event["multiValueQueryStringParameters"] == {"a": ["1", "2"], "b": ["x"]}
    assert event["stageVariables"] == {"color": "blue"}
    assert event["body"] is None and event["isBase64Encoded"] is False
    context = event["requestContext"]
    assert (context["stage"], context["path"]) == ("prod", "/prod/items/42")
    assert context["resourcePath"] == "/items/{id}" and context["httpMethod"] == "GET"
    assert context["apiId"] == rest_api and context["accountId"] == ACCOUNT
    assert context["identity"]["userAgent"] == "test/ua" and context["identity"]["user"] is None
    assert context["requestId"] == headers["x-amzn-RequestId"]
    assert "version" not in event


def test_rest_api_greedy_path_and_post_body(hearth: Server, rest_api: str) -> None:
    status, _, body = call(
        hearth,
        rest_api,
        "/prod/a/b/c/",
        method="POST",
        headers={"Content-Type": "application/json"},
        body=b'{"x": 1}',
    )
    event = json.loads(body)
    assert status == 200 and event["resource"] == "/{proxy+}"
    assert event["pathParameters"] == {"proxy": "a/b/c"} and event["path"] == "/a/b/c/"
    assert event["body"] == '{"x": 1}' and event["queryStringParameters"] is None


def test_rest_api_responses_and_errors(hearth: Server, rest_api: str) -> None:
    status, headers, body = call(hearth, rest_api, "/prod/x?mode=multi")
    assert (status, body) == (201, b"m")
    assert headers["X-One"] == "b, a" and headers["X-Two"] == "c, d" and headers["Flag"] == "true"
    assert call(hearth, rest_api, "/prod/x?mode=bad")[:3:2] == (
        502,
        b'{"message": "Internal server error"}',
    )
    assert call(hearth, rest_api, "/prod/x?mode=raise")[0] == 502
    assert call(hearth, rest_api, "/nostage/x")[::2] == (403, b'{"message": "Forbidden"}')
    assert call(hearth, rest_api, "/prod/items/1", method="DELETE")[::2] == (
        403,
        b'{"message": "Missing Authentication Token"}',
    )
    assert call(hearth, "nosuchapi", "/prod/x")[0] == 404


def test_without_permission_api_gateway_cannot_invoke(hearth: Server, rest_api: str) -> None:
    assert call(hearth, rest_api, "/prod/closed")[::2] == (
        500,
        b'{"message": "Internal server error"}',
    )


def test_rest_api_path_form(hearth: Server, rest_api: str) -> None:
    port = urlsplit(hearth.endpoint).port
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    connection.request("GET", f"/execute-api/{rest_api}/prod/items/7")
    response = connection.getresponse()
    assert response.status == 200
    assert json.loads(response.read())["pathParameters"] == {"id": "7"}
    connection.close()


def test_token_authorizer_allow_deny_and_cache(hearth: Server, rest_api: str) -> None:
    assert call(hearth, rest_api, "/prod/secure")[::2] == (401, b'{"message": "Unauthorized"}')
    status, _, body = call(hearth, rest_api, "/prod/secure", headers={"Authorization": "allow"})
    assert status == 200, body
    authorizer = json.loads(body)["requestContext"]["authorizer"]
    assert authorizer["principalId"] == "user-1" and authorizer["user"] == "ada"
    assert authorizer["admin"] == "true"
    first_calls = authorizer["calls"]
    _, _, body = call(hearth, rest_api, "/prod/secure", headers={"Authorization": "allow"})
    assert json.loads(body)["requestContext"]["authorizer"]["calls"] == first_calls  # cached
    assert call(hearth, rest_api, "/prod/secure", headers={"Authorization": "deny"})[::2] == (
        403,
        b'{"message": "User is not authorized to access this resource with an explicit deny"}',
    )
    assert call(hearth, rest_api, "/prod/secure", headers={"Authorization": "unauthorized"})[
        ::2
    ] == (401, b'{"message": "Unauthorized"}')
    assert call(hearth, rest_api, "/prod/secure", headers={"Authorization": "broken"})[0] == 500


def test_request_authorizer_needs_every_identity_source(hearth: Server, rest_api: str) -> None:
    assert call(hearth, rest_api, "/prod/tenant", headers={"Authorization": "allow"})[0] == 401
    status, _, body = call(
        hearth, rest_api, "/prod/tenant?tenant=t1", headers={"Authorization": "allow"}
    )
    assert status == 200, body
    first = json.loads(body)["requestContext"]["authorizer"]["calls"]
    _, _, body = call(
        hearth, rest_api, "/prod/tenant?tenant=t1", headers={"Authorization": "allow"}
    )
    assert json.loads(body)["requestContext"]["authorizer"]["calls"] > first  # TTL 0: no cache


@pytest.fixture(scope="module")
def http_api(moto: str, functions: dict[str, str]) -> str:
    v2 = aws(moto, "apigatewayv2")
    api = v2.create_api(Name="h", ProtocolType="HTTP")["ApiId"]
    v2_integration = v2.create_integration(
        ApiId=api,
        IntegrationType="AWS_PROXY",
        IntegrationUri=functions["apigw-echo"],
        PayloadFormatVersion="2.0",
    )["IntegrationId"]
    v1_integration = v2.create_integration(
        ApiId=api,
        IntegrationType="AWS_PROXY",
        IntegrationUri=functions["apigw-echo"],
        PayloadFormatVersion="1.0",
    )["IntegrationId"]
    simple = v2.create_authorizer(
        ApiId=api,
        Name="simple",
        AuthorizerType="REQUEST",
        AuthorizerUri=lambda_uri(functions["apigw-auth"]),
        IdentitySource=["$request.header.Authorization"],
        AuthorizerPayloadFormatVersion="2.0",
        EnableSimpleResponses=True,
        AuthorizerResultTtlInSeconds=0,
    )["AuthorizerId"]
    policy = v2.create_authorizer(
        ApiId=api,
        Name="policy",
        AuthorizerType="REQUEST",
        AuthorizerUri=lambda_uri(functions["apigw-auth"]),
        IdentitySource=["$request.header.Authorization"],
        AuthorizerPayloadFormatVersion="1.0",
        AuthorizerResultTtlInSeconds=0,
    )["AuthorizerId"]
    target2, target1 = f"integrations/{v2_integration}", f"integrations/{v1_integration}"
    v2.create_route(ApiId=api, RouteKey="GET /items/{id}", Target=target2)
    v2.create_route(ApiId=api, RouteKey="$default", Target=target1)
    v2.create_route(
        ApiId=api,
        RouteKey="GET /simple",
        Target=target2,
        AuthorizationType="CUSTOM",
        AuthorizerId=simple,
    )
    v2.create_route(
        ApiId=api,
        RouteKey="GET /policy",
        Target=target2,
        AuthorizationType="CUSTOM",
        AuthorizerId=policy,
    )
    v2.create_stage(ApiId=api, StageName="$default", AutoDeploy=True)
    v2.create_stage(ApiId=api, StageName="dev", StageVariables={"v": "1"})
    return str(api)


def test_http_api_v2_route(hearth: Server, http_api: str) -> None:
    status, _, body = call(
        hearth, http_api, "/items/9?x=1&x=2", headers={"Cookie": "a=1; b=2", "X-M": "v"}
    )
    assert status == 200, body
    event = json.loads(body)
    assert event["version"] == "2.0" and event["routeKey"] == "GET /items/{id}"
    assert event["rawPath"] == "/items/9" and event["rawQueryString"] == "x=1&x=2"
    assert event["pathParameters"] == {"id": "9"} and event["cookies"] == ["a=1", "b=2"]
    assert event["queryStringParameters"] == {"x": "1,2"} and event["headers"]["x-m"] == "v"
    context = event["requestContext"]
    assert (context["stage"], context["routeKey"], context["apiId"]) == (
        "$default",
        "GET /items/{id}",
        http_api,
    )
    assert "stageVariables" not in event


def test_http_api_default_route_v1_and_named_stage(hearth: Server, http_api: str) -> None:
    status, _, body = call(hearth, http_api, "/dev/anything/here", method="PUT")
    assert status == 200, body
    event = json.loads(body)
    assert event["version"] == "1.0" and event["resource"] == "$default"
    # An HTTP API passes the path as requested, the stage included (as its 2.0 rawPath).
    assert event["path"] == "/dev/anything/here" and event["stageVariables"] == {"v": "1"}
    assert event["requestContext"]["stage"] == "dev"


def test_http_api_authorizers(hearth: Server, http_api: str) -> None:
    assert call(hearth, http_api, "/simple")[::2] == (401, b'{"message": "Unauthorized"}')
    status, _, body = call(hearth, http_api, "/simple", headers={"Authorization": "yes"})
    assert status == 200, body
    assert json.loads(body)["requestContext"]["authorizer"]["lambda"]["user"] == "ada"
    assert call(hearth, http_api, "/simple", headers={"Authorization": "no"})[::2] == (
        403,
        b'{"message": "Forbidden"}',
    )
    status, _, body = call(hearth, http_api, "/policy", headers={"Authorization": "allow"})
    assert status == 200, body
    assert json.loads(body)["requestContext"]["authorizer"]["lambda"]["admin"] is True
    assert call(hearth, http_api, "/policy", headers={"Authorization": "deny"})[0] == 403
