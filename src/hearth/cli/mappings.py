"""`hearth mappings ...` (create, list, show, delete event source mappings) and the
`serve` options that say where mappings read their queues and streams.

A module of its own in the cli/ package: `server.py` only adds its options to `serve`.
"""

from __future__ import annotations

import json
import urllib.request
from collections.abc import Callable
from typing import Any, TypeVar

import click
from rich.console import Console
from rich.table import Table

from hearth.config import DEFAULT_HOST, DEFAULT_PORT, DEFAULT_REGION

F = TypeVar("F", bound=Callable[..., Any])

console = Console(highlight=False, soft_wrap=True)
_SERVICES = ("sqs", "kinesis", "dynamodbstreams")


def event_source_options(command: F) -> F:
    """The two `serve` options; the command receives `event_source_endpoint_url` and
    `event_source_endpoint` (a tuple of SERVICE=URL)."""
    command = click.option(
        "--event-source-endpoint",
        "event_source_endpoint",
        multiple=True,
        metavar="SERVICE=URL",
        help=f"Endpoint for one event source service ({', '.join(_SERVICES)}); repeatable.",
    )(command)
    return click.option(
        "--event-source-endpoint-url",
        envvar="HEARTH_EVENT_SOURCE_ENDPOINT_URL",
        default=None,
        help="Where event source mappings read SQS / Kinesis / DynamoDB Streams "
        "[default: Hearth's own port, the embedded services].",
    )(command)


def parse_endpoints(values: tuple[str, ...]) -> tuple[tuple[str, str], ...]:
    parsed = []
    for value in values:
        service, sep, url = value.partition("=")
        if not sep or service not in _SERVICES or not url:
            raise click.BadParameter(
                f"{value!r}: expected SERVICE=URL with SERVICE one of {', '.join(_SERVICES)}",
                param_hint="--event-source-endpoint",
            )
        parsed.append((service, url))
    return tuple(parsed)


_endpoint = click.option(
    "--endpoint-url",
    envvar="HEARTH_ENDPOINT_URL",
    default=f"http://{DEFAULT_HOST}:{DEFAULT_PORT}",
    show_default=True,
    help="Hearth's address.",
)
_region = click.option("--region", envvar="AWS_REGION", default=DEFAULT_REGION, show_default=True)


def _client(endpoint_url: str, region: str) -> Any:
    import boto3

    session: Any = boto3.session.Session()
    keys = {}
    if session.get_credentials() is None:
        keys = {"aws_access_key_id": "hearth", "aws_secret_access_key": "hearth"}
    return session.client("lambda", endpoint_url=endpoint_url, region_name=region, **keys)


def _run(call: Callable[[], Any]) -> Any:
    from botocore.exceptions import BotoCoreError, ClientError

    try:
        return call()
    except ClientError as error:
        info = error.response.get("Error", {})
        raise click.ClickException(f"{info.get('Code')}: {info.get('Message')}") from None
    except BotoCoreError as error:
        raise click.ClickException(str(error)) from None


@click.group()
def mappings() -> None:
    """Event source mappings: SQS queues, Kinesis and DynamoDB streams feeding functions."""


@mappings.command("create")
@click.option("--function", "function_name", required=True, help="Function name or ARN.")
@click.option("--source", "source_arn", required=True, help="Queue or stream ARN.")
@click.option("--batch-size", type=int, default=None)
@click.option("--batching-window", type=int, default=None, help="Seconds (0-300).")
@click.option("--starting-position", type=click.Choice(["TRIM_HORIZON", "LATEST", "AT_TIMESTAMP"]))
@click.option("--filter", "filters", multiple=True, help="An event pattern; repeatable.")
@click.option("--report-batch-item-failures", is_flag=True)
@click.option("--disabled", is_flag=True, help="Create it disabled.")
@_endpoint
@_region
def create(
    function_name: str,
    source_arn: str,
    batch_size: int | None,
    batching_window: int | None,
    starting_position: str | None,
    filters: tuple[str, ...],
    report_batch_item_failures: bool,
    disabled: bool,
    endpoint_url: str,
    region: str,
) -> None:
    """Create a mapping and print its UUID."""
    request: dict[str, Any] = {"FunctionName": function_name, "EventSourceArn": source_arn}
    if batch_size is not None:
        request["BatchSize"] = batch_size
    if batching_window is not None:
        request["MaximumBatchingWindowInSeconds"] = batching_window
    if starting_position:
        request["StartingPosition"] = starting_position
    if filters:
        request["FilterCriteria"] = {"Filters": [{"Pattern": f} for f in filters]}
    if report_batch_item_failures:
        request["FunctionResponseTypes"] = ["ReportBatchItemFailures"]
    if disabled:
        request["Enabled"] = False
    client = _client(endpoint_url, region)
    answer = _run(lambda: client.create_event_source_mapping(**request))
    console.print(answer["UUID"], markup=False)


@mappings.command("list")
@click.option("--function", "function_name", default=None)
@_endpoint
@_region
def list_mappings(function_name: str | None, endpoint_url: str, region: str) -> None:
    """List mappings with their state, last result and lag."""
    client = _client(endpoint_url, region)
    kwargs = {"FunctionName": function_name} if function_name else {}
    pages = client.get_paginator("list_event_source_mappings").paginate(**kwargs)
    found = _run(lambda: [m for page in pages for m in page["EventSourceMappings"]])
    live = {m["UUID"]: m for m in _status(endpoint_url).get("EventSourceMappings", [])}
    table = Table("UUID", "Function", "Source", "State", "Last result", "Received", "Lag")
    for mapping in found:
        status = live.get(mapping["UUID"], {})
        table.add_row(
            mapping["UUID"],
            mapping["FunctionArn"].split(":function:", 1)[-1],
            mapping["EventSourceArn"],
            mapping["State"],
            str(status.get("LastProcessingResult", mapping.get("LastProcessingResult", ""))),
            str(status.get("RecordsReceived", "")),
            json.dumps(status.get("Lag", {})) if status.get("Lag") else "",
        )
    console.print(table)


@mappings.command("show")
@click.argument("uuid")
@_endpoint
@_region
def show(uuid: str, endpoint_url: str, region: str) -> None:
    """Print one mapping (AWS's shape) and its live status, as JSON."""
    client = _client(endpoint_url, region)
    answer = _run(lambda: client.get_event_source_mapping(UUID=uuid))
    answer.pop("ResponseMetadata", None)
    live = {m["UUID"]: m for m in _status(endpoint_url).get("EventSourceMappings", [])}
    answer["Status"] = live.get(uuid, {})
    console.print(json.dumps(answer, indent=2, default=str), markup=False)


@mappings.command("delete")
@click.argument("uuid")
@_endpoint
@_region
def delete(uuid: str, endpoint_url: str, region: str) -> None:
    """Delete a mapping."""
    client = _client(endpoint_url, region)
    _run(lambda: client.delete_event_source_mapping(UUID=uuid))
    console.print(f"Deleting {uuid}", markup=False)


def _status(endpoint_url: str) -> dict[str, Any]:
    try:
        with urllib.request.urlopen(  # noqa: S310 - the user's own Hearth address
            f"{endpoint_url.rstrip('/')}/_hearth/event-source-mappings", timeout=5
        ) as answer:
            data: dict[str, Any] = json.loads(answer.read())
            return data
    except OSError:
        return {}
