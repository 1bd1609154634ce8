"""Validation of function configuration: AWS's constraints and wording."""

from __future__ import annotations

from typing import Any

import pytest

from hearth.control.runtime_names import SUPPORTED_RUNTIMES
from hearth.control.spec import parse_config
from hearth.errors import LambdaError

ROLE = "arn:aws:iam::123456789012:role/r"
BASE: dict[str, Any] = {"Runtime": "python3.12", "Handler": "app.handler", "Role": ROLE}


def error(body: dict[str, Any], creating: bool = True) -> LambdaError:
    with pytest.raises(LambdaError) as exc:
        parse_config(body, creating=creating)
    return exc.value


def test_minimal_create() -> None:
    assert parse_config(BASE, creating=True) == {
        "runtime": "python3.12",
        "handler": "app.handler",
        "role": ROLE,
    }


def test_update_sets_only_what_is_sent() -> None:
    assert parse_config({"Timeout": 30}, creating=False) == {"timeout": 30}


def test_full_body() -> None:
    fields = parse_config(
        {
            **BASE,
            "Timeout": 900,
            "MemorySize": 10240,
            "Description": "d",
            "EphemeralStorage": {"Size": 10240},
            "Architectures": ["arm64"],
            "Environment": {"Variables": {"A_1": "x"}},
            "TracingConfig": {"Mode": "Active"},
            "LoggingConfig": {"LogFormat": "JSON", "LogGroup": "/custom"},
            "Layers": ["arn:aws:lambda:us-east-1:123456789012:layer:l:1"],
            "VpcConfig": {"SubnetIds": []},
        },
        creating=True,
    )
    assert fields["architectures"] == ("arm64",)
    assert fields["environment"] == {"A_1": "x"}
    assert fields["log_group"] == "/custom"
    assert fields["layer_arns"] == ["arn:aws:lambda:us-east-1:123456789012:layer:l:1"]
    assert fields["passthrough"] == {"VpcConfig": {"SubnetIds": []}}


def test_missing_runtime_or_role() -> None:
    assert "mandatory" in error({"Handler": "a.b", "Role": ROLE}).message
    assert error({"Runtime": "python3.12", "Handler": "a.b"}).code == "ValidationException"


def test_unsupported_runtime_lists_the_supported_ones() -> None:
    err = error({**BASE, "Runtime": "java21"})
    assert err.code == "InvalidParameterValueException"
    for runtime in SUPPORTED_RUNTIMES:
        assert runtime in err.message


@pytest.mark.parametrize(
    ("body", "fragment"),
    [
        ({"Timeout": 0}, "Value '0' at 'timeout'"),
        ({"Timeout": 901}, "less than or equal to 900"),
        ({"Timeout": True}, "Member must be of type integer"),
        ({"Timeout": "3"}, "Member must be of type integer"),
        ({"MemorySize": 64}, "greater than or equal to 128"),
        ({"MemorySize": 20000}, "less than or equal to 10240"),
        ({"EphemeralStorage": {"Size": 511}}, "ephemeralStorage.size"),
        ({"Handler": "a b"}, "at 'handler'"),
        ({"Handler": "x" * 129}, "length less than or equal to 128"),
        ({"Description": "x" * 257}, "at 'description'"),
        ({"Architectures": ["sparc"]}, "at 'architectures'"),
        ({"Architectures": ["x86_64", "arm64"]}, "at 'architectures'"),
        ({"Role": "arn:aws:iam::1:role/r"}, "at 'role'"),
        ({"Environment": {"Variables": {"_X": "1"}}}, "Map keys must satisfy"),
        ({"Environment": {"Variables": {"A": 1}}}, "map of string to string"),
        ({"TracingConfig": {"Mode": "Loud"}}, "tracingConfig.mode"),
    ],
)
def test_model_constraints(body: dict[str, Any], fragment: str) -> None:
    err = error(body, creating=False)
    assert err.code == "ValidationException"
    assert err.status == 400
    assert fragment in err.message
    assert err.message.startswith("1 validation error detected: ")


def test_several_violations_are_counted() -> None:
    err = error({"Timeout": 0, "MemorySize": 1}, creating=False)
    assert err.message.startswith("2 validation errors detected: ")


def test_environment_service_rules() -> None:
    reserved = error(
        {"Environment": {"Variables": {"AWS_REGION": "x", "LAMBDA_TASK_ROOT": "y"}}}, creating=False
    )
    assert reserved.code == "InvalidParameterValueException"
    assert reserved.message.endswith(
        "Reserved keys used in this request: AWS_REGION, LAMBDA_TASK_ROOT"
    )
    too_big = error(
        {"Environment": {"Variables": {f"K{i}": "v" * 100 for i in range(40)}}}, creating=False
    )
    assert "exceeded the 4KB limit" in too_big.message
    # Exactly at the limit is fine: {"KK":"vvv..."} is 4096 bytes; one more is not.
    assert parse_config({"Environment": {"Variables": {"KK": "v" * (4096 - 9)}}}, creating=False)
    assert error({"Environment": {"Variables": {"KK": "v" * (4096 - 8)}}}, creating=False)


def test_image_and_too_many_layers_are_refused() -> None:
    assert "Image" in error({**BASE, "PackageType": "Image"}).message
    arns = [f"arn:aws:lambda:us-east-1:123456789012:layer:l{i}:1" for i in range(6)]
    assert error({"Layers": arns}, creating=False).code == "InvalidParameterValueException"
