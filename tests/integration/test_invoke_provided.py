"""Invoke through boto3 with a custom runtime (`provided.al2023`): its own `bootstrap`."""

from __future__ import annotations

import base64
import io
import json
import re
import zipfile
from typing import Any

import pytest
from botocore.exceptions import ClientError

from tests.integration.conftest import create_function, logs_client
from tests.integration.test_functions import error_of

# A bootstrap that speaks the Runtime API with the standard library only.
BOOTSTRAP = """#!/usr/bin/env python3
import json, os, sys, time, urllib.request, uuid
api = "http://" + os.environ["AWS_LAMBDA_RUNTIME_API"] + "/2018-06-01/runtime"
state = {"count": 0, "id": uuid.uuid4().hex}  # pids repeat across sandboxes
while True:
    with urllib.request.urlopen(api + "/invocation/next") as r:
        rid = r.headers["Lambda-Runtime-Aws-Request-Id"]
        arn = r.headers["Lambda-Runtime-Invoked-Function-Arn"]
        deadline = int(r.headers["Lambda-Runtime-Deadline-Ms"])
        context = r.headers.get("Lambda-Runtime-Client-Context")
        event = json.loads(r.read())
    state["count"] += 1
    print("handling", rid, flush=True)
    if event.get("exit") is not None:
        sys.exit(event["exit"])
    if event.get("sleep"):
        time.sleep(event["sleep"])
    if event.get("fail"):
        body = json.dumps({"errorType": "ValueError", "errorMessage": "bad input"}).encode()
        req = urllib.request.Request(api + "/invocation/" + rid + "/error", data=body, method="POST",
                                     headers={"Lambda-Runtime-Function-Error-Type": "Unhandled"})
    else:
        result = {"event": event, "count": state["count"], "arn": arn, "pid": os.getpid(), "instance": state["id"],
                  "remaining": deadline - int(time.time() * 1000), "context": context,
                  "env": {k: os.environ.get(k) for k in ("AWS_LAMBDA_FUNCTION_NAME", "AWS_LAMBDA_FUNCTION_VERSION",
                          "AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "AWS_LAMBDA_LOG_GROUP_NAME", "STAGE", "_HANDLER",
                          "AWS_REGION", "AWS_LAMBDA_INITIALIZATION_TYPE")}}
        req = urllib.request.Request(api + "/invocation/" + rid + "/response", data=json.dumps(result).encode(), method="POST")
    urllib.request.urlopen(req).read()
"""


def bootstrap_zip(script: str = BOOTSTRAP) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        info = zipfile.ZipInfo("bootstrap")
        info.external_attr = 0o755 << 16
        archive.writestr(info, script)
    return buffer.getvalue()


def invoke(client: Any, name: str, event: Any = None, **kwargs: Any) -> tuple[dict[str, Any], Any]:
    response = client.invoke(
        FunctionName=name, Payload=json.dumps(event if event is not None else {}), **kwargs
    )
    return response, json.loads(response["Payload"].read())


@pytest.fixture(scope="module")
def custom(client: Any) -> str:
    create_function(
        client,
        "custom-rt",
        bootstrap_zip(),
        Runtime="provided.al2023",
        Handler="ignored",
        Timeout=2,
        MemorySize=256,
        Environment={"Variables": {"STAGE": "test"}},
    )
    return "custom-rt"


def test_invoke_returns_result_headers_and_env(client: Any, custom: str) -> None:
    response, body = invoke(client, custom, {"hello": "world"})
    assert response["StatusCode"] == 200
    assert "FunctionError" not in response
    assert response["ExecutedVersion"] == "$LATEST"
    assert body["event"] == {"hello": "world"}
    assert body["arn"] == "arn:aws:lambda:us-east-1:123456789012:function:custom-rt"
    assert 0 < body["remaining"] <= 2000
    assert body["env"] == {
        "AWS_LAMBDA_FUNCTION_NAME": "custom-rt",
        "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "256",
        "AWS_LAMBDA_LOG_GROUP_NAME": "/aws/lambda/custom-rt",
        "STAGE": "test",
        "_HANDLER": "ignored",
        "AWS_REGION": "us-east-1",
        "AWS_LAMBDA_INITIALIZATION_TYPE": "on-demand",
    }


def test_warm_environment_is_reused(client: Any, custom: str) -> None:
    _, first = invoke(client, custom)
    _, second = invoke(client, custom)
    assert second["instance"] == first["instance"]
    assert second["count"] == first["count"] + 1


def test_tail_log_has_start_end_report(client: Any, custom: str) -> None:
    response, _ = invoke(client, custom, LogType="Tail")
    log = base64.b64decode(response["LogResult"]).decode()
    lines = log.rstrip("\n").split("\n")
    assert lines[0].startswith("START RequestId: ") and lines[0].endswith(" Version: $LATEST")
    request_id = lines[0].split()[2]
    assert lines[1] == f"handling {request_id}"
    assert lines[2] == f"END RequestId: {request_id}"
    assert lines[3].startswith(f"REPORT RequestId: {request_id}\tDuration: ")
    assert "\tMemory Size: 256 MB\tMax Memory Used: " in lines[3]
    assert lines[3].endswith("\t")


def test_function_error_is_unhandled(client: Any, custom: str) -> None:
    response, body = invoke(client, custom, {"fail": True})
    assert response["StatusCode"] == 200
    assert response["FunctionError"] == "Unhandled"
    assert body == {"errorType": "ValueError", "errorMessage": "bad input"}


def test_timeout_replaces_the_environment(client: Any, custom: str) -> None:
    _, before = invoke(client, custom)
    response, body = invoke(client, custom, {"sleep": 5}, LogType="Tail")
    assert response["FunctionError"] == "Unhandled"
    assert body["errorType"] == "Sandbox.Timedout"
    assert body["errorMessage"].endswith("Error: Task timed out after 2.00 seconds")
    assert "Status: timeout" in base64.b64decode(response["LogResult"]).decode()
    _, after = invoke(client, custom)
    assert after["instance"] != before["instance"]


@pytest.mark.parametrize(("code", "reason"), [(3, "exit status 3")])
def test_crash_is_exit_error(client: Any, custom: str, code: int, reason: str) -> None:
    response, body = invoke(client, custom, {"exit": code})
    assert response["FunctionError"] == "Unhandled"
    assert body["errorType"] == "Runtime.ExitError"
    assert body["errorMessage"].endswith(f"Error: Runtime exited with error: {reason}")
    ok, _ = invoke(client, custom)
    assert "FunctionError" not in ok


def test_client_context_reaches_the_runtime(client: Any, custom: str) -> None:
    context = {"custom": {"k": "v"}, "env": {"e": "1"}}
    encoded = base64.b64encode(json.dumps(context).encode()).decode()
    _, body = invoke(client, custom, ClientContext=encoded)
    assert json.loads(body["context"]) == context


def test_dry_run_and_bad_payloads(client: Any, raw_client: Any, custom: str) -> None:
    dry = client.invoke(FunctionName=custom, InvocationType="DryRun")
    assert dry["StatusCode"] == 204
    with pytest.raises(ClientError) as exc:
        client.invoke(FunctionName=custom, Payload=b"{not json")
    assert error_of(exc)[:2] == ("InvalidRequestContentException", 400)
    with pytest.raises(ClientError) as exc:
        client.invoke(FunctionName=custom, Payload=b'"' + b"x" * (6 * 1024 * 1024) + b'"')
    code, status, message = error_of(exc)
    assert (code, status) == ("RequestEntityTooLargeException", 413)
    assert message == "Request must be smaller than 6291456 bytes for the InvokeFunction operation"
    with pytest.raises(ClientError) as exc:
        client.invoke(FunctionName="no-such-function")
    assert error_of(exc)[:2] == ("ResourceNotFoundException", 404)


def test_missing_bootstrap_is_an_init_error(client: Any) -> None:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("README", "no bootstrap here")
    create_function(
        client, "no-bootstrap", buffer.getvalue(), Runtime="provided.al2023", Handler="x"
    )
    response, body = invoke(client, "no-bootstrap")
    assert response["FunctionError"] == "Unhandled"
    assert body["errorType"] == "Runtime.InvalidEntrypoint"


def test_alias_and_version_invoke(client: Any, custom: str) -> None:
    version = client.publish_version(FunctionName=custom)["Version"]
    client.create_alias(FunctionName=custom, Name="live", FunctionVersion=version)
    response, body = invoke(client, f"{custom}:live")
    assert response["ExecutedVersion"] == version
    assert body["arn"].endswith(":custom-rt:live")
    assert body["env"]["AWS_LAMBDA_FUNCTION_VERSION"] == version
    response, _ = invoke(client, custom, Qualifier=version)
    assert response["ExecutedVersion"] == version


def test_logs_are_stored_per_group_and_served_through_the_logs_api(
    server: Any, client: Any, custom: str
) -> None:
    response, _ = invoke(client, custom, {"marker": "logs-api"}, LogType="Tail")
    request_id = base64.b64decode(response["LogResult"]).decode().split()[2]
    logs = logs_client(server.endpoint)
    events = logs.filter_log_events(logGroupName="/aws/lambda/custom-rt")["events"]
    mine = [e["message"] for e in events if request_id in e["message"]]
    assert mine[0] == f"START RequestId: {request_id} Version: $LATEST"
    assert mine[1] == f"handling {request_id}"
    assert mine[-1].startswith(f"REPORT RequestId: {request_id}")
    streams = {e["logStreamName"] for e in events}
    assert all(
        re.fullmatch(r"\d{4}/\d{2}/\d{2}/\[(\$LATEST|\d+)\][0-9a-f]{32}", s) for s in streams
    )


def test_hearth_invoke_and_logs_commands(server: Any, custom: str) -> None:
    from tests.integration.test_cli import hearth

    result = hearth(server, "invoke", custom, "--payload", '{"from": "cli"}', "--tail")
    assert result.returncode == 0, result.stderr
    assert '"from": "cli"' in result.stdout
    assert "REPORT RequestId:" in result.stderr
    failed = hearth(server, "invoke", custom, "--payload", '{"fail": true}')
    assert failed.returncode == 1
    assert "The function failed (Unhandled)" in failed.stderr
    logs = hearth(server, "logs", custom, "--since", "5m")
    assert logs.returncode == 0, logs.stderr
    assert "START RequestId:" in logs.stdout
    assert "handling" in logs.stdout
