"""START / END / REPORT and the other platform lines, against the lines AWS recorded
(/work/shared/spec/aws-recorded/lambda_/test_lambda.snapshot.json)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

from hearth.logs.platform_lines import (
    billed_duration_ms,
    end_line,
    error_status,
    exit_line,
    init_report_line,
    report_line,
    start_line,
    task_timed_out,
    timeout_line,
    timeout_status,
)

REQUEST = "6e9c8b39-2a5b-4d5e-9b43-7a0a3c1d2e4f"


def test_start_and_end_as_aws_writes_them() -> None:
    # Recorded: "START RequestId: <uuid:2> Version: 1", "END RequestId: <uuid:2>"
    assert start_line(REQUEST, "1") == f"START RequestId: {REQUEST} Version: 1"
    assert start_line(REQUEST, "$LATEST") == f"START RequestId: {REQUEST} Version: $LATEST"
    assert end_line(REQUEST) == f"END RequestId: {REQUEST}"


def test_report_of_a_cold_invocation() -> None:
    # Recorded: "REPORT RequestId: <request-id>\tDuration: 3.01 ms\tBilled Duration: 4 ms\t
    # Memory Size: 128 MB\tMax Memory Used: 36 MB\tInit Duration: 110.10 ms\t"
    assert report_line(REQUEST, 3.01, 128, 36, 110.1) == (
        f"REPORT RequestId: {REQUEST}\tDuration: 3.01 ms\tBilled Duration: 4 ms\t"
        "Memory Size: 128 MB\tMax Memory Used: 36 MB\tInit Duration: 110.10 ms\t"
    )


def test_report_of_a_warm_invocation() -> None:
    # Recorded: "REPORT RequestId: <request-id>\tDuration: 2.90 ms\tBilled Duration: 3 ms\t
    # Memory Size: 128 MB\tMax Memory Used: 36 MB\t"
    assert report_line(REQUEST, 2.9, 128, 36) == (
        f"REPORT RequestId: {REQUEST}\tDuration: 2.90 ms\tBilled Duration: 3 ms\t"
        "Memory Size: 128 MB\tMax Memory Used: 36 MB\t"
    )


def test_billing_rounds_up_to_the_millisecond_and_is_never_zero() -> None:
    assert billed_duration_ms(0.0) == 1
    assert billed_duration_ms(0.2) == 1
    assert billed_duration_ms(3.0) == 3
    assert billed_duration_ms(3.01) == 4


def test_a_timed_out_invocation() -> None:
    # Recorded: "date <id> Task timed out after 1.00 seconds" and the caller's
    # "RequestId: <id> Error: Task timed out after 1.00 seconds".
    now = datetime(2024, 5, 6, 7, 8, 9, 123_456, tzinfo=UTC)
    assert timeout_line(now, REQUEST, 1) == (
        f"2024-05-06T07:08:09.123Z {REQUEST} Task timed out after 1.00 seconds"
    )
    assert exit_line(REQUEST, task_timed_out(30)) == (
        f"RequestId: {REQUEST} Error: Task timed out after 30.00 seconds"
    )
    assert timeout_status() == "\tStatus: timeout"


def test_the_timestamp_is_utc_whatever_the_zone_given() -> None:
    now = datetime(2024, 5, 6, 9, 8, 9, 5_000, tzinfo=timezone(timedelta(hours=2)))
    assert timeout_line(now, "r", 3).startswith("2024-05-06T07:08:09.005Z r ")


def test_a_runtime_that_died() -> None:
    assert exit_line(REQUEST, "Runtime exited with error: signal: killed") == (
        f"RequestId: {REQUEST} Error: Runtime exited with error: signal: killed"
    )
    assert error_status("Runtime.OutOfMemory") == (
        "\tStatus: error\tError Type: Runtime.OutOfMemory"
    )


def test_a_failed_init() -> None:
    assert init_report_line(12.345, "Runtime.ExitError") == (
        "INIT_REPORT Init Duration: 12.35 ms\tPhase: init\tStatus: error\t"
        "Error Type: Runtime.ExitError"
    )
