"""One execution environment: a process running one runtime, one invocation at a time.

States: STARTING → IDLE ⇄ BUSY → DEAD. After a timeout or a crash the environment is DEAD
and never reused, as on AWS. The environment serves its own Runtime API listener, captures
the process's output into its log stream, and writes START / END / REPORT lines.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import math
import os
import signal
import time
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

from hearth.invoke.launch import LaunchedProcess
from hearth.invoke.payloads import error_payload, error_type_of
from hearth.invoke.runtime_api import RuntimeApiError, serve_runtime_api, serve_runtime_api_unix
from hearth.invoke.streams import MAX_STREAM_BYTES, ResponseSink
from hearth.invoke.types import EnvironmentState, InitFailed, Invocation, InvokeOutcome
from hearth.logs.platform_lines import exit_line, task_timed_out, timeout_line
from hearth.logs.system_log import Report, SystemLog
from hearth.sandbox.peers import tcp_peer_uid

# The last 4 KB of an invocation's log go back with X-Amz-Log-Type: Tail.
LOG_TAIL_BYTES = 4096
# AWS gives the init phase 10 s of its own on on-demand environments.
INIT_TIMEOUT_SECONDS = 10.0

# How Go (AWS's runtime manager) names signals in "Runtime exited with error: signal: ...".
_SIGNAL_NAMES = {
    signal.SIGKILL: "killed",
    signal.SIGSEGV: "segmentation fault",
    signal.SIGABRT: "aborted",
    signal.SIGTERM: "terminated",
    signal.SIGBUS: "bus error",
    signal.SIGILL: "illegal instruction",
    signal.SIGFPE: "floating point exception",
    signal.SIGINT: "interrupt",
}


LogSink = Callable[[str, int, str], None]  # (stream, timestamp_ms, message)


def log_stream_name(version: str) -> str:
    today = datetime.now(UTC)
    return f"{today:%Y/%m/%d}/[{version}]{uuid.uuid4().hex}"


def _now_ms() -> int:
    return int(time.time() * 1000)


def exit_reason(status: int) -> str:
    if status < 0:
        name = _SIGNAL_NAMES.get(signal.Signals(-status), f"signal {-status}")
        return f"Runtime exited with error: signal: {name}"
    if status == 0:
        return "Runtime exited without providing a reason"
    return f"Runtime exited with error: exit status {status}"


TEXT = SystemLog()


class Environment:
    """Implements RuntimeSession for its own Runtime API listener."""

    def __init__(
        self,
        *,
        function_version: str,
        memory_size: int,
        timeout_seconds: int,
        log_sink: LogSink,
        provisioned: bool = False,
        system_log: SystemLog = TEXT,
    ) -> None:
        self.id = uuid.uuid4().hex
        # Provisioned environments initialise ahead of any invocation, so (as on AWS) their
        # REPORT lines carry no Init Duration.
        self.provisioned = provisioned
        self.state = EnvironmentState.STARTING
        self.stream = log_stream_name(function_version)
        self.version = function_version
        self.memory_size = memory_size
        self.timeout_seconds = timeout_seconds
        self.last_used = time.monotonic()
        self.init_duration_ms: float | None = None
        # Forked from a SnapStart template: its init time is reported as Restore Duration.
        self.restored = False
        self._log_sink = log_sink
        # START / END / REPORT in the function's LogFormat, and its log-level filters.
        self._system = system_log
        self._process: LaunchedProcess | None = None
        self._server: asyncio.Server | None = None
        self._unix_server: asyncio.Server | None = None
        self.runtime_socket = ""
        self._output_fd = -1
        self._partial = b""
        self._loop = asyncio.get_event_loop()
        self._ready: asyncio.Future[None] = self._loop.create_future()
        self._waiting_next: asyncio.Future[Invocation] | None = None
        # An invocation assigned while the runtime was not yet waiting in /next.
        self._undelivered: Invocation | None = None
        self._current: Invocation | None = None
        self._result: asyncio.Future[tuple[bytes, str | None]] | None = None
        # Where the current invocation's streamed response goes (None: buffer it), and the
        # stream the runtime has open, if any.
        self._sink: ResponseSink | None = None
        self._stream: _Stream | None = None
        self._captured: list[str] = []
        self._init_lines: list[str] = []
        self._init_error: bytes | None = None
        self._first_report = True
        self._status_fd = -1
        # Set when the environment is sandboxed: the uid its processes run as.
        self.runtime_uid: int | None = None

    @property
    def runtime_api(self) -> str:
        assert self._server is not None
        host, port = self._server.sockets[0].getsockname()[:2]
        return f"{host}:{port}"

    def _admits(self, peer: tuple[str, int]) -> bool:
        """Sandboxed, only the environment's own uid may use its TCP listener (the Unix
        socket is already its own: the sandbox gives it to that uid)."""
        if self.runtime_uid is None:
            return True
        assert self._server is not None
        local = self._server.sockets[0].getsockname()
        return tcp_peer_uid(peer, (local[0], local[1])) == self.runtime_uid

    async def open(self, socket_dir: str | None = None) -> None:
        """Start the Runtime API listeners (before the process, which needs their addresses):
        TCP for every runtime client, and a Unix socket in socket_dir for Hearth's own."""
        self._server = await serve_runtime_api(self, admits=self._admits)
        if socket_dir is not None:
            self.runtime_socket = os.path.join(socket_dir, f"{self.id}.sock")
            self._unix_server = await serve_runtime_api_unix(self, self.runtime_socket)

    async def start(self, launch: Callable[[int], Awaitable[LaunchedProcess]]) -> None:
        """Launch the process and wait for its first /next: the end of init."""
        read_fd, write_fd = os.pipe()
        os.set_blocking(read_fd, False)
        self._output_fd = read_fd
        self._loop.add_reader(read_fd, self._read_output)
        try:
            self._process = await launch(write_fd)
        finally:
            os.close(write_fd)
        if self._process.output_fd >= 0:
            # A standby brought its own output pipe: read that one instead.
            self._close_output()
            self._output_fd, self._process.output_fd = self._process.output_fd, -1
            os.set_blocking(self._output_fd, False)
            self._loop.add_reader(self._output_fd, self._read_output)
        # Init is timed from the spawn: a zygote's own first boot is not the function's init.
        started = time.perf_counter()
        exited = self._process.exited
        init_limit = max(INIT_TIMEOUT_SECONDS, float(self.timeout_seconds))
        waiting: set[asyncio.Future[Any]] = {self._ready, exited}
        done, _ = await asyncio.wait(
            waiting, timeout=init_limit, return_when=asyncio.FIRST_COMPLETED
        )
        self.init_duration_ms = (time.perf_counter() - started) * 1000
        if self._ready in done and not exited.done():
            self.state = EnvironmentState.IDLE
            if self._process.accounting is not None:
                self._process.accounting.init_done()
            return
        self._drain_output()
        if self._init_error is not None:
            payload = self._init_error
        elif exited.done():
            payload = error_payload(self._exit_error_type(), exit_reason(exited.result()))
        else:
            payload = error_payload(
                "Sandbox.Timedout", f"Init timed out after {init_limit:.2f} seconds"
            )
        self._log_system(self._system.init_failed(self.init_duration_ms, error_type_of(payload)))
        await self.destroy()
        tail = "\n".join(self._init_lines) + "\n"
        raise InitFailed(payload, _last_bytes(tail, LOG_TAIL_BYTES))

    # RuntimeSession -----------------------------------------------------------------------
    async def next_invocation(self) -> Invocation:
        if not self._ready.done():
            self._ready.set_result(None)
        if self._undelivered is not None:  # handed out before the runtime asked
            invocation, self._undelivered = self._undelivered, None
            return invocation
        self._waiting_next = self._loop.create_future()
        return await self._waiting_next

    def post_response(self, request_id: str, body: bytes) -> None:
        self._finish(request_id, body, None)

    def post_error(self, request_id: str, error_type: str | None, body: bytes) -> None:
        self._finish(request_id, body, "Unhandled")

    def post_init_error(self, error_type: str | None, body: bytes) -> None:
        if self.state is not EnvironmentState.STARTING:
            raise RuntimeApiError(403, "InvalidStateTransition", "Init error after init")
        self._init_error = body or error_payload(error_type or "Runtime.Unknown", "Init failed")

    def open_stream(self, request_id: str, content_type: str) -> _Stream:
        self._check_open(request_id)
        if self._stream is not None:
            raise RuntimeApiError(403, "InvalidStateTransition", "Response already sent")
        self._stream = _Stream(self, request_id, self._sink)
        if self._sink is not None:
            self._sink.start(content_type, self.version)
        return self._stream

    def _end_stream(self, stream: _Stream, body: bytes, function_error: str | None) -> None:
        if self._stream is not stream:
            return  # the invocation it belonged to is over
        self._stream = None
        with contextlib.suppress(RuntimeApiError):
            self._finish(stream.request_id, body, function_error)

    def _check_open(self, request_id: str) -> None:
        if self._current is None or request_id != self._current.request_id:
            raise RuntimeApiError(400, "InvalidRequestID", f"Invalid request ID: {request_id}")
        if self._result is None or self._result.done():
            raise RuntimeApiError(403, "InvalidStateTransition", "Response already sent")

    def _finish(self, request_id: str, body: bytes, function_error: str | None) -> None:
        self._check_open(request_id)
        # The runtime flushed its output before posting: take it now, so the log lines
        # land before END and in the Tail, in the order they were written.
        self._drain_output()
        assert self._result is not None  # _check_open saw to it
        self._result.set_result((body, function_error))

    # Invoking -----------------------------------------------------------------------------
    async def invoke(
        self, invocation: Invocation, sink: ResponseSink | None = None
    ) -> InvokeOutcome:
        """Run one invocation; with `sink`, a streamed response goes there as it is written
        (the outcome's payload is then empty, or the error if the stream ended in one)."""
        assert self.state is EnvironmentState.IDLE and self._process is not None
        self.state = EnvironmentState.BUSY
        self._current = invocation
        self._sink = sink
        self._stream = None
        self._captured = []
        self._result = self._loop.create_future()
        self._log_system(self._system.start(invocation.request_id, self.version))
        started = time.perf_counter()
        waiting = self._waiting_next
        if waiting is not None and not waiting.done():
            waiting.set_result(invocation)
        else:
            self._undelivered = invocation
        exited = self._process.exited
        racing: set[asyncio.Future[Any]] = {self._result, exited}
        done, _ = await asyncio.wait(
            racing,
            timeout=self.timeout_seconds,
            return_when=asyncio.FIRST_COMPLETED,
        )
        duration_ms = (time.perf_counter() - started) * 1000
        status, error_type = "success", None
        if self._result in done:
            payload, function_error = self._result.result()
        elif exited in done:
            self._drain_output()
            reason = exit_reason(exited.result())
            error_type = self._exit_error_type()
            self._log(exit_line(invocation.request_id, reason))
            payload = error_payload(error_type, exit_line(invocation.request_id, reason))
            function_error = "Unhandled"
            status = "error"
        else:
            self._drain_output()
            request_id, timeout = invocation.request_id, self.timeout_seconds
            self._log_system(
                self._system.timed_out(timeout_line(datetime.now(UTC), request_id, timeout))
            )
            payload = error_payload(
                "Sandbox.Timedout", exit_line(request_id, task_timed_out(timeout))
            )
            function_error = "Unhandled"
            status = "timeout"
        self._log_system(self._system.end(invocation.request_id))
        report = self._report(invocation.request_id, duration_ms, status, error_type)
        self._log_system(self._system.report(report))
        tail = "\n".join(self._captured) + "\n"
        self._current = None
        self._result = None
        self._sink = None
        self._stream = None
        self.last_used = time.monotonic()
        if status != "success":
            await self.destroy()  # after a timeout or crash an environment is never reused
        else:
            self.state = EnvironmentState.IDLE
        return InvokeOutcome(
            payload, function_error, _last_bytes(tail, LOG_TAIL_BYTES), duration_ms
        )

    def _report(
        self, request_id: str, duration_ms: float, status: str, error_type: str | None
    ) -> Report:
        # Provisioned environments initialised ahead of any invocation: no Init Duration.
        first = self._first_report and not self.provisioned
        self._first_report = False
        init = self.init_duration_ms if first else None
        memory = self._max_memory_mb()
        if self.restored:
            return Report(
                request_id, duration_ms, self.memory_size, memory, None, status, error_type, init
            )
        return Report(request_id, duration_ms, self.memory_size, memory, init, status, error_type)

    def _exit_error_type(self) -> str:
        """Why the runtime exited, as AWS names it: an OOM kill, or any other exit."""
        accounting = self._process.accounting if self._process is not None else None
        if accounting is not None and accounting.out_of_memory():
            return "Runtime.OutOfMemory"
        return "Runtime.ExitError"

    def _max_memory_mb(self) -> int:
        """Peak memory of the environment, in MB: its cgroup's peak when sandboxed, else the
        peak resident memory of its main process (VmHWM).

        The status file stays open for the environment's life: re-reading it from offset 0
        is much cheaper than opening it on every invoke.
        """
        if self._process is None:
            return 0
        if self._process.accounting is not None:
            peak = self._process.accounting.max_memory_bytes()
            if peak is not None:
                return math.ceil(peak / (1024 * 1024))
        try:
            if self._status_fd < 0:
                self._status_fd = os.open(f"/proc/{self._process.pid}/status", os.O_RDONLY)
            status = os.pread(self._status_fd, 8192, 0)
        except OSError:
            return 0
        start = status.find(b"VmHWM:")
        if start < 0:
            return 0
        return math.ceil(int(status[start + 6 : status.index(b"kB", start)]) / 1024)

    # Output -------------------------------------------------------------------------------
    def _read_output(self) -> None:
        self._drain_output()

    def _drain_output(self) -> None:
        if self._output_fd < 0:
            return
        while True:
            try:
                chunk = os.read(self._output_fd, 65536)
            except BlockingIOError:
                return
            except OSError as exc:
                if exc.errno == errno.EAGAIN:
                    return
                raise
            if not chunk:
                self._close_output()
                return
            self._partial += chunk
            *lines, self._partial = self._partial.split(b"\n")
            for line in lines:
                # Runtimes write a multi-line record (a traceback) as one line with "\r"
                # between its lines, as on AWS; it is one log event with its line breaks.
                text = line.decode("utf-8", errors="replace").rstrip("\r")
                if self._system.keeps(text):
                    self._log(text.replace("\r", "\n"))

    def _close_output(self) -> None:
        if self._output_fd >= 0:
            self._loop.remove_reader(self._output_fd)
            os.close(self._output_fd)
            self._output_fd = -1
        if self._partial:
            self._log(self._partial.decode("utf-8", errors="replace"))
            self._partial = b""

    def _log_system(self, line: str | None) -> None:
        if line is not None:
            self._log(line)

    def _log(self, message: str) -> None:
        if self._current is not None:
            self._captured.append(message)
        elif self.state is EnvironmentState.STARTING:
            self._init_lines.append(message)
        self._log_sink(self.stream, _now_ms(), message)

    # Ending -------------------------------------------------------------------------------
    async def destroy(self) -> None:
        self.state = EnvironmentState.DEAD
        if self._process is not None:
            self._process.kill()
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(asyncio.shield(self._process.exited), 5)
            if self._process.accounting is not None and self._process.exited.done():
                self._process.accounting.release()
                self._process.accounting = None
        self._drain_output()
        self._close_output()
        if self._status_fd >= 0:
            os.close(self._status_fd)
            self._status_fd = -1
        if self._waiting_next is not None and not self._waiting_next.done():
            self._waiting_next.cancel()
        if self._server is not None:
            self._server.close()
            self._server = None
        if self._unix_server is not None:
            self._unix_server.close()
            self._unix_server = None
            with contextlib.suppress(OSError):
                os.unlink(self.runtime_socket)


class _Stream:
    """A streamed response of one invocation (implements runtime_api.ResponseStream)."""

    def __init__(self, environment: Environment, request_id: str, sink: ResponseSink | None):
        self._environment = environment
        self.request_id = request_id
        self._sink = sink
        self._buffer: list[bytes] = []
        self._size = 0

    def write(self, data: bytes) -> None:
        self._size += len(data)
        if self._size > MAX_STREAM_BYTES:
            return  # reported when the stream ends
        if self._sink is not None:
            self._sink.write(data)
        else:
            self._buffer.append(data)

    def close(self, error_type: str | None, error_body: bytes | None) -> None:
        if self._size > MAX_STREAM_BYTES:
            error_type = "Function.ResponseSizeTooLarge"
            error_body = error_payload(
                error_type,
                f"Response payload size exceeded maximum allowed payload size "
                f"({MAX_STREAM_BYTES} bytes).",
            )
        if error_type is not None or error_body is not None:
            body = error_body or error_payload(error_type or "Runtime.Unknown", "Stream failed")
            self._environment._end_stream(self, body, "Unhandled")
        else:
            self._environment._end_stream(self, b"".join(self._buffer), None)

    def abort(self) -> None:
        self.close(
            "Runtime.TruncatedResponse",
            error_payload("Runtime.TruncatedResponse", "The response stream ended early."),
        )


def _last_bytes(text: str, limit: int) -> str:
    data = text.encode()
    return data[-limit:].decode("utf-8", errors="ignore") if len(data) > limit else text
