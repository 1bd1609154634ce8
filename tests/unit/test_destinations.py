"""Destination records and dead letters: the pure parts of hearth/events/destinations.py."""

from __future__ import annotations

import json

import pytest

from hearth.events.destinations import (
    BotocoreSink,
    aws_record_timestamp,
    dead_letter_attributes,
    destination_record,
    follow_up,
)
from hearth.events.queue import Event, Kind
from hearth.events.retry import Condition
from hearth.invoke.types import InvokeResult

EVENT = Event("req-1", Kind.INVOKE, "fn", b'{"a": 1}', 0.0, attempts=3)


def test_timestamps_look_like_aws() -> None:
    assert aws_record_timestamp(1574637005.651) == "2019-11-24T23:10:05.651Z"


def test_a_record_for_a_function_that_never_ran_has_no_response() -> None:
    record = json.loads(
        destination_record(
            EVENT,
            condition=Condition.EVENT_AGE_EXCEEDED,
            function_arn="arn:aws:lambda:us-east-1:123456789012:function:fn:$LATEST",
            result=None,
            now=1574637005.651,
        )
    )
    assert record == {
        "version": "1.0",
        "timestamp": "2019-11-24T23:10:05.651Z",
        "requestContext": {
            "requestId": "req-1",
            "functionArn": "arn:aws:lambda:us-east-1:123456789012:function:fn:$LATEST",
            "condition": "EventAgeExceeded",
            "approximateInvokeCount": 3,
        },
        "requestPayload": {"a": 1},
    }


def test_a_non_json_response_is_kept_as_text() -> None:
    result = InvokeResult(b"not json", "7", None, "")
    record = json.loads(
        destination_record(
            EVENT, condition=Condition.SUCCESS, function_arn="arn", result=result, now=0.0
        )
    )
    assert record["responsePayload"] == "not json"
    assert record["responseContext"] == {"statusCode": 200, "executedVersion": "7"}


def test_dead_letter_error_message_is_the_first_kilobyte() -> None:
    long = json.dumps({"errorMessage": "x" * 5000}).encode()
    attributes = dead_letter_attributes(EVENT, InvokeResult(long, "1", "Unhandled", ""), 200)
    assert attributes["ErrorMessage"]["StringValue"] == "x" * 1024
    assert attributes["ErrorCode"] == {"DataType": "Number", "StringValue": "200"}


def test_follow_ups_go_to_functions_as_invokes_and_elsewhere_as_deliveries() -> None:
    invoke = follow_up("arn:aws:lambda:us-east-1:123456789012:function:next:live", b"{}", 5.0, {})
    assert (invoke.kind, invoke.target, invoke.qualifier) == (Kind.INVOKE, "next", "live")
    queue = "arn:aws:sqs:us-east-1:123456789012:q"
    deliver = follow_up(queue, b"{}", 5.0, {"K": {"DataType": "String", "StringValue": "v"}})
    assert (deliver.kind, deliver.target, deliver.enqueued_at) == (Kind.DELIVER, queue, 5.0)
    assert deliver.attributes == {"K": {"DataType": "String", "StringValue": "v"}}
    assert invoke.id != deliver.id


def test_the_sink_refuses_what_it_cannot_deliver_to() -> None:
    sink = BotocoreSink("http://127.0.0.1:9")
    with pytest.raises(ValueError, match="cannot deliver to s3"):
        sink.send("arn:aws:s3:us-east-1:123456789012:bucket", "{}", {})
    with pytest.raises(ValueError, match="not an ARN"):
        sink.send("nonsense", "{}", {})
