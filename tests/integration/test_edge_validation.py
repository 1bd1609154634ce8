"""The service-model check and deep JSON (issue 11, items 5 and 9), against a real server."""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest
from botocore.exceptions import ClientError

from tests.integration.conftest import ROLE, Server, make_zip
from tests.integration.model_fuzz import Generated, send
from tests.integration.test_functions import error_of

ZIP = base64.b64encode(make_zip()).decode()


def _create_body(name: str, **extra: Any) -> bytes:
    body = {
        "FunctionName": name,
        "Runtime": "python3.12",
        "Handler": "app.handler",
        "Role": ROLE,
        "Code": {"ZipFile": ZIP},
        **extra,
    }
    return json.dumps(body).encode()


def _raw(server: Server, method: str, path: str, body: bytes = b"", **headers: str) -> Any:
    status, answer = send(
        server.endpoint,
        Generated("", method, path, {"Content-Length": str(len(body)), **headers}, body),
    )
    return status, json.loads(answer) if answer else None


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        ({"VpcConfig": 123}, "NUMBER_VALUE can not be converted to Structure"),
        ({"FileSystemConfigs": True}, "TRUE_VALUE can not be converted to List"),
        ({"ImageConfig": "x"}, "STRING_VALUE can not be converted to Structure"),
        ({"Timeout": "3"}, "STRING_VALUE can not be converted to Integer"),
    ],
)
def test_wrong_types_are_refused_and_not_stored(
    server: Server, client: Any, extra: dict[str, Any], message: str
) -> None:
    status, body = _raw(server, "POST", "/2015-03-31/functions", _create_body("typed", **extra))
    assert (status, body["message"]) == (400, message)
    with pytest.raises(ClientError) as exc:
        client.get_function(FunctionName="typed")
    assert error_of(exc)[0] == "ResourceNotFoundException"
    client.list_functions()  # boto3 still reads every stored function


def test_constraint_violations_use_awss_wording(raw_client: Any) -> None:
    with pytest.raises(ClientError) as exc:
        raw_client.create_function(
            FunctionName="f",
            Role="r1",
            Runtime="python3.12",
            Handler="h",
            Code={"ZipFile": make_zip()},
            Architectures=["x86_64", "arm64"],
        )
    assert error_of(exc) == (
        "ValidationException",
        400,
        "2 validation errors detected: Value 'r1' at 'role' failed to satisfy constraint: Member "
        "must satisfy regular expression pattern: "
        "arn:(aws[a-zA-Z-]*)?:iam::\\d{12}:role/?[a-zA-Z_0-9+=,.@\\-_/]+; Value '[x86_64, arm64]'"
        " at 'architectures' failed to satisfy constraint: Member must have length less than or "
        "equal to 1",
    )


DEEP = 5000


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("POST", "/2015-03-31/functions"),
        ("PUT", "/2015-03-31/functions/f/configuration"),
        ("POST", "/2015-03-31/functions/f/aliases"),
        ("POST", "/2015-03-31/functions/f/policy"),
        ("POST", "/2017-03-31/tags/arn%3Aaws%3Alambda%3Aus-east-1%3A123456789012%3Afunction%3Af"),
        ("POST", "/2018-10-31/layers/l/versions"),
    ],
)
def test_deeply_nested_json_is_400_not_500(server: Server, method: str, path: str) -> None:
    body = b'{"a":' + b"[" * DEEP + b"]" * DEEP + b"}"
    status, answer = _raw(server, method, path, body)
    assert status == 400, answer
    assert answer["message"].startswith("Could not parse request body into json")


def test_invoke_takes_a_deeply_nested_valid_payload(server: Server, client: Any) -> None:
    client.create_function(
        FunctionName="deep",
        Runtime="python3.12",
        Handler="app.handler",
        Role=ROLE,
        Code={"ZipFile": make_zip({"app.py": "def handler(e, c):\n    return 'read'\n"})},
    )
    try:
        payload = b"[" * DEEP + b"]" * DEEP
        result = client.invoke(FunctionName="deep", Payload=payload)
        # Accepted, as on AWS; Python's own json cannot read it, so the runtime says so.
        assert result["StatusCode"] == 200
        error = json.loads(result["Payload"].read())
        assert error["errorType"] == "Runtime.UnmarshalError"
        status, answer = _raw(
            server, "POST", "/2015-03-31/functions/deep/invocations", payload[:-1]
        )
        assert (status, answer["Type"]) == (400, "User")
        assert answer["message"].startswith("Could not parse request body into json")
        ok = client.invoke(FunctionName="deep", Payload=b'{"a": [[[1]]]}')
        assert ok["Payload"].read() == b'"read"'
    finally:
        client.delete_function(FunctionName="deep")


@pytest.mark.parametrize("number", [str(2**63), str(2**64), "9" * 40])
def test_huge_layer_version_numbers_are_400(server: Server, number: str) -> None:
    for method in ("GET", "DELETE"):
        status, answer = _raw(server, method, f"/2018-10-31/layers/l/versions/{number}")
        assert status == 400, answer
        assert answer["message"] == (
            f"1 validation error detected: Value '{number}' at 'versionNumber' failed to satisfy "
            "constraint: Member must be a number"
        )


def test_a_client_context_that_is_not_ascii_is_400(server: Server, client: Any) -> None:
    # Found by the fuzz: base64 of a non-ASCII header was a 500.
    status, answer = _raw(
        server,
        "POST",
        "/2015-03-31/functions/nothing/invocations",
        b"{}",
        **{"X-Amz-Client-Context": "\u00e9\u4e2d"},
    )
    assert (status, answer["message"]) == (
        400,
        "Client context must be a valid Base64-encoded JSON object.",
    )
