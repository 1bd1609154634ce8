"""In-memory twins of the engine's interfaces, for unit tests that start no process.

- `FakeLauncher` (a `Launcher`): "launches" a runtime that is an asyncio task in this process,
  speaking the real Runtime API over loopback to the environment's listener, so a unit test
  drives the real `Environment`, `EnvironmentBuilder` and Runtime API server. The handler
  decides each invocation: return bytes (the response), raise `FakeFunctionError` (an
  /error post), raise `FakeExit` (the "process" exits), or never return (a timeout).
- `FakeEnvironment` (the pool's `Environment`): state and bookkeeping only, the invocation's
  outcome scripted by a callable.
- `FakeOverflow` (the invoker's `Overflow`): other nodes as a list of results to hand out;
  with none left it raises the throttle it was given, as a full cluster does.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import os
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from hearth.arns import FunctionRef
from hearth.errors import LambdaError
from hearth.invoke.launch import LaunchedProcess
from hearth.invoke.payloads import error_payload
from hearth.invoke.streams import ResponseSink
from hearth.invoke.types import EnvironmentState, Invocation, InvokeOutcome, InvokeResult

PREFIX = "/2018-06-01/runtime/"


class FakeExit(Exception):
    """Raised by a handler (or init): the fake process exits with `status`."""

    def __init__(self, status: int) -> None:
        super().__init__(status)
        self.status = status


class FakeFunctionError(Exception):
    """Raised by a handler: the runtime posts /invocation/{id}/error with this type."""

    def __init__(self, error_type: str, message: str) -> None:
        super().__init__(message)
        self.error_type = error_type
        self.message = message


Handler = Callable[[bytes], Awaitable[bytes]]


async def echo(payload: bytes) -> bytes:
    return payload


@dataclass
class Launch:
    """One `launch` call, as the launcher saw it."""

    argv: Sequence[str] | None
    env: dict[str, str]
    cwd: str
    sandbox: dict[str, Any] | None


@dataclass
class FakeLauncher:
    handler: Handler = echo
    # Run before the first /next: raise FakeExit to fail init, or post an init error.
    init: Callable[[], Awaitable[None]] | None = None
    init_error: bytes | None = None
    launches: list[Launch] = field(default_factory=list)
    closed: bool = False

    async def launch(
        self,
        argv: Sequence[str] | None,
        env: dict[str, str],
        cwd: str,
        output_fd: int,
        sandbox: dict[str, Any] | None = None,
        input_fd: int | None = None,
    ) -> LaunchedProcess:
        self.launches.append(Launch(argv, dict(env), cwd, sandbox))
        loop = asyncio.get_running_loop()
        exited: asyncio.Future[int] = loop.create_future()
        # The caller closes its end once launched, as it would after a fork.
        output = os.dup(output_fd)
        runtime = _FakeRuntime(env["AWS_LAMBDA_RUNTIME_API"], output, self)
        task = loop.create_task(runtime.run())

        def ended(done: asyncio.Task[int]) -> None:
            os.close(output)
            if not exited.done():
                exited.set_result(-9 if done.cancelled() else done.result())

        task.add_done_callback(ended)
        # This process's pid: its /proc status gives REPORT a real Max Memory Used reading.
        return FakeProcess(os.getpid(), exited, task=task)

    async def close(self) -> None:
        self.closed = True


@dataclass
class FakeProcess(LaunchedProcess):
    """A "process" that is a task: kill cancels it (and never signals a real pid)."""

    task: asyncio.Task[int] | None = None

    def kill(self) -> None:
        if self.task is not None:
            self.task.cancel()


class _FakeRuntime:
    def __init__(self, address: str, output: int, launcher: FakeLauncher) -> None:
        host, _, port = address.rpartition(":")
        self._host, self._port = host, int(port)
        self._output = output
        self._launcher = launcher

    def print(self, line: str) -> None:
        os.write(self._output, line.encode() + b"\n")

    async def run(self) -> int:
        try:
            if self._launcher.init is not None:
                await self._launcher.init()
            if self._launcher.init_error is not None:
                await self._request("POST", "init/error", self._launcher.init_error)
                return 1
            while True:
                headers, payload = await self._request("GET", "invocation/next")
                request_id = headers["lambda-runtime-aws-request-id"]
                self.print(f"handling {request_id}")
                try:
                    result = await self._launcher.handler(payload)
                except FakeFunctionError as error:
                    body = error_payload(error.error_type, error.message)
                    await self._request("POST", f"invocation/{request_id}/error", body)
                else:
                    await self._request("POST", f"invocation/{request_id}/response", result)
        except FakeExit as exit_:
            return exit_.status

    async def _request(
        self, method: str, path: str, body: bytes = b""
    ) -> tuple[dict[str, str], bytes]:
        reader, writer = await asyncio.open_connection(self._host, self._port)
        try:
            head = f"{method} {PREFIX}{path} HTTP/1.1\r\nHost: x\r\nContent-Length: {len(body)}"
            writer.write(head.encode() + b"\r\n\r\n" + body)
            await writer.drain()
            status_line = await reader.readline()
            if not status_line:
                raise FakeExit(0)  # the listener went away: the environment is gone
            headers: dict[str, str] = {}
            while (line := await reader.readline()) not in (b"\r\n", b""):
                name, _, value = line.decode().partition(":")
                headers[name.strip().lower()] = value.strip()
            data = await reader.readexactly(int(headers.get("content-length", "0")))
            return headers, data
        finally:
            writer.close()
            with contextlib.suppress(OSError):
                await writer.wait_closed()


_clock = itertools.count(1)


class FakeEnvironment:
    """The pool's Environment, without a process: `outcome` decides each invocation."""

    def __init__(
        self,
        memory_size: int = 128,
        *,
        version: str = "$LATEST",
        function: str = "f",
        provisioned: bool = False,
        outcome: Callable[[Invocation], InvokeOutcome] | None = None,
    ) -> None:
        self.memory_size = memory_size
        self.version = version
        self.function = function
        self.provisioned = provisioned
        self.state = EnvironmentState.IDLE
        # Distinct, increasing readings, so LRU order is the order of use.
        self.last_used = float(next(_clock))
        self.invocations: list[Invocation] = []
        self._outcome = outcome or (lambda inv: InvokeOutcome(inv.payload, None, "", 1.0))

    async def invoke(
        self, invocation: Invocation, sink: ResponseSink | None = None
    ) -> InvokeOutcome:
        assert self.state is EnvironmentState.IDLE, self.state
        self.state = EnvironmentState.BUSY
        self.invocations.append(invocation)
        outcome = self._outcome(invocation)
        self.last_used = time.monotonic()
        self.state = EnvironmentState.IDLE
        return outcome

    async def destroy(self) -> None:
        self.state = EnvironmentState.DEAD


@dataclass
class FakeOverflow:
    """Hands out `results` in turn, one per call (a LambdaError in the list is raised);
    once they run out, raises the throttle the invoker passed. Records each call's ref,
    payload and timeout."""

    results: list[InvokeResult | LambdaError] = field(default_factory=list)
    calls: list[tuple[FunctionRef, bytes, float]] = field(default_factory=list)

    async def invoke(
        self,
        ref: FunctionRef,
        payload: bytes,
        *,
        client_context: str | None,
        request_id: str | None,
        trace_header: str | None,
        timeout_seconds: float,
        throttle: LambdaError,
    ) -> InvokeResult:
        self.calls.append((ref, payload, timeout_seconds))
        if not self.results:
            raise throttle
        result = self.results.pop(0)
        if isinstance(result, LambdaError):
            raise result
        return result
