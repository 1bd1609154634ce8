"""Recursion, runtime management and code signing settings; the operations Hearth does not
provide answer a modeled error."""

from __future__ import annotations

from typing import Any

import pytest
from botocore.exceptions import ClientError

from tests.integration.conftest import create_function


def _error(exc: pytest.ExceptionInfo[ClientError]) -> tuple[str, int, str]:
    response = exc.value.response
    return (
        response["Error"]["Code"],
        response["ResponseMetadata"]["HTTPStatusCode"],
        response["Error"]["Message"],
    )


def test_runtime_management_config(client: Any, raw_client: Any, fn_name: str) -> None:
    create_function(client, fn_name)
    got = client.get_runtime_management_config(FunctionName=fn_name)
    assert got["UpdateRuntimeOn"] == "Auto"
    assert got["FunctionArn"].endswith(f":function:{fn_name}")
    arn = "arn:aws:lambda:us-east-1::runtime:abc"
    put = client.put_runtime_management_config(
        FunctionName=fn_name, UpdateRuntimeOn="Manual", RuntimeVersionArn=arn
    )
    assert (put["UpdateRuntimeOn"], put["RuntimeVersionArn"]) == ("Manual", arn)
    assert client.get_runtime_management_config(FunctionName=fn_name)["RuntimeVersionArn"] == arn
    with pytest.raises(ClientError) as exc:
        raw_client.put_runtime_management_config(FunctionName=fn_name, UpdateRuntimeOn="Never")
    assert _error(exc)[:2] == ("ValidationException", 400)
    with pytest.raises(ClientError) as exc:
        client.put_runtime_management_config(FunctionName=fn_name, UpdateRuntimeOn="Manual")
    assert _error(exc)[:2] == ("InvalidParameterValueException", 400)
    with pytest.raises(ClientError) as exc:
        client.get_runtime_management_config(FunctionName=fn_name + "-missing")
    assert _error(exc)[:2] == ("ResourceNotFoundException", 404)


def test_recursion_config_survives_and_is_per_function(client: Any, fn_name: str) -> None:
    create_function(client, fn_name)
    assert client.get_function_recursion_config(FunctionName=fn_name)["RecursiveLoop"] == (
        "Terminate"
    )
    client.put_function_recursion_config(FunctionName=fn_name, RecursiveLoop="Allow")
    assert client.get_function_recursion_config(FunctionName=fn_name)["RecursiveLoop"] == "Allow"
    with pytest.raises(ClientError) as exc:
        client.put_function_recursion_config(FunctionName=f"{fn_name}:1", RecursiveLoop="Allow")
    # The model's FunctionName pattern for this operation takes no qualifier.
    assert _error(exc)[:2] == ("ValidationException", 400)


def test_code_signing_config_of_a_function(client: Any, fn_name: str) -> None:
    create_function(client, fn_name)
    got = client.get_function_code_signing_config(FunctionName=fn_name)
    assert "CodeSigningConfigArn" not in got
    deleted = client.delete_function_code_signing_config(FunctionName=fn_name)
    assert deleted["ResponseMetadata"]["HTTPStatusCode"] == 204
    arn = "arn:aws:lambda:us-east-1:123456789012:code-signing-config:csc-0123456789abcdef0"
    with pytest.raises(ClientError) as exc:
        client.put_function_code_signing_config(FunctionName=fn_name, CodeSigningConfigArn=arn)
    assert _error(exc)[:2] == ("CodeSigningConfigNotFoundException", 404)


@pytest.mark.parametrize(
    ("call", "params"),
    [
        ("list_capacity_providers", {}),
        ("list_durable_executions_by_function", {"FunctionName": "f"}),
        (
            "get_resource_policy",
            {"ResourceArn": "arn:aws:lambda:us-east-1:123456789012:function:f"},
        ),
    ],
)
def test_unsupported_operations_answer_a_modeled_error(
    client: Any, call: str, params: dict[str, Any]
) -> None:
    with pytest.raises(ClientError) as exc:
        getattr(client, call)(**params)
    code, status, message = _error(exc)
    assert (code, status) == ("InvalidParameterValueException", 400)
    assert message.endswith("are not supported by Hearth.")
