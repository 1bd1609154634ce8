"""API Gateway with nothing but `hearth serve`: the API is defined through the embedded
services on Hearth's own port (boto3's apigateway / apigatewayv2 clients pointed at Hearth)
and served at its execute-api URL by the same server."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import boto3
import pytest

from tests.integration.async_helpers import wait_for
from tests.integration.conftest import REGION, Server, create_function, make_zip
from tests.integration.test_api_gateway import ACCOUNT, ECHO, call, lambda_uri


@pytest.fixture(scope="module")
def hearth(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    server = Server(tmp_path_factory.mktemp("apigw-embedded")).start()
    yield server
    server.stop()


def aws(hearth: Server, service: str) -> Any:
    session: Any = boto3.session.Session()
    return session.client(
        service,
        endpoint_url=hearth.endpoint,
        region_name=REGION,
        aws_access_key_id="hearth-test",
        aws_secret_access_key="hearth-test",
    )


@pytest.fixture(scope="module")
def echo(hearth: Server) -> str:
    client = hearth.client()
    create_function(client, "embedded-echo", make_zip({"app.py": ECHO}))
    client.add_permission(
        FunctionName="embedded-echo",
        StatementId="apigateway",
        Action="lambda:InvokeFunction",
        Principal="apigateway.amazonaws.com",
        SourceArn=f"arn:aws:execute-api:{REGION}:{ACCOUNT}:*",
    )
    return f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:embedded-echo"


def test_rest_api_defined_on_hearth_answers_at_its_stage(hearth: Server, echo: str) -> None:
    apigw = aws(hearth, "apigateway")
    api = apigw.create_rest_api(name="embedded")["id"]
    root = apigw.get_resources(restApiId=api)["items"][0]["id"]
    resource = apigw.create_resource(restApiId=api, parentId=root, pathPart="{proxy+}")["id"]
    apigw.put_method(restApiId=api, resourceId=resource, httpMethod="ANY", authorizationType="NONE")
    apigw.put_integration(
        restApiId=api,
        resourceId=resource,
        httpMethod="ANY",
        type="AWS_PROXY",
        integrationHttpMethod="POST",
        uri=lambda_uri(echo),
    )
    apigw.create_deployment(restApiId=api, stageName="prod")

    def answered() -> tuple[int, Any, bytes] | None:
        answer = call(hearth, api, "/prod/shop/cart?x=1")
        return answer if answer[0] == 200 else None

    _, _, body = wait_for(answered, timeout=10, interval=0.2)
    event = json.loads(body)
    assert (event["resource"], event["path"]) == ("/{proxy+}", "/shop/cart")
    assert event["pathParameters"] == {"proxy": "shop/cart"}
    assert event["requestContext"]["stage"] == "prod"
    # A stage that does not exist is AWS's 403, not a 5xx.
    assert call(hearth, api, "/nope/shop")[0] == 403


def test_http_api_defined_on_hearth_answers(hearth: Server, echo: str) -> None:
    v2 = aws(hearth, "apigatewayv2")
    api = v2.create_api(Name="embedded-http", ProtocolType="HTTP")["ApiId"]
    integration = v2.create_integration(
        ApiId=api, IntegrationType="AWS_PROXY", IntegrationUri=echo, PayloadFormatVersion="2.0"
    )["IntegrationId"]
    v2.create_route(ApiId=api, RouteKey="GET /items/{id}", Target=f"integrations/{integration}")
    v2.create_stage(ApiId=api, StageName="$default", AutoDeploy=True)

    def answered() -> tuple[int, Any, bytes] | None:
        answer = call(hearth, api, "/items/7")
        return answer if answer[0] == 200 else None

    _, _, body = wait_for(answered, timeout=10, interval=0.2)
    event = json.loads(body)
    assert event["version"] == "2.0" and event["pathParameters"] == {"id": "7"}
