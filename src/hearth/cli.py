"""The `hearth` command. The only place flags and environment variables are read."""

from __future__ import annotations

import asyncio
import base64
import io
import os
import sys
import time
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from hearth import __version__
from hearth.cli_mappings import event_source_options, mappings, parse_endpoints
from hearth.config import (
    DEFAULT_ACCOUNT_ID,
    DEFAULT_CONCURRENCY_LIMIT,
    DEFAULT_HOST,
    DEFAULT_PORT,
    DEFAULT_REGION,
    AccessKey,
    Isolation,
    Network,
    Settings,
    default_data_dir,
    default_memory_budget_mb,
)

if TYPE_CHECKING:
    from hearth.sandbox.choice import IsolationChoice

console = Console(highlight=False, soft_wrap=True)
err_console = Console(stderr=True, highlight=False, soft_wrap=True)

DEFAULT_ENDPOINT = f"http://{DEFAULT_HOST}:{DEFAULT_PORT}"
DEFAULT_ROLE = f"arn:aws:iam::{DEFAULT_ACCOUNT_ID}:role/hearth-function"


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="hearth")
def main() -> None:
    """Hearth: AWS Lambda, run on your own machines."""


# serve --------------------------------------------------------------------------------


@main.command()
@click.option(
    "--host",
    envvar="HEARTH_HOST",
    default=DEFAULT_HOST,
    show_default=True,
    help="Address to listen on.",
)
@click.option(
    "--port",
    envvar="HEARTH_PORT",
    default=DEFAULT_PORT,
    show_default=True,
    type=int,
    help="Port to listen on (0 picks a free one).",
)
@click.option(
    "--data-dir",
    envvar="HEARTH_DATA_DIR",
    type=click.Path(path_type=Path),
    default=None,
    help=f"Where functions and code are kept [default: {default_data_dir()}].",
)
@click.option(
    "--region",
    envvar="HEARTH_REGION",
    default=DEFAULT_REGION,
    show_default=True,
    help="Region used in ARNs.",
)
@click.option(
    "--account-id",
    envvar="HEARTH_ACCOUNT_ID",
    default=DEFAULT_ACCOUNT_ID,
    show_default=True,
    help="Account id used in ARNs.",
)
@click.option(
    "--access-key-id",
    envvar="HEARTH_ACCESS_KEY_ID",
    default=None,
    help="Require SigV4 signatures made with this access key (with --secret-access-key).",
)
@click.option(
    "--secret-access-key",
    envvar="HEARTH_SECRET_ACCESS_KEY",
    default=None,
    help="The secret of --access-key-id.",
)
@click.option(
    "--settle-delay",
    envvar="HEARTH_SETTLE_DELAY",
    default=0.0,
    show_default=True,
    type=float,
    help="Seconds a function stays Pending / InProgress after a change, as on AWS.",
)
@click.option(
    "--keep-alive",
    envvar="HEARTH_KEEP_ALIVE",
    default=300.0,
    show_default=True,
    type=float,
    help="Seconds an idle execution environment stays warm.",
)
@click.option(
    "--isolation",
    envvar="HEARTH_ISOLATION",
    type=click.Choice(["auto", "sandbox", "process"]),
    default="auto",
    show_default=True,
    help="auto: sandbox every environment where the host allows it (Linux, root); "
    "sandbox: refuse to start otherwise; process: plain processes, not isolated.",
)
@click.option(
    "--network",
    envvar="HEARTH_NETWORK",
    type=click.Choice(["host", "none"]),
    default="host",
    show_default=True,
    help="Sandboxed functions' network: the host's, or none (loopback only). "
    "A function can choose with its HEARTH_NETWORK environment variable.",
)
@click.option(
    "--sandbox-expose",
    envvar="HEARTH_SANDBOX_EXPOSE",
    multiple=True,
    type=click.Path(exists=True, file_okay=False, path_type=Path),
    help="A host directory every sandbox also shows, read-only, at the same path "
    "(repeatable; the variable takes a colon-separated list).",
)
@click.option(
    "--concurrency-limit",
    envvar="HEARTH_CONCURRENCY_LIMIT",
    default=DEFAULT_CONCURRENCY_LIMIT,
    show_default=True,
    type=click.IntRange(min=1),
    help="Concurrent executions the account may run (AWS's ConcurrentExecutions).",
)
@click.option(
    "--memory-budget-mb",
    envvar="HEARTH_MEMORY_BUDGET_MB",
    default=None,
    type=click.IntRange(min=128),
    help="MB of MemorySize all live environments may hold together; idle ones are evicted "
    "to make room [default: 3/4 of MemTotal].",
)
@click.option(
    "--async-retry-delay",
    envvar="HEARTH_ASYNC_RETRY_DELAY",
    default=60.0,
    show_default=True,
    type=click.FloatRange(min=0),
    help="Seconds before the first retry of a failed Event invoke (doubles for the second).",
)
@click.option(
    "--async-concurrency",
    envvar="HEARTH_ASYNC_CONCURRENCY",
    default=16,
    show_default=True,
    type=click.IntRange(min=1),
    help="Queued Event invokes run at once.",
)
@click.option(
    "--aws-endpoint-url",
    envvar="HEARTH_AWS_ENDPOINT_URL",
    default=None,
    help="Endpoint for SQS / SNS / EventBridge destinations and dead-letter queues "
    "[default: AWS itself]. Credentials come from botocore's usual chain.",
)
@event_source_options
@click.option(
    "--public-url",
    envvar="HEARTH_PUBLIC_URL",
    default=None,
    help="Where clients reach Hearth (http://host:port), for the code URLs it hands out "
    "[default: the address each connection arrived on].",
)
@click.option(
    "--max-connections",
    envvar="HEARTH_MAX_CONNECTIONS",
    default=None,
    type=click.IntRange(min=1),
    help="Client connections open at once; more are answered 503 "
    "[default: half of what RLIMIT_NOFILE leaves after 128 for Hearth and its environments].",
)
@click.option(
    "--header-timeout",
    envvar="HEARTH_HEADER_TIMEOUT",
    default=10.0,
    show_default=True,
    type=click.FloatRange(min=0.1),
    help="Seconds a client has to send a request's headers (408 and close after).",
)
@click.option(
    "--body-timeout",
    envvar="HEARTH_BODY_TIMEOUT",
    default=30.0,
    show_default=True,
    type=click.FloatRange(min=0.1),
    help="Seconds a request body may pause between reads (408 and close after).",
)
@click.option(
    "--idle-timeout",
    envvar="HEARTH_IDLE_TIMEOUT",
    default=5.0,
    show_default=True,
    type=click.FloatRange(min=0.1),
    help="Seconds an idle kept-alive connection stays open.",
)
@click.option(
    "--log-retention-days",
    envvar="HEARTH_LOG_RETENTION_DAYS",
    default=30.0,
    show_default=True,
    type=click.FloatRange(min=0, min_open=True),
    help="Log events older than this are deleted.",
)
@click.option(
    "--log-max-mb",
    envvar="HEARTH_LOG_MAX_MB",
    default=512,
    show_default=True,
    type=click.IntRange(min=1),
    help="The log store keeps under this many MB, deleting the oldest events.",
)
def serve(
    host: str,
    port: int,
    data_dir: Path | None,
    region: str,
    account_id: str,
    access_key_id: str | None,
    secret_access_key: str | None,
    settle_delay: float,
    keep_alive: float,
    isolation: str,
    network: str,
    sandbox_expose: tuple[Path, ...],
    concurrency_limit: int,
    memory_budget_mb: int | None,
    async_retry_delay: float,
    async_concurrency: int,
    aws_endpoint_url: str | None,
    public_url: str | None,
    max_connections: int | None,
    header_timeout: float,
    body_timeout: float,
    idle_timeout: float,
    event_source_endpoint_url: str | None,
    event_source_endpoint: tuple[str, ...],
    log_retention_days: float,
    log_max_mb: int,
) -> None:
    """Serve the AWS Lambda API."""
    if bool(access_key_id) != bool(secret_access_key):
        raise click.UsageError("--access-key-id and --secret-access-key go together.")
    keys: tuple[AccessKey, ...] = ()
    if access_key_id and secret_access_key:
        keys = (AccessKey(access_key_id, secret_access_key),)
    settings = Settings(
        host=host,
        port=port,
        data_dir=(data_dir or default_data_dir()).expanduser().resolve(),
        region=region,
        account_id=account_id,
        access_keys=keys,
        settle_delay_seconds=settle_delay,
        keep_alive_seconds=keep_alive,
        isolation=Isolation(isolation),
        network=Network(network),
        sandbox_expose=tuple(str(path.resolve()) for path in sandbox_expose),
        concurrency_limit=concurrency_limit,
        memory_budget_mb=memory_budget_mb or default_memory_budget_mb(),
        async_retry_delay_seconds=async_retry_delay,
        async_concurrency=async_concurrency,
        aws_endpoint_url=aws_endpoint_url or None,
        public_url=public_url or None,
        max_connections=max_connections,
        header_timeout_seconds=header_timeout,
        body_timeout_seconds=body_timeout,
        idle_timeout_seconds=idle_timeout,
        event_source_endpoint_url=event_source_endpoint_url or None,
        event_source_endpoints=parse_endpoints(event_source_endpoint),
        log_retention_seconds=log_retention_days * 86400,
        log_max_bytes=log_max_mb * 1024 * 1024,
    )
    from hearth.service import serve as run_server  # imported late: `hearth --help` stays fast

    choice = _choose_isolation(settings)  # probed before the event loop starts: it forks

    def announce(endpoint: str) -> None:
        console.print(f"Hearth {__version__} is ready at {endpoint}", markup=False)
        console.print(f"  data dir: {settings.data_dir}", markup=False)
        if settings.auth_enabled:
            console.print(
                f"  auth:     SigV4 required (access key {keys[0].access_key_id})", markup=False
            )
        else:
            console.print(
                "  auth:     off: any credentials are accepted "
                "(set --access-key-id and --secret-access-key to require SigV4)",
                markup=False,
            )
        style = "bold" if choice.sandboxed else "bold red"
        console.print(f"  isolation: [{style}]{escape(choice.description)}[/]")
        console.print(
            f"  limits:   {settings.concurrency_limit} concurrent executions, "
            f"{settings.memory_budget_mb} MB of environment memory",
            markup=False,
        )
        console.print("Point the aws CLI or boto3 at it:", markup=False)
        console.print(
            f"  aws lambda list-functions --endpoint-url {endpoint} --region {region}", markup=False
        )
        console.print(
            f'  boto3.client("lambda", endpoint_url="{endpoint}", region_name="{region}")',
            markup=False,
        )
        console.print("Press Ctrl-C to stop.", markup=False)
        sys.stdout.flush()

    from hearth.store.datadir import DataDirProblem

    try:
        _run(run_server(settings, announce, choice))
    except DataDirProblem as exc:
        err_console.print(f"error: {exc}", markup=False)
        sys.exit(1)
    except OSError as exc:
        err_console.print(f"error: cannot listen on {host}:{port}: {exc.strerror}", markup=False)
        sys.exit(1)
    console.print("Hearth stopped.")


def _choose_isolation(settings: Settings) -> IsolationChoice:
    """Probe the host and pick the isolation; exit with the reason if a sandbox was required
    and this host cannot give one."""
    from hearth.sandbox.capabilities import probe
    from hearth.sandbox.choice import SandboxUnavailable, choose_isolation
    from hearth.sandbox.isolation import Isolation

    try:
        return choose_isolation(Isolation(settings.isolation), probe())
    except SandboxUnavailable as exc:
        err_console.print(f"error: --isolation sandbox is not possible here: {exc}", markup=False)
        sys.exit(1)


# doctor -------------------------------------------------------------------------------


@main.command()
@click.option(
    "--data-dir",
    envvar="HEARTH_DATA_DIR",
    type=click.Path(path_type=Path),
    default=None,
    help=f"The data dir to check [default: {default_data_dir()}].",
)
def doctor(data_dir: Path | None) -> None:
    """Show what this host lets Hearth do to isolate functions, and check the data dir.

    Exits 1 when the data dir would stop `hearth serve` from starting.
    """
    from hearth.sandbox.capabilities import (
        NAMESPACE_FLAGS,
        REQUIRED_CONTROLLERS,
        isolation_level,
        isolation_reasons,
        probe,
    )

    caps = probe()
    table = Table("Capability", "Available", "Why")

    def row(name: str, ok: bool, why: str) -> None:
        table.add_row(name, "[green]yes[/]" if ok else "[red]no[/]", why)

    row("Linux", caps.os_name == "linux", f"sys.platform is {caps.os_name}")
    row("root", caps.is_root, "effective uid 0" if caps.is_root else f"uid {os.geteuid()}")
    sysctls = (
        f"max_user_namespaces={caps.max_user_namespaces}, "
        f"unprivileged_userns_clone={caps.unprivileged_userns_clone}"
    )
    row("user namespaces", caps.user_namespaces, f"unshare(CLONE_NEWUSER) in a child; {sysctls}")
    for kind in NAMESPACE_FLAGS:
        row(f"{kind} namespace", kind in caps.namespaces, "unshare() in a short-lived child")
    versions = " and ".join(f"v{v}" for v in caps.cgroup_versions) or "none"
    row("cgroups", bool(caps.cgroup_versions), f"cgroup {versions} mounted")
    if caps.cgroup_v2_mount:
        controllers = " ".join(sorted(caps.cgroup_v2_controllers)) or "no controllers"
        row("cgroup v2", True, f"{caps.cgroup_v2_mount}: {controllers}")
    for name in REQUIRED_CONTROLLERS:
        where = caps.controller(name)
        row(f"cgroup {name}", where is not None, where or "not mounted in v1 nor enabled in v2")
    row("cgroups writable", caps.cgroups_writable, "can create a cgroup for each environment")
    row("no_new_privs", caps.no_new_privs, "prctl(PR_SET_NO_NEW_PRIVS) in a child")
    row("seccomp", caps.seccomp, "the kernel reports Seccomp in /proc/self/status")
    console.print(table)
    level = isolation_level(caps)
    reasons = isolation_reasons(caps)
    console.print(f"Isolation this host allows: {level}", markup=False)
    for reason in reasons:
        console.print(f"  - {reason}", markup=False)
    from hearth.sandbox.choice import choose_isolation
    from hearth.sandbox.isolation import Isolation

    choice = choose_isolation(Isolation.AUTO, caps)
    console.print(f"hearth serve would use: {choice.description}", markup=False)
    if not _doctor_data_dir((data_dir or default_data_dir()).expanduser().resolve()):
        sys.exit(1)


def _doctor_data_dir(path: Path) -> bool:
    from hearth.store.datadir import DataDirProblem, check_data_dir
    from hearth.store.sqlite import SCHEMA_VERSION

    try:
        state = check_data_dir(path, registry_schema=SCHEMA_VERSION)
    except DataDirProblem as exc:
        console.print(f"Data dir {path}: [bold red]cannot be used[/]: {escape(str(exc))}")
        return False
    found = "new (nothing stored yet)" if state.new else f"intact, {state.code_blobs} code zip(s)"
    console.print(f"Data dir {path}: {found}", markup=False)
    return True


def _run(coroutine: Any) -> None:
    try:
        import uvloop

        uvloop.run(coroutine)
    except ImportError:  # pragma: no cover - uvloop is installed wherever it builds
        asyncio.run(coroutine)


# client commands -----------------------------------------------------------------------

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


def _client(endpoint_url: str, region: str) -> Any:
    import boto3
    from botocore.config import Config

    session = boto3.session.Session()
    # Hearth without SigV4 accepts any credentials; boto3 insists on having some.
    fallback = "hearth" if session.get_credentials() is None else None
    config = Config(
        retries={"max_attempts": 2, "mode": "standard"}, connect_timeout=3, read_timeout=300
    )
    return session.client(
        "lambda",
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


@main.command()
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


@main.command()
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
    console.print(table)


@main.command()
@click.argument("name")
@endpoint_option
@region_option
def delete(name: str, endpoint_url: str, region: str) -> None:
    """Delete a function with all its versions and aliases."""
    client = _client(endpoint_url, region)
    with _speaking_errors(endpoint_url):
        client.delete_function(FunctionName=name)
    console.print(f"Deleted {name}", markup=False)


@main.command()
@click.argument("name")
@click.option("--payload", default=None, help="The event, as JSON [default: {}].")
@click.option(
    "--event",
    "event_file",
    type=click.File("r"),
    default=None,
    help="Read the event from a file, or - for stdin "
    "(`hearth event ... | hearth invoke F --event -`).",
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
    payload: str | None,
    event_file: Any,
    qualifier: str | None,
    tail: bool,
    run_async: bool,
    endpoint_url: str,
    region: str,
) -> None:
    """Invoke a function and print what it returned."""
    if payload is not None and event_file is not None:
        raise click.UsageError("give --payload or --event, not both")
    if event_file is not None:
        payload = event_file.read()
    client = _client(endpoint_url, region)
    params: dict[str, Any] = {"FunctionName": name, "Payload": (payload or "{}").encode()}
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


@main.command()
@click.argument("name")
@click.option("--follow", "-f", is_flag=True, help="Keep printing new lines as they arrive.")
@click.option("--since", default="1h", show_default=True, help="How far back: 30s, 10m, 2h, 1d.")
@endpoint_option
@region_option
def logs(name: str, follow: bool, since: str, endpoint_url: str, region: str) -> None:
    """Print a function's log (START, your output, END, REPORT)."""
    import boto3

    seconds = _duration_seconds(since)
    session = boto3.session.Session()
    fallback = "hearth" if session.get_credentials() is None else None
    client = session.client(
        "logs",
        endpoint_url=endpoint_url,
        region_name=region,
        aws_access_key_id=fallback,
        aws_secret_access_key=fallback,
    )
    group = name if name.startswith("/") else f"/aws/lambda/{name}"
    params: dict[str, Any] = {
        "logGroupName": group,
        "startTime": int((time.time() - seconds) * 1000),
    }
    with _speaking_errors(endpoint_url):
        while True:
            page = client.filter_log_events(**params)
            for event in page["events"]:
                stamp = time.strftime("%H:%M:%S", time.localtime(event["timestamp"] / 1000))
                console.print(f"{stamp} {event['message']}", markup=False)
            params["nextToken"] = page["nextToken"]
            if page["events"]:
                continue
            if not follow:
                return
            time.sleep(0.5)


def _duration_seconds(text: str) -> float:
    units = {"s": 1, "m": 60, "h": 3600, "d": 86400}
    if len(text) < 2 or text[-1] not in units or not text[:-1].isdigit():
        raise click.BadParameter(f"expected a number and s, m, h or d (like 10m), got {text!r}")
    return int(text[:-1]) * units[text[-1]]


main.add_command(mappings)

# Application templates (hearth/cli_sam.py, hearth/templates/).
from hearth.cli_event import event  # noqa: E402
from hearth.cli_sam import dev, up  # noqa: E402

main.add_command(up)
main.add_command(dev)
main.add_command(event)

if __name__ == "__main__":  # pragma: no cover
    main()
