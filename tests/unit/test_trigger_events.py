"""The pure shapes of push-trigger events: S3 records, SNS filter policies, EventBridge inputs."""

from __future__ import annotations

import json

from hearth.services.eventbridge_events import eventbridge_event, target_input
from hearth.services.s3_events import ObjectChange, event_key, event_matches, key_matches, record
from hearth.services.sns_events import passes_filter

EVENT = eventbridge_event(
    {
        "id": "e1",
        "detail-type": "order",
        "source": "shop",
        "account": "123456789012",
        "time": 0,
        "region": "us-east-1",
        "resources": [],
        "detail": {"customer": "ann", "total": 250, "tags": ["a", "b"]},
        "ingestion-time": 1,
    }
)


def test_s3_keys_are_form_encoded_keeping_slashes() -> None:
    assert event_key("dir/a b+c=ü.csv") == "dir/a+b%2Bc%3D%C3%BC.csv"


def test_s3_event_types_and_key_filters() -> None:
    assert event_matches(["s3:ObjectCreated:*"], "s3:ObjectCreated:Copy")
    assert not event_matches(["s3:ObjectCreated:Put"], "s3:ObjectCreated:Copy")
    assert event_matches(["s3:ObjectRemoved:*"], "s3:ObjectRemoved:DeleteMarkerCreated")
    assert key_matches({"Prefix": "in/", "suffix": ".csv"}, "in/x.csv")
    assert not key_matches({"prefix": "in/"}, "out/x.csv")


def test_a_removal_record_has_no_size_or_etag() -> None:
    change = ObjectChange(
        "s3:ObjectRemoved:Delete",
        "eu-west-1",
        "b",
        "k",
        None,
        None,
        None,
        "AWS:x",
        "1.2.3.4",
        "R",
        "H",
        "O",
    )
    made = record(change, "cfg", now=0)
    assert made["eventName"] == "ObjectRemoved:Delete"
    assert made["eventTime"] == "1970-01-01T00:00:00.000Z"
    assert made["awsRegion"] == "eu-west-1"
    assert set(made["s3"]["object"]) == {"key", "sequencer"}


def test_sns_filter_policies_on_attributes_and_body() -> None:
    policy = json.dumps({"tags": ["b"], "n": [{"numeric": [">=", 2]}]})
    attributes = {
        "tags": {"Type": "String.Array", "Value": '["a", "b"]'},
        "n": {"Type": "Number", "Value": "2"},
    }
    assert passes_filter(policy, None, attributes, "x")
    assert not passes_filter(policy, None, {"tags": attributes["tags"]}, "x")
    assert passes_filter(None, None, {}, "anything")
    body = json.dumps({"kind": [{"prefix": "stock"}]})
    assert passes_filter(body, "MessageBody", {}, '{"kind": "stock-out"}')
    assert not passes_filter(body, "MessageBody", {}, "not json")
    assert not passes_filter("{not a policy", None, {}, "x")


def test_eventbridge_event_and_target_inputs() -> None:
    assert EVENT["time"] == "1970-01-01T00:00:00Z" and "ingestion-time" not in EVENT
    assert target_input({"Input": '{"a": 1}'}, EVENT) == {"a": 1}
    assert target_input({"InputPath": "$.detail.customer"}, EVENT) == "ann"
    shaped = {
        "InputTransformer": {
            "InputPathsMap": {"who": "$.detail.customer", "tags": "$.detail.tags"},
            "InputTemplate": '{"text": "<who> bought", "tags": <tags>, "missing": "<nope>"}',
        }
    }
    assert target_input(shaped, EVENT) == {
        "text": "ann bought",
        "tags": ["a", "b"],
        "missing": "<nope>",
    }
    plain = {
        "InputTransformer": {
            "InputPathsMap": {"who": "$.detail.customer"},
            "InputTemplate": "<who> bought",
        }
    }
    assert target_input(plain, EVENT) == "ann bought"
    sentence = {
        "InputTransformer": {
            "InputPathsMap": {"who": "$.detail.customer", "total": "$.detail.total"},
            "InputTemplate": '"<who> spent <total> dollars"',
        }
    }
    assert target_input(sentence, EVENT) == "ann spent 250 dollars"
    assert target_input({}, EVENT) == EVENT
