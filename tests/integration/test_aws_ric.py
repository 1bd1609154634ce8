"""AWS's own runtime interface client, unmodified, as a custom runtime's bootstrap.

`awslambdaric` (PyPI) talks to whatever `AWS_LAMBDA_RUNTIME_API` names: if it works against
Hearth exactly as against AWS, Hearth's Runtime API is AWS's.
"""

from __future__ import annotations

import base64
import io
import json
import sys
import zipfile
from typing import Any

import pytest

from tests.integration.conftest import create_function

pytest.importorskip("awslambdaric")

APP = """
import os
STATE = {"count": 0}

def handler(event, context):
    STATE["count"] += 1
    print("awslambdaric says hi", context.aws_request_id)
    if event.get("fail"):
        raise ValueError("broken on purpose")
    return {"event": event, "count": STATE["count"], "function": context.function_name,
            "remaining_ok": context.get_remaining_time_in_millis() > 0}
"""


def ric_zip(handler_module: str = APP) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        info = zipfile.ZipInfo("bootstrap")
        info.external_attr = 0o755 << 16
        # The test environment's interpreter has awslambdaric installed.
        archive.writestr(info, f'#!/bin/sh\nexec "{sys.executable}" -m awslambdaric "$_HANDLER"\n')
        archive.writestr("app.py", handler_module)
    return buffer.getvalue()


def invoke(client: Any, name: str, event: Any, **kwargs: Any) -> tuple[dict[str, Any], Any]:
    response = client.invoke(FunctionName=name, Payload=json.dumps(event), **kwargs)
    return response, json.loads(response["Payload"].read())


@pytest.fixture(scope="module")
def ric_fn(client: Any) -> str:
    create_function(
        client,
        "aws-ric",
        ric_zip(),
        Runtime="provided.al2023",
        Handler="app.handler",
        Timeout=10,
        Environment={"Variables": {"PYTHONPATH": "."}},
    )
    return "aws-ric"


def test_awslambdaric_result_and_warm_reuse(client: Any, ric_fn: str) -> None:
    response, first = invoke(client, ric_fn, {"n": 1}, LogType="Tail")
    assert "FunctionError" not in response
    assert first["event"] == {"n": 1}
    assert first["function"] == ric_fn
    assert first["remaining_ok"] is True
    assert "awslambdaric says hi" in base64.b64decode(response["LogResult"]).decode()
    _, second = invoke(client, ric_fn, {"n": 2})
    assert second["count"] == first["count"] + 1


def test_awslambdaric_error_shape(client: Any, ric_fn: str) -> None:
    response, body = invoke(client, ric_fn, {"fail": True})
    assert response["FunctionError"] == "Unhandled"
    assert body["errorType"] == "ValueError"
    assert body["errorMessage"] == "broken on purpose"
    assert isinstance(body["stackTrace"], list)


def test_awslambdaric_init_error(client: Any) -> None:
    create_function(
        client,
        "aws-ric-broken",
        ric_zip("import not_a_module\n"),
        Runtime="provided.al2023",
        Handler="app.handler",
        Environment={"Variables": {"PYTHONPATH": "."}},
    )
    response, body = invoke(client, "aws-ric-broken", {})
    assert response["FunctionError"] == "Unhandled"
    assert body["errorType"] == "Runtime.ImportModuleError"
