"""AWS's own runtime interface clients, unmodified, as a custom runtime's bootstrap.

`awslambdaric` (PyPI) and `aws-lambda-ric` (npm) talk to whatever `AWS_LAMBDA_RUNTIME_API`
names: if they work against Hearth exactly as against AWS, Hearth's Runtime API is AWS's.
"""

from __future__ import annotations

import base64
import io
import json
import shutil
import sys
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.integration.conftest import Server, create_function

pytest.importorskip("awslambdaric")

NODE_RIC = Path(__file__).resolve().parents[2] / ".aws-ric" / "node_modules" / "aws-lambda-ric"
NODE_APP = """
let count = 0;
exports.handler = async (event, context) => {
  count += 1;
  console.log("aws-lambda-ric says hi");
  if (event.fail) { throw new RangeError("broken on purpose"); }
  return {event, count, function: context.functionName};
};
"""

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


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """A server whose sandboxes also show this test run's interpreter, its packages and the
    built aws-lambda-ric, which the bootstraps below run from the host (on AWS they would
    come in the zip or a layer)."""
    expose = {sys.prefix, sys.base_prefix, str(NODE_RIC.parents[1])}
    args = [
        arg for path in sorted(expose) if Path(path).is_dir() for arg in ("--sandbox-expose", path)
    ]
    server = Server(tmp_path_factory.mktemp("ric"), args).start()
    yield server.client()
    server.stop()


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


@pytest.mark.skipif(
    not (NODE_RIC / "dist" / "rapid-client.node").exists() or shutil.which("node") is None,
    reason="aws-lambda-ric is not built (scripts/setup-aws-ric.sh)",
)
def test_aws_lambda_ric_for_node(client: Any) -> None:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        info = zipfile.ZipInfo("bootstrap")
        info.external_attr = 0o755 << 16
        node = shutil.which("node")
        archive.writestr(info, f'#!/bin/sh\nexec "{node}" "{NODE_RIC}/bin/index.mjs" "$_HANDLER"\n')
        archive.writestr("index.js", NODE_APP)
    create_function(
        client,
        "aws-ric-node",
        buffer.getvalue(),
        Runtime="provided.al2023",
        Handler="index.handler",
    )
    response, first = invoke(client, "aws-ric-node", {"n": 1}, LogType="Tail")
    assert "FunctionError" not in response, first
    assert first["event"] == {"n": 1}
    assert first["function"] == "aws-ric-node"
    assert "aws-lambda-ric says hi" in base64.b64decode(response["LogResult"]).decode()
    _, second = invoke(client, "aws-ric-node", {"n": 2})
    assert second["count"] == first["count"] + 1
    response, error = invoke(client, "aws-ric-node", {"fail": True})
    assert response["FunctionError"] == "Unhandled"
    assert error["errorType"] == "RangeError"
    assert error["errorMessage"] == "broken on purpose"
