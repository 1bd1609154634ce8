"""The comparison the parity replays rest on: placeholders bind consistently."""

from __future__ import annotations

from tests.integration.parity.recorded import Bindings, differences, unwrap


def test_a_placeholder_binds_once_and_then_must_repeat() -> None:
    bindings = Bindings()
    recorded = {
        "RevisionId": "<uuid:1>",
        "FunctionArn": "arn:<partition>:lambda:<region>:1:function:<function-name:1>",
    }
    assert (
        differences(
            recorded,
            {"RevisionId": "a", "FunctionArn": "arn:aws:lambda:us-east-1:1:function:f"},
            bindings,
        )
        == []
    )
    assert differences({"RevisionId": "<uuid:1>"}, {"RevisionId": "b"}, bindings)
    assert differences({"RevisionId": "<uuid:1>"}, {"RevisionId": "a"}, bindings) == []


def test_two_placeholders_of_a_kind_need_two_values() -> None:
    bindings = Bindings()
    assert differences({"R": "<uuid:1>"}, {"R": "a"}, bindings) == []
    assert differences({"R": "<uuid:2>"}, {"R": "a"}, bindings) == [
        ".R: uuid:2 is 'a', the value uuid:1 already had"
    ]


def test_missing_extra_and_status() -> None:
    recorded = {"A": 1, "ResponseMetadata": {"HTTPHeaders": {}, "HTTPStatusCode": 201}}
    actual = {
        "B": 1,
        "ResponseMetadata": {"HTTPHeaders": {"x": "y"}, "HTTPStatusCode": 200, "RetryAttempts": 0},
    }
    found = differences(recorded, actual, Bindings())
    assert found == [
        ".A: missing (AWS: 1)",
        ".B: extra (1)",
        ".ResponseMetadata.HTTPStatusCode: expected 201, got 200",
    ]


def test_unwrap_and_word_placeholders() -> None:
    assert unwrap(
        {"CreateFunctionResponse": {"a": 1}, "CreateEventSourceMappingResponse": None}
    ) == {"a": 1}
    assert differences({"LastModified": "date"}, {"LastModified": "2024"}, Bindings()) == []
    assert differences({"CodeSize": "<code-size>"}, {"CodeSize": 12}, Bindings()) == []
    assert differences({"N": 1}, {"N": True}, Bindings())
