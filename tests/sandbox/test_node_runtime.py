"""Hearth's Node.js runtime client (`bootstrap.mjs`), run as real `node` processes.

Each test writes a function's code to a temporary task root, starts `node bootstrap.mjs`
with the environment an execution environment gets, and drives it through a small Runtime
API server defined here: it hands out queued events and records what the runtime posts.
"""

from __future__ import annotations

import json
import os
import queue
import re
import shutil
import subprocess
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from socketserver import ThreadingMixIn, UnixStreamServer
from typing import Any

import pytest

NODE = shutil.which("node")
BOOTSTRAP = Path(__file__).resolve().parents[2] / "src/hearth/runtimes/node/bootstrap.mjs"
ARN = "arn:aws:lambda:us-east-1:123456789012:function:fn"
PREFIX = "/2018-06-01/runtime"
WAIT = 10.0

pytestmark = pytest.mark.skipif(NODE is None, reason="node is not installed")


@dataclass
class Posted:
    """One POST from the runtime: kind is "response", "error" or "init_error"."""

    kind: str
    request_id: str | None
    body: bytes
    error_type: str | None

    def json(self) -> Any:
        return json.loads(self.body)


@dataclass
class Event:
    request_id: str
    payload: bytes
    deadline_ms: int
    trace_id: str = "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1"
    client_context: str | None = None
    cognito_identity: str | None = None


class _QuietServer(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: Any, client_address: Any) -> None:
        # A runtime killed (or a client closed) mid-connection is expected here, not news.
        pass


class _QuietUnixServer(ThreadingMixIn, UnixStreamServer):
    daemon_threads = True

    def handle_error(self, request: Any, client_address: Any) -> None:
        pass


class FakeRuntimeApi:
    """The Runtime API of one environment, in threads: events in, posts out. Served on TCP
    (`address`) and, as Hearth serves it to its own runtime clients, on a Unix socket
    (`socket_path`, which the runtime uses when HEARTH_RUNTIME_API_SOCKET names it)."""

    def __init__(self, socket_path: str) -> None:
        self.events: queue.Queue[Event] = queue.Queue()
        self.posts: queue.Queue[Posted] = queue.Queue()
        self.stopping = threading.Event()
        api = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"  # keep-alive, as the real Runtime API
            # Headers and body go out in separate writes: without TCP_NODELAY, Nagle and the
            # peer's delayed ACK add ~40 ms to every answer.
            disable_nagle_algorithm = True

            def log_message(self, format: str, *args: Any) -> None:
                pass

            def do_GET(self) -> None:
                if self.path != f"{PREFIX}/invocation/next":
                    self._reply(404, b"{}")
                    return
                while not api.stopping.is_set():
                    try:
                        event = api.events.get(timeout=0.05)
                    except queue.Empty:
                        continue
                    headers = {
                        "Lambda-Runtime-Aws-Request-Id": event.request_id,
                        "Lambda-Runtime-Deadline-Ms": str(event.deadline_ms),
                        "Lambda-Runtime-Invoked-Function-Arn": ARN,
                        "Lambda-Runtime-Trace-Id": event.trace_id,
                    }
                    if event.client_context is not None:
                        headers["Lambda-Runtime-Client-Context"] = event.client_context
                    if event.cognito_identity is not None:
                        headers["Lambda-Runtime-Cognito-Identity"] = event.cognito_identity
                    self._reply(200, event.payload, headers)
                    return
                self.close_connection = True  # the API is going away: drop the long poll

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                error_type = self.headers.get("Lambda-Runtime-Function-Error-Type")
                rest = self.path.removeprefix(f"{PREFIX}/")
                if rest == "init/error":
                    api.posts.put(Posted("init_error", None, body, error_type))
                else:
                    _, request_id, action = rest.split("/")
                    api.posts.put(Posted(action, request_id, body, error_type))
                self._reply(202, b'{"status":"OK"}')

            def _reply(
                self, status: int, body: bytes, headers: dict[str, str] | None = None
            ) -> None:
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                for name, value in (headers or {}).items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(body)

        class UnixHandler(Handler):
            disable_nagle_algorithm = False  # no TCP here

        self.server = _QuietServer(("127.0.0.1", 0), Handler)
        self.address = f"127.0.0.1:{self.server.server_address[1]}"
        self.socket_path = socket_path
        self.unix_server = _QuietUnixServer(socket_path, UnixHandler)
        self.threads = [
            threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
            for server in (self.server, self.unix_server)
        ]
        for thread in self.threads:
            thread.start()

    def queue_event(
        self, event: Any = None, *, timeout_s: float = 30.0, **headers: str | None
    ) -> str:
        request_id = str(uuid.uuid4())
        deadline_ms = int((time.time() + timeout_s) * 1000)
        payload = json.dumps(event).encode()
        self.events.put(Event(request_id, payload, deadline_ms, **headers))  # type: ignore[arg-type]
        return request_id

    def next_post(self, timeout: float = WAIT) -> Posted:
        return self.posts.get(timeout=timeout)

    def invoke(self, event: Any = None, **kwargs: Any) -> Posted:
        request_id = self.queue_event(event, **kwargs)
        posted = self.next_post()
        assert posted.request_id == request_id, posted
        return posted

    def close(self) -> None:
        self.stopping.set()
        for server in (self.server, self.unix_server):
            server.shutdown()
            server.server_close()
        for thread in self.threads:
            thread.join(timeout=5)


@dataclass
class NodeRuntime:
    """A `node bootstrap.mjs` process and what it printed."""

    api: FakeRuntimeApi
    process: subprocess.Popen[bytes]
    stdout: list[str] = field(default_factory=list)
    stderr: list[str] = field(default_factory=list)
    _pumps: list[threading.Thread] = field(default_factory=list)

    def __post_init__(self) -> None:
        for stream, lines in (
            (self.process.stdout, self.stdout),
            (self.process.stderr, self.stderr),
        ):
            pump = threading.Thread(target=self._pump, args=(stream, lines), daemon=True)
            pump.start()
            self._pumps.append(pump)

    @staticmethod
    def _pump(stream: Any, lines: list[str]) -> None:
        for raw in iter(stream.readline, b""):
            lines.append(raw.decode().rstrip("\n"))

    def wait_exit(self, timeout: float = WAIT) -> int:
        code = self.process.wait(timeout=timeout)
        for pump in self._pumps:
            pump.join(timeout=2)
        return code

    def wait_stdout(self, pattern: str, timeout: float = WAIT) -> str:
        """The first stdout line matching pattern (re.search), waiting for it to arrive."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for line in list(self.stdout):
                if re.search(pattern, line):
                    return line
            time.sleep(0.01)
        raise AssertionError(f"no stdout line matches {pattern!r}: {self.stdout}")

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
        self.wait_exit()
        for stream in (self.process.stdout, self.process.stderr):
            if stream is not None:
                stream.close()


@pytest.fixture
def api(tmp_path: Path) -> Iterator[FakeRuntimeApi]:
    server = FakeRuntimeApi(str(tmp_path / "rt.sock"))
    yield server
    server.close()


@pytest.fixture
def start(api: FakeRuntimeApi, tmp_path: Path) -> Iterator[Any]:
    """start(files, handler=...) writes the code and starts the runtime against `api`."""
    started: list[NodeRuntime] = []

    def _start(
        files: dict[str, str],
        handler: str = "index.handler",
        env: dict[str, str] | None = None,
        unix: bool = True,
    ) -> NodeRuntime:
        """unix: the runtime talks to the API over its Unix socket, as in Hearth's
        environments (False: over TCP only, as when no socket is offered)."""
        task_root = tmp_path / "task"
        for name, text in files.items():
            target = task_root / name
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(text)
        task_root.mkdir(exist_ok=True)
        environment = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "AWS_LAMBDA_RUNTIME_API": api.address,
            "_HANDLER": handler,
            "LAMBDA_TASK_ROOT": str(task_root),
            "AWS_LAMBDA_FUNCTION_NAME": "fn",
            "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
            "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "256",
            "AWS_LAMBDA_LOG_GROUP_NAME": "/aws/lambda/fn",
            "AWS_LAMBDA_LOG_STREAM_NAME": "2024/01/01/[$LATEST]0123456789abcdef0123456789abcdef",
            "NODE_PATH": str(tmp_path / "layers"),
            "TZ": ":UTC",
            **({"HEARTH_RUNTIME_API_SOCKET": api.socket_path} if unix else {}),
            **(env or {}),
        }
        process = subprocess.Popen(
            [NODE or "node", str(BOOTSTRAP)],
            cwd=task_root,
            env=environment,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        runtime = NodeRuntime(api, process)
        started.append(runtime)
        return runtime

    yield _start
    for runtime in started:
        runtime.stop()


# --- handler styles ----------------------------------------------------------------------------


@pytest.mark.parametrize("unix", [True, False], ids=["unix-socket", "tcp"])
def test_async_handler_result(start: Any, api: FakeRuntimeApi, unix: bool) -> None:
    start({"index.js": "exports.handler = async (event) => ({ got: event, n: 1 });"}, unix=unix)
    for n in range(3):  # several: after the first, the response and /next are pipelined
        posted = api.invoke({"a": [1, n]})
        assert posted.kind == "response"
        assert posted.json() == {"got": {"a": [1, n]}, "n": 1}


def test_async_handler_undefined_is_null(start: Any, api: FakeRuntimeApi) -> None:
    start({"index.js": "exports.handler = async () => {};"})
    posted = api.invoke({})
    assert (posted.kind, posted.body) == ("response", b"null")


def test_callback_handler(start: Any, api: FakeRuntimeApi) -> None:
    start(
        {
            "index.js": """
            exports.handler = (event, context, callback) => {
              setTimeout(() => callback(null, { doubled: event.x * 2 }), 10);
            };"""
        }
    )
    posted = api.invoke({"x": 21})
    assert posted.kind == "response"
    assert posted.json() == {"doubled": 42}


@pytest.mark.parametrize("unix", [True, False], ids=["unix-socket", "tcp"])
def test_callback_waits_for_empty_event_loop(start: Any, api: FakeRuntimeApi, unix: bool) -> None:
    # AWS: with callbackWaitsForEmptyEventLoop (the default), the result goes out only once the
    # handler's other pending work (here a timer) is done; with it false, at once. Over the
    # Unix socket, the idle connection must not keep the event loop alive either.
    start(
        {
            "index.js": """
            let timerRan = false;
            exports.handler = (event, context, callback) => {
              context.callbackWaitsForEmptyEventLoop = event.wait;
              timerRan = false;
              setTimeout(() => { timerRan = true; }, 300);
              callback(null, { wait: event.wait, timerRanBefore: timerRan });
            };
            exports.check = async () => timerRan;"""
        },
        unix=unix,
    )
    started = time.monotonic()
    posted = api.invoke({"wait": True})
    assert posted.json() == {"wait": True, "timerRanBefore": False}
    assert time.monotonic() - started >= 0.28

    started = time.monotonic()
    posted = api.invoke({"wait": False})
    assert posted.json() == {"wait": False, "timerRanBefore": False}
    assert time.monotonic() - started < 0.25


def test_callback_error(start: Any, api: FakeRuntimeApi) -> None:
    start({"index.js": "exports.handler = (e, c, callback) => callback(new RangeError('bad'));"})
    posted = api.invoke({})
    assert posted.kind == "error"
    assert posted.json()["errorType"] == "RangeError"
    assert posted.json()["errorMessage"] == "bad"


def test_promise_returning_non_async_handler(start: Any, api: FakeRuntimeApi) -> None:
    start(
        {
            "index.js": """
            exports.handler = (event) =>
              new Promise((resolve) => setTimeout(() => resolve({ later: event }), 20));"""
        }
    )
    assert api.invoke("x").json() == {"later": "x"}


def test_sync_handler_return_value(start: Any, api: FakeRuntimeApi) -> None:
    # Hearth: a plain two-parameter function's return value is the result (AWS answers null).
    start({"index.js": "exports.handler = (event) => ({ sync: event });"})
    assert api.invoke(7).json() == {"sync": 7}


def test_sync_handler_without_result_answers_null(start: Any, api: FakeRuntimeApi) -> None:
    # AWS: a non-async handler that never calls back answers null once the event loop is empty.
    start({"index.js": "exports.handler = (event) => { setTimeout(() => {}, 50); };"})
    posted = api.invoke({})
    assert (posted.kind, posted.body) == ("response", b"null")


def test_legacy_context_methods(start: Any, api: FakeRuntimeApi) -> None:
    start(
        {
            "index.js": """
            exports.handler = (event, context) => {
              if (event === 'succeed') context.succeed({ via: 'succeed' });
              else if (event === 'done') context.done(null, { via: 'done' });
              else context.fail(new Error('via fail'));
            };"""
        }
    )
    assert api.invoke("succeed").json() == {"via": "succeed"}
    assert api.invoke("done").json() == {"via": "done"}
    failed = api.invoke("fail")
    assert (failed.kind, failed.json()["errorMessage"]) == ("error", "via fail")


# --- module formats and handler names --------------------------------------------------------


@pytest.mark.parametrize(
    "files",
    [
        pytest.param(
            {"index.js": "exports.handler = async () => ({ format: 'cjs' });"}, id="commonjs-js"
        ),
        pytest.param(
            {"index.mjs": "export const handler = async () => ({ format: 'esm' });"}, id="esm-mjs"
        ),
        pytest.param(
            {
                "package.json": '{"type": "module"}',
                "index.js": "export const handler = async () => ({ format: 'esm' });",
            },
            id="type-module-js",
        ),
        pytest.param(
            {"index.cjs": "module.exports.handler = async () => ({ format: 'cjs' });"},
            id="commonjs-cjs",
        ),
    ],
)
def test_module_formats(start: Any, api: FakeRuntimeApi, files: dict[str, str]) -> None:
    start(files)
    expected = "esm" if any("export const" in text for text in files.values()) else "cjs"
    assert api.invoke({}).json() == {"format": expected}


def test_handler_in_subdirectory(start: Any, api: FakeRuntimeApi) -> None:
    start(
        {
            "src/app.js": "const h = require('./helper'); exports.handler = async () => h();",
            "src/helper.js": "module.exports = () => ({ where: 'src/app' });",
        },
        handler="src/app.handler",
    )
    assert api.invoke({}).json() == {"where": "src/app"}


def test_nested_handler_property(start: Any, api: FakeRuntimeApi) -> None:
    start(
        {"index.mjs": "export const api = { v1: { get: async () => 'nested' } };"},
        handler="index.api.v1.get",
    )
    assert api.invoke({}).json() == "nested"


def test_layer_modules_resolve_through_node_path(
    start: Any, api: FakeRuntimeApi, tmp_path: Path
) -> None:
    layer = tmp_path / "layers" / "shared"
    layer.mkdir(parents=True)
    (layer / "index.js").write_text("module.exports = { from: 'layer' };")
    start({"index.js": "exports.handler = async () => require('shared');"})
    assert api.invoke({}).json() == {"from": "layer"}


# --- context and state -------------------------------------------------------------------------


def test_context_fields(start: Any, api: FakeRuntimeApi) -> None:
    start(
        {
            "index.js": """
            exports.handler = async (event, context) => ({
              functionName: context.functionName,
              functionVersion: context.functionVersion,
              invokedFunctionArn: context.invokedFunctionArn,
              memoryLimitInMB: context.memoryLimitInMB,
              awsRequestId: context.awsRequestId,
              logGroupName: context.logGroupName,
              logStreamName: context.logStreamName,
              remaining: context.getRemainingTimeInMillis(),
              callbackWaitsForEmptyEventLoop: context.callbackWaitsForEmptyEventLoop,
              clientContext: context.clientContext,
              identity: context.identity,
              traceId: process.env._X_AMZN_TRACE_ID,
              legacy: [typeof context.succeed, typeof context.fail, typeof context.done],
            });"""
        }
    )
    client_context = {"client": {"app_title": "t"}, "custom": {"k": "v"}, "env": {"e": "1"}}
    identity = {"cognitoIdentityId": "id-1", "cognitoIdentityPoolId": "pool-1"}
    request_id = api.queue_event(
        {},
        timeout_s=30,
        client_context=json.dumps(client_context),
        cognito_identity=json.dumps(identity),
    )
    posted = api.next_post()
    ctx = posted.json()
    assert ctx.pop("remaining") in range(25_000, 30_001)
    assert ctx == {
        "functionName": "fn",
        "functionVersion": "$LATEST",
        "invokedFunctionArn": ARN,
        "memoryLimitInMB": "256",
        "awsRequestId": request_id,
        "logGroupName": "/aws/lambda/fn",
        "logStreamName": "2024/01/01/[$LATEST]0123456789abcdef0123456789abcdef",
        "callbackWaitsForEmptyEventLoop": True,
        "clientContext": client_context,
        "identity": identity,
        "traceId": "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1",
        "legacy": ["function", "function", "function"],
    }


def test_module_state_persists_across_invocations(start: Any, api: FakeRuntimeApi) -> None:
    start(
        {
            "index.mjs": """
            let count = 0;
            const loadedAt = Date.now();
            export const handler = async () => ({ count: ++count, loadedAt });"""
        }
    )
    first, second = api.invoke({}).json(), api.invoke({}).json()
    assert (first["count"], second["count"]) == (1, 2)
    assert first["loadedAt"] == second["loadedAt"]


# --- logs --------------------------------------------------------------------------------------

ISO = r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z"


def test_console_lines_in_aws_format(start: Any, api: FakeRuntimeApi) -> None:
    runtime = start(
        {
            "index.js": """
            console.log('at init');
            exports.handler = async () => {
              console.log('hello %s', 'world', { a: 1 });
              console.info('info');
              console.warn('warn');
              console.error('error', new Error('shown'));
              console.debug('debug');
              console.log('line one\\nline two');
              return 'ok';
            };"""
        }
    )
    request_id = api.invoke({}).request_id
    rid = re.escape(str(request_id))
    init = runtime.wait_stdout("at init")
    assert re.fullmatch(rf"{ISO}\tundefined\tINFO\tat init", init)
    assert re.fullmatch(
        rf"{ISO}\t{rid}\tINFO\thello world \{{ a: 1 \}}", runtime.wait_stdout("hello")
    )
    assert re.fullmatch(rf"{ISO}\t{rid}\tINFO\tinfo", runtime.wait_stdout(r"\tinfo$"))
    assert re.fullmatch(rf"{ISO}\t{rid}\tWARN\twarn", runtime.wait_stdout(r"\twarn$"))
    assert re.fullmatch(rf"{ISO}\t{rid}\tDEBUG\tdebug", runtime.wait_stdout(r"\tdebug$"))
    # One record per call: the error's stack and the two-line message stay on one line ("\r").
    error_line = runtime.wait_stdout(r"\tERROR\terror")
    assert re.match(rf"{ISO}\t{rid}\tERROR\terror Error: shown\r    at ", error_line)
    assert runtime.wait_stdout("line one").endswith("\tINFO\tline one\rline two")
    assert not any(line.startswith(("START", "END", "REPORT")) for line in runtime.stdout)


def test_json_log_format(start: Any, api: FakeRuntimeApi) -> None:
    runtime = start(
        {"index.js": "exports.handler = async () => { console.warn('as %s', 'json'); };"},
        env={"AWS_LAMBDA_LOG_FORMAT": "JSON", "AWS_LAMBDA_LOG_LEVEL": "WARN"},
    )
    request_id = api.invoke({}).request_id
    record = json.loads(runtime.wait_stdout('"message":"as json"'))
    assert record["level"] == "WARN"
    assert record["requestId"] == request_id
    assert re.fullmatch(ISO, record["timestamp"])


# --- function errors ---------------------------------------------------------------------------


def test_thrown_error(start: Any, api: FakeRuntimeApi) -> None:
    runtime = start(
        {"index.js": "exports.handler = async () => { null.boom; };"}, handler="index.handler"
    )
    posted = api.invoke({})
    assert posted.kind == "error"
    assert posted.error_type == "TypeError"
    body = posted.json()
    assert set(body) == {"errorType", "errorMessage", "trace"}
    assert body["errorType"] == "TypeError"
    assert body["errorMessage"] == "Cannot read properties of null (reading 'boom')"
    assert body["trace"][0] == "TypeError: Cannot read properties of null (reading 'boom')"
    assert "index.js" in body["trace"][1]
    # AWS logs it too: "Invoke Error \t{...}" at ERROR level.
    line = runtime.wait_stdout(r"\tERROR\tInvoke Error")
    logged = json.loads(line.split("Invoke Error \t", 1)[1])
    assert logged["errorType"] == "TypeError"
    # ...and keeps serving.
    assert api.invoke({}).kind == "error"


def test_thrown_string(start: Any, api: FakeRuntimeApi) -> None:
    start({"index.js": "exports.handler = async () => { throw 'just a string'; };"})
    posted = api.invoke({})
    assert posted.kind == "error"
    assert posted.json() == {"errorType": "string", "errorMessage": "just a string", "trace": []}
    assert posted.error_type == "string"


def test_custom_error_name(start: Any, api: FakeRuntimeApi) -> None:
    start(
        {
            "index.mjs": """
            class NotFound extends Error { constructor(m) { super(m); this.name = 'NotFound'; } }
            export const handler = async () => { throw new NotFound('no such thing'); };"""
        }
    )
    body = api.invoke({}).json()
    assert (body["errorType"], body["errorMessage"]) == ("NotFound", "no such thing")


def test_unserializable_result(start: Any, api: FakeRuntimeApi) -> None:
    start({"index.js": "exports.handler = async () => { const a = {}; a.self = a; return a; };"})
    posted = api.invoke({})
    assert posted.kind == "error"
    body = posted.json()
    assert body["errorType"] == "Runtime.JSONStringifyError"
    assert body["errorMessage"] == "Unable to stringify response body"


def test_async_handler_that_never_settles(start: Any, api: FakeRuntimeApi) -> None:
    start({"index.js": "exports.handler = async () => new Promise(() => {});"})
    posted = api.invoke({})
    assert (posted.kind, posted.json()["errorType"]) == ("error", "Runtime.NodeJsExit")
    assert api.invoke({}).kind == "error"  # still serving


def test_unhandled_rejection_reports_and_exits(start: Any, api: FakeRuntimeApi) -> None:
    runtime = start(
        {
            "index.js": """
            exports.handler = async () => {
              Promise.reject(new Error('nobody caught me'));
              await new Promise((r) => setTimeout(r, 1000));
            };"""
        }
    )
    posted = api.invoke({})
    assert posted.kind == "error"
    body = posted.json()
    assert body["errorType"] == "Runtime.UnhandledPromiseRejection"
    assert body["errorMessage"] == "Error: nobody caught me"
    assert runtime.wait_exit() == 128


def test_uncaught_exception_reports_and_exits(start: Any, api: FakeRuntimeApi) -> None:
    runtime = start(
        {
            "index.js": """
            exports.handler = (event, context, callback) => {
              setTimeout(() => { throw new Error('from a timer'); }, 10);
            };"""
        }
    )
    posted = api.invoke({})
    assert (posted.kind, posted.json()["errorMessage"]) == ("error", "from a timer")
    assert runtime.wait_exit() == 129


def test_process_exit_code_is_kept(start: Any, api: FakeRuntimeApi) -> None:
    runtime = start({"index.js": "exports.handler = async () => process.exit(2);"})
    api.queue_event({})
    assert runtime.wait_exit() == 2
    assert api.posts.empty()


# --- init errors -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("files", "handler", "error_type", "message"),
    [
        pytest.param(
            {},
            "index.handler",
            "Runtime.ImportModuleError",
            r"Error: Cannot find module 'index'\nRequire stack:\n- .*bootstrap\.mjs",
            id="import-module",
        ),
        pytest.param(
            {"index.mjs": "import 'no-such-package';\nexport const handler = async () => 1;"},
            "index.handler",
            "Runtime.ImportModuleError",
            r"Error \[ERR_MODULE_NOT_FOUND\]: Cannot find package 'no-such-package' imported from .*index\.mjs",
            id="import-missing-package",
        ),
        pytest.param(
            {"index.js": "exports.other = async () => 1;"},
            "index.nope",
            "Runtime.HandlerNotFound",
            r"index\.nope is undefined or not exported",
            id="handler-not-found",
        ),
        pytest.param(
            {"index.js": "exports.handler = 42;"},
            "index.handler",
            "Runtime.HandlerNotFound",
            r"index\.handler is not a function",
            id="handler-not-a-function",
        ),
        pytest.param(
            {"index.js": "exports.handler = async () => 1;"},
            "index",
            "Runtime.MalformedHandlerName",
            r"Bad handler",
            id="malformed-handler",
        ),
        pytest.param(
            {"index.js": "exports.handler = async () => 1;"},
            "../index.handler",
            "Runtime.MalformedHandlerName",
            r"'\.\./index\.handler' is not a valid handler name\. .*",
            id="relative-handler",
        ),
        pytest.param(
            {"index.js": "exports.handler = async () => {\n  return }}};\n"},
            "index.handler",
            "Runtime.UserCodeSyntaxError",
            r"SyntaxError: Unexpected token '}'",
            id="syntax-error",
        ),
        pytest.param(
            {"index.mjs": "export const handler = async () => { await; };"},
            "index.handler",
            "Runtime.UserCodeSyntaxError",
            r"SyntaxError: .*",
            id="esm-syntax-error",
        ),
        pytest.param(
            {"index.js": "throw new TypeError('bad config');"},
            "index.handler",
            "TypeError",
            r"bad config",
            id="throw-at-load",
        ),
    ],
)
def test_init_errors(
    start: Any,
    api: FakeRuntimeApi,
    files: dict[str, str],
    handler: str,
    error_type: str,
    message: str,
) -> None:
    runtime = start(files, handler=handler)
    posted = api.next_post()
    assert posted.kind == "init_error"
    assert posted.error_type == error_type
    body = posted.json()
    assert set(body) == {"errorType", "errorMessage", "trace"}
    assert body["errorType"] == error_type
    assert re.fullmatch(message, body["errorMessage"], re.DOTALL), body["errorMessage"]
    assert isinstance(body["trace"], list)
    assert body["trace"]
    assert runtime.wait_exit() == 1


def test_init_error_reported_once_with_stack(start: Any, api: FakeRuntimeApi) -> None:
    start({"index.js": "exports.handler = async () => {\n  return }}};\n"})
    body = api.next_post().json()
    # A syntax error keeps Node's own stack, which points at the offending line.
    assert any("index.js:2" in line for line in body["trace"]), body["trace"]
    with pytest.raises(queue.Empty):
        api.next_post(timeout=0.3)


# --- the Runtime API going away ----------------------------------------------------------------


@pytest.mark.parametrize("unix", [True, False], ids=["unix-socket", "tcp"])
def test_exits_when_runtime_api_is_gone(start: Any, api: FakeRuntimeApi, unix: bool) -> None:
    runtime = start({"index.js": "exports.handler = async () => 1;"}, unix=unix)
    assert api.invoke({}).body == b"1"
    api.close()
    assert runtime.wait_exit() == 1
    assert any("unreachable" in line for line in runtime.stderr)


# --- speed -------------------------------------------------------------------------------------
