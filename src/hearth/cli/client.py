"""The commands that talk to a running Hearth over the Lambda API, for people: `deploy`,
`functions`, `delete`, `invoke`, `logs`."""

from __future__ import annotations

import base64
import io
import os
import sys
import time
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import click
from rich.console import Console
from rich.measure import Measurement
from rich.table import Table

from hearth.cli.output import console, err_console
from hearth.config import DEFAULT_ACCOUNT_ID, DEFAULT_HOST, DEFAULT_PORT, DEFAULT_REGION

DEFAULT_ENDPOINT = f"http://{DEFAULT_HOST}:{DEFAULT_PORT}"
DEFAULT_ROLE = f"arn:aws:iam::{DEFAULT_ACCOUNT_ID}:role/hearth-function"

endpoint_option = click.option(
    "--endpoint-url",
    envvar="HEARTH_ENDPOINT_URL",
    default=DEFAULT_ENDPOINT,
    show_default=True,
    help="The Hearth server to talk to.",
)
region_option = click.option(
    "--region", envvar="HEARTH_REGION", default=DEFAULT_REGION, show_default=True
)


def _client(endpoint_url: str, region: str, service: str = "lambda", session: Any = None) -> Any:
    """A client of Hearth (or of ``endpoint_url``). Pass one ``session`` for several: a
    session loads botocore's endpoint data once (most of a new client's second)."""
    import boto3
    from botocore.config import Config

    session = session or boto3.session.Session()
    # Hearth without SigV4 accepts any credentials; boto3 insists on having some.
    fallback = "hearth" if session.get_credentials() is None else None
    config = Config(
        retries={"max_attempts": 2, "mode": "standard"}, connect_timeout=3, read_timeout=300
    )
    return session.client(
        service,
        endpoint_url=endpoint_url,
        region_name=region,
        config=config,
        aws_access_key_id=fallback,
        aws_secret_access_key=fallback,
    )


@contextmanager
def _speaking_errors(endpoint_url: str) -> Iterator[None]:
    """Turn client failures into one sentence for a person, and exit 1."""
    from botocore.exceptions import ClientError, EndpointConnectionError

    try:
        yield
    except EndpointConnectionError:
        err_console.print(
            f"error: cannot reach Hearth at {endpoint_url}. Is `hearth serve` running there?",
            markup=False,
        )
        sys.exit(1)
    except ClientError as exc:
        error = exc.response.get("Error", {})
        err_console.print(f"error: {error.get('Code')}: {error.get('Message')}", markup=False)
        sys.exit(1)


def zip_directory(directory: Path) -> bytes:
    """A deterministic zip of a directory: same files, same bytes, same CodeSha256."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for path in sorted(p for p in directory.rglob("*") if p.is_file()):
            relative = path.relative_to(directory).as_posix()
            if any(part in ("__pycache__", ".git") for part in path.relative_to(directory).parts):
                continue
            info = zipfile.ZipInfo(relative, date_time=(1980, 1, 1, 0, 0, 0))
            info.external_attr = (0o755 if os.access(path, os.X_OK) else 0o644) << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, path.read_bytes())
    return buffer.getvalue()


@click.command()
@click.argument("directory", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("--name", required=True, help="Function name.")
@click.option("--runtime", required=True, help="e.g. python3.12, nodejs20.x, provided.al2023.")
@click.option("--handler", required=True, help="e.g. app.handler")
@click.option("--role", default=DEFAULT_ROLE, show_default=True, help="Execution role ARN.")
@click.option("--memory", type=int, default=None, help="Memory size in MB (128-10240).")
@click.option("--timeout", type=int, default=None, help="Timeout in seconds (1-900).")
@click.option(
    "--env",
    "env_vars",
    multiple=True,
    metavar="KEY=VALUE",
    help="Environment variable; repeatable.",
)
@endpoint_option
@region_option
def deploy(
    directory: Path,
    name: str,
    runtime: str,
    handler: str,
    role: str,
    memory: int | None,
    timeout: int | None,
    env_vars: tuple[str, ...],
    endpoint_url: str,
    region: str,
) -> None:
    """Zip DIRECTORY and create the function, or update it if it exists."""
    variables = {}
    for item in env_vars:
        key, sep, value = item.partition("=")
        if not sep:
            raise click.BadParameter(f"expected KEY=VALUE, got {item!r}", param_hint="--env")
        variables[key] = value
    config: dict[str, Any] = {"Runtime": runtime, "Handler": handler, "Role": role}
    if memory is not None:
        config["MemorySize"] = memory
    if timeout is not None:
        config["Timeout"] = timeout
    if variables:
        config["Environment"] = {"Variables": variables}

    client = _client(endpoint_url, region)
    with _speaking_errors(endpoint_url):
        with console.status(f"Zipping {directory}..."):
            code = zip_directory(directory)
        console.print(f"Zipped {directory} ({len(code):,} bytes)")
        exists = _function_exists(client, name)
        with console.status(f"{'Updating' if exists else 'Creating'} {name}..."):
            if exists:
                client.update_function_code(FunctionName=name, ZipFile=code)
                client.get_waiter("function_updated_v2").wait(
                    FunctionName=name, WaiterConfig={"Delay": 1}
                )
                result = client.update_function_configuration(FunctionName=name, **config)
                client.get_waiter("function_updated_v2").wait(
                    FunctionName=name, WaiterConfig={"Delay": 1}
                )
            else:
                result = client.create_function(FunctionName=name, Code={"ZipFile": code}, **config)
                client.get_waiter("function_active_v2").wait(
                    FunctionName=name, WaiterConfig={"Delay": 1}
                )
    verb = "Updated" if exists else "Created"
    console.print(f"{verb} {result['FunctionArn']}", markup=False)
    console.print(
        f"  runtime {result['Runtime']}, handler {result['Handler']}, "
        f"CodeSha256 {result['CodeSha256']}",
        markup=False,
    )


def _function_exists(client: Any, name: str) -> bool:
    try:
        client.get_function_configuration(FunctionName=name)
    except client.exceptions.ResourceNotFoundException:
        return False
    return True


@click.command()
@endpoint_option
@region_option
def functions(endpoint_url: str, region: str) -> None:
    """List functions as a table."""
    client = _client(endpoint_url, region)
    rows: list[dict[str, Any]] = []
    with _speaking_errors(endpoint_url):
        for page in client.get_paginator("list_functions").paginate():
            rows.extend(page["Functions"])
    if not rows:
        console.print(
            "No functions yet. Deploy one with: "
            "hearth deploy DIR --name NAME --runtime python3.12 --handler app.handler"
        )
        return
    table = Table("Name", "Runtime", "Handler", "Memory", "Timeout", "Code size", "Last modified")
    for fn in rows:
        table.add_row(
            fn["FunctionName"],
            fn.get("Runtime", ""),
            fn.get("Handler", ""),
            f"{fn['MemorySize']} MB",
            f"{fn['Timeout']} s",
            f"{fn['CodeSize']:,} B",
            fn["LastModified"][:19].replace("T", " "),
        )
    # Rich shrinks and cuts columns to fit the terminal; a table too wide is printed at its
    # natural width instead (the terminal wraps the lines) so no name, runtime, handler or
    # date is ever shown cut.
    needed = Measurement.get(console, console.options.update_width(10_000), table).maximum
    if needed <= console.width:
        console.print(table)
    else:
        Console(file=console.file, width=needed, highlight=False).print(table)


@click.command()
@click.argument("name")
@endpoint_option
@region_option
def delete(name: str, endpoint_url: str, region: str) -> None:
    """Delete a function with all its versions and aliases."""
    client = _client(endpoint_url, region)
    with _speaking_errors(endpoint_url):
        client.delete_function(FunctionName=name)
    console.print(f"Deleted {name}", markup=False)


@click.command()
@click.argument("name")
@click.option(
    "--payload",
    default="{}",
    show_default=True,
    help="The event: JSON, file://PATH (or fileb://PATH) to read it from a file, "
    "or - to read it from standard input.",
)
@click.option(
    "--event",
    "event_file",
    default=None,
    metavar="FILE|-",
    help="The event from a file, or - for standard input (`hearth event ... | hearth invoke "
    "NAME --event -`); instead of --payload.",
)
@click.option("--qualifier", default=None, help="A version number or alias.")
@click.option("--tail", is_flag=True, help="Also print the invocation's log.")
@click.option(
    "--async",
    "run_async",
    is_flag=True,
    help="Queue the event (InvocationType Event) and print its request id, without waiting.",
)
@endpoint_option
@region_option
def invoke(
    name: str,
    payload: str,
    event_file: str | None,
    qualifier: str | None,
    tail: bool,
    run_async: bool,
    endpoint_url: str,
    region: str,
) -> None:
    """Invoke a function and print what it returned."""
    if event_file is not None:
        if payload != "{}":
            raise click.UsageError("give --payload or --event, not both")
        payload = event_file if event_file == "-" else f"fileb://{event_file}"
    client = _client(endpoint_url, region)
    params: dict[str, Any] = {"FunctionName": name, "Payload": _read_payload(payload)}
    if qualifier:
        params["Qualifier"] = qualifier
    if run_async:
        params["InvocationType"] = "Event"
    elif tail:
        params["LogType"] = "Tail"
    with _speaking_errors(endpoint_url):
        response = client.invoke(**params)
    if run_async:
        request_id = response["ResponseMetadata"]["RequestId"]
        console.print(f"Queued {name} (request id {request_id})", markup=False)
        return
    body = response["Payload"].read().decode()
    if tail and response.get("LogResult"):
        err_console.print(base64.b64decode(response["LogResult"]).decode().rstrip(), markup=False)
    try:
        console.print_json(body)
    except ValueError:
        console.print(body, markup=False)
    if response.get("FunctionError"):
        err_console.print(
            f"The function failed ({response['FunctionError']}); "
            f"version {response.get('ExecutedVersion')}.",
            markup=False,
        )
        sys.exit(1)


def _read_payload(text: str) -> bytes:
    """The event bytes --payload names, as the aws CLI reads them: inline, file:// or fileb://
    (both read as they are), or - for standard input."""
    if text == "-":
        return sys.stdin.buffer.read()
    for prefix in ("fileb://", "file://"):
        if text.startswith(prefix):
            path = Path(text.removeprefix(prefix)).expanduser()
            try:
                return path.read_bytes()
            except OSError as exc:
                raise click.BadParameter(
                    f"cannot read {path}: {exc.strerror}", param_hint="--payload"
                ) from None
    return text.encode()


@click.command()
@click.argument("name")
@click.option("--follow", "-f", is_flag=True, help="Keep printing new lines as they arrive.")
@click.option("--since", default="1h", show_default=True, help="How far back: 30s, 10m, 2h, 1d.")
@endpoint_option
@region_option
def logs(name: str, follow: bool, since: str, endpoint_url: str, region: str) -> None:
    """Print a function's log (START, your output, END, REPORT)."""
    seconds = _duration_seconds(since)
    group = name if name.startswith("/") else f"/aws/lambda/{name}"
    try:
        with _speaking_errors(endpoint_url):
            if not name.startswith("/"):
                # A function that does not exist is an error, as on AWS
                # (ResourceNotFoundException), not an empty log: a function's log group may
                # simply have no lines yet.
                _client(endpoint_url, region).get_function_configuration(FunctionName=name)
            client = _client(endpoint_url, region, service="logs")
            start_ms = int((time.time() - seconds) * 1000)
            for event in _log_events(client, group, start_ms, follow=follow):
                stamp = time.strftime("%H:%M:%S", time.localtime(event["timestamp"] / 1000))
                console.print(f"{stamp} {event['message']}", markup=False)
    except KeyboardInterrupt:
        return  # Ctrl-C is how a person stops --follow: success, not "Aborted!"


def _log_events(
    client: Any, group: str, start_ms: int, *, follow: bool
) -> Iterator[dict[str, Any]]:
    """FilterLogEvents pages, in order, each event once.

    A page with a nextToken has more after it. Without one there is nothing more now; a
    follower then asks again from the newest timestamp it has printed, skipping the events it
    already printed at that millisecond. A token handed back unchanged with no events also
    means "nothing more now" (servers that always return a token, for followers)."""
    params: dict[str, Any] = {"logGroupName": group, "startTime": start_ms}
    newest = start_ms
    printed_at_newest: set[str] = set()
    while True:
        page = client.filter_log_events(**params)
        for event in page["events"]:
            if event["eventId"] in printed_at_newest:
                continue  # printed before this follower asked again from `newest`
            if event["timestamp"] > newest:
                newest, printed_at_newest = event["timestamp"], set()
            printed_at_newest.add(event["eventId"])
            yield event
        token = page.get("nextToken")
        if token and (page["events"] or token != params.get("nextToken")):
            params["nextToken"] = token
            continue
        if not follow:
            return
        time.sleep(0.5)
        if token:
            params["nextToken"] = token
        else:
            params.pop("nextToken", None)
            params["startTime"] = newest


def _duration_seconds(text: str) -> float:
    units = {"s": 1, "m": 60, "h": 3600, "d": 86400}
    if len(text) < 2 or text[-1] not in units or not text[:-1].isdigit():
        raise click.BadParameter(f"expected a number and s, m, h or d (like 10m), got {text!r}")
    return int(text[:-1]) * units[text[-1]]


@click.command(name="console")
@click.option("--no-open", is_flag=True, help="Print the address only; open no browser.")
@endpoint_option
def console_command(no_open: bool, endpoint_url: str) -> None:
    """Open the web console of a running server in a browser."""
    import json
    import urllib.error
    import urllib.request
    import webbrowser

    url = endpoint_url.rstrip("/") + "/console"
    if not url.startswith(("http://", "https://")):
        raise click.BadParameter(
            "expected an http:// or https:// address", param_hint="--endpoint-url"
        )
    try:
        with urllib.request.urlopen(url + "/config.json", timeout=5) as response:  # noqa: S310
            config = json.load(response)
    except (OSError, ValueError) as exc:
        console.print(f"No Hearth console at {endpoint_url}: {exc}", markup=False)
        sys.exit(1)
    console.print(f"Hearth console: {url}", markup=False)
    if config.get("authRequired"):
        console.print("Sign in with the server's access key pair.", markup=False)
    if not no_open:
        webbrowser.open(url)


COMMANDS = (deploy, functions, delete, invoke, logs, console_command)
