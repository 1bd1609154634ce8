"""Event source mapping decisions (hearth/control/mappings.py) and partial batch responses,
against the in-memory registry: defaults, validation, states, duplicates, tags."""

from __future__ import annotations

from typing import Any

import pytest

from hearth.arns import ArnFormatter, Source
from hearth.control.mappings import EventSourceMappings
from hearth.errors import LambdaError
from hearth.events.batch_response import failed_items
from hearth.events.patterns import validate_pattern
from hearth.store.memory import MemoryRegistry
from tests.unit.test_registry_contract import function_record, function_version

QUEUE = "arn:aws:sqs:us-east-1:123456789012:q"
STREAM = "arn:aws:kinesis:us-east-1:123456789012:stream/s"
TABLE_STREAM = "arn:aws:dynamodb:us-east-1:123456789012:table/t/stream/2024-01-01T00:00:00.000"


@pytest.fixture
def mappings() -> EventSourceMappings:
    registry = MemoryRegistry()
    with registry.transaction() as tx:
        tx.put_function(function_record("fn"))
        tx.put_version(function_version("fn"))
    checked: list[tuple[Source, str]] = []
    return EventSourceMappings(
        registry,
        ArnFormatter("us-east-1", "123456789012"),
        validate_pattern,
        lambda source, arn: checked.append((source, arn)),
        clock=lambda: 1700000000.5,
    )


def _error(call: Any) -> tuple[str, int, str]:
    with pytest.raises(LambdaError) as raised:
        call()
    return raised.value.code, raised.value.status, raised.value.message


def test_sqs_defaults(mappings: EventSourceMappings) -> None:
    shape = mappings.create({"FunctionName": "fn", "EventSourceArn": QUEUE})
    assert shape == {
        "UUID": shape["UUID"],
        "EventSourceArn": QUEUE,
        "EventSourceMappingArn": f"arn:aws:lambda:us-east-1:123456789012:event-source-mapping:{shape['UUID']}",
        "FunctionArn": "arn:aws:lambda:us-east-1:123456789012:function:fn",
        "BatchSize": 10,
        "MaximumBatchingWindowInSeconds": 0,
        "FunctionResponseTypes": [],
        "StateTransitionReason": "USER_INITIATED",
        "State": "Creating",
        "LastModified": 1700000000.5,
    }


def test_stream_defaults_and_qualified_function(mappings: EventSourceMappings) -> None:
    shape = mappings.create(
        {"FunctionName": "fn:$LATEST", "EventSourceArn": TABLE_STREAM, "StartingPosition": "LATEST"}
    )
    assert shape["FunctionArn"].endswith(":function:fn:$LATEST")
    assert {
        k: shape[k] for k in ("BatchSize", "MaximumRetryAttempts", "ParallelizationFactor")
    } == {
        "BatchSize": 100,
        "MaximumRetryAttempts": -1,
        "ParallelizationFactor": 1,
    }
    assert shape["DestinationConfig"] == {"OnFailure": {}}
    assert shape["LastProcessingResult"] == "No records processed"


@pytest.mark.parametrize(
    ("request_", "expected"),
    [
        (
            {"EventSourceArn": None},
            ("InvalidParameterValueException", 400, "Unrecognized event source."),
        ),
        (
            {"FunctionName": "fn:7"},
            ("InvalidParameterValueException", 400, "Function does not exist"),
        ),
        (
            {"FunctionName": "fn:nope"},
            ("InvalidParameterValueException", 400, "Function does not exist"),
        ),
        (
            {"BatchSize": True},
            (
                "ValidationException",
                400,
                "1 validation error detected: Value 'True' at 'batchSize' failed to satisfy constraint: Member must be of type integer",
            ),
        ),
        (
            {"BatchSize": 0},
            (
                "ValidationException",
                400,
                "1 validation error detected: Value '0' at 'batchSize' failed to satisfy constraint: Member must have value greater than or equal to 1",
            ),
        ),
        (
            {"FunctionResponseTypes": ["Nope"]},
            (
                "ValidationException",
                400,
                "1 validation error detected: Value '['Nope']' at 'functionResponseTypes' failed to satisfy constraint: Member must satisfy enum value set: [ReportBatchItemFailures]",
            ),
        ),
        (
            {"ParallelizationFactor": 2},
            (
                "InvalidParameterValueException",
                400,
                "Unsupported ParallelizationFactor parameter for given event source mapping type.",
            ),
        ),
        (
            {"BisectBatchOnFunctionError": True},
            (
                "InvalidParameterValueException",
                400,
                "Unsupported BisectBatchOnFunctionError parameter for given event source mapping type.",
            ),
        ),
        (
            {"FilterCriteria": {"Filters": [{"Pattern": "{}"}] * 6}},
            (
                "InvalidParameterValueException",
                400,
                "The number of filters (6) exceeds the maximum (5).",
            ),
        ),
        (
            {"FilterCriteria": {"Filters": [{"Pattern": None}]}},
            ("InvalidParameterValueException", 400, "Invalid filter pattern definition."),
        ),
        (
            {"Tags": {"aws:x": "y"}},
            (
                "InvalidParameterValueException",
                400,
                "Tag keys prefixed with 'aws:' are reserved: aws:x",
            ),
        ),
        (
            {
                "EventSourceArn": f"{QUEUE}.fifo",
                "BatchSize": 11,
                "MaximumBatchingWindowInSeconds": 0,
            },
            (
                "InvalidParameterValueException",
                400,
                "Batch size must not exceed 10 for FIFO queues",
            ),
        ),
    ],
)
def test_create_validation(
    mappings: EventSourceMappings, request_: dict[str, Any], expected: tuple[str, int, str]
) -> None:
    body = {"FunctionName": "fn", "EventSourceArn": QUEUE, **request_}
    assert _error(lambda: mappings.create(body)) == expected
    assert mappings.list_mappings(None, None) == []


def test_at_timestamp_is_for_kinesis_only(mappings: EventSourceMappings) -> None:
    body = {"FunctionName": "fn", "StartingPosition": "AT_TIMESTAMP"}
    code, _, message = _error(lambda: mappings.create({**body, "EventSourceArn": TABLE_STREAM}))
    assert (code, message) == (
        "InvalidParameterValueException",
        f"Unsupported starting position for arn type: {TABLE_STREAM}",
    )
    shape = mappings.create(
        {**body, "EventSourceArn": STREAM, "StartingPositionTimestamp": 1700000000}
    )
    assert shape["StartingPositionTimestamp"] == 1700000000


def test_update_states_and_in_use(mappings: EventSourceMappings) -> None:
    uuid = mappings.create({"FunctionName": "fn", "EventSourceArn": QUEUE})["UUID"]
    # Still Creating: AWS refuses updates until the mapping settles.
    assert _error(lambda: mappings.update(uuid, {"BatchSize": 5}))[0] == "ResourceInUseException"
    assert mappings.delete(uuid)["State"] == "Deleting"
    assert _error(lambda: mappings.get("00000000-0000-0000-0000-000000000000")) == (
        "ResourceNotFoundException",
        404,
        "The resource you requested does not exist.",
    )


def test_list_filters_by_function_and_source(mappings: EventSourceMappings) -> None:
    a = mappings.create({"FunctionName": "fn", "EventSourceArn": QUEUE})["UUID"]
    b = mappings.create(
        {"FunctionName": "fn", "EventSourceArn": STREAM, "StartingPosition": "LATEST"}
    )["UUID"]
    assert {m["UUID"] for m in mappings.list_mappings(None, "fn")} == {a, b}
    assert [m["UUID"] for m in mappings.list_mappings(STREAM, None)] == [b]
    assert mappings.list_mappings(None, "other") == []


@pytest.mark.parametrize(
    ("payload", "expected"),
    [
        (b"", set()),
        (b"null", set()),
        (b'""', set()),
        (b"{}", set()),
        (b'{"batchItemFailures": []}', set()),
        (b'{"batchItemFailures": null}', set()),
        (b'{"batchItemFailures": [{"itemIdentifier": "a"}]}', {"a"}),
        (b'{"batchItemFailures": [{"itemIdentifier": "a"}, {"itemIdentifier": "b"}]}', {"a", "b"}),
        (b'{"batchItemFailures": [{"itemIdentifier": ""}]}', None),
        (b'{"batchItemFailures": [{"itemIdentifier": null}]}', None),
        (b'{"batchItemFailures": [{"foo": "a"}]}', None),
        (b'{"batchItemFailures": [{"itemIdentifier": "zzz"}]}', None),
        (b'{"batchItemFailures": "a"}', None),
        (b"not json", None),
    ],
)
def test_partial_batch_response_rules(payload: bytes, expected: set[str] | None) -> None:
    assert failed_items(payload, {"a", "b"}) == expected
