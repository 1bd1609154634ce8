"""CloudWatch Logs subscription filters on a real server: AWS's validation, and matched log
events (PutLogEvents and a function's own output) reaching a Lambda function as awslogs."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any

import pytest
from botocore.exceptions import ClientError

from tests.integration.conftest import Server, create_function, logs_client, make_zip

pytestmark = pytest.mark.integration

ACCOUNT = "123456789012"
# Prints what each awslogs event brought, one line per delivery, no SDK import (fast start).
SHIPPER = """
import base64, gzip, json
def handler(event, context):
    data = json.loads(gzip.decompress(base64.b64decode(event["awslogs"]["data"])))
    print("GOT " + json.dumps(data))
"""
TALKER = """
def handler(event, context):
    print("ERROR talker says " + event["say"])
    print("INFO quiet")
"""


def _arn(name: str) -> str:
    return f"arn:aws:lambda:us-east-1:{ACCOUNT}:function:{name}"


def _error(call: Callable[[], Any]) -> tuple[str, str]:
    with pytest.raises(ClientError) as caught:
        call()
    error = caught.value.response
    assert error["ResponseMetadata"]["HTTPStatusCode"] == 400
    return error["Error"]["Code"], error["Error"]["Message"]


def _deliveries(logs: Any) -> list[dict[str, Any]]:
    try:
        found = logs.filter_log_events(logGroupName="/aws/lambda/shipper", filterPattern="GOT")
    except ClientError:
        return []
    return [
        json.loads(e["message"].split("GOT ", 1)[1])
        for e in found["events"]
        if e["message"].startswith("GOT ")
    ]


def _wait(read: Callable[[], list[Any]], test: Callable[[list[Any]], bool]) -> list[Any]:
    deadline = time.time() + 20
    found = read()
    while not test(found) and time.time() < deadline:
        time.sleep(0.2)
        found = read()
    return found


def test_subscription_filters_validate_and_deliver(server: Server) -> None:
    client, logs = server.client(), logs_client(server.endpoint)
    create_function(client, "shipper", make_zip({"app.py": SHIPPER}))
    create_function(client, "talker", make_zip({"app.py": TALKER}))
    logs.create_log_group(logGroupName="/subs/orders")
    logs.create_log_stream(logGroupName="/subs/orders", logStreamName="web-1")

    def put(group: str = "/subs/orders", name: str = "errors", **kw: Any) -> Any:
        params = {"filterPattern": "ERROR", "destinationArn": _arn("shipper"), **kw}
        return lambda: logs.put_subscription_filter(logGroupName=group, filterName=name, **params)

    cannot = (
        "InvalidParameterException",
        "Could not execute the lambda function. Make sure you have given CloudWatch Logs "
        "permission to execute your function.",
    )
    assert _error(put()) == cannot  # no AddPermission for logs.amazonaws.com yet
    assert _error(put(destinationArn=_arn("nobody"))) == cannot
    assert _error(put(destinationArn="arn:aws:lambda:us-east-1:999999999999:function:x"))[0] == (
        "AccessDeniedException"
    )
    assert _error(put(destinationArn="arn:aws:kinesis:us-east-1:123456789012:stream/s")) == (
        "InvalidParameterException",
        "destinationArn for vendor kinesis cannot be used without roleArn",
    )
    assert _error(put(group="/subs/missing")) == (
        "ResourceNotFoundException",
        "The specified log group does not exist.",
    )
    assert _error(put(filterPattern='{ $.x = "unclosed'))[0] == "InvalidParameterException"

    client.add_permission(
        FunctionName="shipper",
        StatementId="logs",
        Action="lambda:InvokeFunction",
        Principal="logs.amazonaws.com",
        SourceArn=f"arn:aws:logs:us-east-1:{ACCOUNT}:log-group:*",
        SourceAccount=ACCOUNT,
    )
    put()()
    put(name="everything", filterPattern="")()
    assert _error(put(name="third")) == ("LimitExceededException", "Resource limit exceeded.")
    logs.delete_subscription_filter(logGroupName="/subs/orders", filterName="everything")
    described = logs.describe_subscription_filters(logGroupName="/subs/orders")
    assert [
        {k: v for k, v in f.items() if k != "creationTime"}
        for f in described["subscriptionFilters"]
    ] == [
        {
            "filterName": "errors",
            "logGroupName": "/subs/orders",
            "filterPattern": "ERROR",
            "destinationArn": _arn("shipper"),
            "distribution": "ByLogStream",
            "applyOnTransformedLogs": False,
        }
    ]
    assert _error(
        lambda: logs.delete_subscription_filter(logGroupName="/subs/orders", filterName="nope")
    ) == ("ResourceNotFoundException", "The specified subscription filter does not exist.")

    now = int(time.time() * 1000)
    logs.put_log_events(
        logGroupName="/subs/orders",
        logStreamName="web-1",
        logEvents=[
            {"timestamp": now, "message": "ERROR card declined"},
            {"timestamp": now + 1, "message": "INFO ok"},
            {"timestamp": now + 2, "message": "ERROR timeout"},
        ],
    )
    # The talker's own log group feeds the shipper; the shipper's own group is subscribed
    # too, and must not feed it back.
    client.invoke(FunctionName="talker", Payload=b'{"say": "hello"}')

    def hello_stored() -> list[Any]:
        try:
            found = logs.filter_log_events(logGroupName="/aws/lambda/talker", filterPattern="hello")
        except ClientError:
            return []
        return list(found["events"])

    # A function's lines reach its log group just after the invoke returns: wait for them,
    # so the filter below comes after "hello" (and the group exists).
    _wait(hello_stored, bool)
    _wait(lambda: _deliveries(logs), bool)  # the shipper ran (for /subs/orders): its group is there
    for group in ("/aws/lambda/talker", "/aws/lambda/shipper"):
        put(group=group)()
    client.invoke(FunctionName="talker", Payload=b'{"say": "again"}')

    def complete(found: list[dict[str, Any]]) -> bool:
        return {d["logGroup"] for d in found} >= {"/subs/orders", "/aws/lambda/talker"}

    deliveries = _wait(lambda: _deliveries(logs), complete)
    orders = [d for d in deliveries if d["logGroup"] == "/subs/orders"]
    assert len(orders) == 1
    assert orders[0]["messageType"] == "DATA_MESSAGE"
    assert orders[0]["owner"] == ACCOUNT
    assert orders[0]["logStream"] == "web-1"
    assert orders[0]["subscriptionFilters"] == ["errors"]
    assert [e["message"] for e in orders[0]["logEvents"]] == [
        "ERROR card declined",
        "ERROR timeout",
    ]
    talker = [e["message"] for d in deliveries if d["logGroup"] == "/aws/lambda/talker"
              for e in d["logEvents"]]  # fmt: skip
    assert any("talker says again" in m for m in talker)
    assert not any("talker says hello" in m for m in talker)  # logged before the filter
    time.sleep(1.5)  # another delivery round: still nothing of the shipper's own
    assert all(d["logGroup"] != "/aws/lambda/shipper" for d in _deliveries(logs))


def test_malformed_subscription_filters_are_refused_as_aws_refuses_them(server: Server) -> None:
    raw = logs_client(server.endpoint, validate=False)
    raw.create_log_group(logGroupName="/subs/hostile")
    base = {"logGroupName": "/subs/hostile", "filterName": "f", "filterPattern": ""}
    cases: list[dict[str, Any]] = [
        {**base, "destinationArn": _arn("x"), "filterPattern": "x" * 1025},
        {**base, "destinationArn": _arn("x"), "filterName": "a:b"},
        {**base, "destinationArn": _arn("x"), "filterName": "n" * 513},
        {**base, "destinationArn": _arn("x"), "filterPattern": 7},
        {**base, "destinationArn": _arn("x"), "distribution": "Everywhere"},
        {**base, "destinationArn": "not an arn"},
        {**base, "destinationArn": ""},
        {k: v for k, v in base.items() if k != "filterPattern"} | {"destinationArn": _arn("x")},
    ]
    for params in cases:
        code, _ = _error(lambda p=params: raw.put_subscription_filter(**p))  # type: ignore[misc]
        assert code == "InvalidParameterException", params
    assert (
        raw.describe_subscription_filters(logGroupName="/subs/hostile")["subscriptionFilters"] == []
    )
    assert _error(lambda: raw.describe_subscription_filters(logGroupName="/subs/none")) == (
        "ResourceNotFoundException",
        "The specified log group does not exist.",
    )
