"""The CloudWatch Logs API on Hearth's port, through boto3's `logs` client and the aws CLI."""

from __future__ import annotations

import json
import time
import urllib.request
from typing import Any

import pytest
from botocore.exceptions import ClientError

from tests.integration.conftest import Server, aws, create_function, logs_client, make_zip

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def logs(server: Server) -> Any:
    return logs_client(server.endpoint)


def now_ms() -> int:
    return int(time.time() * 1000)


def error_of(call: Any, **params: Any) -> tuple[str, str, int]:
    with pytest.raises(ClientError) as caught:
        call(**params)
    error = caught.value.response
    return (
        error["Error"]["Code"],
        error["Error"]["Message"],
        error["ResponseMetadata"]["HTTPStatusCode"],
    )


def test_log_groups_create_describe_delete(logs: Any) -> None:
    for name in ("/app/one", "/app/two", "/app/three", "/other/x"):
        logs.create_log_group(logGroupName=name, tags={"team": "a"})
    assert error_of(logs.create_log_group, logGroupName="/app/one") == (
        "ResourceAlreadyExistsException",
        "The specified log group already exists",
        400,
    )
    found = logs.describe_log_groups(logGroupNamePrefix="/app/")["logGroups"]
    assert [g["logGroupName"] for g in found] == ["/app/one", "/app/three", "/app/two"]
    group = found[0]
    assert group["arn"] == "arn:aws:logs:us-east-1:123456789012:log-group:/app/one:*"
    assert group["logGroupArn"] == "arn:aws:logs:us-east-1:123456789012:log-group:/app/one"
    assert "retentionInDays" not in group and group["storedBytes"] == 0
    pages = list(
        logs.get_paginator("describe_log_groups").paginate(
            logGroupNamePrefix="/app/", PaginationConfig={"PageSize": 1}
        )
    )
    assert len(pages) == 3 and "nextToken" not in pages[-1]
    logs.delete_log_group(logGroupName="/app/two")
    assert error_of(logs.delete_log_group, logGroupName="/app/two") == (
        "ResourceNotFoundException",
        "The specified log group does not exist.",
        400,
    )
    # The server is shared with other tests' functions: their groups may fill the first page.
    names = [
        g["logGroupName"]
        for page in logs.get_paginator("describe_log_groups").paginate()
        for g in page["logGroups"]
    ]
    assert "/app/two" not in names and "/other/x" in names


@pytest.mark.parametrize(
    ("params", "code"),
    [
        ({"logGroupName": "bad name!"}, "InvalidParameterException"),
        ({"logGroupName": "x" * 513}, "InvalidParameterException"),
    ],
)
def test_bad_group_names(server: Server, params: dict[str, Any], code: str) -> None:
    raw = logs_client(server.endpoint, validate=False)
    found, message, status = error_of(raw.create_log_group, **params)
    assert (found, status) == (code, 400)
    assert "logGroupName" in message


def test_malformed_and_unknown_requests(server: Server) -> None:
    def post(target: str, body: bytes) -> tuple[int, dict[str, Any]]:
        request = urllib.request.Request(
            server.endpoint + "/",
            data=body,
            headers={"X-Amz-Target": target, "Content-Type": "application/x-amz-json-1.1"},
        )
        try:
            with urllib.request.urlopen(request) as response:
                return response.status, json.loads(response.read())
        except urllib.error.HTTPError as error:
            return error.code, json.loads(error.read())

    status, body = post("Logs_20140328.DescribeLogGroups", b"{not json")
    assert status == 400 and body["__type"] == "SerializationException"
    status, body = post("Logs_20140328.StopEverything", b"{}")
    assert status == 400 and body["__type"] == "UnknownOperationException"
    status, body = post("Logs_20140328.DescribeLogGroups", b'{"limit": "ten"}')
    assert status == 400 and body["__type"] == "InvalidParameterException"
    status, body = post("Logs_20140328.DescribeLogGroups", b'{"nextToken": "%%%"}')
    assert status == 400 and body["__type"] == "InvalidParameterException"


def test_streams_order_by_last_event_time(logs: Any) -> None:
    group = "/streams/order"
    logs.create_log_group(logGroupName=group)
    base = now_ms() - 60_000
    for offset, stream in enumerate(["c", "a", "b"]):
        logs.create_log_stream(logGroupName=group, logStreamName=stream)
        logs.put_log_events(
            logGroupName=group,
            logStreamName=stream,
            logEvents=[{"timestamp": base + offset * 1000, "message": f"in {stream}"}],
        )
    logs.create_log_stream(logGroupName="/streams/order", logStreamName="empty")
    assert error_of(logs.create_log_stream, logGroupName=group, logStreamName="a")[0] == (
        "ResourceAlreadyExistsException"
    )
    by_name = logs.describe_log_streams(logGroupName=group)["logStreams"]
    assert [s["logStreamName"] for s in by_name] == ["a", "b", "c", "empty"]
    newest = logs.describe_log_streams(
        logGroupName=group, orderBy="LastEventTime", descending=True
    )["logStreams"]
    assert [s["logStreamName"] for s in newest] == ["b", "a", "c", "empty"]
    assert newest[0]["lastEventTimestamp"] == base + 2000
    assert newest[0]["storedBytes"] == len("in b") + 26
    prefixed = logs.describe_log_streams(logGroupName=group, logStreamNamePrefix="e")
    assert [s["logStreamName"] for s in prefixed["logStreams"]] == ["empty"]
    assert error_of(
        logs.describe_log_streams,
        logGroupName=group,
        orderBy="LastEventTime",
        logStreamNamePrefix="a",
    ) == (
        "InvalidParameterException",
        "Cannot order by LastEventTime with a logStreamNamePrefix.",
        400,
    )
    pages = list(
        logs.get_paginator("describe_log_streams").paginate(
            logGroupName=group,
            orderBy="LastEventTime",
            descending=True,
            PaginationConfig={"PageSize": 1},
        )
    )
    assert [p["logStreams"][0]["logStreamName"] for p in pages] == ["b", "a", "c", "empty"]
    logs.delete_log_stream(logGroupName=group, logStreamName="a")
    assert error_of(logs.delete_log_stream, logGroupName=group, logStreamName="a")[1] == (
        "The specified log stream does not exist."
    )


def test_get_log_events_tokens(logs: Any) -> None:
    group, stream = "/events/tokens", "s"
    logs.create_log_group(logGroupName=group)
    logs.create_log_stream(logGroupName=group, logStreamName=stream)
    base = now_ms() - 10_000
    logs.put_log_events(
        logGroupName=group,
        logStreamName=stream,
        logEvents=[{"timestamp": base + i, "message": f"m{i}"} for i in range(10)],
    )

    def get(**params: Any) -> tuple[list[str], dict[str, Any]]:
        page = logs.get_log_events(logGroupName=group, logStreamName=stream, **params)
        return [e["message"] for e in page["events"]], page

    newest, page = get(limit=3)  # the default reads the newest events, oldest first
    assert newest == ["m7", "m8", "m9"]
    older, page2 = get(limit=3, nextToken=page["nextBackwardToken"])
    assert older == ["m4", "m5", "m6"]
    again, _ = get(limit=3, nextToken=page2["nextForwardToken"])
    assert again == ["m7", "m8", "m9"]
    head, page = get(limit=4, startFromHead=True)
    assert head == ["m0", "m1", "m2", "m3"]
    seen = list(head)
    while True:
        more, following = get(limit=4, startFromHead=True, nextToken=page["nextForwardToken"])
        if following["nextForwardToken"] == page["nextForwardToken"]:
            assert more == []  # the end: the same token comes back
            break
        seen += more
        page = following
    assert seen == [f"m{i}" for i in range(10)]
    window, _ = get(startTime=base + 2, endTime=base + 5, startFromHead=True)
    assert window == ["m2", "m3", "m4"]
    assert error_of(logs.get_log_events, logGroupName=group, logStreamName="nope")[1] == (
        "The specified log stream does not exist."
    )
    assert error_of(logs.get_log_events, logGroupName=group, logStreamName=stream, nextToken="x/1")[
        0
    ] == ("InvalidParameterException")


def test_put_log_events_validation(logs: Any) -> None:
    group, stream = "/events/put", "s"
    logs.create_log_group(logGroupName=group)
    logs.create_log_stream(logGroupName=group, logStreamName=stream)
    now = now_ms()
    assert error_of(
        logs.put_log_events,
        logGroupName=group,
        logStreamName=stream,
        logEvents=[{"timestamp": now, "message": "b"}, {"timestamp": now - 5, "message": "a"}],
    ) == (
        "InvalidParameterException",
        "Log events in a single PutLogEvents request must be in chronological order.",
        400,
    )
    answer = logs.put_log_events(
        logGroupName=group,
        logStreamName=stream,
        logEvents=[
            {"timestamp": now - 20 * 86_400_000, "message": "ancient"},
            {"timestamp": now - 19 * 86_400_000, "message": "ancient too"},
        ],
    )
    assert answer["rejectedLogEventsInfo"] == {"tooOldLogEventEndIndex": 1}
    answer = logs.put_log_events(
        logGroupName=group,
        logStreamName=stream,
        logEvents=[
            {"timestamp": now, "message": "fine"},
            {"timestamp": now + 3 * 3_600_000, "message": "future"},
        ],
    )
    assert answer["rejectedLogEventsInfo"] == {"tooNewLogEventStartIndex": 1}
    messages = [e["message"] for e in logs.filter_log_events(logGroupName=group)["events"]]
    assert messages == ["fine"]
    assert error_of(
        logs.put_log_events,
        logGroupName=group,
        logStreamName=stream,
        logEvents=[{"timestamp": now, "message": "x" * 1_048_551}],
    )[0] == ("InvalidParameterException")
    assert error_of(
        logs.put_log_events,
        logGroupName="/events/none",
        logStreamName=stream,
        logEvents=[{"timestamp": now, "message": "x"}],
    )[1] == ("The specified log group does not exist.")


def test_retention_removes_old_events(logs: Any) -> None:
    group, stream = "/events/retention", "s"
    logs.create_log_group(logGroupName=group)
    logs.create_log_stream(logGroupName=group, logStreamName=stream)
    now = now_ms()
    logs.put_log_events(
        logGroupName=group,
        logStreamName=stream,
        logEvents=[
            {"timestamp": now - 2 * 86_400_000, "message": "two days old"},
            {"timestamp": now - 2 * 86_400_000 + 60_000, "message": "two days old too"},
        ],
    )
    logs.put_log_events(
        logGroupName=group, logStreamName=stream, logEvents=[{"timestamp": now, "message": "new"}]
    )
    assert len(logs.filter_log_events(logGroupName=group)["events"]) == 3
    code, message, _ = error_of(logs.put_retention_policy, logGroupName=group, retentionInDays=2)
    assert code == "InvalidParameterException" and "retentionInDays" in message
    logs.put_retention_policy(logGroupName=group, retentionInDays=1)
    described = logs.describe_log_groups(logGroupNamePrefix=group)["logGroups"][0]
    assert described["retentionInDays"] == 1
    messages = [e["message"] for e in logs.filter_log_events(logGroupName=group)["events"]]
    assert messages == ["new"]
    stream_events = logs.get_log_events(logGroupName=group, logStreamName=stream)["events"]
    assert [e["message"] for e in stream_events] == ["new"]
    logs.delete_retention_policy(logGroupName=group)
    described = logs.describe_log_groups(logGroupNamePrefix=group)["logGroups"][0]
    assert "retentionInDays" not in described


def test_tags_both_ways(logs: Any) -> None:
    group = "/tags/group"
    logs.create_log_group(logGroupName=group, tags={"a": "1"})
    arn = f"arn:aws:logs:us-east-1:123456789012:log-group:{group}"
    logs.tag_resource(resourceArn=arn, tags={"b": "2"})
    logs.tag_log_group(logGroupName=group, tags={"c": "3"})
    assert logs.list_tags_for_resource(resourceArn=arn)["tags"] == {"a": "1", "b": "2", "c": "3"}
    logs.untag_resource(resourceArn=arn, tagKeys=["a"])
    logs.untag_log_group(logGroupName=group, tags=["c"])
    assert logs.list_tags_log_group(logGroupName=group)["tags"] == {"b": "2"}
    assert error_of(logs.list_tags_log_group, logGroupName="/tags/none")[0] == (
        "ResourceNotFoundException"
    )


MESSAGES = [
    "[ERROR] disk full",
    '{"level": "ERROR", "latency": 250}',
    '{"level": "INFO", "latency": 12}',
    "10.0.0.1 - alice GET /index.html 404 1534",
    "10.0.0.2 - bob GET /logo.png 200 99",
]


@pytest.mark.parametrize(
    ("pattern", "expected"),
    [
        ("ERROR", [0, 1]),
        ('"disk full"', [0]),
        ("?alice ?bob", [3, 4]),
        ("ERROR -disk", [1]),
        ('{ $.level = "ERROR" }', [1]),
        ("{ $.latency < 100 }", [2]),
        ("[ip, id, user, verb, path, status = 4*, bytes > 1000]", [3]),
        ("[..., status = 200, bytes]", [4]),
    ],
)
def test_filter_patterns(logs: Any, pattern: str, expected: list[int]) -> None:
    group = "/events/patterns"
    if not logs.describe_log_groups(logGroupNamePrefix=group)["logGroups"]:
        logs.create_log_group(logGroupName=group)
        logs.create_log_stream(logGroupName=group, logStreamName="s")
        base = now_ms() - 1000
        logs.put_log_events(
            logGroupName=group,
            logStreamName="s",
            logEvents=[{"timestamp": base + i, "message": m} for i, m in enumerate(MESSAGES)],
        )
    found = logs.filter_log_events(logGroupName=group, filterPattern=pattern)["events"]
    assert [MESSAGES.index(e["message"]) for e in found] == expected


def test_bad_filter_pattern(logs: Any) -> None:
    logs.create_log_group(logGroupName="/events/bad-pattern")
    code, _, status = error_of(
        logs.filter_log_events, logGroupName="/events/bad-pattern", filterPattern="{ $.a = "
    )
    assert (code, status) == ("InvalidParameterException", 400)
    assert error_of(logs.filter_log_events, logGroupName="/events/missing")[0] == (
        "ResourceNotFoundException"
    )


def test_function_groups_appear_and_custom_group_is_used(
    server: Server, client: Any, logs: Any
) -> None:
    code = make_zip({"app.py": "def handler(e, c):\n    print('hello from fn')\n"})
    create_function(client, "logs-default", code)
    create_function(
        client,
        "logs-custom",
        code,
        LoggingConfig={"LogGroup": "/custom/shared", "LogFormat": "Text"},
    )
    assert not logs.describe_log_groups(logGroupNamePrefix="/aws/lambda/logs-")["logGroups"]
    client.invoke(FunctionName="logs-default", Payload=b"{}")
    client.invoke(FunctionName="logs-custom", Payload=b"{}")
    groups = logs.describe_log_groups(logGroupNamePrefix="/aws/lambda/logs-")["logGroups"]
    assert [g["logGroupName"] for g in groups] == ["/aws/lambda/logs-default"]
    streams = logs.describe_log_streams(logGroupName="/custom/shared")["logStreams"]
    assert len(streams) == 1
    assert streams[0]["logStreamName"].count("/") == 3  # 2024/01/01/[$LATEST]id
    messages = [
        e["message"]
        for e in logs.get_log_events(
            logGroupName="/custom/shared", logStreamName=streams[0]["logStreamName"]
        )["events"]
    ]
    assert "hello from fn" in messages and messages[0].startswith("START RequestId:")


def test_aws_cli_reads_the_same(server: Server, logs: Any) -> None:
    logs.create_log_group(logGroupName="/cli/group")
    logs.create_log_stream(logGroupName="/cli/group", logStreamName="s")
    logs.put_log_events(
        logGroupName="/cli/group",
        logStreamName="s",
        logEvents=[{"timestamp": now_ms(), "message": "through the cli"}],
    )
    described = json.loads(
        aws(
            server.endpoint,
            "describe-log-groups",
            "--log-group-name-prefix",
            "/cli/",
            service="logs",
        ).stdout
    )
    assert [g["logGroupName"] for g in described["logGroups"]] == ["/cli/group"]
    events = json.loads(
        aws(
            server.endpoint,
            "get-log-events",
            "--log-group-name",
            "/cli/group",
            "--log-stream-name",
            "s",
            service="logs",
        ).stdout
    )
    assert [e["message"] for e in events["events"]] == ["through the cli"]
    failed = aws(
        server.endpoint,
        "delete-log-group",
        "--log-group-name",
        "/cli/none",
        service="logs",
        check=False,
    )
    assert failed.returncode != 0 and "ResourceNotFoundException" in failed.stderr
