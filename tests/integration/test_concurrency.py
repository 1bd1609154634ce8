"""Concurrency limits against a real `hearth serve`: reserved, account and memory throttles.

Slow invocations really run at the same time; each one drops a marker file when its handler
starts, so the test knows they are all in flight
before it sends the one that must be throttled.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError

from tests.integration.conftest import Server, aws, create_function, make_zip

# These tests watch functions from the host (marker files in a test directory, host pids),
# which the sandbox hides on purpose, so their servers run plain processes; the sandbox has
# its own tests (test_sandbox_attacks.py) and the limits do not depend on it.
PLAIN = ["--isolation", "process"]


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    running = Server(tmp_path_factory.mktemp("plain"), PLAIN).start()
    yield running
    running.stop()


@pytest.fixture(scope="module")
def client(server: Server) -> Any:
    return server.client()


@pytest.fixture(scope="module")
def raw_client(server: Server) -> Any:
    return server.client(validate=False)


SLOW = """\
import os, pathlib, time
def handler(event, context):
    mark = os.environ.get("MARK_DIR")
    if mark:
        pathlib.Path(mark, context.aws_request_id).touch()
    time.sleep(event.get("sleep", 0))
    return {"pid": os.getpid(), "init": os.environ["AWS_LAMBDA_INITIALIZATION_TYPE"]}
"""


def slow_function(client: Any, name: str, marks: Path, **overrides: Any) -> None:
    marks.mkdir(parents=True, exist_ok=True)
    create_function(
        client,
        name,
        make_zip({"app.py": SLOW}),
        Environment={"Variables": {"MARK_DIR": str(marks)}},
        Timeout=30,
        **overrides,
    )


def invoke(client: Any, name: str, sleep: float = 0) -> dict[str, Any]:
    response = client.invoke(FunctionName=name, Payload=json.dumps({"sleep": sleep}))
    assert "FunctionError" not in response, response
    result: dict[str, Any] = json.loads(response["Payload"].read())
    return result


def start_in_flight(
    pool: ThreadPoolExecutor, client: Any, calls: list[tuple[str, Path]], sleep: float
) -> list[Future[dict[str, Any]]]:
    """Start slow invocations and return once every one of them is running its handler."""
    before = {marks: len(list(marks.iterdir())) for _, marks in calls}
    expected = dict.fromkeys(before, 0)
    for _, marks in calls:
        expected[marks] += 1
    futures = [pool.submit(invoke, client, name, sleep) for name, _ in calls]
    deadline = time.monotonic() + 30
    while any(len(list(m.iterdir())) < before[m] + n for m, n in expected.items()):
        assert time.monotonic() < deadline, "the slow invocations never started"
        for future in futures:
            if future.done():
                future.result()  # surface a failure early
        time.sleep(0.05)
    return futures


def throttle_of(call: Any) -> ClientError:
    with pytest.raises(ClientError) as raised:
        call()
    return raised.value


def assert_throttled(error: ClientError, reason: str) -> None:
    response: Any = error.response
    assert response["Error"]["Code"] == "TooManyRequestsException"
    assert response["Error"]["Message"] == "Rate Exceeded."
    assert response["ResponseMetadata"]["HTTPStatusCode"] == 429
    assert response["Reason"] == reason
    assert response["Type"] == "User"
    assert response["ResponseMetadata"]["HTTPHeaders"]["retry-after"] == "1"


@pytest.fixture
def small_account(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    server = Server(
        tmp_path_factory.mktemp("small-account"), extra_args=["--concurrency-limit", "3", *PLAIN]
    ).start()
    yield server
    server.stop()


@pytest.fixture
def small_machine(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    server = Server(
        tmp_path_factory.mktemp("small-machine"), extra_args=["--memory-budget-mb", "256", *PLAIN]
    ).start()
    yield server
    server.stop()


# Reserved concurrency -----------------------------------------------------------------------


def test_a_reserved_function_runs_its_reservation_and_the_next_is_throttled(
    client: Any, fn_name: str, tmp_path: Path
) -> None:
    marks = tmp_path / "marks"
    slow_function(client, fn_name, marks)
    client.put_function_concurrency(FunctionName=fn_name, ReservedConcurrentExecutions=2)
    with ThreadPoolExecutor(2) as pool:
        running = start_in_flight(pool, client, [(fn_name, marks)] * 2, sleep=3)
        error = throttle_of(lambda: invoke(client, fn_name))
        assert_throttled(error, "ReservedFunctionConcurrentInvocationLimitExceeded")
        pids = {future.result()["pid"] for future in running}
    assert len(pids) == 2
    assert invoke(client, fn_name)["pid"] in pids  # capacity is back once they finish
    client.delete_function(FunctionName=fn_name)


def test_reserved_concurrency_zero_stops_every_invocation(
    client: Any, server: Server, fn_name: str, tmp_path: Path
) -> None:
    slow_function(client, fn_name, tmp_path / "marks")
    client.put_function_concurrency(FunctionName=fn_name, ReservedConcurrentExecutions=0)
    assert (
        client.get_function_concurrency(FunctionName=fn_name)["ReservedConcurrentExecutions"] == 0
    )
    error = throttle_of(lambda: invoke(client, fn_name))
    assert_throttled(error, "ReservedFunctionConcurrentInvocationLimitExceeded")
    assert list((tmp_path / "marks").iterdir()) == []  # the function never ran
    cli = aws(server.endpoint, "invoke", "--function-name", fn_name, "/dev/null", check=False)
    assert cli.returncode != 0
    assert "TooManyRequestsException" in cli.stderr and "Rate Exceeded." in cli.stderr
    client.delete_function_concurrency(FunctionName=fn_name)
    assert "ReservedConcurrentExecutions" not in client.get_function_concurrency(
        FunctionName=fn_name
    )
    assert invoke(client, fn_name)["init"] == "on-demand"
    client.delete_function(FunctionName=fn_name)


# Account limit --------------------------------------------------------------------------------


def test_unreserved_functions_share_the_account_limit(
    small_account: Server, tmp_path: Path
) -> None:
    client = small_account.client()
    marks_a, marks_b = tmp_path / "a", tmp_path / "b"
    slow_function(client, "a", marks_a)
    slow_function(client, "b", marks_b)
    settings = client.get_account_settings()
    assert settings["AccountLimit"]["ConcurrentExecutions"] == 3
    assert settings["AccountLimit"]["UnreservedConcurrentExecutions"] == 3
    with ThreadPoolExecutor(3) as pool:
        running = start_in_flight(
            pool, client, [("a", marks_a), ("a", marks_a), ("b", marks_b)], sleep=3
        )
        for name in ("a", "b"):
            error = throttle_of(lambda name=name: invoke(client, name))
            assert_throttled(error, "ConcurrentInvocationLimitExceeded")
        for future in running:
            future.result()
    assert invoke(client, "b")["init"] == "on-demand"


def test_a_small_account_keeps_its_whole_limit_unreserved(small_account: Server) -> None:
    client = small_account.client()
    create_function(client, "c")
    error = throttle_of(
        lambda: client.put_function_concurrency(FunctionName="c", ReservedConcurrentExecutions=1)
    )
    assert error.response["Error"]["Code"] == "InvalidParameterValueException"
    assert error.response["Error"]["Message"] == (
        "Specified ReservedConcurrentExecutions for function decreases account's "
        "UnreservedConcurrentExecution below its minimum value of [3]."
    )
    # Zero takes nothing from the pool, so it is allowed: the usual way to switch one off.
    client.put_function_concurrency(FunctionName="c", ReservedConcurrentExecutions=0)


def test_account_settings_report_reservations(client: Any, fn_name: str) -> None:
    create_function(client, fn_name)
    before = client.get_account_settings()["AccountLimit"]
    assert before["ConcurrentExecutions"] == 1000
    client.put_function_concurrency(FunctionName=fn_name, ReservedConcurrentExecutions=7)
    after = client.get_account_settings()["AccountLimit"]
    assert after["UnreservedConcurrentExecutions"] == before["UnreservedConcurrentExecutions"] - 7
    client.delete_function(FunctionName=fn_name)
    assert client.get_account_settings()["AccountLimit"] == before


# Memory budget ---------------------------------------------------------------------------------


def test_idle_environments_are_evicted_lru_to_make_room(
    small_machine: Server, tmp_path: Path
) -> None:
    from tests.integration.test_environments import alive, wait_until

    client = small_machine.client()
    for name in ("a", "b", "c"):
        slow_function(client, name, tmp_path / name)
    pid_a = invoke(client, "a")["pid"]
    pid_b = invoke(client, "b")["pid"]
    assert invoke(client, "a")["pid"] == pid_a  # a is now the most recently used
    pid_c = invoke(client, "c")["pid"]  # 3 x 128 MB > 256 MB: b, the least recent, goes
    assert wait_until(lambda: not alive(pid_b), timeout=5)
    assert alive(pid_a) and alive(pid_c)
    assert invoke(client, "a")["pid"] == pid_a


def test_no_room_for_another_environment_is_a_throttle(
    small_machine: Server, tmp_path: Path
) -> None:
    client = small_machine.client()
    for name in ("a", "b", "c"):
        slow_function(client, name, tmp_path / name)
    with ThreadPoolExecutor(2) as pool:
        running = start_in_flight(pool, client, [("a", tmp_path / "a"), ("b", tmp_path / "b")], 3)
        error = throttle_of(lambda: invoke(client, "c"))
        assert_throttled(error, "ConcurrentInvocationLimitExceeded")
        for future in running:
            future.result()
    assert list((tmp_path / "c").iterdir()) == []
    invoke(client, "c")  # room once the others are idle (and evictable)
    create_function(client, "big", MemorySize=512)  # more than the whole budget
    error = throttle_of(lambda: invoke(client, "big"))
    assert_throttled(error, "ConcurrentInvocationLimitExceeded")
