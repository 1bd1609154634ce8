"""Which handler applies each CloudFormation resource type Hearth runs (a type not here is
listed as not run, never dropped silently)."""

from __future__ import annotations

from hearth.templates import api_resources as api
from hearth.templates import service_resources as services
from hearth.templates.resources import (
    RECORDED_TYPES,
    AliasHandler,
    EventInvokeConfigHandler,
    EventSourceMappingHandler,
    FunctionHandler,
    Handler,
    LayerHandler,
    PermissionHandler,
    QueueHandler,
    RecordedHandler,
    TableHandler,
    UrlHandler,
    VersionHandler,
)

HANDLERS: dict[str, Handler] = {
    # A state entry's type is the template's (apply sets it), so recorded types are all here.
    "AWS::Lambda::Function": FunctionHandler(),
    "AWS::Lambda::Version": VersionHandler(),
    "AWS::Lambda::Alias": AliasHandler(),
    "AWS::Lambda::LayerVersion": LayerHandler(),
    "AWS::Lambda::Permission": PermissionHandler(),
    "AWS::Lambda::EventInvokeConfig": EventInvokeConfigHandler(),
    "AWS::Lambda::EventSourceMapping": EventSourceMappingHandler(),
    "AWS::Lambda::Url": UrlHandler(),
    "AWS::SQS::Queue": QueueHandler(),
    "AWS::DynamoDB::Table": TableHandler(),
    "AWS::S3::Bucket": services.BucketHandler(),
    "AWS::SNS::Topic": services.TopicHandler(),
    "AWS::SNS::Subscription": services.SubscriptionHandler(),
    "AWS::Events::Rule": services.RuleHandler(),
    "AWS::Events::EventBus": services.EventBusHandler(),
    "AWS::Scheduler::Schedule": services.ScheduleHandler(),
    "AWS::Logs::LogGroup": services.LogGroupHandler(),
    "AWS::Logs::SubscriptionFilter": services.SubscriptionFilterHandler(),
    "AWS::ApiGateway::RestApi": api.RestApiHandler(),
    "AWS::ApiGateway::Deployment": api.DeploymentHandler(),
    "AWS::ApiGateway::Stage": api.RestStageHandler(),
    "AWS::ApiGatewayV2::Api": api.HttpApiHandler(),
    "AWS::ApiGatewayV2::Stage": api.HttpStageHandler(),
    **dict.fromkeys(RECORDED_TYPES, RecordedHandler()),
}
