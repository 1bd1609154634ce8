"""The lines the platform writes into a function's log stream, exactly as AWS writes them in
the Text log format: START, END, REPORT, INIT_REPORT, and the timeout and crash lines.

Pure functions of their inputs (no clock is read: callers pass the time), so each line is
unit-tested against the ones AWS recorded (tests/unit/test_platform_lines.py).
"""

from __future__ import annotations

import math
from datetime import UTC, datetime


def start_line(request_id: str, version: str) -> str:
    return f"START RequestId: {request_id} Version: {version}"


def end_line(request_id: str) -> str:
    return f"END RequestId: {request_id}"


def billed_duration_ms(duration_ms: float) -> int:
    """AWS bills by the millisecond, rounded up, at least 1 ms."""
    return max(1, math.ceil(duration_ms))


def report_line(
    request_id: str,
    duration_ms: float,
    memory_size_mb: int,
    max_memory_used_mb: int,
    init_duration_ms: float | None = None,
    restore_duration_ms: float | None = None,
) -> str:
    """REPORT, each field followed by a tab as on AWS; Init Duration only on the first
    invocation of an on-demand environment, Restore Duration (and its billed part) instead
    on the first invocation of one restored from a SnapStart snapshot (forked, here)."""
    line = (
        f"REPORT RequestId: {request_id}\tDuration: {duration_ms:.2f} ms\t"
        f"Billed Duration: {billed_duration_ms(duration_ms)} ms\t"
        f"Memory Size: {memory_size_mb} MB\tMax Memory Used: {max_memory_used_mb} MB\t"
    )
    if init_duration_ms is not None:
        line += f"Init Duration: {init_duration_ms:.2f} ms\t"
    if restore_duration_ms is not None:
        line += (
            f"Restore Duration: {restore_duration_ms:.2f} ms\t"
            f"Billed Restore Duration: {billed_duration_ms(restore_duration_ms)} ms\t"
        )
    return line


def timeout_status() -> str:
    """What a timed-out invocation's REPORT line ends with."""
    return "\tStatus: timeout"


def error_status(error_type: str) -> str:
    """What the REPORT line of an invocation whose runtime died ends with."""
    return f"\tStatus: error\tError Type: {error_type}"


def init_report_line(init_duration_ms: float, error_type: str) -> str:
    """The line a failed init ends with."""
    return (
        f"INIT_REPORT Init Duration: {init_duration_ms:.2f} ms\tPhase: init\t"
        f"Status: error\tError Type: {error_type}"
    )


def task_timed_out(timeout_seconds: int) -> str:
    return f"Task timed out after {timeout_seconds:.2f} seconds"


def timeout_line(now: datetime, request_id: str, timeout_seconds: int) -> str:
    """`2024-01-01T00:00:00.123Z <request id> Task timed out after 3.00 seconds`."""
    return f"{iso_millis(now)} {request_id} {task_timed_out(timeout_seconds)}"


def exit_line(request_id: str, reason: str) -> str:
    """The line logged when the runtime exits mid-invocation (`reason`: see exit_reason)."""
    return f"RequestId: {request_id} Error: {reason}"


def iso_millis(now: datetime) -> str:
    now = now.astimezone(UTC)
    return now.strftime("%Y-%m-%dT%H:%M:%S.") + f"{now.microsecond // 1000:03d}Z"
