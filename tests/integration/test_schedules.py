"""Schedules on a real server: AWS's validation of rules' and Scheduler's expressions, an
`at()` schedule firing its function on time with its Input, and a fire missed while the
server was down firing once after the restart, not again after the next."""

from __future__ import annotations

import json
import math
import time
from collections.abc import Callable, Iterator
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from botocore.exceptions import ClientError

from tests.integration.conftest import (
    Server,
    create_function,
    logs_client,
    make_zip,
    service_client,
)

pytestmark = pytest.mark.integration

ACCOUNT = "123456789012"
ROLE = f"arn:aws:iam::{ACCOUNT}:role/scheduler"
# Logs what it got and when it started (no SDK to import: a cold start stays short).
RECORDER = """
import json, time
def handler(event, context):
    print("SEEN " + json.dumps({"event": event, "started": time.time()}))
"""


@pytest.fixture(scope="module")
def hearth(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    running = Server(Path(tmp_path_factory.mktemp("schedules"))).start()
    yield running
    if running.process is not None:
        running.stop()


@pytest.fixture(scope="module")
def function(hearth: Server) -> str:
    client = hearth.client()
    create_function(client, "scheduled", make_zip({"app.py": RECORDER}))
    # Warm: the figure below is the schedule's timing, not a cold start's imports.
    client.invoke(FunctionName="scheduled", Payload=b'{"warm": true}')
    return f"arn:aws:lambda:us-east-1:{ACCOUNT}:function:scheduled"


def _seen(hearth: Server) -> list[dict[str, Any]]:
    try:
        found = logs_client(hearth.endpoint).filter_log_events(
            logGroupName="/aws/lambda/scheduled", filterPattern="SEEN"
        )["events"]
    except ClientError:
        return []
    return [json.loads(e["message"].split("SEEN ", 1)[1]) for e in found if "SEEN " in e["message"]]


def _wait(read: Callable[[], list[Any]], count: int, timeout: float = 20.0) -> list[Any]:
    deadline = time.time() + timeout
    found = read()
    while len(found) < count and time.time() < deadline:
        time.sleep(0.1)
        found = read()
    return found


def _at(seconds_ahead: float, zone: str) -> tuple[str, float]:
    """An at() expression whole seconds ahead in `zone`, and its epoch time."""
    when = math.ceil(time.time() + seconds_ahead)
    local = datetime.fromtimestamp(when, ZoneInfo(zone)).strftime("%Y-%m-%dT%H:%M:%S")
    return f"at({local})", float(when)


def _error(call: Callable[[], Any]) -> tuple[str, str, int]:
    with pytest.raises(ClientError) as caught:
        call()
    error = caught.value.response
    return (
        error["Error"]["Code"],
        error["Error"]["Message"],
        error["ResponseMetadata"]["HTTPStatusCode"],
    )


@pytest.mark.parametrize(
    "expression",
    ["cron(INVALID)", "cron(71 8 1 * ? *)", "cron(0 1 * * * *)", "rate(1 minutes)", "rate(5 x)"],
)
def test_put_rule_refuses_what_aws_refuses(hearth: Server, expression: str) -> None:
    events = service_client(hearth.endpoint, "events")
    assert _error(lambda: events.put_rule(Name="bad", ScheduleExpression=expression)) == (
        "ValidationException",
        "Parameter ScheduleExpression is not valid.",
        400,
    )


def test_put_rule_takes_awss_cron_and_rate(hearth: Server) -> None:
    events = service_client(hearth.endpoint, "events")
    for name, expression in [("c", "cron(15 10 ? * 6L 2002-2005)"), ("r", "rate(5 minutes)")]:
        events.put_rule(Name=name, ScheduleExpression=expression)
        assert events.describe_rule(Name=name)["ScheduleExpression"] == expression
        events.delete_rule(Name=name)
    events.create_event_bus(Name="custom")
    assert _error(
        lambda: events.put_rule(
            Name="x", ScheduleExpression="rate(1 minute)", EventBusName="custom"
        )
    ) == (
        "ValidationException",
        "ScheduleExpression is supported only on the default event bus.",
        400,
    )


def test_create_schedule_refuses_bad_expressions(hearth: Server, function: str) -> None:
    scheduler = service_client(hearth.endpoint, "scheduler")
    target = {"Arn": function, "RoleArn": ROLE}
    for expression in ["cron(0 1 * * * *)", "at(2026-02-30T10:00:00)", "every day"]:
        code, message, status = _error(
            lambda e=expression: scheduler.create_schedule(  # type: ignore[misc]
                Name="bad", ScheduleExpression=e, FlexibleTimeWindow={"Mode": "OFF"}, Target=target
            )
        )
        assert (code, message, status) == (
            "ValidationException",
            f"Invalid Schedule Expression {expression}.",
            400,
        )
    code, _, status = _error(
        lambda: scheduler.create_schedule(
            Name="bad",
            ScheduleExpression="rate(1 hour)",
            ScheduleExpressionTimezone="Nowhere/Special",
            FlexibleTimeWindow={"Mode": "OFF"},
            Target=target,
        )
    )
    assert (code, status) == ("ValidationException", 400)


def test_an_at_schedule_fires_on_time_with_its_input_and_deletes_itself(
    hearth: Server, function: str
) -> None:
    scheduler = service_client(hearth.endpoint, "scheduler")
    expression, when = _at(2.0, "Europe/Berlin")
    scheduler.create_schedule(
        Name="soon",
        ScheduleExpression=expression,
        ScheduleExpressionTimezone="Europe/Berlin",
        FlexibleTimeWindow={"Mode": "OFF"},
        Target={"Arn": function, "RoleArn": ROLE, "Input": '{"job": "soon"}'},
        ActionAfterCompletion="DELETE",
    )
    seen = _wait(lambda: [s for s in _seen(hearth) if s["event"] == {"job": "soon"}], 1)
    assert len(seen) == 1
    # on time: the function (warm or cold) starts within a second and a half of the time
    assert when <= seen[0]["started"] < when + 1.5, seen[0]["started"] - when
    deadline = time.time() + 5
    while time.time() < deadline:
        names = [s["Name"] for s in scheduler.list_schedules()["Schedules"]]
        if "soon" not in names:
            break
        time.sleep(0.1)
    assert "soon" not in names


def test_a_restart_fires_a_missed_time_once_and_a_fired_one_never(
    hearth: Server, function: str
) -> None:
    scheduler = service_client(hearth.endpoint, "scheduler")

    def schedule(name: str, seconds_ahead: float) -> float:
        expression, when = _at(seconds_ahead, "UTC")
        scheduler.create_schedule(
            Name=name,
            ScheduleExpression=expression,
            FlexibleTimeWindow={"Mode": "OFF"},
            Target={"Arn": function, "RoleArn": ROLE, "Input": json.dumps({"job": name})},
        )
        return when

    def runs(name: str) -> list[dict[str, Any]]:
        return [s for s in _seen(hearth) if s["event"] == {"job": name}]

    schedule("before", 1.0)
    missed = schedule("while-down", 3.0)
    assert len(_wait(lambda: runs("before"), 1)) == 1
    hearth.stop()  # "before" has fired; "while-down" has not yet
    while time.time() < missed + 0.2:
        time.sleep(0.1)
    hearth.start()
    assert len(_wait(lambda: runs("while-down"), 1)) == 1
    time.sleep(1.2)  # more passes of the schedules have run
    assert len(runs("while-down")) == 1
    assert len(runs("before")) == 1
