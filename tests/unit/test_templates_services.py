"""The API Body reader and the companion services' handlers, through the in-memory fakes."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from hearth.templates.apply import Applier, ApplyError
from hearth.templates.deployer import FakeApis, FakeDeployer, FakeServices
from hearth.templates.errors import TemplateError
from hearth.templates.openapi import read_body
from hearth.templates.plan import plan_template
from hearth.templates.state import StackState

FN_ARN = "arn:aws:lambda:us-east-1:123456789012:function:f"
URI = f"arn:aws:apigateway:us-east-1:lambda:path/2015-03-31/functions/{FN_ARN}/invocations"


def integration(**extra: Any) -> dict[str, Any]:
    return {"x-amazon-apigateway-integration": {"type": "aws_proxy", "httpMethod": "POST",
                                                "uri": URI, **extra}}  # fmt: skip


def test_a_swagger_body_gives_its_methods_and_lambda_authorizers() -> None:
    body = {
        "swagger": "2.0",
        "info": {"title": "shop"},
        "paths": {
            "/items/{id}": {"get": integration(), "parameters": [], "summary": "x"},
            "/{proxy+}": {
                "x-amazon-apigateway-any-method": {**integration(), "security": [{"Token": []}]}
            },
        },
        "securityDefinitions": {
            "Token": {
                "type": "apiKey",
                "name": "Authorization",
                "x-amazon-apigateway-authorizer": {"type": "token", "authorizerUri": URI},
            }
        },
    }
    read = read_body(body, "Resources.Api.Properties.Body")
    assert read.title == "shop"
    get, any_method = read.operations
    assert (get.path, get.verb, get.integration_type, get.authorizer) == (
        "/items/{id}",
        "GET",
        "AWS_PROXY",
        None,
    )
    assert (any_method.verb, any_method.authorizer) == ("ANY", "Token")
    token = read.authorizers["Token"]
    assert token.kind == "TOKEN"
    assert token.identity_sources == ("method.request.header.Authorization",)


def test_an_http_api_body_gives_route_keys() -> None:
    body = {
        "openapi": "3.0.1",
        "paths": {
            "$default": {"x-amazon-apigateway-any-method": integration(payloadFormatVersion="2.0")},
            "/things/{id}": {"post": integration(payloadFormatVersion="1.0")},
        },
    }
    default, post = read_body(body, "B").operations
    assert default.route_key == "$default" and default.payload_version == "2.0"
    assert post.route_key == "POST /things/{id}" and post.payload_version == "1.0"


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"paths": []}, "an OpenAPI document with paths"),
        ({"paths": {"/a": {"get": {}}}}, "has no x-amazon-apigateway-integration"),
        (
            {"paths": {"/a": {"get": {"x-amazon-apigateway-integration": {"type": "aws"}}}}},
            "integration type AWS is not run by Hearth",
        ),
        (
            {"paths": {"/a": {"get": {**integration(), "security": [{"sigv4": []}]}}}},
            "only Lambda authorizers are run by Hearth",
        ),
    ],
)
def test_a_body_hearth_cannot_serve_is_refused_by_name(body: Any, message: str) -> None:
    with pytest.raises(TemplateError, match=message) as raised:
        read_body(body, "Resources.Api.Properties.Body")
    assert str(raised.value).startswith("Resources.Api.Properties.Body")


TEMPLATE = """Transform: AWS::Serverless-2016-10-31
Resources:
  Uploads:
    Type: AWS::S3::Bucket
  Notes:
    Type: AWS::SNS::Topic
  Fn:
    Type: AWS::Serverless::Function
    Properties:
      FunctionName: f
      CodeUri: src/
      Handler: app.handler
      Runtime: python3.12
      Events:
        Upload:
          Type: S3
          Properties:
            Bucket: !Ref Uploads
            Events: s3:ObjectCreated:*
            Filter: {S3Key: {Rules: [{Name: suffix, Value: .csv}]}}
        Note:
          Type: SNS
          Properties: {Topic: !Ref Notes, FilterPolicy: {color: [red]}}
        Tick:
          Type: ScheduleV2
          Properties: {ScheduleExpression: rate(1 hour)}
        Web:
          Type: HttpApi
"""


def test_services_are_made_from_the_template_and_deleted_with_it(tmp_path: Path) -> None:
    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "app.py").write_text("def handler(e, c): return e\n")
    (tmp_path / "template.yaml").write_text(TEMPLATE)
    services, apis = FakeServices(), FakeApis()
    applier = Applier(FakeDeployer(), StackState(tmp_path / "data", "s"), account="123456789012",
                      region="us-east-1", services=services, apis=apis)  # fmt: skip

    def plan() -> Any:
        return plan_template(tmp_path / "template.yaml", overrides={}, region="us-east-1",
                             account_id="123456789012", stack_name="s")  # fmt: skip

    applier.apply(plan())
    # The bucket's notification is S3's API shape, the filter rules carried over.
    assert services.buckets["s-uploads"] == {
        "LambdaFunctionConfigurations": [
            {
                "LambdaFunctionArn": FN_ARN,
                "Events": ["s3:ObjectCreated:*"],
                "Filter": {"Key": {"FilterRules": [{"Name": "suffix", "Value": ".csv"}]}},
            }
        ]
    }
    ((arn, subscription),) = services.subscriptions.items()
    assert arn.startswith("arn:aws:sns:us-east-1:123456789012:s-Notes")
    assert subscription == {"Endpoint": FN_ARN, "FilterPolicy": '{"color": ["red"]}'}
    assert services.schedules["FnTick"]["Target"]["Arn"] == FN_ARN
    assert services.schedules["FnTick"]["FlexibleTimeWindow"] == {"Mode": "OFF"}
    ((_api_id, api),) = apis.apis.items()
    assert api["kind"] == "http" and api["stages"] == {"$default": {}}

    # A template without them deletes them.
    (tmp_path / "template.yaml").write_text(
        TEMPLATE.split("  Uploads:", maxsplit=1)[0]
        + """  Fn:
    Type: AWS::Serverless::Function
    Properties: {FunctionName: f, CodeUri: src/, Handler: app.handler, Runtime: python3.12}
"""
    )
    outcome = applier.apply(plan())
    assert {"Uploads", "Notes", "FnNote", "FnTick", "ServerlessHttpApi"} <= set(outcome.deleted)
    assert not (services.buckets or services.topics or services.subscriptions)
    assert not (services.schedules or apis.apis)


def test_an_api_body_hearth_cannot_serve_fails_at_its_place(tmp_path: Path) -> None:
    (tmp_path / "template.yaml").write_text("""Resources:
  Api:
    Type: AWS::ApiGateway::RestApi
    Properties: {BodyS3Location: {Bucket: b, Key: k}}
""")
    applier = Applier(FakeDeployer(), StackState(tmp_path / "data", "s"), account="1",
                      region="us-east-1", services=FakeServices(), apis=FakeApis())  # fmt: skip
    plan = plan_template(tmp_path / "template.yaml", overrides={}, region="us-east-1",
                         account_id="1", stack_name="s")  # fmt: skip
    with pytest.raises(ApplyError, match=r"Resources\.Api: BodyS3Location is not read"):
        applier.apply(plan)


def test_a_subscription_filter_without_its_destination_fails_at_its_place(tmp_path: Path) -> None:
    (tmp_path / "template.yaml").write_text("""Resources:
  Audit:
    Type: AWS::Logs::LogGroup
  Ship:
    Type: AWS::Logs::SubscriptionFilter
    Properties: {LogGroupName: !Ref Audit, FilterPattern: ""}
""")
    services = FakeServices()
    applier = Applier(FakeDeployer(), StackState(tmp_path / "data", "s"), account="1",
                      region="us-east-1", services=services, apis=FakeApis())  # fmt: skip
    plan = plan_template(tmp_path / "template.yaml", overrides={}, region="us-east-1",
                         account_id="1", stack_name="s")  # fmt: skip
    with pytest.raises(ApplyError, match=r"Resources\.Ship: DestinationArn is required"):
        applier.apply(plan)
    assert not services.subscription_filters
