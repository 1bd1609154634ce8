"""Put/Update/Get/Delete/ListFunctionEventInvokeConfig(s) through boto3 and the aws CLI."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import datetime
from typing import Any

import pytest
from botocore.exceptions import ClientError

from tests.integration.conftest import Server, aws_json, create_function

SQS = "arn:aws:sqs:us-east-1:123456789012:failures"
SNS = "arn:aws:sns:us-east-1:123456789012:successes"
BUS = "arn:aws:events:us-east-1:123456789012:event-bus/default"


def error_of(exc: pytest.ExceptionInfo[ClientError]) -> tuple[str, int, str]:
    response = exc.value.response
    return (
        response["Error"]["Code"],
        response["ResponseMetadata"]["HTTPStatusCode"],
        response["Error"]["Message"],
    )


def function_arn(name: str, qualifier: str | None = None) -> str:
    base = f"arn:aws:lambda:us-east-1:123456789012:function:{name}"
    return f"{base}:{qualifier}" if qualifier else base


def test_put_get_update_list_delete(client: Any, fn_name: str) -> None:
    create_function(client, fn_name)
    put = client.put_function_event_invoke_config(
        FunctionName=fn_name,
        MaximumRetryAttempts=1,
        MaximumEventAgeInSeconds=3600,
        DestinationConfig={"OnFailure": {"Destination": SQS}},
    )
    assert put["ResponseMetadata"]["HTTPStatusCode"] == 200
    # AWS names the unqualified function's config `:$LATEST` (recorded).
    assert put["FunctionArn"] == function_arn(fn_name, "$LATEST")
    assert isinstance(put["LastModified"], datetime)
    assert put["MaximumRetryAttempts"] == 1
    assert put["MaximumEventAgeInSeconds"] == 3600
    assert put["DestinationConfig"]["OnFailure"] == {"Destination": SQS}

    got = client.get_function_event_invoke_config(FunctionName=fn_name)
    assert got["MaximumRetryAttempts"] == 1
    assert got["DestinationConfig"]["OnFailure"] == {"Destination": SQS}

    # Update merges: untouched settings and the other destination stay.
    updated = client.update_function_event_invoke_config(
        FunctionName=fn_name,
        MaximumRetryAttempts=0,
        DestinationConfig={"OnSuccess": {"Destination": SNS}},
    )
    assert updated["MaximumRetryAttempts"] == 0
    assert updated["MaximumEventAgeInSeconds"] == 3600
    assert updated["DestinationConfig"]["OnFailure"] == {"Destination": SQS}
    assert updated["DestinationConfig"]["OnSuccess"] == {"Destination": SNS}
    assert updated["LastModified"] >= put["LastModified"]

    # Put replaces the whole config: what it leaves out is gone.
    replaced = client.put_function_event_invoke_config(
        FunctionName=fn_name, MaximumEventAgeInSeconds=60
    )
    assert replaced["MaximumEventAgeInSeconds"] == 60
    assert "MaximumRetryAttempts" not in replaced
    assert replaced["DestinationConfig"] == {"OnSuccess": {}, "OnFailure": {}}

    listed = client.list_function_event_invoke_configs(FunctionName=fn_name)
    assert [c["FunctionArn"] for c in listed["FunctionEventInvokeConfigs"]] == [
        function_arn(fn_name, "$LATEST")
    ]
    assert "NextMarker" not in listed

    deleted = client.delete_function_event_invoke_config(FunctionName=fn_name)
    assert deleted["ResponseMetadata"]["HTTPStatusCode"] == 204
    with pytest.raises(ClientError) as exc:
        client.get_function_event_invoke_config(FunctionName=fn_name)
    code, status, message = error_of(exc)
    assert (code, status) == ("ResourceNotFoundException", 404)
    assert (
        message == f"The function {function_arn(fn_name)}:$LATEST doesn't have an EventInvokeConfig"
    )
    with pytest.raises(ClientError) as exc:
        client.delete_function_event_invoke_config(FunctionName=fn_name)
    assert error_of(exc)[:2] == ("ResourceNotFoundException", 404)
    with pytest.raises(ClientError) as exc:
        client.update_function_event_invoke_config(FunctionName=fn_name, MaximumRetryAttempts=1)
    assert error_of(exc)[:2] == ("ResourceNotFoundException", 404)
    assert (
        client.list_function_event_invoke_configs(FunctionName=fn_name)[
            "FunctionEventInvokeConfigs"
        ]
        == []
    )


def test_qualifier_forms_and_pagination(client: Any, fn_name: str) -> None:
    create_function(client, fn_name)
    version = client.publish_version(FunctionName=fn_name)["Version"]
    client.create_alias(FunctionName=fn_name, Name="live", FunctionVersion=version)

    by_query = client.put_function_event_invoke_config(
        FunctionName=fn_name, Qualifier=version, MaximumRetryAttempts=2
    )
    assert by_query["FunctionArn"] == function_arn(fn_name, version)
    by_name = client.put_function_event_invoke_config(
        FunctionName=f"{fn_name}:live", MaximumRetryAttempts=0
    )
    assert by_name["FunctionArn"] == function_arn(fn_name, "live")
    by_arn = client.put_function_event_invoke_config(
        FunctionName=function_arn(fn_name, "$LATEST"),
        DestinationConfig={"OnSuccess": {"Destination": BUS}},
    )
    assert by_arn["FunctionArn"] == function_arn(fn_name, "$LATEST")
    # The unqualified function and $LATEST share one config (recorded): this replaces it.
    client.put_function_event_invoke_config(FunctionName=fn_name, MaximumRetryAttempts=1)
    assert client.get_function_event_invoke_config(FunctionName=fn_name, Qualifier="$LATEST")[
        "DestinationConfig"
    ] == {"OnSuccess": {}, "OnFailure": {}}

    # Each qualifier has its own config.
    assert (
        client.get_function_event_invoke_config(FunctionName=fn_name, Qualifier="live")[
            "MaximumRetryAttempts"
        ]
        == 0
    )
    assert (
        client.get_function_event_invoke_config(FunctionName=f"{fn_name}:{version}")[
            "MaximumRetryAttempts"
        ]
        == 2
    )
    assert (
        client.get_function_event_invoke_config(FunctionName=fn_name)["MaximumRetryAttempts"] == 1
    )

    pages = client.get_paginator("list_function_event_invoke_configs").paginate(
        FunctionName=fn_name, PaginationConfig={"PageSize": 2}
    )
    arns = [c["FunctionArn"] for page in pages for c in page["FunctionEventInvokeConfigs"]]
    assert arns == [
        function_arn(fn_name, "$LATEST"),
        function_arn(fn_name, version),
        function_arn(fn_name, "live"),
    ]
    first = client.list_function_event_invoke_configs(FunctionName=fn_name, MaxItems=2)
    assert len(first["FunctionEventInvokeConfigs"]) == 2
    assert first["NextMarker"]

    client.delete_function_event_invoke_config(FunctionName=fn_name, Qualifier="live")
    with pytest.raises(ClientError) as exc:
        client.get_function_event_invoke_config(FunctionName=fn_name, Qualifier="live")
    assert function_arn(fn_name, "live") in error_of(exc)[2]
    assert (
        client.get_function_event_invoke_config(FunctionName=fn_name)["MaximumRetryAttempts"] == 1
    )

    with pytest.raises(ClientError) as exc:
        client.get_function_event_invoke_config(FunctionName=f"{fn_name}:live", Qualifier="other")
    assert error_of(exc)[:2] == ("InvalidParameterValueException", 400)


@pytest.mark.parametrize(
    "params,fragment",
    [
        (
            {"MaximumRetryAttempts": 3},
            "Value '3' at 'maximumRetryAttempts' failed to satisfy constraint: "
            "Member must have value less than or equal to 2",
        ),
        (
            {"MaximumRetryAttempts": -1},
            "Value '-1' at 'maximumRetryAttempts' failed to satisfy constraint: "
            "Member must have value greater than or equal to 0",
        ),
        (
            {"MaximumEventAgeInSeconds": 59},
            "Value '59' at 'maximumEventAgeInSeconds' failed to satisfy constraint: "
            "Member must have value greater than or equal to 60",
        ),
        (
            {"MaximumEventAgeInSeconds": 21601},
            "Value '21601' at 'maximumEventAgeInSeconds' failed to satisfy constraint: "
            "Member must have value less than or equal to 21600",
        ),
        (
            {"MaximumRetryAttempts": 9, "MaximumEventAgeInSeconds": 1},
            "2 validation errors detected: ",
        ),
    ],
)
def test_out_of_range_settings_are_validation_errors(
    raw_client: Any, client: Any, fn_name: str, params: dict[str, int], fragment: str
) -> None:
    create_function(client, fn_name)
    with pytest.raises(ClientError) as exc:
        raw_client.put_function_event_invoke_config(FunctionName=fn_name, **params)
    code, status, message = error_of(exc)
    assert (code, status) == ("ValidationException", 400)
    assert fragment in message
    with pytest.raises(ClientError) as exc:
        raw_client.get_function_event_invoke_config(FunctionName=fn_name)
    assert error_of(exc)[:2] == ("ResourceNotFoundException", 404)


@pytest.mark.parametrize(
    ("destination", "code"),
    [
        ("arn:aws:s3:::some-bucket", "InvalidParameterValueException"),
        ("arn:aws:dynamodb:us-east-1:123456789012:table/t", "InvalidParameterValueException"),
        # Outside the model's DestinationArn pattern: AWS's ValidationException, as recorded.
        ("not-an-arn", "ValidationException"),
        ("arn:aws:sqs:us-east-1:12345:short-account", "ValidationException"),
    ],
)
def test_destinations_must_be_supported_arns(
    raw_client: Any, client: Any, fn_name: str, destination: str, code: str
) -> None:
    create_function(client, fn_name)
    with pytest.raises(ClientError) as exc:
        raw_client.put_function_event_invoke_config(
            FunctionName=fn_name, DestinationConfig={"OnFailure": {"Destination": destination}}
        )
    assert error_of(exc)[:2] == (code, 400)
    message = error_of(exc)[2]
    if code == "ValidationException":
        assert message.startswith(
            f"1 validation error detected: Value '{destination}' at "
            "'destinationConfig.onFailure.destination' failed to satisfy constraint: "
            "Member must satisfy regular expression pattern: "
        )
    else:
        assert "destination" in message.lower()


def test_missing_function_or_qualifier_is_not_found(client: Any, fn_name: str) -> None:
    with pytest.raises(ClientError) as exc:
        client.put_function_event_invoke_config(FunctionName=fn_name, MaximumRetryAttempts=1)
    code, status, message = error_of(exc)
    assert (code, status) == ("ResourceNotFoundException", 404)
    assert message == "The function doesn't exist."  # AWS's recorded words
    with pytest.raises(ClientError) as exc:
        client.list_function_event_invoke_configs(FunctionName=fn_name)
    assert error_of(exc)[:2] == ("ResourceNotFoundException", 404)

    create_function(client, fn_name)
    with pytest.raises(ClientError) as exc:
        client.put_function_event_invoke_config(
            FunctionName=fn_name, Qualifier="7", MaximumRetryAttempts=1
        )
    assert error_of(exc)[:2] == ("ResourceNotFoundException", 404)
    with pytest.raises(ClientError) as exc:
        client.get_function_event_invoke_config(FunctionName=fn_name, Qualifier="nope")
    assert error_of(exc)[:2] == ("ResourceNotFoundException", 404)


def test_aws_cli_put(server: Server, client: Any, fn_name: str) -> None:
    create_function(client, fn_name)
    result = aws_json(
        server.endpoint,
        "put-function-event-invoke-config",
        "--function-name",
        fn_name,
        "--maximum-retry-attempts",
        "0",
        "--destination-config",
        json.dumps({"OnFailure": {"Destination": SQS}}),
    )
    assert result["FunctionArn"] == function_arn(fn_name, "$LATEST")
    assert result["MaximumRetryAttempts"] == 0
    assert result["DestinationConfig"]["OnFailure"] == {"Destination": SQS}


@pytest.fixture
def own_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    server = Server(tmp_path_factory.mktemp("event-config")).start()
    yield server
    if server.process is not None:
        server.stop()


def test_a_restart_keeps_the_config(own_server: Server) -> None:
    client = own_server.client()
    create_function(client, "kept")
    put = client.put_function_event_invoke_config(
        FunctionName="kept",
        MaximumRetryAttempts=1,
        DestinationConfig={"OnSuccess": {"Destination": SNS}},
    )
    own_server.restart()
    got = own_server.client().get_function_event_invoke_config(FunctionName="kept")
    assert got["MaximumRetryAttempts"] == 1
    assert got["DestinationConfig"]["OnSuccess"] == {"Destination": SNS}
    assert got["LastModified"] == put["LastModified"]
