"""The recorded cases of code from S3: a function created and updated from objects of the
S3 on Hearth's port, and AWS's errors for a missing bucket or key. The calls are read off
the recorded answers."""

from __future__ import annotations

from tests.integration.parity.replay import ROLE, ZIP, ZIP2, Call, Case, Create, S3Put

_BUCKET = "parity-code-{tag}"
_MISSING_BUCKET = "parity-no-such-bucket-{tag}"


def _create(key: str, bucket: str, s3_key: str) -> Call:
    params = {
        "FunctionName": "{fn2}",
        "Runtime": "python3.12",
        "Handler": "handler.handler",
        "Role": ROLE,
        "Code": {"S3Bucket": bucket, "S3Key": s3_key},
    }
    return Call(key, "create_function", params)


def _update(key: str, bucket: str, s3_key: str) -> Call:
    params = {"FunctionName": "{fn}", "S3Bucket": bucket, "S3Key": s3_key}
    return Call(key, "update_function_code", params)


S3_CODE_CASES = [
    Case(
        "TestLambdaFunction::test_lambda_code_location_s3_errors",
        [
            S3Put(_BUCKET, "code.zip", ZIP),
            Create(None),
            _create("create-error-wrong-bucket", _MISSING_BUCKET, "code.zip"),
            _create("create-error-wrong-key", _BUCKET, "missing.zip"),
            _update("update-error-wrong-bucket", _MISSING_BUCKET, "code.zip"),
            _update("update-error-wrong-key", _BUCKET, "missing.zip"),
        ],
    ),
    Case(
        "TestLambdaFunction::test_lambda_code_location_s3",
        [
            S3Put(_BUCKET, "code.zip", ZIP),
            S3Put(_BUCKET, "code2.zip", ZIP2),
            Create(
                "create_response_s3",
                overrides={"Code": {"S3Bucket": _BUCKET, "S3Key": "code.zip"}},
            ),
            Call("get-function-response", "get_function", {"FunctionName": "{fn}"}),
            _update("update-function-response", _BUCKET, "code2.zip"),
            Call("get-function-response-updated", "get_function", {"FunctionName": "{fn}"}),
        ],
    ),
]
