"""Advanced logging controls (LoggingConfig): the API's defaults and validation as AWS's
recorded answers show them, and the log records Python and Node.js functions write."""

from __future__ import annotations

import json
import shutil
from typing import Any

import pytest
from botocore.exceptions import ClientError

from tests.integration.conftest import Server, create_function, log_events, make_zip

pytestmark = pytest.mark.integration

PYTHON = (
    "import logging, json\n"
    "logger = logging.getLogger('orders')\n"
    "def handler(event, context):\n"
    "    logger.info('placed %s', event.get('id'), extra={'orderId': 7})\n"
    "    logger.debug('details')\n"
    "    print('plain print')\n"
    "    print(json.dumps({'level': 'DEBUG', 'message': 'a structured debug line'}))\n"
    "    if event.get('fail'):\n"
    "        raise KeyError('missing')\n"
    "    return 'ok'\n"
)


def messages(server: Server, name: str) -> list[str]:
    return [e["message"] for e in log_events(server.endpoint, f"/aws/lambda/{name}")]


def records(lines: list[str]) -> list[dict[str, Any]]:
    return [json.loads(line) for line in lines if line.startswith("{")]


def test_api_defaults_and_validation(client: Any) -> None:
    created = create_function(client, "lc-json", LoggingConfig={"LogFormat": "JSON"})
    assert created["LoggingConfig"] == {
        "ApplicationLogLevel": "INFO",
        "LogFormat": "JSON",
        "LogGroup": "/aws/lambda/lc-json",
        "SystemLogLevel": "INFO",
    }
    updated = client.update_function_configuration(
        FunctionName="lc-json", LoggingConfig={"LogGroup": "cool_lambda"}
    )
    assert updated["LoggingConfig"] == {
        "ApplicationLogLevel": "INFO",
        "LogFormat": "JSON",
        "LogGroup": "cool_lambda",
        "SystemLogLevel": "INFO",
    }
    client.get_waiter("function_updated_v2").wait(FunctionName="lc-json")
    switched = client.update_function_configuration(
        FunctionName="lc-json", LoggingConfig={"LogFormat": "Text"}
    )
    assert switched["LoggingConfig"] == {"LogFormat": "Text", "LogGroup": "cool_lambda"}
    client.get_waiter("function_updated_v2").wait(FunctionName="lc-json")
    debug = client.update_function_configuration(
        FunctionName="lc-json",
        LoggingConfig={"LogFormat": "JSON", "ApplicationLogLevel": "DEBUG"},
    )
    assert debug["LoggingConfig"]["ApplicationLogLevel"] == "DEBUG"
    assert debug["LoggingConfig"]["SystemLogLevel"] == "INFO"
    with pytest.raises(ClientError) as caught:
        create_function(
            client,
            "lc-bad",
            LoggingConfig={"LogFormat": "Text", "ApplicationLogLevel": "DEBUG"},
        )
    error = caught.value.response
    assert error["Error"]["Code"] == "InvalidParameterValueException"
    assert "LogLevel is not supported when LogFormat is set to" in error["Error"]["Message"]
    assert error["ResponseMetadata"]["HTTPStatusCode"] == 400


def test_python_json_records(server: Server, client: Any) -> None:
    create_function(
        client, "lc-py", make_zip({"app.py": PYTHON}), LoggingConfig={"LogFormat": "JSON"}
    )
    client.invoke(FunctionName="lc-py", Payload=b'{"id": "A1"}')
    client.invoke(FunctionName="lc-py", Payload=b'{"fail": true}')
    lines = messages(server, "lc-py")
    assert not any(line.startswith(("START", "END", "REPORT")) for line in lines)
    assert "plain print" in lines  # print output is not a log record: it stays as it is
    found = records(lines)
    start = next(r for r in found if r.get("type") == "platform.start")
    request_id = start["record"]["requestId"]
    assert start["record"] == {"requestId": request_id, "version": "$LATEST"}
    report = next(r for r in found if r.get("type") == "platform.report")
    assert report["record"]["requestId"] == request_id and report["record"]["status"] == "success"
    assert set(report["record"]["metrics"]) >= {
        "durationMs",
        "billedDurationMs",
        "memorySizeMB",
        "maxMemoryUsedMB",
        "initDurationMs",
    }
    placed = next(r for r in found if r.get("message") == "placed A1")
    assert placed["level"] == "INFO" and placed["logger"] == "orders"
    assert placed["requestId"] == request_id and placed["orderId"] == 7
    assert placed["timestamp"].endswith("Z") and len(placed["timestamp"]) == 20
    assert not any(r.get("message") in ("details", "a structured debug line") for r in found)
    failure = next(r for r in found if r.get("errorType") == "KeyError")
    assert failure["level"] == "ERROR" and failure["errorMessage"] == "'missing'"
    assert isinstance(failure["stackTrace"], list)


def test_levels_filter(server: Server, client: Any) -> None:
    create_function(
        client,
        "lc-levels",
        make_zip({"app.py": PYTHON}),
        LoggingConfig={
            "LogFormat": "JSON",
            "ApplicationLogLevel": "DEBUG",
            "SystemLogLevel": "WARN",
        },
    )
    client.invoke(FunctionName="lc-levels", Payload=b"{}")
    found = records(messages(server, "lc-levels"))
    assert {"details", "a structured debug line"} <= {r.get("message") for r in found}
    assert not any(str(r.get("type", "")).startswith("platform.") for r in found)


def test_text_format_is_unchanged(server: Server, client: Any) -> None:
    create_function(client, "lc-text", make_zip({"app.py": PYTHON}))
    client.invoke(FunctionName="lc-text", Payload=b'{"id": "B2"}')
    lines = messages(server, "lc-text")
    assert lines[0].startswith("START RequestId:") and lines[-1].startswith("REPORT RequestId:")
    assert not any("placed B2" in line for line in lines)  # Python's default level: WARNING


@pytest.mark.skipif(shutil.which("node") is None, reason="node is not installed")
def test_node_json_records(server: Server, client: Any) -> None:
    code = make_zip(
        {
            "index.js": (
                "exports.handler = async () => {\n"
                "  console.log('hello', 42);\n"
                "  console.debug('quiet');\n"
                "  console.error(new TypeError('bad'));\n"
                "  return 1;\n"
                "};\n"
            )
        }
    )
    create_function(
        client,
        "lc-node",
        code,
        Runtime="nodejs20.x",
        Handler="index.handler",
        LoggingConfig={"LogFormat": "JSON"},
    )
    client.invoke(FunctionName="lc-node", Payload=b"{}")
    found = records(messages(server, "lc-node"))
    request_id = next(r for r in found if r.get("type") == "platform.start")["record"]["requestId"]
    hello = next(r for r in found if r.get("message") == "hello 42")
    assert hello["level"] == "INFO" and hello["requestId"] == request_id
    assert not any(r.get("message") == "quiet" for r in found)
    assert any(r.get("level") == "ERROR" and "bad" in json.dumps(r) for r in found)
    assert any(r.get("type") == "platform.report" for r in found)
