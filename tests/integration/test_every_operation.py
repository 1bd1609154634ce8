"""Every operation in botocore's Lambda model, called through boto3 against a real server,
answers with the model's shape: the status code the model gives it, a body whose every key,
type and enum value the model's output shape has (parity/model_shapes.py), or an error the
model lists for that operation, with its status code and only its members. None answers
UnknownOperation or a 5xx.

The operations run in one order over shared resources (made once for the module): creates,
then reads and updates, then deletes. Those Hearth does not provide (capacity providers,
function scaling configs, durable executions, resource policies) must answer a modelled
error; every other one must succeed.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import botocore
import botocore.session
import pytest

from tests.integration.conftest import ROLE, Server, make_zip, service_client
from tests.integration.parity.model_shapes import answer_problems

_MODEL = botocore.session.get_session().get_service_model("lambda")
ACCOUNT = "123456789012"
REGION = "us-east-1"

UNSUPPORTED_PREFIXES = ("CapacityProvider", "DurableExecution", "ResourcePolicy")
UNSUPPORTED = {
    op
    for op in _MODEL.operation_names
    if any(word in op for word in UNSUPPORTED_PREFIXES) or "FunctionScalingConfig" in op
} | {"ListFunctionVersionsByCapacityProvider", "ListCapacityProviders"}
UNSUPPORTED |= {op for op in _MODEL.operation_names if "DurableExecutionCallback" in op}

_DURABLE = "arn:aws:lambda:{region}:{account}:function:{fn}:1/durable-execution/run/abc"


@dataclass
class World:
    """The shared resources' names, and what earlier answers returned (ids to use later)."""

    names: dict[str, str]
    answers: dict[str, Any] = field(default_factory=dict)

    def fill(self, value: Any) -> Any:
        if isinstance(value, str):
            return value.format(**self.names)
        if isinstance(value, dict):
            return {k: self.fill(v) for k, v in value.items()}
        if isinstance(value, list):
            return [self.fill(v) for v in value]
        return value


Params = dict[str, Any] | Callable[[World], dict[str, Any]]
FN = {"FunctionName": "{fn}"}
LAYER = {"LayerName": "{layer}", "VersionNumber": 1}
CSC = {"CodeSigningConfigArn": "{csc}"}
# Doubled braces: parameters are templates (World.fill).
POLICY = (
    json.dumps({"Version": "2012-10-17", "Statement": []}).replace("{", "{{").replace("}", "}}")
)

# What each operation is called with; "{...}" names a shared resource.
PARAMS: dict[str, Params] = {
    "AddLayerVersionPermission": {
        **LAYER,
        "StatementId": "everyone",
        "Action": "lambda:GetLayerVersion",
        "Principal": "*",
    },
    "AddPermission": {
        **FN,
        "StatementId": "s3",
        "Action": "lambda:InvokeFunction",
        "Principal": "s3.amazonaws.com",
    },
    "CheckpointDurableExecution": {"DurableExecutionArn": _DURABLE, "CheckpointToken": "t"},
    "CreateAlias": {**FN, "Name": "other", "FunctionVersion": "1"},
    "CreateCapacityProvider": {
        "CapacityProviderName": "everyop",
        "VpcConfig": {"SubnetIds": ["subnet-0123456789abcdef0"], "SecurityGroupIds": ["sg-1"]},
        "PermissionsConfig": {"CapacityProviderOperatorRoleArn": ROLE},
    },
    "CreateCodeSigningConfig": {
        "AllowedPublishers": {
            "SigningProfileVersionArns": [
                "arn:aws:signer:{region}:{account}:/signing-profiles/everyop/abcdef0123"
            ]
        }
    },
    "CreateEventSourceMapping": {
        **FN,
        "EventSourceArn": "arn:aws:sqs:{region}:{account}:{fn}",
        "BatchSize": 1,
        "Enabled": False,
    },
    "CreateFunction": {
        "FunctionName": "{fn}-new",
        "Runtime": "python3.12",
        "Role": ROLE,
        "Handler": "app.handler",
        "Code": {"ZipFile": make_zip()},
    },
    "CreateFunctionUrlConfig": {**FN, "AuthType": "NONE"},
    "DeleteAlias": {**FN, "Name": "other"},
    "DeleteCapacityProvider": {"CapacityProviderName": "everyop"},
    "DeleteCodeSigningConfig": lambda w: {
        "CodeSigningConfigArn": w.answers["CreateCodeSigningConfig"]["CodeSigningConfig"][
            "CodeSigningConfigArn"
        ]
    },
    "DeleteDurableExecution": {"DurableExecutionArn": _DURABLE},
    "DeleteEventSourceMapping": lambda w: {"UUID": w.answers["CreateEventSourceMapping"]["UUID"]},
    "DeleteFunction": {"FunctionName": "{fn}-new"},
    "DeleteFunctionCodeSigningConfig": FN,
    "DeleteFunctionConcurrency": FN,
    "DeleteFunctionEventInvokeConfig": FN,
    "DeleteFunctionUrlConfig": FN,
    "DeleteLayerVersion": {"LayerName": "{layer}", "VersionNumber": 2},
    "DeleteProvisionedConcurrencyConfig": {**FN, "Qualifier": "1"},
    "DeleteResourcePolicy": {"ResourceArn": "{arn}"},
    "GetAccountSettings": {},
    "GetAlias": {**FN, "Name": "live"},
    "GetCapacityProvider": {"CapacityProviderName": "everyop"},
    "GetCodeSigningConfig": CSC,
    "GetDurableExecution": {"DurableExecutionArn": _DURABLE},
    "GetDurableExecutionHistory": {"DurableExecutionArn": _DURABLE},
    "GetDurableExecutionState": {"DurableExecutionArn": _DURABLE, "CheckpointToken": "t"},
    "GetEventSourceMapping": lambda w: {"UUID": w.answers["CreateEventSourceMapping"]["UUID"]},
    "GetFunction": FN,
    "GetFunctionCodeSigningConfig": FN,
    "GetFunctionConcurrency": FN,
    "GetFunctionConfiguration": FN,
    "GetFunctionEventInvokeConfig": FN,
    "GetFunctionRecursionConfig": FN,
    "GetFunctionScalingConfig": {**FN, "Qualifier": "1"},
    "GetFunctionUrlConfig": FN,
    "GetLayerVersion": LAYER,
    "GetLayerVersionByArn": {"Arn": "arn:aws:lambda:{region}:{account}:layer:{layer}:1"},
    "GetLayerVersionPolicy": LAYER,
    "GetPolicy": FN,
    "GetProvisionedConcurrencyConfig": {**FN, "Qualifier": "1"},
    "GetResourcePolicy": {"ResourceArn": "{arn}"},
    "GetRuntimeManagementConfig": FN,
    "Invoke": {**FN, "Payload": b"{}"},
    "InvokeAsync": {**FN, "InvokeArgs": b"{}"},
    "InvokeWithResponseStream": {**FN, "Payload": b"{}"},
    "ListAliases": FN,
    "ListCapacityProviders": {},
    "ListCodeSigningConfigs": {},
    "ListDurableExecutionsByFunction": FN,
    "ListEventSourceMappings": FN,
    "ListFunctionEventInvokeConfigs": FN,
    "ListFunctionUrlConfigs": FN,
    "ListFunctionVersionsByCapacityProvider": {"CapacityProviderName": "everyop"},
    "ListFunctions": {},
    "ListFunctionsByCodeSigningConfig": CSC,
    "ListLayerVersions": {"LayerName": "{layer}"},
    "ListLayers": {},
    "ListProvisionedConcurrencyConfigs": FN,
    "ListTags": {"Resource": "{arn}"},
    "ListVersionsByFunction": FN,
    "PauseDurableExecution": {"DurableExecutionArn": _DURABLE},
    "PublishLayerVersion": {
        "LayerName": "{layer}",
        "Content": {"ZipFile": make_zip({"python/x.py": ""})},
    },
    "PublishVersion": FN,
    "PutFunctionCodeSigningConfig": {**FN, **CSC},
    "PutFunctionConcurrency": {**FN, "ReservedConcurrentExecutions": 5},
    "PutFunctionEventInvokeConfig": {**FN, "MaximumRetryAttempts": 1},
    "PutFunctionRecursionConfig": {**FN, "RecursiveLoop": "Terminate"},
    "PutFunctionScalingConfig": {**FN, "Qualifier": "1"},
    "PutProvisionedConcurrencyConfig": {
        **FN,
        "Qualifier": "1",
        "ProvisionedConcurrentExecutions": 1,
    },
    "PutResourcePolicy": {"ResourceArn": "{arn}", "Policy": POLICY},
    "PutRuntimeManagementConfig": {**FN, "UpdateRuntimeOn": "Auto"},
    "RemoveLayerVersionPermission": {**LAYER, "StatementId": "everyone"},
    "RemovePermission": {**FN, "StatementId": "s3"},
    "ResumeDurableExecution": {"DurableExecutionArn": _DURABLE},
    "SendDurableExecutionCallbackFailure": {"CallbackId": "callback"},
    "SendDurableExecutionCallbackHeartbeat": {"CallbackId": "callback"},
    "SendDurableExecutionCallbackSuccess": {"CallbackId": "callback"},
    "StopDurableExecution": {"DurableExecutionArn": _DURABLE},
    "TagResource": {"Resource": "{arn}", "Tags": {"team": "parity"}},
    "UntagResource": {"Resource": "{arn}", "TagKeys": ["team"]},
    "UpdateAlias": {**FN, "Name": "live", "Description": "changed"},
    "UpdateCapacityProvider": {"CapacityProviderName": "everyop"},
    "UpdateCodeSigningConfig": {**CSC, "Description": "changed"},
    "UpdateEventSourceMapping": lambda w: {
        "UUID": w.answers["CreateEventSourceMapping"]["UUID"],
        "BatchSize": 2,
    },
    "UpdateFunctionCode": {**FN, "ZipFile": make_zip()},
    "UpdateFunctionConfiguration": {**FN, "Description": "changed"},
    "UpdateFunctionEventInvokeConfig": {**FN, "MaximumRetryAttempts": 2},
    "UpdateFunctionUrlConfig": {**FN, "AuthType": "NONE"},
}
# Where AWS's recorded answer has another status code than the model's (the recording wins):
# test_lambda_api.snapshot.json, test_function_lifecycle's delete_response.
RECORDED_STATUS = {"DeleteFunction": 204}
# Operations that leave the function InProgress: the next one waits for it to settle.
_SETTLES = {"UpdateFunctionCode", "UpdateFunctionConfiguration", "PutFunctionCodeSigningConfig"}


def _phase(op: str) -> int:
    if op == "DeleteFunction":
        return 3
    if op.startswith(("Delete", "Remove", "Untag")):
        return 2
    if op.startswith(("Create", "Add", "Publish", "Put", "Tag")):
        return 0
    return 1


def _order() -> list[str]:
    return sorted(_MODEL.operation_names, key=lambda op: (_phase(op), op))


@dataclass
class Answer:
    status: int = 0
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""


@pytest.fixture(scope="module")
def world(server: Server) -> Iterator[tuple[Any, World, Answer]]:
    client = server.client()
    answer = Answer()

    def keep(http_response: Any, model: Any, **_: Any) -> None:
        answer.status = http_response.status_code
        answer.headers = dict(http_response.headers)
        streamed = model.output_shape is not None and model.output_shape.serialization.get(
            "payload"
        )
        answer.body = b"" if streamed and answer.status < 300 else http_response.content

    client.meta.events.register("after-call.lambda", keep)
    fn = "everyop"
    names = {
        "fn": fn,
        "layer": f"{fn}-layer",
        "arn": f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:{fn}",
        "region": REGION,
        "account": ACCOUNT,
    }
    service_client(server.endpoint, "sqs").create_queue(QueueName=fn)
    client.create_function(
        FunctionName=fn,
        Runtime="python3.12",
        Role=ROLE,
        Handler="app.handler",
        Code={"ZipFile": make_zip()},
        Publish=True,
    )
    client.get_waiter("function_active_v2").wait(
        FunctionName=fn, WaiterConfig={"Delay": 0.1, "MaxAttempts": 100}
    )
    client.create_alias(FunctionName=fn, Name="live", FunctionVersion="1")
    client.publish_layer_version(LayerName=names["layer"], Content={"ZipFile": make_zip()})
    made = World(names).fill(PARAMS["CreateCodeSigningConfig"])
    config = client.create_code_signing_config(**made)
    names["csc"] = config["CodeSigningConfig"]["CodeSigningConfigArn"]
    yield client, World(names), answer
    client.delete_function(FunctionName=fn)


def test_every_operation_has_its_parameters_here() -> None:
    assert set(_MODEL.operation_names) == set(PARAMS)


@pytest.mark.parametrize("operation", _order())
def test_operation_answers_with_the_models_shape(
    world: tuple[Any, World, Answer], operation: str
) -> None:
    client, state, answer = world
    params = PARAMS[operation]
    filled = state.fill(params(state) if callable(params) else params)
    method = getattr(client, botocore.xform_name(operation))
    try:
        parsed = method(**filled)
    except botocore.exceptions.ClientError as error:
        parsed = error.response
    if "EventStream" in parsed:
        list(parsed["EventStream"])  # boto3's event stream parser reads every event
    if isinstance(parsed.get("Payload"), botocore.response.StreamingBody):
        parsed["Payload"].read()
    state.answers[operation] = parsed
    model = _MODEL.operation_model(operation)
    status = answer.status
    if status == RECORDED_STATUS.get(operation):
        status = int(model.http.get("responseCode", 200))
    problems = answer_problems(model, status, answer.headers, answer.body)
    if operation in _SETTLES:  # after the checks: the waiter's calls are answers too
        client.get_waiter("function_updated_v2").wait(
            FunctionName=state.names["fn"], WaiterConfig={"Delay": 0.1, "MaxAttempts": 100}
        )
    assert not problems, problems
    code = parsed.get("Error", {}).get("Code")
    if operation in UNSUPPORTED:
        assert code and answer.status < 500, (answer.status, parsed)
    else:
        assert code is None, parsed


def _names_a_function(op: str) -> bool:
    """Operations on a function (not CreateFunction, nor ListEventSourceMappings, where the
    name is a filter)."""
    shape = _MODEL.operation_model(op).input_shape
    return (
        shape is not None
        and "FunctionName" in shape.members
        and op not in ("CreateFunction", "ListEventSourceMappings")
    )


@pytest.mark.parametrize("operation", sorted(filter(_names_a_function, _MODEL.operation_names)))
def test_operation_on_a_missing_function_answers_a_modelled_error(
    world: tuple[Any, World, Answer], operation: str
) -> None:
    client, state, answer = world
    params = PARAMS[operation]
    filled = state.fill(params(state) if callable(params) else params)
    filled["FunctionName"] = "everyop-missing"
    try:
        parsed = getattr(client, botocore.xform_name(operation))(**filled)
    except botocore.exceptions.ClientError as error:
        parsed = error.response
    problems = answer_problems(
        _MODEL.operation_model(operation), answer.status, answer.headers, answer.body
    )
    assert not problems, problems
    assert parsed.get("Error", {}).get("Code"), parsed
