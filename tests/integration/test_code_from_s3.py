"""Function and layer code read from S3 (the embedded S3 on Hearth's own port), with AWS's
errors for a missing bucket, key or version, and AWS's size limits per source."""

from __future__ import annotations

import io
import zipfile
from typing import Any

import pytest
from botocore.exceptions import ClientError

from tests.integration.conftest import ROLE, Server, make_zip, service_client

# Recorded on AWS (lambda_/test_lambda_api.snapshot.json, test_lambda_code_location_s3_errors).
NO_BUCKET = (
    "Error occurred while GetObject. S3 Error Code: NoSuchBucket. S3 Error Message: "
    "The specified bucket does not exist"
)
NO_KEY = (
    "Error occurred while GetObject. S3 Error Code: NoSuchKey. S3 Error Message: "
    "The specified key does not exist."
)


@pytest.fixture(scope="module")
def s3(server: Server) -> Any:
    s3 = service_client(server.endpoint, "s3")
    s3.create_bucket(Bucket="code-bucket")
    s3.create_bucket(Bucket="versioned-code")
    s3.put_bucket_versioning(Bucket="versioned-code", VersioningConfiguration={"Status": "Enabled"})
    return s3


def _handler(answer: str) -> bytes:
    return make_zip({"app.py": f"def handler(event, context):\n    return {answer!r}\n"})


def _create(client: Any, name: str, code: dict[str, Any]) -> dict[str, Any]:
    created: dict[str, Any] = client.create_function(
        FunctionName=name, Runtime="python3.12", Role=ROLE, Handler="app.handler", Code=code
    )
    client.get_waiter("function_active_v2").wait(
        FunctionName=name, WaiterConfig={"Delay": 0.1, "MaxAttempts": 100}
    )
    return created


def _error(exc: pytest.ExceptionInfo[ClientError]) -> tuple[str, int, str]:
    r = exc.value.response
    return r["Error"]["Code"], r["ResponseMetadata"]["HTTPStatusCode"], r["Error"]["Message"]


def _invoke(client: Any, name: str) -> bytes:
    answer = client.invoke(FunctionName=name)
    assert "FunctionError" not in answer
    payload: bytes = answer["Payload"].read()
    return payload


def test_create_update_and_versions_from_s3(client: Any, s3: Any, fn_name: str) -> None:
    s3.put_object(Bucket="code-bucket", Key="v1.zip", Body=_handler("one"))
    created = _create(client, fn_name, {"S3Bucket": "code-bucket", "S3Key": "v1.zip"})
    assert created["CodeSize"] == len(_handler("one"))
    assert _invoke(client, fn_name) == b'"one"'

    first = s3.put_object(Bucket="versioned-code", Key="app.zip", Body=_handler("two"))
    s3.put_object(Bucket="versioned-code", Key="app.zip", Body=_handler("three"))
    # The older version, named by S3ObjectVersion, not the newest object under that key.
    client.update_function_code(
        FunctionName=fn_name,
        S3Bucket="versioned-code",
        S3Key="app.zip",
        S3ObjectVersion=first["VersionId"],
    )
    client.get_waiter("function_updated_v2").wait(
        FunctionName=fn_name, WaiterConfig={"Delay": 0.1, "MaxAttempts": 100}
    )
    assert _invoke(client, fn_name) == b'"two"'


@pytest.mark.parametrize(
    ("code", "message"),
    [
        ({"S3Bucket": "no-such-bucket-here", "S3Key": "x.zip"}, NO_BUCKET),
        ({"S3Bucket": "code-bucket", "S3Key": "missing.zip"}, NO_KEY),
    ],
)
def test_missing_bucket_or_key_as_aws(
    client: Any, s3: Any, fn_name: str, code: dict[str, str], message: str
) -> None:
    with pytest.raises(ClientError) as exc:
        _create(client, fn_name, code)
    assert _error(exc) == ("InvalidParameterValueException", 400, message)
    assert exc.value.response["Type"] == "User"  # type: ignore[typeddict-item]
    s3.put_object(Bucket="code-bucket", Key="ok.zip", Body=_handler("ok"))
    _create(client, fn_name, {"S3Bucket": "code-bucket", "S3Key": "ok.zip"})
    with pytest.raises(ClientError) as exc:
        client.update_function_code(
            FunctionName=fn_name, S3Bucket=code["S3Bucket"], S3Key=code["S3Key"]
        )
    assert _error(exc) == ("InvalidParameterValueException", 400, message)


def test_missing_version_and_bad_combinations(raw_client: Any, s3: Any, fn_name: str) -> None:
    s3.put_object(Bucket="versioned-code", Key="v.zip", Body=_handler("v"))
    with pytest.raises(ClientError) as exc:
        _create(
            raw_client,
            fn_name,
            {"S3Bucket": "versioned-code", "S3Key": "v.zip", "S3ObjectVersion": "nope"},
        )
    code, status, message = _error(exc)
    assert (code, status) == ("InvalidParameterValueException", 400)
    assert message.startswith("Error occurred while GetObject. S3 Error Code: ")
    for bad in (
        {"S3Bucket": "code-bucket"},
        {"S3Key": "x.zip"},
        {"S3Bucket": "code-bucket", "S3Key": "x.zip", "ZipFile": b"PK"},
    ):
        with pytest.raises(ClientError) as exc:
            _create(raw_client, fn_name, bad)
        assert _error(exc)[:2] == ("InvalidParameterValueException", 400)
    with pytest.raises(raw_client.exceptions.ResourceNotFoundException):
        raw_client.get_function(FunctionName=fn_name)


def test_a_zip_over_50_mb_comes_from_s3_not_directly(client: Any, s3: Any, fn_name: str) -> None:
    # Stored, not deflated, so the zip itself is over 50 MB while unzipping to under 250 MB.
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_STORED) as archive:
        archive.writestr("app.py", "def handler(e, c):\n    return 'big'\n")
        archive.writestr("blob", bytes(51 << 20))
    big = buffer.getvalue()
    assert len(big) > 50 * 1024 * 1024
    s3.put_object(Bucket="code-bucket", Key="big.zip", Body=big)
    created = _create(client, fn_name, {"S3Bucket": "code-bucket", "S3Key": "big.zip"})
    assert created["CodeSize"] == len(big)
    assert _invoke(client, fn_name) == b'"big"'
    client.delete_function(FunctionName=fn_name)


def test_layer_from_s3(client: Any, s3: Any) -> None:
    s3.put_object(Bucket="code-bucket", Key="layer.zip", Body=make_zip({"python/lib.py": "X=1"}))
    published = client.publish_layer_version(
        LayerName="s3-layer", Content={"S3Bucket": "code-bucket", "S3Key": "layer.zip"}
    )
    assert published["Content"]["CodeSize"] > 0
    with pytest.raises(ClientError) as exc:
        client.publish_layer_version(
            LayerName="s3-layer", Content={"S3Bucket": "code-bucket", "S3Key": "nope.zip"}
        )
    assert _error(exc) == ("InvalidParameterValueException", 400, NO_KEY)
