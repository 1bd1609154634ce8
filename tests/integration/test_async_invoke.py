"""Event invokes against a real `hearth serve`: 202 once queued, retries, Lambda destinations."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError

from tests.integration.async_helpers import (
    RECORDER,
    async_status,
    queue_empty,
    read_lines,
    wait_for,
)
from tests.integration.conftest import Server, aws_json, create_function, log_events, make_zip
from tests.integration.test_cli import hearth

pytestmark = pytest.mark.integration

ACCOUNT_ARN = "arn:aws:lambda:us-east-1:123456789012:function"


# Functions here report to files in the test's directory, which the sandbox hides on
# purpose: these servers run plain processes (test_async_sandboxed.py runs one sandboxed).
PLAIN = ["--isolation", "process"]


@pytest.fixture(scope="module")
def fast_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """Retries after 0.2 s and 0.4 s instead of AWS's minute or two."""
    server = Server(tmp_path_factory.mktemp("async-data"), ["--async-retry-delay", "0.2", *PLAIN])
    server.start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def lam(fast_server: Server) -> Any:
    return fast_server.client()


def recorder(lam: Any, name: str) -> None:
    create_function(lam, name, make_zip({"app.py": RECORDER}))


def test_event_invoke_answers_202_and_runs_with_the_same_request_id(
    lam: Any, fn_name: str, tmp_path: Path
) -> None:
    recorder(lam, fn_name)
    trace = tmp_path / "trace.jsonl"
    response = lam.invoke(
        FunctionName=fn_name,
        InvocationType="Event",
        Payload=json.dumps({"file": str(trace), "id": 1}).encode(),
    )
    assert response["StatusCode"] == 202
    assert response["Payload"].read() == b""
    assert "FunctionError" not in response
    request_id = response["ResponseMetadata"]["RequestId"]
    (line,) = wait_for(lambda: read_lines(trace))
    assert line["requestId"] == request_id
    assert line["event"] == {"file": str(trace), "id": 1}
    assert line["version"] == "$LATEST"


def test_aws_cli_event_invoke(fast_server: Server, lam: Any, fn_name: str, tmp_path: Path) -> None:
    recorder(lam, fn_name)
    trace = tmp_path / "trace.jsonl"
    payload = json.dumps({"file": str(trace), "id": "cli"})
    out = tmp_path / "out.json"
    answer = aws_json(
        fast_server.endpoint,
        "invoke",
        "--function-name",
        fn_name,
        "--invocation-type",
        "Event",
        "--payload",
        payload,
        str(out),
    )
    assert answer["StatusCode"] == 202
    (line,) = wait_for(lambda: read_lines(trace))
    assert line["event"]["id"] == "cli"


def test_bad_event_invokes_get_aws_errors(lam: Any, fn_name: str) -> None:
    recorder(lam, fn_name)
    too_big = b'"' + b"x" * (1024 * 1024 - 1) + b'"'  # 1 MB + 1 byte
    with pytest.raises(ClientError) as caught:
        lam.invoke(FunctionName=fn_name, InvocationType="Event", Payload=too_big)
    error = caught.value.response
    assert error["ResponseMetadata"]["HTTPStatusCode"] == 413
    assert error["Error"]["Code"] == "RequestEntityTooLargeException"
    assert error["Error"]["Message"] == (
        "1048577 byte payload is too large for the Event invocation type (limit 1048576 bytes)"
    )
    # Exactly 1 MB is accepted.
    ok = b'"' + b"x" * (1024 * 1024 - 2) + b'"'
    assert lam.invoke(FunctionName=fn_name, InvocationType="Event", Payload=ok)["StatusCode"] == 202

    with pytest.raises(ClientError) as caught:
        lam.invoke(FunctionName=fn_name + "-nope", InvocationType="Event", Payload=b"{}")
    assert caught.value.response["Error"]["Code"] == "ResourceNotFoundException"
    assert caught.value.response["ResponseMetadata"]["HTTPStatusCode"] == 404

    with pytest.raises(ClientError) as caught:
        lam.invoke(FunctionName=fn_name, InvocationType="Event", Payload=b"{not json")
    assert caught.value.response["Error"]["Code"] == "InvalidRequestContentException"


def test_function_errors_are_retried_as_configured(
    fast_server: Server, lam: Any, fn_name: str, tmp_path: Path
) -> None:
    recorder(lam, fn_name)
    default_trace, one_retry_trace = tmp_path / "default.jsonl", tmp_path / "one.jsonl"
    lam.invoke(
        FunctionName=fn_name,
        InvocationType="Event",
        Payload=json.dumps({"file": str(default_trace), "fail": True}).encode(),
    )
    runs = wait_for(lambda: len(read_lines(default_trace)) >= 3 and read_lines(default_trace))
    # Two retries by default, all with the event's request id.
    assert len({run["requestId"] for run in runs}) == 1

    lam.put_function_event_invoke_config(FunctionName=fn_name, MaximumRetryAttempts=1)
    lam.invoke(
        FunctionName=fn_name,
        InvocationType="Event",
        Payload=json.dumps({"file": str(one_retry_trace), "fail": True}).encode(),
    )
    wait_for(lambda: len(read_lines(one_retry_trace)) >= 2)
    wait_for(lambda: queue_empty(fast_server.endpoint))
    assert len(read_lines(default_trace)) == 3
    assert len(read_lines(one_retry_trace)) == 2


def test_qualifier_config_applies_to_its_alias_only(
    fast_server: Server, lam: Any, fn_name: str, tmp_path: Path
) -> None:
    recorder(lam, fn_name)
    version = lam.publish_version(FunctionName=fn_name)["Version"]
    lam.create_alias(FunctionName=fn_name, Name="live", FunctionVersion=version)
    lam.put_function_event_invoke_config(
        FunctionName=fn_name, Qualifier="live", MaximumRetryAttempts=0
    )
    alias_trace, plain_trace = tmp_path / "alias.jsonl", tmp_path / "plain.jsonl"
    for qualifier, trace in (("live", alias_trace), (None, plain_trace)):
        params: dict[str, Any] = {"Qualifier": qualifier} if qualifier else {}
        lam.invoke(
            FunctionName=fn_name,
            InvocationType="Event",
            Payload=json.dumps({"file": str(trace), "fail": True}).encode(),
            **params,
        )
    wait_for(lambda: len(read_lines(plain_trace)) >= 3)
    wait_for(lambda: queue_empty(fast_server.endpoint))
    (alias_run,) = read_lines(alias_trace)
    assert alias_run["version"] == version
    assert len(read_lines(plain_trace)) == 3


def test_lambda_destinations_get_aws_records(
    fast_server: Server, lam: Any, fn_name: str, tmp_path: Path
) -> None:
    source, target = fn_name[:50] + "-src", fn_name[:50] + "-dst"
    recorder(lam, source)
    target_trace = tmp_path / "target.jsonl"
    create_function(
        lam,
        target,
        make_zip({"app.py": RECORDER}),
        Environment={"Variables": {"TRACE_FILE": str(target_trace)}},
    )
    lam.put_function_event_invoke_config(
        FunctionName=source,
        MaximumRetryAttempts=1,
        DestinationConfig={
            "OnSuccess": {"Destination": f"{ACCOUNT_ARN}:{target}"},
            "OnFailure": {"Destination": f"{ACCOUNT_ARN}:{target}:$LATEST"},
        },
    )
    delivered_before = async_status(fast_server.endpoint)["SinceStart"]["Delivered"]
    source_trace = tmp_path / "source.jsonl"
    ok_event = {"file": str(source_trace), "id": "ok"}
    bad_event = {"file": str(source_trace), "id": "bad", "fail": True}
    ok_id = lam.invoke(
        FunctionName=source, InvocationType="Event", Payload=json.dumps(ok_event).encode()
    )["ResponseMetadata"]["RequestId"]
    bad_id = lam.invoke(
        FunctionName=source, InvocationType="Event", Payload=json.dumps(bad_event).encode()
    )["ResponseMetadata"]["RequestId"]
    records = wait_for(lambda: len(read_lines(target_trace)) >= 2 and read_lines(target_trace))
    by_id = {r["event"]["requestContext"]["requestId"]: r["event"] for r in records}

    success = by_id[ok_id]
    assert set(success) == {
        "version",
        "timestamp",
        "requestContext",
        "requestPayload",
        "responseContext",
        "responsePayload",
    }
    assert success["version"] == "1.0"
    assert success["timestamp"].endswith("Z") and success["timestamp"][10] == "T"
    assert success["requestContext"] == {
        "requestId": ok_id,
        "functionArn": f"{ACCOUNT_ARN}:{source}:$LATEST",
        "condition": "Success",
        "approximateInvokeCount": 1,
    }
    assert success["requestPayload"] == ok_event
    assert success["responseContext"] == {"statusCode": 200, "executedVersion": "$LATEST"}
    assert success["responsePayload"] == {"seen": "ok"}

    failure = by_id[bad_id]
    assert failure["requestContext"]["condition"] == "RetriesExhausted"
    assert failure["requestContext"]["approximateInvokeCount"] == 2
    assert failure["requestPayload"] == bad_event
    assert failure["responseContext"] == {
        "statusCode": 200,
        "executedVersion": "$LATEST",
        "functionError": "Unhandled",
    }
    assert failure["responsePayload"]["errorType"] == "RuntimeError"
    assert failure["responsePayload"]["errorMessage"] == "asked to fail: bad"
    wait_for(lambda: queue_empty(fast_server.endpoint))
    assert len(read_lines(source_trace)) == 3  # ok once, bad twice
    # Both records were delivered to the destination function (issue 12 item 6).
    assert async_status(fast_server.endpoint)["SinceStart"]["Delivered"] == delivered_before + 2


def test_hearth_invoke_async(fast_server: Server, lam: Any, fn_name: str, tmp_path: Path) -> None:
    recorder(lam, fn_name)
    trace = tmp_path / "trace.jsonl"
    payload = json.dumps({"file": str(trace), "id": "from-cli"})
    done = hearth(fast_server, "invoke", fn_name, "--async", "--payload", payload)
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith(f"Queued {fn_name} (request id ")
    request_id = done.stdout.split("request id ")[1].split(")")[0]
    (line,) = wait_for(lambda: read_lines(trace))
    assert line["requestId"] == request_id and line["event"]["id"] == "from-cli"


def test_deprecated_invoke_async(lam: Any, fn_name: str, tmp_path: Path) -> None:
    recorder(lam, fn_name)
    trace = tmp_path / "trace.jsonl"
    answer = lam.invoke_async(
        FunctionName=fn_name, InvokeArgs=json.dumps({"file": str(trace), "id": "old"}).encode()
    )
    assert answer["Status"] == 202
    (line,) = wait_for(lambda: read_lines(trace))
    assert line["requestId"] == answer["ResponseMetadata"]["RequestId"]
    assert line["event"]["id"] == "old"


def test_each_attempt_logs_start_end_report(
    fast_server: Server, lam: Any, fn_name: str, tmp_path: Path
) -> None:
    recorder(lam, fn_name)
    lam.put_function_event_invoke_config(FunctionName=fn_name, MaximumRetryAttempts=1)
    event = {"file": str(tmp_path / "trace.jsonl"), "fail": True}
    request_id = lam.invoke(
        FunctionName=fn_name, InvocationType="Event", Payload=json.dumps(event).encode()
    )["ResponseMetadata"]["RequestId"]

    def reports() -> list[str]:
        events = log_events(fast_server.endpoint, f"/aws/lambda/{fn_name}")
        return [e["message"] for e in events if e["message"].startswith("REPORT")]

    wait_for(lambda: len(reports()) >= 2)
    events = log_events(fast_server.endpoint, f"/aws/lambda/{fn_name}")
    starts = [e["message"] for e in events if e["message"].startswith("START")]
    assert starts == [f"START RequestId: {request_id} Version: $LATEST"] * 2
    assert all(r.startswith(f"REPORT RequestId: {request_id}") for r in reports())


@pytest.mark.slow
def test_an_event_too_old_for_its_next_retry_is_given_up(tmp_path: Path) -> None:
    """MaximumEventAgeInSeconds 60 with retries 30 s then 60 s apart: the second retry would
    come at 90 s, past the limit, so the event goes to OnFailure as EventAgeExceeded."""
    server = Server(tmp_path / "data", ["--async-retry-delay", "30", *PLAIN]).start()
    try:
        lam = server.client()
        source_trace, target_trace = tmp_path / "source.jsonl", tmp_path / "target.jsonl"
        create_function(lam, "aging", make_zip({"app.py": RECORDER}))
        create_function(
            lam,
            "graveyard",
            make_zip({"app.py": RECORDER}),
            Environment={"Variables": {"TRACE_FILE": str(target_trace)}},
        )
        lam.put_function_event_invoke_config(
            FunctionName="aging",
            MaximumEventAgeInSeconds=60,
            DestinationConfig={"OnFailure": {"Destination": f"{ACCOUNT_ARN}:graveyard"}},
        )
        event = {"file": str(source_trace), "fail": True}
        lam.invoke(FunctionName="aging", InvocationType="Event", Payload=json.dumps(event).encode())
        (line,) = wait_for(lambda: read_lines(target_trace), timeout=90)
        record = line["event"]
        assert record["requestContext"]["condition"] == "EventAgeExceeded"
        assert record["requestContext"]["approximateInvokeCount"] == 2
        assert record["responseContext"]["functionError"] == "Unhandled"
        assert len(read_lines(source_trace)) == 2
    finally:
        server.stop()
