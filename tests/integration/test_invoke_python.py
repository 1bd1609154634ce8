"""Python functions through boto3 and the aws CLI: the context, errors, init failures, crashes."""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

import pytest

from tests.integration.conftest import Server, aws_json, create_function, make_zip

APP = """
import json, logging, os, sys, time, uuid
logger = logging.getLogger()
logger.setLevel(logging.INFO)
# pids are not unique across sandboxes (each runtime is pid 2 in its own): an id is.
STATE = {"count": 0, "pid": uuid.uuid4().hex}

def handler(event, context):
    STATE["count"] += 1
    action = event.get("action")
    print("print from handler", event.get("tag"))
    logger.info("logging from handler")
    if action == "raise":
        raise KeyError("missing")
    if action == "marshal":
        return {1, 2}
    if action == "sleep":
        time.sleep(event["seconds"])
    if action == "exit":
        sys.exit(event["code"])
    if action == "os_exit":
        os._exit(7)
    if action == "segfault":
        import ctypes
        ctypes.string_at(0)
    if action == "tmp":
        path = "/tmp/hearth-" + context.aws_request_id[:0] + str(STATE["pid"])
        if event.get("write"):
            open(path, "w").write("kept")
        return {"exists": os.path.exists(path)}
    if action == "layer":
        import helper_from_layer
        return {"layer": helper_from_layer.VALUE}
    return {
        "count": STATE["count"], "pid": STATE["pid"],
        "context": {
            "function_name": context.function_name, "function_version": context.function_version,
            "invoked_function_arn": context.invoked_function_arn, "memory_limit_in_mb": context.memory_limit_in_mb,
            "aws_request_id": context.aws_request_id, "log_group_name": context.log_group_name,
            "log_stream_name": context.log_stream_name, "remaining": context.get_remaining_time_in_millis(),
            "client_custom": context.client_context.custom if context.client_context else None,
        },
        "env": {k: os.environ.get(k) for k in ("AWS_EXECUTION_ENV", "LAMBDA_TASK_ROOT", "TZ", "GREETING", "_X_AMZN_TRACE_ID")},
        "python": sys.version_info[:2],
    }
"""


def invoke(client: Any, name: str, event: Any = None, **kwargs: Any) -> tuple[dict[str, Any], Any]:
    response = client.invoke(
        FunctionName=name, Payload=json.dumps(event if event is not None else {}), **kwargs
    )
    return response, json.loads(response["Payload"].read())


@pytest.fixture(scope="module")
def py_fn(client: Any) -> str:
    layer = client.publish_layer_version(
        LayerName="py-helpers",
        Content={"ZipFile": make_zip({"python/helper_from_layer.py": "VALUE = 'from layer'\n"})},
    )
    create_function(
        client,
        "py-app",
        make_zip({"app.py": APP}),
        Runtime="python3.12",
        Handler="app.handler",
        Timeout=2,
        MemorySize=256,
        Environment={"Variables": {"GREETING": "hi"}},
        Layers=[layer["LayerVersionArn"]],
    )
    return "py-app"


def test_result_context_and_environment(client: Any, py_fn: str) -> None:
    context = base64.b64encode(json.dumps({"custom": {"k": "v"}}).encode()).decode()
    response, body = invoke(client, py_fn, {"tag": "a"}, ClientContext=context)
    assert "FunctionError" not in response
    ctx = body["context"]
    assert ctx["function_name"] == py_fn
    assert ctx["function_version"] == "$LATEST"
    assert ctx["invoked_function_arn"] == f"arn:aws:lambda:us-east-1:123456789012:function:{py_fn}"
    assert ctx["memory_limit_in_mb"] == "256"
    assert ctx["log_group_name"] == f"/aws/lambda/{py_fn}"
    assert 0 < ctx["remaining"] <= 2000
    assert ctx["client_custom"] == {"k": "v"}
    assert body["env"]["AWS_EXECUTION_ENV"] == "AWS_Lambda_python3.12"
    assert body["env"]["GREETING"] == "hi"
    assert body["env"]["TZ"] == ":UTC"
    assert body["env"]["_X_AMZN_TRACE_ID"].startswith("Root=1-")


def test_module_state_and_tmp_persist_while_warm(client: Any, py_fn: str) -> None:
    _, first = invoke(client, py_fn)
    _, second = invoke(client, py_fn)
    assert second["pid"] == first["pid"]
    assert second["count"] == first["count"] + 1
    assert invoke(client, py_fn, {"action": "tmp", "write": True})[1] == {"exists": True}
    assert invoke(client, py_fn, {"action": "tmp"})[1] == {"exists": True}


def test_print_and_logging_lines_in_the_tail(client: Any, py_fn: str) -> None:
    response, body = invoke(client, py_fn, {"tag": "tail-me"}, LogType="Tail")
    log = base64.b64decode(response["LogResult"]).decode()
    request_id = body["context"]["aws_request_id"]
    assert "print from handler tail-me" in log
    assert "[INFO]\t" in log and f"\t{request_id}\tlogging from handler" in log
    assert f"END RequestId: {request_id}" in log


def test_unhandled_exception(client: Any, py_fn: str) -> None:
    response, body = invoke(client, py_fn, {"action": "raise"})
    assert response["FunctionError"] == "Unhandled"
    assert body["errorType"] == "KeyError"
    assert body["errorMessage"] == "'missing'"
    assert any("in handler" in line for line in body["stackTrace"])


def test_unserializable_result_is_marshal_error(client: Any, py_fn: str) -> None:
    response, body = invoke(client, py_fn, {"action": "marshal"})
    assert response["FunctionError"] == "Unhandled"
    assert body["errorType"] == "Runtime.MarshalError"


@pytest.mark.parametrize(
    ("event", "reason"),
    [
        ({"action": "exit", "code": 3}, "exit status 3"),
        ({"action": "os_exit"}, "exit status 7"),
        ({"action": "segfault"}, "signal: segmentation fault"),
    ],
)
def test_crashes_are_exit_errors_and_replace_the_environment(
    client: Any, py_fn: str, event: dict[str, Any], reason: str
) -> None:
    _, before = invoke(client, py_fn)
    response, body = invoke(client, py_fn, event)
    assert response["FunctionError"] == "Unhandled"
    assert body["errorType"] == "Runtime.ExitError"
    assert body["errorMessage"].endswith(f"Runtime exited with error: {reason}")
    _, after = invoke(client, py_fn)
    assert after["pid"] != before["pid"]


def test_timeout(client: Any, py_fn: str) -> None:
    response, body = invoke(client, py_fn, {"action": "sleep", "seconds": 5})
    assert response["FunctionError"] == "Unhandled"
    assert body["errorType"] == "Sandbox.Timedout"
    assert body["errorMessage"].endswith("Task timed out after 2.00 seconds")


def test_layer_is_on_sys_path(client: Any, py_fn: str) -> None:
    assert invoke(client, py_fn, {"action": "layer"})[1] == {"layer": "from layer"}


@pytest.mark.parametrize(
    ("files", "handler", "error_type"),
    [
        ({"app.py": "def handler(e, c): return 1\n"}, "app", "Runtime.MalformedHandlerName"),
        ({"app.py": "def handler(e, c): return 1\n"}, "nope.handler", "Runtime.ImportModuleError"),
        ({"app.py": "def handler(e, c): return 1\n"}, "app.missing", "Runtime.HandlerNotFound"),
        ({"app.py": "def handler(e, c) return 1\n"}, "app.handler", "Runtime.UserCodeSyntaxError"),
    ],
)
def test_init_errors(
    client: Any, files: dict[str, str | bytes], handler: str, error_type: str
) -> None:
    name = f"py-init-{error_type.rsplit('.', maxsplit=1)[-1]}"
    create_function(client, name, make_zip(files), Runtime="python3.12", Handler=handler)
    response, body = invoke(client, name, LogType="Tail")
    assert response["FunctionError"] == "Unhandled"
    assert body["errorType"] == error_type
    log = base64.b64decode(response["LogResult"]).decode()
    assert f"Status: error\tError Type: {error_type}" in log.splitlines()[-1]
    assert log.splitlines()[-1].startswith("INIT_REPORT Init Duration: ")


def test_package_handler_path(client: Any) -> None:
    code = make_zip(
        {
            "pkg/__init__.py": "",
            "pkg/mod.py": "def run(event, context):\n    return {'pkg': True}\n",
        }
    )
    create_function(client, "py-pkg", code, Runtime="python3.12", Handler="pkg/mod.run")
    assert invoke(client, "py-pkg")[1] == {"pkg": True}


@pytest.mark.parametrize("runtime", ["python3.10", "python3.11", "python3.13"])
def test_each_python_runtime_runs_its_own_interpreter(client: Any, runtime: str) -> None:
    from hearth.sandbox.zygote import find_python

    name = f"py-{runtime.replace('.', '-')}"
    create_function(client, name, make_zip({"app.py": APP}), Runtime=runtime, Handler="app.handler")
    _, body = invoke(client, name)
    expected = tuple(int(x) for x in runtime.removeprefix("python").split("."))
    if find_python(runtime).endswith(runtime):
        assert tuple(body["python"]) == expected


def test_update_sends_new_invocations_to_a_new_environment(client: Any) -> None:
    create_function(
        client,
        "py-update",
        make_zip(
            {
                "app.py": "import uuid\nE = uuid.uuid4().hex\ndef handler(e, c):\n    return {'v': 1, 'pid': E}\n"
            }
        ),
        Runtime="python3.12",
        Handler="app.handler",
    )
    _, first = invoke(client, "py-update")
    client.update_function_code(
        FunctionName="py-update",
        ZipFile=make_zip(
            {
                "app.py": "import uuid\nE = uuid.uuid4().hex\ndef handler(e, c):\n    return {'v': 2, 'pid': E}\n"
            }
        ),
    )
    client.get_waiter("function_updated_v2").wait(
        FunctionName="py-update", WaiterConfig={"Delay": 0.2}
    )
    _, second = invoke(client, "py-update")
    assert (first["v"], second["v"]) == (1, 2)
    assert second["pid"] != first["pid"]


def test_aws_cli_invoke(server: Server, py_fn: str, tmp_path: Path) -> None:
    out = tmp_path / "out.json"
    meta = aws_json(
        server.endpoint, "invoke", "--function-name", py_fn, "--payload", '{"tag": "cli"}', str(out)
    )
    assert meta["StatusCode"] == 200
    assert json.loads(out.read_text())["context"]["function_name"] == py_fn


def test_weighted_alias_routes_between_versions(client: Any) -> None:
    create_function(
        client,
        "py-weights",
        make_zip({"app.py": "def handler(e, c):\n    return c.function_version\n"}),
        Runtime="python3.12",
        Handler="app.handler",
    )
    v1 = client.publish_version(FunctionName="py-weights")["Version"]
    client.update_function_configuration(FunctionName="py-weights", Timeout=4)
    client.get_waiter("function_updated_v2").wait(
        FunctionName="py-weights", WaiterConfig={"Delay": 0.2}
    )
    v2 = client.publish_version(FunctionName="py-weights")["Version"]
    client.create_alias(
        FunctionName="py-weights",
        Name="canary",
        FunctionVersion=v1,
        RoutingConfig={"AdditionalVersionWeights": {v2: 0.5}},
    )
    seen = []
    for _ in range(60):
        response = client.invoke(FunctionName="py-weights", Qualifier="canary")
        body = json.loads(response["Payload"].read())
        assert body == response["ExecutedVersion"]  # the header names the version that ran
        seen.append(body)
    assert 10 <= seen.count(v2) <= 50  # 0.5 ± a wide margin: P(outside) < 1e-5
    assert set(seen) == {v1, v2}


def test_response_over_6_mb_is_an_error(client: Any) -> None:
    # AWS's limit is 6 MiB + 100 bytes (6,291,556): a 6 MiB JSON string (quotes included)
    # gets through, and so does one of exactly 6,291,556 bytes; one byte more does not.
    source = "def handler(e, c):\n    return 'x' * (6 * 1024 * 1024 + e.get('more', 0))\n"
    create_function(
        client,
        "py-huge",
        make_zip({"app.py": source}),
        Runtime="python3.12",
        Handler="app.handler",
        MemorySize=512,
    )
    response, body = invoke(client, "py-huge", {"more": 99})
    assert response["FunctionError"] == "Unhandled"
    assert body["errorType"] == "Function.ResponseSizeTooLarge"
    assert body["errorMessage"] == (
        "Response payload size exceeded maximum allowed payload size (6291556 bytes)."
    )
    response, body = invoke(client, "py-huge", {})
    assert "FunctionError" not in response
    assert body == "x" * (6 * 1024 * 1024)
    response, body = invoke(client, "py-huge", {"more": 98})  # 6,291,556 bytes with quotes
    assert "FunctionError" not in response
    assert len(json.dumps(body)) == 6 * 1024 * 1024 + 100


def test_arm64_is_reported_as_asked_and_runs_on_the_host(server: Server, client: Any) -> None:
    source = "import platform\ndef handler(e, c):\n    return platform.machine()\n"
    created = create_function(
        client,
        "py-arm64",
        make_zip({"app.py": source}),
        Handler="app.handler",
        Architectures=["arm64"],
    )
    assert created["Architectures"] == ["arm64"]
    got = client.get_function_configuration(FunctionName="py-arm64")
    assert got["Architectures"] == ["arm64"]
    _, machine = invoke(client, "py-arm64", {})
    host = {"amd64": "x86_64", "aarch64": "arm64"}.get(machine.lower(), machine.lower())
    said = [line for line in server.output if line.startswith("  arch:")]
    assert said == [
        f"  arch:     functions run on this host's {host}, whatever their Architectures say "
        "(x86_64 or arm64)\n"
    ]


def test_tail_is_the_last_4_kb(client: Any) -> None:
    code = make_zip(
        {
            "app.py": "def handler(e, c):\n    for i in range(200):\n        print('line', i, 'x' * 60)\n    return 1\n"
        }
    )
    create_function(client, "py-chatty", code, Runtime="python3.12", Handler="app.handler")
    response, _ = invoke(client, "py-chatty", LogType="Tail")
    log = base64.b64decode(response["LogResult"])
    assert 4000 <= len(log) <= 4096
    assert b"line 199" in log and b"line 0 " not in log
    assert log.rstrip(b"\n").split(b"\n")[-1].startswith(b"REPORT RequestId: ")
