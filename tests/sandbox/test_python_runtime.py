"""Hearth's Python runtime and its zygote, with real processes: a Runtime API served by the test,
environments forked by a real zygote, handlers written to a temporary task root."""

from __future__ import annotations

import asyncio
import json
import os
import queue
import re
import signal
import socket
import subprocess
import sys
import textwrap
import threading
import time
import uuid
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from hearth.sandbox.zygote import KILLED, SpawnedProcess, Zygote, find_python

SRC = Path(__file__).resolve().parents[2] / "src"
PREFIX = "/2018-06-01/runtime"


# --- a tiny Runtime API --------------------------------------------------------------------


@dataclass
class Outcome:
    kind: str  # "response" | "error" | "init_error"
    request_id: str
    body: bytes
    headers: dict[str, str]

    def json(self) -> Any:
        return json.loads(self.body)


@dataclass
class Event:
    request_id: str
    body: bytes
    headers: dict[str, str]


class QuietServer(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: Any, client_address: Any) -> None:
        # Runtimes are killed mid-request on purpose here; anything else is a real failure.
        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)


@dataclass
class RuntimeApi:
    """Hands out queued events on /next and records what the runtime posts back."""

    events: queue.Queue[Event] = field(default_factory=queue.Queue)
    outcomes: queue.Queue[Outcome] = field(default_factory=queue.Queue)
    next_calls: list[float] = field(default_factory=list)
    stopped: threading.Event = field(default_factory=threading.Event)
    server: ThreadingHTTPServer | None = None

    @property
    def address(self) -> str:
        assert self.server is not None
        host, port = self.server.server_address[:2]
        return f"{host!s}:{port}"

    def start(self) -> None:
        api = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def setup(self) -> None:
                super().setup()
                # Headers and body go out in two writes: without this, Nagle and delayed ACKs
                # add ~40 ms to every exchange and the latency figures mean nothing.
                self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

            def log_message(self, format: str, *args: Any) -> None:
                pass

            def reply(
                self, status: int, body: bytes = b"", headers: dict[str, str] | None = None
            ) -> None:
                self.send_response(status)
                for name, value in (headers or {}).items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def client_gone(self) -> bool:
                try:
                    return bool(
                        self.connection.recv(1, socket.MSG_PEEK | socket.MSG_DONTWAIT) == b""
                    )
                except BlockingIOError:
                    return False
                except OSError:
                    return True

            def do_GET(self) -> None:
                if self.path != PREFIX + "/invocation/next":
                    self.reply(404)
                    return
                api.next_calls.append(time.monotonic())
                while not api.stopped.is_set() and not self.client_gone():
                    try:
                        event = api.events.get(timeout=0.05)
                    except queue.Empty:
                        continue
                    if self.client_gone():  # a killed runtime's poll must not eat the event
                        api.events.put(event)
                        break
                    headers = {"Lambda-Runtime-Aws-Request-Id": event.request_id, **event.headers}
                    self.reply(200, event.body, headers)
                    return
                self.close_connection = True

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                headers = {name: value for name, value in self.headers.items()}
                if self.path == PREFIX + "/init/error":
                    api.outcomes.put(Outcome("init_error", "", body, headers))
                else:
                    match = re.fullmatch(
                        PREFIX + r"/invocation/([^/]+)/(response|error)", self.path
                    )
                    if match is None:
                        self.reply(404)
                        return
                    api.outcomes.put(Outcome(match[2], match[1], body, headers))
                self.reply(202, b'{"status":"OK"}', {"Content-Type": "application/json"})

        self.server = QuietServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def stop(self) -> None:
        self.stopped.set()
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()

    def send(
        self,
        event: Any = None,
        *,
        body: bytes | None = None,
        headers: dict[str, str] | None = None,
        timeout_s: float = 5.0,
    ) -> str:
        request_id = str(uuid.uuid4())
        deadline = str(int(time.time() * 1000 + timeout_s * 1000))
        all_headers = {
            "Content-Type": "application/json",
            "Lambda-Runtime-Deadline-Ms": deadline,
            "Lambda-Runtime-Invoked-Function-Arn": "arn:aws:lambda:us-east-1:123456789012:function:fn",
            **(headers or {}),
        }
        raw = body if body is not None else json.dumps(event).encode()
        self.events.put(Event(request_id, raw, all_headers))
        return request_id

    def outcome(self, timeout: float = 10.0) -> Outcome:
        return self.outcomes.get(timeout=timeout)

    def invoke(self, event: Any = None, **kwargs: Any) -> Outcome:
        request_id = self.send(event, **kwargs)
        outcome = self.outcome()
        assert outcome.request_id == request_id
        return outcome

    def wait_for_next(self, count: int = 1, timeout: float = 10.0) -> None:
        deadline = time.monotonic() + timeout
        while len(self.next_calls) < count:
            assert time.monotonic() < deadline, "the runtime never asked for an event"
            time.sleep(0.005)


@pytest.fixture
def api() -> Iterator[RuntimeApi]:
    server = RuntimeApi()
    server.start()
    yield server
    server.stop()


# --- environments ---------------------------------------------------------------------------


class Output:
    """Everything a child writes to its stdout/stderr pipe, collected by a thread."""

    def __init__(self, fd: int) -> None:
        self._fd = fd
        self._chunks: list[bytes] = []
        self._done = threading.Event()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        while chunk := os.read(self._fd, 65536):
            self._chunks.append(chunk)
        os.close(self._fd)
        self._done.set()

    def text(self) -> str:
        return b"".join(self._chunks).decode()

    def wait_for(self, needle: str, timeout: float = 5.0) -> str:
        deadline = time.monotonic() + timeout
        while needle not in self.text():
            assert time.monotonic() < deadline, f"{needle!r} not in {self.text()!r}"
            time.sleep(0.005)
        return self.text()

    def closed(self, timeout: float = 5.0) -> str:
        assert self._done.wait(timeout)
        return self.text()


@dataclass
class Child:
    process: SpawnedProcess
    output: Output
    spawned_at: float

    async def status(self, timeout: float = 10.0) -> int:
        return await asyncio.wait_for(asyncio.shield(self.process.exited), timeout)


def lambda_env(api: RuntimeApi, task_root: Path, handler: str, **extra: str) -> dict[str, str]:
    return {
        "PATH": os.environ.get("PATH", os.defpath),
        "AWS_LAMBDA_RUNTIME_API": api.address,
        "LAMBDA_TASK_ROOT": str(task_root),
        "_HANDLER": handler,
        "AWS_LAMBDA_FUNCTION_NAME": "fn",
        "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "128",
        "AWS_LAMBDA_LOG_GROUP_NAME": "/aws/lambda/fn",
        "AWS_LAMBDA_LOG_STREAM_NAME": "2024/01/01/[$LATEST]0123456789abcdef0123456789abcdef",
        "AWS_REGION": "us-east-1",
        "TZ": ":UTC",
        **extra,
    }


async def spawn(
    zygote: Zygote,
    api: RuntimeApi,
    task_root: Path,
    handler: str = "app.handler",
    sys_path: list[str] | None = None,
    **extra: str,
) -> Child:
    read_end, write_end = os.pipe()
    started = time.monotonic()
    try:
        process = await zygote.spawn(
            lambda_env(api, task_root, handler, **extra), str(task_root), sys_path or [], write_end
        )
    finally:
        os.close(write_end)
    return Child(process, Output(read_end), started)


def write_code(root: Path, files: dict[str, str]) -> Path:
    for name, source in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(source))
    return root


def run(scenario: Callable[[Zygote], Awaitable[None]], python: str = sys.executable) -> None:
    async def main() -> None:
        zygote = await Zygote.start(python)
        try:
            await asyncio.wait_for(scenario(zygote), 60)
        finally:
            await zygote.close()

    asyncio.run(main())


async def call(api: RuntimeApi, event: Any = None, **kwargs: Any) -> Outcome:
    return await asyncio.to_thread(api.invoke, event, **kwargs)


def process_gone(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, ProcessLookupError):
        return True
    return state in {"Z", "X"}


def wait_gone(pid: int, timeout: float = 2.0) -> bool:
    deadline = time.monotonic() + timeout
    while not process_gone(pid):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.01)
    return True


CONTEXT_APP = {
    "app.py": """
        import os

        def handler(event, context):
            return {
                "event": event,
                "function_name": context.function_name,
                "function_version": context.function_version,
                "invoked_function_arn": context.invoked_function_arn,
                "memory_limit_in_mb": context.memory_limit_in_mb,
                "aws_request_id": context.aws_request_id,
                "log_group_name": context.log_group_name,
                "log_stream_name": context.log_stream_name,
                "remaining": context.get_remaining_time_in_millis(),
                "client_context": context.client_context,
                "identity": [context.identity.cognito_identity_id,
                             context.identity.cognito_identity_pool_id],
                "trace": os.environ.get("_X_AMZN_TRACE_ID"),
            }
    """
}


# --- invocations ---------------------------------------------------------------------------


def check_happy_path(api: RuntimeApi, tmp_path: Path, python: str = sys.executable) -> None:
    root = write_code(tmp_path, CONTEXT_APP)

    async def scenario(zygote: Zygote) -> None:
        child = await spawn(zygote, api, root)
        await asyncio.to_thread(api.wait_for_next)
        latency_ms = (api.next_calls[0] - child.spawned_at) * 1000
        print(
            f"\n{python}: fork {child.process.fork_ms:.2f} ms, spawn to first /next {latency_ms:.1f} ms"
        )
        outcome = await call(
            api, {"k": [1, 2]}, headers={"Lambda-Runtime-Trace-Id": "Root=1-abc"}, timeout_s=5
        )
        assert outcome.kind == "response"
        assert outcome.headers["Content-Type"] == "application/json"
        result = outcome.json()
        assert result.pop("remaining") in range(4000, 5001)
        assert result == {
            "event": {"k": [1, 2]},
            "function_name": "fn",
            "function_version": "$LATEST",
            "invoked_function_arn": "arn:aws:lambda:us-east-1:123456789012:function:fn",
            "memory_limit_in_mb": "128",
            "aws_request_id": outcome.request_id,
            "log_group_name": "/aws/lambda/fn",
            "log_stream_name": "2024/01/01/[$LATEST]0123456789abcdef0123456789abcdef",
            "client_context": None,
            "identity": [None, None],
            "trace": "Root=1-abc",
        }
        # The next event carries no trace id: the previous one must not leak into it.
        assert (await call(api, None)).json()["trace"] is None

    run(scenario, python)


def test_happy_path_result_and_context(api: RuntimeApi, tmp_path: Path) -> None:
    check_happy_path(api, tmp_path)


@pytest.mark.parametrize("version", ["3.10", "3.13"])
def test_happy_path_on_other_pythons(api: RuntimeApi, tmp_path: Path, version: str) -> None:
    python = find_python(f"python{version}")
    if Path(python).name != f"python{version}":
        pytest.skip(f"no python{version} here")
    check_happy_path(api, tmp_path, python)


def test_state_and_tmp_files_persist_across_invocations(api: RuntimeApi, tmp_path: Path) -> None:
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    root = write_code(
        tmp_path / "task",
        {
            "app.py": """
                import os
                calls = 0

                def handler(event, context):
                    global calls
                    calls += 1
                    path = os.path.join(os.environ["SCRATCH"], "seen")
                    before = open(path).read() if os.path.exists(path) else ""
                    with open(path, "a") as f:
                        f.write(event)
                    return {"calls": calls, "before": before, "pid": os.getpid()}
            """
        },
    )

    async def scenario(zygote: Zygote) -> None:
        child = await spawn(zygote, api, root, SCRATCH=str(scratch))
        first = (await call(api, "a")).json()
        second = (await call(api, "b")).json()
        assert first == {"calls": 1, "before": "", "pid": child.process.pid}
        assert second == {"calls": 2, "before": "a", "pid": child.process.pid}

    run(scenario)


def test_print_and_logging_lines_in_aws_format(api: RuntimeApi, tmp_path: Path) -> None:
    root = write_code(
        tmp_path,
        {
            "app.py": """
                import logging, sys
                logger = logging.getLogger()
                logger.warning("at init")

                def handler(event, context):
                    print("hello from print")
                    print("no newline", end="")
                    logger.info("silent: the root level is WARNING by default")
                    logger.warning("multi\\nline")
                    if event == "verbose":
                        logger.setLevel(logging.INFO)
                        logger.info("info line")
                    sys.stderr.write("to stderr\\n")
                    return None
            """
        },
    )

    async def scenario(zygote: Zygote) -> None:
        child = await spawn(zygote, api, root)
        first = await call(api, "quiet")
        assert first.kind == "response" and first.body == b"null"
        text = await asyncio.to_thread(child.output.wait_for, "to stderr\n")
        second = await call(api, "verbose")
        text = await asyncio.to_thread(child.output.wait_for, "info line")
        stamp = r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z"
        assert re.search(rf"^\[WARNING\]\t{stamp}\t\tat init\n", text, re.M)
        assert "hello from print\nno newline" in text
        assert re.search(rf"\[WARNING\]\t{stamp}\t{first.request_id}\tmulti\rline\n", text)
        assert re.search(rf"^\[INFO\]\t{stamp}\t{second.request_id}\tinfo line\n", text, re.M)
        assert "silent" not in text
        assert "START" not in text and "REPORT" not in text

    run(scenario)


def test_log_level_from_environment(api: RuntimeApi, tmp_path: Path) -> None:
    root = write_code(
        tmp_path,
        {"app.py": "import logging\ndef handler(e, c):\n    logging.debug('debug line')\n"},
    )

    async def scenario(zygote: Zygote) -> None:
        child = await spawn(zygote, api, root, AWS_LAMBDA_LOG_LEVEL="TRACE")
        outcome = await call(api, {})
        text = await asyncio.to_thread(child.output.wait_for, "debug line")
        assert "[DEBUG]\t" in text and f"\t{outcome.request_id}\tdebug line\n" in text

    run(scenario)


def test_exception_is_reported_as_unhandled(api: RuntimeApi, tmp_path: Path) -> None:
    root = write_code(
        tmp_path, {"app.py": 'def handler(event, context):\n    raise KeyError("x")\n'}
    )

    async def scenario(zygote: Zygote) -> None:
        child = await spawn(zygote, api, root)
        outcome = await call(api, {})
        assert outcome.kind == "error"
        assert outcome.headers["Lambda-Runtime-Function-Error-Type"] == "Unhandled"
        frame = f'  File "{root}/app.py", line 2, in handler\n    raise KeyError("x")\n'
        assert outcome.json() == {
            "errorMessage": "'x'",
            "errorType": "KeyError",
            "requestId": outcome.request_id,
            "stackTrace": [frame],
        }
        nbsp = "\u00a0"
        record = (
            "[ERROR] KeyError: 'x'\rTraceback (most recent call last):\r"
            f'{nbsp * 2}File "{root}/app.py", line 2, in handler\r{nbsp * 4}raise KeyError("x")\n'
        )
        await asyncio.to_thread(child.output.wait_for, record)
        # The environment survives a function error.
        assert (await call(api, {})).kind == "error"
        assert not child.process.exited.done()

    run(scenario)


def test_unserializable_result_is_a_marshal_error(api: RuntimeApi, tmp_path: Path) -> None:
    root = write_code(tmp_path, {"app.py": "def handler(event, context):\n    return {1, 2}\n"})

    async def scenario(zygote: Zygote) -> None:
        await spawn(zygote, api, root)
        outcome = await call(api, {})
        assert outcome.kind == "error"
        assert outcome.json() == {
            "errorMessage": "Unable to marshal response: Object of type set is not JSON serializable",
            "errorType": "Runtime.MarshalError",
            "requestId": outcome.request_id,
            "stackTrace": [],
        }

    run(scenario)


def test_results_marshal_like_aws(api: RuntimeApi, tmp_path: Path) -> None:
    root = write_code(
        tmp_path,
        {
            "app.py": """
                from decimal import Decimal

                def handler(event, context):
                    if event == "bytes":
                        return b"\\x00raw"
                    return {"d": Decimal("1.5"), "i": Decimal("10"), "s": "é"}
            """
        },
    )

    async def scenario(zygote: Zygote) -> None:
        await spawn(zygote, api, root, AWS_EXECUTION_ENV="AWS_Lambda_python3.12")
        outcome = await call(api, {})
        # float(Decimal) is what AWS's runtime emits; 3.12+ leaves non-ASCII unescaped.
        assert outcome.body == '{"d": 1.5, "i": 10.0, "s": "é"}'.encode()
        raw = await call(api, "bytes")
        assert raw.body == b"\x00raw"
        assert raw.headers["Content-Type"] == "application/unknown"

    run(scenario)


def test_bad_event_is_an_unmarshal_error(api: RuntimeApi, tmp_path: Path) -> None:
    root = write_code(tmp_path, {"app.py": "def handler(event, context):\n    return event\n"})

    async def scenario(zygote: Zygote) -> None:
        await spawn(zygote, api, root)
        outcome = await asyncio.to_thread(api.invoke, body=b"{nope")
        assert outcome.kind == "error"
        assert outcome.json()["errorType"] == "Runtime.UnmarshalError"
        assert outcome.json()["errorMessage"].startswith("Unable to unmarshal input: Expecting")

    run(scenario)


@pytest.mark.parametrize(
    ("handler", "files", "error_type", "message"),
    [
        (
            "x",
            {},
            "Runtime.MalformedHandlerName",
            "Bad handler 'x': not enough values to unpack (expected 2, got 1)",
        ),
        (
            "app.handler",
            {},
            "Runtime.ImportModuleError",
            "Unable to import module 'app': No module named 'app'",
        ),
        (
            "app.handler",
            {"app.py": "import not_installed_anywhere\n"},
            "Runtime.ImportModuleError",
            "Unable to import module 'app': No module named 'not_installed_anywhere'",
        ),
        (
            "app.nope",
            {"app.py": "def handler(e, c):\n    pass\n"},
            "Runtime.HandlerNotFound",
            "Handler 'nope' missing on module 'app'",
        ),
        (
            "app.handler",
            {"app.py": "import os\n\nx = = 1\n"},
            "Runtime.UserCodeSyntaxError",
            "Syntax error in module 'app': invalid syntax (app.py, line 3)",
        ),
        ("app.handler", {"app.py": "raise ValueError('boom')\n"}, "ValueError", "boom"),
        (
            "sys.handler",
            {},
            "Runtime.BuiltInModuleConflict",
            "Cannot use built-in module sys as a handler module",
        ),
    ],
)
def test_init_errors(
    api: RuntimeApi,
    tmp_path: Path,
    handler: str,
    files: dict[str, str],
    error_type: str,
    message: str,
) -> None:
    root = write_code(tmp_path, files)

    async def scenario(zygote: Zygote) -> None:
        child = await spawn(zygote, api, root, handler)
        outcome = await asyncio.to_thread(api.outcome)
        assert outcome.kind == "init_error"
        assert outcome.headers["Lambda-Runtime-Function-Error-Type"] == error_type
        body = outcome.json()
        assert body["errorType"] == error_type
        assert body["errorMessage"] == message
        assert body["requestId"] == ""
        if error_type == "Runtime.UserCodeSyntaxError":
            assert body["stackTrace"] == [f'  File "{root}/app.py" Line 3\n    x = = 1\n']
        elif error_type == "ValueError":
            assert body["stackTrace"][-1] == (
                f"  File \"{root}/app.py\", line 1, in <module>\n    raise ValueError('boom')\n"
            )
        else:
            assert body["stackTrace"] == []
        assert await child.status() == 1
        text = child.output.closed()
        assert "LAMBDA_WARNING: Unhandled exception." in text
        assert f"[ERROR] {error_type}: {message}\rTraceback (most recent call last):" in text
        assert api.next_calls == []

    run(scenario)


def test_handler_paths(api: RuntimeApi, tmp_path: Path) -> None:
    root = write_code(
        tmp_path,
        {
            "lib/mod.py": "def handler(e, c):\n    return 'slash'\n",
            "pkg/__init__.py": "",
            "pkg/sub.py": "def handler(e, c):\n    return 'dotted'\n",
        },
    )

    async def scenario(zygote: Zygote) -> None:
        await spawn(zygote, api, root, "lib/mod.handler")
        assert (await call(api, {})).json() == "slash"

    run(scenario)

    other = RuntimeApi()
    other.start()
    try:

        async def dotted(zygote: Zygote) -> None:
            await spawn(zygote, other, root, "pkg.sub.handler")
            assert (await call(other, {})).json() == "dotted"

        run(dotted)
    finally:
        other.stop()


def test_client_context_and_identity(api: RuntimeApi, tmp_path: Path) -> None:
    root = write_code(
        tmp_path,
        {
            "app.py": """
                def handler(event, context):
                    cc = context.client_context
                    return {
                        "installation_id": cc.client.installation_id,
                        "app_title": cc.client.app_title,
                        "app_version_code": cc.client.app_version_code,
                        "custom": cc.custom,
                        "env": cc.env,
                        "identity": [context.identity.cognito_identity_id,
                                     context.identity.cognito_identity_pool_id],
                    }
            """
        },
    )
    client_context = {
        "client": {"installation_id": "inst-1", "app_title": "Hearth"},
        "custom": {"k": "v"},
        "env": {"platform": "test"},
    }
    identity = {"cognitoIdentityId": "id-1", "cognitoIdentityPoolId": "pool-1"}

    async def scenario(zygote: Zygote) -> None:
        await spawn(zygote, api, root)
        headers = {
            "Lambda-Runtime-Client-Context": json.dumps(client_context),
            "Lambda-Runtime-Cognito-Identity": json.dumps(identity),
        }
        assert (await call(api, {}, headers=headers)).json() == {
            "installation_id": "inst-1",
            "app_title": "Hearth",
            "app_version_code": None,
            "custom": {"k": "v"},
            "env": {"platform": "test"},
            "identity": ["id-1", "pool-1"],
        }

    run(scenario)


def test_child_environment_is_exactly_what_was_asked(api: RuntimeApi, tmp_path: Path) -> None:
    extra = tmp_path / "layer"
    write_code(extra, {"layermod.py": "VALUE = 'from layer'\n"})
    root = write_code(
        tmp_path / "task",
        {
            "app.py": """
                import os, random, sys, time
                import layermod

                def handler(event, context):
                    env = dict(os.environ)
                    env.pop("_X_AMZN_TRACE_ID", None)
                    return {"env": env, "cwd": os.getcwd(), "path": sys.path[:2],
                            "layer": layermod.VALUE, "random": random.random(),
                            "tz": time.strftime("%Z"), "stdin": sys.stdin.read()}
            """
        },
    )

    async def scenario(zygote: Zygote) -> None:
        child = await spawn(zygote, api, root, sys_path=[str(extra)])
        first = (await call(api, {})).json()
        assert first["env"] == lambda_env(api, root, "app.handler")
        assert first["cwd"] == str(root)
        assert first["path"] == [str(root), str(extra)]
        assert first["layer"] == "from layer"
        assert first["tz"] == "UTC"
        assert first["stdin"] == ""
        zygote.kill(child.process.pid)
        await child.status()
        await spawn(zygote, api, root, sys_path=[str(extra)])
        assert (await call(api, {})).json()["random"] != first["random"]

    run(scenario)


# --- process lifecycle ---------------------------------------------------------------------


def test_sys_exit_status_is_reported(api: RuntimeApi, tmp_path: Path) -> None:
    root = write_code(tmp_path, {"app.py": "import sys\ndef handler(e, c):\n    sys.exit(3)\n"})

    async def scenario(zygote: Zygote) -> None:
        child = await spawn(zygote, api, root)
        api.send({})
        assert await child.status() == 3
        assert api.outcomes.empty()

    run(scenario)


def test_crash_status_is_minus_the_signal(api: RuntimeApi, tmp_path: Path) -> None:
    root = write_code(
        tmp_path,
        {
            "app.py": "import os, signal\ndef handler(e, c):\n    os.kill(os.getpid(), signal.SIGSEGV)\n"
        },
    )

    async def scenario(zygote: Zygote) -> None:
        child = await spawn(zygote, api, root)
        api.send({})
        assert await child.status() == -signal.SIGSEGV

    run(scenario)


def test_runtime_exits_when_the_runtime_api_is_gone(api: RuntimeApi, tmp_path: Path) -> None:
    root = write_code(tmp_path, CONTEXT_APP)

    async def scenario(zygote: Zygote) -> None:
        child = await spawn(zygote, api, root)
        await asyncio.to_thread(api.wait_for_next)
        api.stop()  # the long poll is dropped and the port refuses connections
        assert await child.status() == 1

    run(scenario)


def test_kill_ends_the_child_and_its_group(api: RuntimeApi, tmp_path: Path) -> None:
    root = write_code(
        tmp_path,
        {
            "app.py": """
                import subprocess, sys
                def handler(e, c):
                    p = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
                    return p.pid
            """
        },
    )

    async def scenario(zygote: Zygote) -> None:
        child = await spawn(zygote, api, root)
        grandchild = (await call(api, {})).json()
        zygote.kill(child.process.pid)
        assert await child.status() == KILLED
        assert await asyncio.to_thread(wait_gone, grandchild)
        zygote.kill(child.process.pid)  # already reaped: a no-op, never a stray signal

    run(scenario)


def test_close_kills_every_child(api: RuntimeApi, tmp_path: Path) -> None:
    root = write_code(tmp_path, CONTEXT_APP)

    async def main() -> None:
        zygote = await Zygote.start(sys.executable)
        children = [await spawn(zygote, api, root) for _ in range(3)]
        await asyncio.to_thread(api.wait_for_next, 3)
        await zygote.close()
        assert not zygote.alive
        for child in children:
            assert child.process.exited.result() == KILLED
            assert process_gone(child.process.pid)
        assert process_gone(zygote.pid)

    asyncio.run(main())


def test_zygote_death_reports_children_killed(api: RuntimeApi, tmp_path: Path) -> None:
    root = write_code(tmp_path, CONTEXT_APP)

    async def main() -> None:
        zygote = await Zygote.start(sys.executable)
        try:
            child = await spawn(zygote, api, root)
            await asyncio.to_thread(api.wait_for_next)
            os.kill(zygote.pid, signal.SIGKILL)
            assert await child.status() == KILLED
            assert not zygote.alive
            assert await asyncio.to_thread(wait_gone, child.process.pid)
        finally:
            await zygote.close()

    asyncio.run(main())


HELPER = """
import asyncio, json, os, sys
from hearth.sandbox.zygote import Zygote

async def main():
    zygote = await Zygote.start(sys.executable)
    read_end, write_end = os.pipe()
    child = await zygote.spawn(json.loads(sys.argv[1]), sys.argv[2], [], write_end)
    print(zygote.pid, child.pid, flush=True)
    await asyncio.sleep(60)

asyncio.run(main())
"""


def test_zygote_and_children_die_with_their_parent(api: RuntimeApi, tmp_path: Path) -> None:
    root = write_code(tmp_path / "task", CONTEXT_APP)
    helper = subprocess.Popen(
        [sys.executable, "-c", HELPER, json.dumps(lambda_env(api, root, "app.handler")), str(root)],
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": str(SRC)},
    )
    try:
        assert helper.stdout is not None
        zygote_pid, child_pid = map(int, helper.stdout.readline().split())
        api.wait_for_next()
        helper.kill()
        helper.wait()
        assert wait_gone(zygote_pid), "the zygote outlived its parent"
        assert wait_gone(child_pid), "the environment outlived its zygote"
    finally:
        helper.kill()
        helper.wait()
        if helper.stdout is not None:
            helper.stdout.close()


def test_spawn_after_the_zygote_died_fails_cleanly(tmp_path: Path) -> None:
    async def main() -> None:
        zygote = await Zygote.start(sys.executable)
        os.kill(zygote.pid, signal.SIGKILL)
        await zygote.close()
        read_end, write_end = os.pipe()
        try:
            with pytest.raises(Exception, match="not running"):
                await zygote.spawn({}, str(tmp_path), [], write_end)
        finally:
            os.close(read_end)
            os.close(write_end)

    asyncio.run(main())


# --- choosing an interpreter ---------------------------------------------------------------


def test_find_python_prefers_the_newest_pyenv_patch(tmp_path: Path) -> None:
    for version in ("3.12.9", "3.12.10", "3.11.7"):
        binary = tmp_path / "versions" / version / "bin" / f"python{version.rsplit('.', 1)[0]}"
        binary.parent.mkdir(parents=True)
        binary.write_text("#!/bin/sh\n")
        binary.chmod(0o755)
    assert find_python("python3.12", tmp_path) == str(tmp_path / "versions/3.12.10/bin/python3.12")
    assert find_python("python3.11", tmp_path) == str(tmp_path / "versions/3.11.7/bin/python3.11")
    assert find_python("nodejs20.x", tmp_path) == sys.executable
