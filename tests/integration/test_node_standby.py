"""Standby Node.js runtimes (hearth.invoke.standby): an environment whose runtime was booted
before its function existed behaves exactly as a freshly started one: the function's
variables, context, working directory, layers, /tmp, logs, errors and response streaming.
Sandboxed (the shared server) and as plain processes."""

from __future__ import annotations

import base64
import json
import shutil
import time
from collections.abc import Iterator
from typing import Any

import pytest

from tests.integration.conftest import Server, create_function, make_zip

pytestmark = pytest.mark.skipif(shutil.which("node") is None, reason="node is not installed")

HANDLER = """
const { greet } = require('greeter');
const fs = require('fs');
exports.handler = async (event, context) => {
  if (event.fail) throw new RangeError('bad ' + event.fail);
  const scratch = `/tmp/standby-${context.awsRequestId}`; // unique: unsandboxed, /tmp is the host's
  fs.writeFileSync(scratch, 'y');
  console.log('hello', event.n);
  return {
    uptimeMs: process.uptime() * 1000, cwd: process.cwd(), taskRoot: process.env.LAMBDA_TASK_ROOT,
    mine: process.env.MY_VAR, standby: process.env.HEARTH_STANDBY ?? null,
    fn: context.functionName, mem: context.memoryLimitInMB, id: context.awsRequestId,
    stream: context.logStreamName === process.env.AWS_LAMBDA_LOG_STREAM_NAME,
    greeting: greet('x'), tmp: fs.readFileSync(scratch, 'utf8'),
  };
};
"""

STREAMER = """
exports.handler = awslambda.streamifyResponse(async (event, stream) => {
  stream.write('first,');
  stream.end(JSON.stringify({ uptimeMs: process.uptime() * 1000 }));
});
"""


@pytest.fixture(scope="module", params=["sandbox", "process"])
def node_client(
    request: pytest.FixtureRequest, client: Any, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Any]:
    if request.param == "sandbox":
        yield client
        return
    server = Server(tmp_path_factory.mktemp("standby"), ["--isolation", "process"]).start()
    own = server.client()
    yield own
    own.close()  # no kept-alive connection for the server's graceful stop to wait on
    server.stop()


def _from_standby(client: Any, prefix: str, run: Any, **config: Any) -> tuple[str, Any]:
    """Create functions until one's first invoke ran on a standby: its runtime had been up
    longer than the whole invoke took (a runtime booted for it cannot have)."""
    for attempt in range(20):
        name = f"{prefix}-{attempt}"
        create_function(client, name, Runtime="nodejs20.x", Handler="index.handler", **config)
        started = time.monotonic()
        result = run(name)
        if result["uptimeMs"] > (time.monotonic() - started) * 1000:
            return name, result
    raise AssertionError("no invoke ran on a standby runtime")


def test_standby_runtime_serves_its_function_as_a_fresh_one(
    node_client: Any, request: pytest.FixtureRequest
) -> None:
    mode = request.node.callspec.params["node_client"]
    layer = node_client.publish_layer_version(
        LayerName=f"standby-greeter-{mode}",
        Content={
            "ZipFile": make_zip(
                {"nodejs/node_modules/greeter/index.js": "exports.greet = (n) => `hi ${n}`;\n"}
            )
        },
    )
    logs: dict[str, str] = {}

    def run(name: str) -> Any:
        response = node_client.invoke(FunctionName=name, Payload=b'{"n": 1}', LogType="Tail")
        assert "FunctionError" not in response, response["Payload"].read()
        logs[name] = base64.b64decode(response["LogResult"]).decode()
        return json.loads(response["Payload"].read())

    name, body = _from_standby(
        node_client,
        f"standby-{mode}",
        run,
        Code={"ZipFile": make_zip({"index.js": HANDLER})},
        MemorySize=256,
        Environment={"Variables": {"MY_VAR": "mine"}},
        Layers=[layer["LayerVersionArn"]],
    )
    assert body["cwd"] == body["taskRoot"]
    if mode == "sandbox":
        assert body["cwd"] == "/var/task"
    assert (body["mine"], body["standby"]) == ("mine", None)
    assert (body["fn"], body["mem"], body["stream"]) == (name, "256", True)
    assert (body["greeting"], body["tmp"]) == ("hi x", "y")
    assert f"\t{body['id']}\tINFO\thello 1" in logs[name]
    report = next(line for line in logs[name].splitlines() if line.startswith("REPORT"))
    assert body["id"] in report and "\tMax Memory Used: " in report
    # Errors are shaped as ever, and the environment stays warm for the next invoke.
    failed = node_client.invoke(FunctionName=name, Payload=b'{"fail": "input"}')
    assert failed["FunctionError"] == "Unhandled"
    error = json.loads(failed["Payload"].read())
    assert (error["errorType"], error["errorMessage"]) == ("RangeError", "bad input")
    assert run(name)["uptimeMs"] > body["uptimeMs"]


def test_standby_runtime_streams_responses(
    node_client: Any, request: pytest.FixtureRequest
) -> None:
    mode = request.node.callspec.params["node_client"]

    def run(name: str) -> Any:
        response = node_client.invoke_with_response_stream(FunctionName=name, Payload=b"{}")
        chunks = [
            e["PayloadChunk"]["Payload"] for e in response["EventStream"] if "PayloadChunk" in e
        ]
        first, rest = b"".join(chunks).decode().split(",", 1)
        assert first == "first"
        return json.loads(rest)

    _from_standby(
        node_client,
        f"standby-stream-{mode}",
        run,
        Code={"ZipFile": make_zip({"index.js": STREAMER})},
    )


def test_node_options_still_apply(node_client: Any, request: pytest.FixtureRequest) -> None:
    # Node reads NODE_OPTIONS only as it boots: such a function gets a runtime of its own.
    mode = request.node.callspec.params["node_client"]
    name = f"standby-options-{mode}"
    create_function(
        node_client,
        name,
        make_zip({"index.js": "exports.handler = async () => Error.stackTraceLimit;\n"}),
        Runtime="nodejs20.x",
        Handler="index.handler",
        Environment={"Variables": {"NODE_OPTIONS": "--stack-trace-limit=3"}},
    )
    response = node_client.invoke(FunctionName=name, Payload=b"{}")
    assert json.loads(response["Payload"].read()) == 3
