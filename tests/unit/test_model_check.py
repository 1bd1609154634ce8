"""The service-model check: AWS's recorded messages for the same inputs (aws-recorded/lambda_)."""

from __future__ import annotations

import json
from typing import Any

import botocore.session
import pytest

from hearth.api.http import Request
from hearth.api.model_check import ModelChecker
from hearth.errors import LambdaError

CHECKER = ModelChecker(botocore.session.get_session().get_service_model("lambda"))
ROLE = "arn:aws:iam::123456789012:role/r"


def request(
    operation: str,
    body: Any = None,
    params: dict[str, str] | None = None,
    query: str = "",
    headers: dict[str, str] | None = None,
) -> Request:
    raw = body if isinstance(body, bytes) else json.dumps(body).encode() if body else b""
    return Request("POST", "/", query, headers or {}, raw, operation, params or {})


def refusal(req: Request) -> tuple[str, str]:
    with pytest.raises(LambdaError) as exc:
        CHECKER.check(req)
    assert exc.value.status == 400
    return exc.value.code, exc.value.message


def create(**fields: Any) -> Request:
    body = {"FunctionName": "f", "Role": ROLE, "Code": {"ZipFile": "UEs="}, **fields}
    return request("CreateFunction", body)


def test_a_valid_request_passes() -> None:
    CHECKER.check(create(Runtime="python3.12", Handler="app.handler", Timeout=3))


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        (
            {"Architectures": ["x86_64", "arm64"]},
            "1 validation error detected: Value '[x86_64, arm64]' at 'architectures' failed to "
            "satisfy constraint: Member must have length less than or equal to 1",
        ),
        (
            {"Architectures": ["X86_64"]},
            "1 validation error detected: Value '[X86_64]' at 'architectures' failed to satisfy "
            "constraint: Member must satisfy constraint: [Member must satisfy enum value set: "
            "[x86_64, arm64], Member must not be null]",
        ),
        (
            {"Role": "r1"},
            "1 validation error detected: Value 'r1' at 'role' failed to satisfy constraint: "
            "Member must satisfy regular expression pattern: "
            "arn:(aws[a-zA-Z-]*)?:iam::\\d{12}:role/?[a-zA-Z_0-9+=,.@\\-_/]+",
        ),
        (
            {"SnapStart": {"ApplyOn": "invalidOption"}},
            "1 validation error detected: Value 'invalidOption' at 'snapStart.applyOn' failed to "
            "satisfy constraint: Member must satisfy enum value set: [PublishedVersions, None]",
        ),
    ],
)
def test_recorded_validation_messages(fields: dict[str, Any], message: str) -> None:
    assert refusal(create(**fields)) == ("ValidationException", message)


def test_map_keys_and_values_as_recorded() -> None:
    def alias(weights: dict[str, float]) -> Request:
        body = {"Name": "a", "FunctionVersion": "1", "RoutingConfig": {}}
        body["RoutingConfig"] = {"AdditionalVersionWeights": weights}
        return request("CreateAlias", body, {"FunctionName": "f"})

    assert refusal(alias({"2": 2.0}))[1] == (
        "1 validation error detected: Value '{2=2.0}' at 'routingConfig.additionalVersionWeights'"
        " failed to satisfy constraint: Map value must satisfy constraint: [Member must have value"
        " less than or equal to 1.0, Member must have value greater than or equal to 0.0, Member"
        " must not be null]"
    )
    assert refusal(alias({"$LATEST": 0.5}))[1] == (
        "1 validation error detected: Value '{$LATEST=0.5}' at "
        "'routingConfig.additionalVersionWeights' failed to satisfy constraint: Map keys must "
        "satisfy constraint: [Member must have length less than or equal to 1024, Member must "
        "have length greater than or equal to 1, Member must satisfy regular expression pattern:"
        " [0-9]+]"
    )


def test_numbers_and_required_members() -> None:
    pc = request(
        "PutProvisionedConcurrencyConfig",
        {"ProvisionedConcurrentExecutions": 0},
        {"FunctionName": "f"},
        "Qualifier=1",
    )
    assert refusal(pc)[1] == (
        "1 validation error detected: Value '0' at 'provisionedConcurrentExecutions' failed to "
        "satisfy constraint: Member must have value greater than or equal to 1"
    )
    untag = request("UntagResource", params={"Resource": "arn:aws:lambda:us-east-1:1:function:f"})
    assert (
        "Value null at 'tagKeys' failed to satisfy constraint: Member must not be null"
        in (refusal(untag)[1])
    )
    missing = request("CreateFunction", {"FunctionName": "f"})
    assert refusal(missing)[1] == (
        "2 validation errors detected: Value null at 'role' failed to satisfy constraint: Member "
        "must not be null; Value null at 'code' failed to satisfy constraint: Member must not "
        "be null"
    )


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"VpcConfig": 123}, "NUMBER_VALUE can not be converted to Structure"),
        ({"FileSystemConfigs": True}, "TRUE_VALUE can not be converted to List"),
        ({"Timeout": "3"}, "STRING_VALUE can not be converted to Integer"),
        ({"Timeout": 2**40}, "NUMBER_VALUE 1099511627776 is out of range for Integer"),
        ({"Description": {"a": 1}}, "Start of structure or map found where not expected."),
        ({"Handler": ["x"]}, "Start of list found where not expected."),
        ({"Environment": {"Variables": {"A": 1}}}, "NUMBER_VALUE can not be converted to String"),
        ({"Layers": [1]}, "NUMBER_VALUE can not be converted to String"),
    ],
)
def test_wrong_types_are_serialization_errors(fields: dict[str, Any], message: str) -> None:
    assert refusal(create(**fields)) == ("SerializationException", message)


def test_null_reads_as_absent_and_unknown_members_pass() -> None:
    CHECKER.check(create(VpcConfig=None, Description=None, SomethingNew={"x": [1]}))


def test_sensitive_values_are_not_echoed() -> None:
    code, message = refusal(create(Environment={"Variables": {"1bad": "secret"}}))
    assert code == "ValidationException"
    assert "secret" not in message and message.startswith(
        "1 validation error detected: Value at 'environment.variables' failed to satisfy "
        "constraint: Map keys must satisfy constraint: ["
    )


def test_path_query_and_header_members() -> None:
    huge = request("GetLayerVersion", params={"LayerName": "l", "VersionNumber": str(2**63)})
    assert refusal(huge) == (
        "ValidationException",
        f"1 validation error detected: Value '{2**63}' at 'versionNumber' failed to satisfy "
        "constraint: Member must be a number",
    )
    CHECKER.check(request("GetLayerVersion", params={"LayerName": "l", "VersionNumber": "3"}))
    bad_type = request(
        "InvokeFunction", b"{}", {"FunctionName": "f"}, headers={"x-amz-invocation-type": "Later"}
    )
    assert refusal(bad_type)[1] == (
        "1 validation error detected: Value 'Later' at 'invocationType' failed to satisfy "
        "constraint: Member must satisfy enum value set: [Event, RequestResponse, DryRun]"
    )
    # Invoke's payload is raw bytes, never read as the model's JSON.
    CHECKER.check(request("InvokeFunction", b"[1, 2", {"FunctionName": "f"}))
    assert CHECKER.operation("Health") is None
