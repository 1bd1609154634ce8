"""Code signing configs as AWS answers them (lambda_/test_lambda_api.snapshot.json,
TestCodeSigningConfig), and Hearth's signature check (Warn logs, Enforce refuses)."""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from typing import Any

import pytest
from botocore.exceptions import ClientError

from tests.integration.conftest import ROLE, Server, create_function, make_zip, service_client

PROFILE = "arn:aws:signer:us-east-1:123456789012:/signing-profiles/test"
MISSING = "arn:aws:lambda:us-east-1:123456789012:code-signing-config:csc-0000000000000000a"
CSC_ARN = re.compile(r"arn:aws:lambda:us-east-1:123456789012:code-signing-config:csc-[a-z0-9]{17}")


def _error(exc: pytest.ExceptionInfo[ClientError]) -> tuple[str, int, str]:
    r = exc.value.response
    return r["Error"]["Code"], r["ResponseMetadata"]["HTTPStatusCode"], r["Error"]["Message"]


def _create_config(client: Any, policy: str = "Enforce") -> dict[str, Any]:
    created = client.create_code_signing_config(
        Description="Testing CodeSigning Config",
        AllowedPublishers={"SigningProfileVersionArns": [PROFILE]},
        CodeSigningPolicies={"UntrustedArtifactOnDeployment": policy},
    )
    assert created["ResponseMetadata"]["HTTPStatusCode"] == 201
    config: dict[str, Any] = created["CodeSigningConfig"]
    return config


def test_config_lifecycle_as_recorded(client: Any, fn_name: str) -> None:
    config = _create_config(client)
    arn = config["CodeSigningConfigArn"]
    assert CSC_ARN.fullmatch(arn)
    assert arn.endswith(config["CodeSigningConfigId"])
    assert set(config) == {
        "AllowedPublishers",
        "CodeSigningConfigArn",
        "CodeSigningConfigId",
        "CodeSigningPolicies",
        "Description",
        "LastModified",
    }
    updated = client.update_code_signing_config(
        CodeSigningConfigArn=arn, CodeSigningPolicies={"UntrustedArtifactOnDeployment": "Warn"}
    )["CodeSigningConfig"]
    assert updated["CodeSigningPolicies"] == {"UntrustedArtifactOnDeployment": "Warn"}
    assert updated["Description"] == "Testing CodeSigning Config"
    assert client.get_code_signing_config(CodeSigningConfigArn=arn)["CodeSigningConfig"] == updated
    listed = client.list_code_signing_configs()["CodeSigningConfigs"]
    assert updated in listed

    create_function(client, fn_name)
    put = client.put_function_code_signing_config(CodeSigningConfigArn=arn, FunctionName=fn_name)
    assert (put["CodeSigningConfigArn"], put["FunctionName"]) == (arn, fn_name)
    got = client.get_function_code_signing_config(FunctionName=fn_name)
    assert (got["CodeSigningConfigArn"], got["FunctionName"]) == (arn, fn_name)
    by_config = client.list_functions_by_code_signing_config(CodeSigningConfigArn=arn)
    assert by_config["FunctionArns"] == [
        f"arn:aws:lambda:us-east-1:123456789012:function:{fn_name}"
    ]
    with pytest.raises(ClientError) as exc:
        client.delete_code_signing_config(CodeSigningConfigArn=arn)
    assert _error(exc)[:2] == ("ResourceConflictException", 409)
    deleted = client.delete_function_code_signing_config(FunctionName=fn_name)
    assert deleted["ResponseMetadata"]["HTTPStatusCode"] == 204
    # Nothing to delete is a 204 too, as recorded.
    again = client.delete_function_code_signing_config(FunctionName=fn_name)
    assert again["ResponseMetadata"]["HTTPStatusCode"] == 204
    got = client.get_function_code_signing_config(FunctionName=fn_name)
    assert "CodeSigningConfigArn" not in got
    assert (
        client.list_functions_by_code_signing_config(CodeSigningConfigArn=arn)["FunctionArns"] == []
    )
    gone = client.delete_code_signing_config(CodeSigningConfigArn=arn)
    assert gone["ResponseMetadata"]["HTTPStatusCode"] == 204


def test_not_found_errors_as_recorded(client: Any, raw_client: Any, fn_name: str) -> None:
    config_missing = (
        "ResourceNotFoundException",
        404,
        f"The Lambda code signing configuration {MISSING} can not be found.",
    )
    calls: list[Callable[[], Any]] = [
        lambda: client.get_code_signing_config(CodeSigningConfigArn=MISSING),
        lambda: client.delete_code_signing_config(CodeSigningConfigArn=MISSING),
        lambda: client.update_code_signing_config(CodeSigningConfigArn=MISSING, Description="x"),
        lambda: client.list_functions_by_code_signing_config(CodeSigningConfigArn=MISSING),
    ]
    for call in calls:
        with pytest.raises(ClientError) as exc:
            call()
        assert _error(exc) == config_missing
        assert "Type" not in exc.value.response  # AWS sends none for these
    missing_fn = "csc-test-doesnotexist"
    fn_missing = (
        "ResourceNotFoundException",
        404,
        f"Function not found: arn:aws:lambda:us-east-1:123456789012:function:{missing_fn}",
    )
    with pytest.raises(ClientError) as exc:
        client.get_function_code_signing_config(FunctionName=missing_fn)
    assert _error(exc) == fn_missing
    with pytest.raises(ClientError) as exc:
        client.delete_function_code_signing_config(FunctionName=missing_fn)
    assert _error(exc) == fn_missing
    # Both missing: the config is named, as recorded.
    with pytest.raises(ClientError) as exc:
        client.put_function_code_signing_config(
            CodeSigningConfigArn=MISSING, FunctionName=missing_fn
        )
    assert _error(exc) == (
        "CodeSigningConfigNotFoundException",
        404,
        "The code signing configuration cannot be found. Check that the provided "
        f"configuration is not deleted: {MISSING}.",
    )
    arn = _create_config(client)["CodeSigningConfigArn"]
    with pytest.raises(ClientError) as exc:
        client.put_function_code_signing_config(CodeSigningConfigArn=arn, FunctionName=missing_fn)
    assert _error(exc) == fn_missing
    bad: dict[str, Any]
    for bad in (
        {"AllowedPublishers": {"SigningProfileVersionArns": []}},
        {
            "AllowedPublishers": {"SigningProfileVersionArns": [PROFILE]},
            "CodeSigningPolicies": {"UntrustedArtifactOnDeployment": "Sometimes"},
        },
        {"AllowedPublishers": {"SigningProfileVersionArns": [PROFILE]}, "Description": "d" * 300},
    ):
        with pytest.raises(ClientError) as exc:
            raw_client.create_code_signing_config(**bad)
        assert _error(exc)[:2] == ("ValidationException", 400)
    with pytest.raises(ClientError) as exc:
        raw_client.get_code_signing_config(CodeSigningConfigArn="not-an-arn")
    assert _error(exc)[:2] == ("ValidationException", 400)
    client.delete_code_signing_config(CodeSigningConfigArn=arn)


def test_enforce_refuses_unsigned_code_and_warn_logs(
    server: Server, client: Any, fn_name: str
) -> None:
    enforce = _create_config(client, "Enforce")["CodeSigningConfigArn"]
    with pytest.raises(ClientError) as exc:
        client.create_function(
            FunctionName=fn_name,
            Runtime="python3.12",
            Role=ROLE,
            Handler="app.handler",
            Code={"ZipFile": make_zip()},
            CodeSigningConfigArn=enforce,
        )
    function_arn = f"arn:aws:lambda:us-east-1:123456789012:function:{fn_name}"
    assert _error(exc) == (
        "CodeVerificationFailedException",
        400,
        "Lambda cannot deploy the function. The function or layer might be signed using a "
        f"signature that the client is not configured to accept. Check the provided signature "
        f"for {function_arn}.",
    )
    with pytest.raises(client.exceptions.ResourceNotFoundException):
        client.get_function(FunctionName=fn_name)

    # Signed, Hearth's way: an S3 object naming an allowed signing profile version.
    s3 = service_client(server.endpoint, "s3")
    s3.create_bucket(Bucket="signed-code")
    meta = {"hearth-signing-profile-version-arn": PROFILE}
    s3.put_object(Bucket="signed-code", Key="ok.zip", Body=make_zip(), Metadata=meta)
    s3.put_object(Bucket="signed-code", Key="plain.zip", Body=make_zip({"app.py": "x = 1\n"}))
    create_function(
        client,
        fn_name,
        Code={"S3Bucket": "signed-code", "S3Key": "ok.zip"},
        CodeSigningConfigArn=enforce,
    )
    with pytest.raises(ClientError) as exc:
        client.update_function_code(FunctionName=fn_name, S3Bucket="signed-code", S3Key="plain.zip")
    assert _error(exc)[0] == "CodeVerificationFailedException"

    warn = _create_config(client, "Warn")["CodeSigningConfigArn"]
    client.put_function_code_signing_config(CodeSigningConfigArn=warn, FunctionName=fn_name)
    client.update_function_code(FunctionName=fn_name, ZipFile=make_zip())
    deadline = time.monotonic() + 5
    while not any("untrusted code deployed" in line for line in server.output):
        assert time.monotonic() < deadline, "no warning logged"
        time.sleep(0.05)
