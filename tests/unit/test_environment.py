"""The environment state machine and the cold path (EnvironmentBuilder), with the real
Runtime API server and a FakeLauncher whose "runtime" is a task in this process: no process
is started. Real runtimes are tested in tests/integration and tests/sandbox."""

from __future__ import annotations

import asyncio
import io
import json
import zipfile
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path

import pytest

from hearth.arns import ArnFormatter
from hearth.errors import LambdaError
from hearth.invoke.builder import EnvironmentBuilder
from hearth.invoke.environment import Environment
from hearth.invoke.fakes import FakeExit, FakeFunctionError, FakeLauncher
from hearth.invoke.launch import Launcher
from hearth.invoke.types import EnvironmentState, InitFailed, Invocation
from hearth.logs.store import LogCounts, LogEvent
from hearth.logs.writer import LogWriter
from hearth.models import FunctionVersion
from hearth.store.code import CodeStore


class ListLogStore:
    def __init__(self) -> None:
        self.events: list[tuple[str, str, int, str]] = []

    def append(self, events: Sequence[tuple[str, str, int, str]]) -> None:
        self.events.extend(events)

    def read(
        self, group: str, *, after_id: int = 0, limit: int = 1000, stream: str | None = None
    ) -> list[LogEvent]:
        return []

    def counts(self) -> LogCounts:
        return LogCounts()

    def close(self) -> None:
        pass


def code_zip() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("app.py", "def handler(event, context):\n    return event\n")
    return buffer.getvalue()


class Cold:
    """An EnvironmentBuilder over a real code store, a fake launcher and a list of log lines."""

    def __init__(self, root: Path, launcher: FakeLauncher) -> None:
        self.code = CodeStore(root / "code")
        self.digest = self.code.put(code_zip()).sha256_hex
        self.store = ListLogStore()
        self.logs = LogWriter(self.store)
        self.launcher = launcher

        async def launcher_for(runtime: str) -> Launcher:
            return launcher

        self.builder = EnvironmentBuilder(
            self.code, ArnFormatter("us-east-1", "123456789012"), self.logs, launcher_for
        )

    def version(self, *, timeout: int = 3, digest: str | None = None) -> FunctionVersion:
        return FunctionVersion(
            function_name="f",
            version="$LATEST",
            role="arn:aws:iam::123456789012:role/r",
            runtime="python3.12",
            handler="app.handler",
            code_sha256_hex=digest or self.digest,
            code_size=1,
            revision_id="rev",
            last_modified="2024-01-01T00:00:00.000+0000",
            timeout=timeout,
        )

    def lines(self) -> list[str]:
        self.logs.flush()
        return [message for _, _, _, message in self.store.events]


def state_of(environment: Environment) -> EnvironmentState:
    """Read afresh: an await may have changed it (mypy would keep the last narrowing)."""
    return environment.state


def invocation(request_id: str = "req-1", payload: bytes = b'{"a": 1}') -> Invocation:
    return Invocation(request_id, payload, 0, "arn:aws:lambda:us-east-1:1:function:f", "t")


def run(
    tmp_path: Path,
    scenario: Callable[[Cold], Awaitable[None]],
    launcher: FakeLauncher | None = None,
) -> None:
    async def main() -> None:
        cold = Cold(tmp_path, launcher or FakeLauncher())
        try:
            await scenario(cold)
        finally:
            # Let the fake runtimes' connections finish closing before the loop ends (a real
            # runtime's die with its process).
            await asyncio.sleep(0.05)
            cold.builder.close()

    asyncio.run(main())


def test_a_cold_start_then_warm_invocations(tmp_path: Path) -> None:
    async def scenario(cold: Cold) -> None:
        environment = await cold.builder.start(cold.version(), provisioned=False)
        assert state_of(environment) is EnvironmentState.IDLE
        assert environment.init_duration_ms is not None
        (launch,) = cold.launcher.launches
        assert launch.argv is None  # a Python runtime: the zygote's own client
        assert launch.env["AWS_LAMBDA_INITIALIZATION_TYPE"] == "on-demand"
        assert launch.env["AWS_LAMBDA_RUNTIME_API"] == environment.runtime_api
        assert launch.env["AWS_LAMBDA_LOG_STREAM_NAME"] == environment.stream
        first = await environment.invoke(invocation("req-1"))
        second = await environment.invoke(invocation("req-2", b"[2]"))
        assert (first.payload, first.function_error) == (b'{"a": 1}', None)
        assert second.payload == b"[2]"
        assert state_of(environment) is EnvironmentState.IDLE
        assert "handling req-1" in first.log_tail and "START" in first.log_tail
        lines = cold.lines()
        starts = [line for line in lines if line.startswith(("START", "END", "REPORT"))]
        assert starts[0] == "START RequestId: req-1 Version: $LATEST"
        assert starts[1] == "END RequestId: req-1"
        assert "\tInit Duration: " in starts[2]  # the first REPORT of a cold environment
        assert starts[3:5] == ["START RequestId: req-2 Version: $LATEST", "END RequestId: req-2"]
        assert "Init Duration" not in starts[5]
        await environment.destroy()
        assert state_of(environment) is EnvironmentState.DEAD

    run(tmp_path, scenario)


def test_a_provisioned_environment_reports_no_init_duration(tmp_path: Path) -> None:
    async def scenario(cold: Cold) -> None:
        environment = await cold.builder.start(cold.version(), provisioned=True)
        (launch,) = cold.launcher.launches
        assert launch.env["AWS_LAMBDA_INITIALIZATION_TYPE"] == "provisioned-concurrency"
        await environment.invoke(invocation())
        (report,) = [line for line in cold.lines() if line.startswith("REPORT")]
        assert "Init Duration" not in report
        await environment.destroy()

    run(tmp_path, scenario)


def test_a_function_error_is_a_result_and_the_environment_stays(tmp_path: Path) -> None:
    async def handler(payload: bytes) -> bytes:
        raise FakeFunctionError("ValueError", "bad input")

    async def scenario(cold: Cold) -> None:
        environment = await cold.builder.start(cold.version(), provisioned=False)
        outcome = await environment.invoke(invocation())
        assert outcome.function_error == "Unhandled"
        assert json.loads(outcome.payload) == {
            "errorType": "ValueError",
            "errorMessage": "bad input",
        }
        assert state_of(environment) is EnvironmentState.IDLE
        await environment.destroy()

    run(tmp_path, scenario, FakeLauncher(handler))


def test_a_timeout_ends_the_environment(tmp_path: Path) -> None:
    async def handler(payload: bytes) -> bytes:
        await asyncio.sleep(3600)
        return b""

    async def scenario(cold: Cold) -> None:
        environment = await cold.builder.start(cold.version(timeout=1), provisioned=False)
        outcome = await environment.invoke(invocation("req-t"))
        assert outcome.function_error == "Unhandled"
        assert json.loads(outcome.payload) == {
            "errorType": "Sandbox.Timedout",
            "errorMessage": "RequestId: req-t Error: Task timed out after 1.00 seconds",
        }
        assert state_of(environment) is EnvironmentState.DEAD
        lines = cold.lines()
        assert any(line.endswith(" req-t Task timed out after 1.00 seconds") for line in lines)
        assert lines[-1].startswith("REPORT RequestId: req-t\t")
        assert lines[-1].endswith("\tStatus: timeout")

    run(tmp_path, scenario, FakeLauncher(handler))


def test_a_crash_ends_the_environment(tmp_path: Path) -> None:
    async def handler(payload: bytes) -> bytes:
        raise FakeExit(3)

    async def scenario(cold: Cold) -> None:
        environment = await cold.builder.start(cold.version(), provisioned=False)
        outcome = await environment.invoke(invocation("req-c"))
        assert json.loads(outcome.payload) == {
            "errorType": "Runtime.ExitError",
            "errorMessage": "RequestId: req-c Error: Runtime exited with error: exit status 3",
        }
        assert state_of(environment) is EnvironmentState.DEAD
        report = cold.lines()[-1]
        assert report.endswith("\tStatus: error\tError Type: Runtime.ExitError")

    run(tmp_path, scenario, FakeLauncher(handler))


def test_an_init_that_exits_fails_with_aws_error(tmp_path: Path) -> None:
    async def init() -> None:
        raise FakeExit(1)

    async def scenario(cold: Cold) -> None:
        with pytest.raises(InitFailed) as failed:
            await cold.builder.start(cold.version(), provisioned=False)
        assert json.loads(failed.value.payload) == {
            "errorType": "Runtime.ExitError",
            "errorMessage": "Runtime exited with error: exit status 1",
        }
        assert "INIT_REPORT Init Duration: " in failed.value.log
        assert failed.value.log.rstrip().endswith("Error Type: Runtime.ExitError")

    run(tmp_path, scenario, FakeLauncher(init=init))


def test_an_init_error_posted_by_the_runtime_is_returned(tmp_path: Path) -> None:
    posted = b'{"errorType": "Runtime.ImportModuleError", "errorMessage": "No module"}'

    async def scenario(cold: Cold) -> None:
        with pytest.raises(InitFailed) as failed:
            await cold.builder.start(cold.version(), provisioned=False)
        assert failed.value.payload == posted

    run(tmp_path, scenario, FakeLauncher(init_error=posted))


def test_missing_code_is_a_service_error(tmp_path: Path) -> None:
    async def scenario(cold: Cold) -> None:
        with pytest.raises(LambdaError) as error:
            await cold.builder.start(cold.version(digest="ab" * 32), provisioned=False)
        assert (error.value.code, error.value.status) == ("ServiceException", 500)
        assert cold.launcher.launches == []

    run(tmp_path, scenario)


def test_the_runtime_api_refuses_a_post_for_another_request(tmp_path: Path) -> None:
    async def scenario(cold: Cold) -> None:
        environment = await cold.builder.start(cold.version(), provisioned=False)
        host, _, port = environment.runtime_api.rpartition(":")
        reader, writer = await asyncio.open_connection(host, int(port))
        path = "/2018-06-01/runtime/invocation/not-the-one/response"
        writer.write(f"POST {path} HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\n{{}}".encode())
        status = await reader.readline()
        assert status.startswith(b"HTTP/1.1 400")
        writer.close()
        await writer.wait_closed()
        assert isinstance(environment, Environment)
        await environment.destroy()

    run(tmp_path, scenario)
