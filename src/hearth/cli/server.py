"""`hearth serve` and `hearth doctor`: the commands that run Hearth on this machine."""

from __future__ import annotations

import asyncio
import os
import platform
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click
from rich.markup import escape
from rich.table import Table

from hearth import __version__
from hearth.cli.mappings import event_source_options, parse_endpoints
from hearth.cli.output import console, err_console
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
from hearth.store.data_dir_lock import DataDirLock, DataDirLocked

if TYPE_CHECKING:
    from hearth.sandbox.choice import IsolationChoice


# serve --------------------------------------------------------------------------------


@click.command()
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
    "--snapstart-latest",
    envvar="HEARTH_SNAPSTART_LATEST",
    is_flag=True,
    default=False,
    help="Beyond AWS: fork new $LATEST environments of Python functions from a template that "
    "already ran their init, as SnapStart does for published versions.",
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
    help="External AWS services (AWS, LocalStack, MinIO...) for functions, destinations, "
    "dead-letter queues and API Gateway definitions; turns the embedded services off "
    "[default: the embedded services on Hearth's own port]. Credentials come from botocore's "
    "usual chain.",
)
@click.option(
    "--service-endpoint",
    envvar="HEARTH_SERVICE_ENDPOINTS",
    multiple=True,
    metavar="SERVICE=URL",
    help="An external endpoint for one service (signing name, e.g. s3=http://127.0.0.1:9000): "
    "it is not embedded, and functions reach it there (repeatable).",
)
@click.option(
    "--aws-sdk-dir",
    envvar="HEARTH_AWS_SDK_DIR",
    default=None,
    type=click.Path(file_okay=False, path_type=Path),
    help="The AWS SDKs functions import (python/ and node/, as scripts/setup-aws-sdk.sh "
    "installs them) [default: hearth/runtimes/aws-sdk/].",
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
@click.option(
    "--cluster",
    envvar="HEARTH_CLUSTER",
    default=None,
    metavar="nats://HOST:4222[,...]",
    help="Cluster mode: keep the registry, code and async events in NATS JetStream at these "
    "servers (comma-separated), shared with every node started with the same list.",
)
@click.option(
    "--node-name",
    envvar="HEARTH_NODE_NAME",
    default=None,
    help="This node's name in the cluster [default: host name and port].",
)
@click.option(
    "--cluster-replicas",
    envvar="HEARTH_CLUSTER_REPLICAS",
    default=1,
    show_default=True,
    type=click.IntRange(min=1, max=5),
    help="NATS servers that keep each bucket and stream (JetStream replicas) when Hearth "
    "makes them.",
)
@click.option(
    "--cluster-ack-wait",
    envvar="HEARTH_CLUSTER_ACK_WAIT",
    default=30.0,
    show_default=True,
    type=click.FloatRange(min=1.0),
    help="Seconds after which an async event taken by a node that stopped answering (died) "
    "runs on another node.",
)
def serve(  # noqa: PLR0915 - every flag becomes a setting, then the announcement
    host: str,
    port: int,
    data_dir: Path | None,
    region: str,
    account_id: str,
    access_key_id: str | None,
    secret_access_key: str | None,
    settle_delay: float,
    keep_alive: float,
    snapstart_latest: bool,
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
    service_endpoint: tuple[str, ...],
    aws_sdk_dir: Path | None,
    cluster: str | None,
    node_name: str | None,
    cluster_replicas: int,
    cluster_ack_wait: float,
) -> None:
    """Serve the AWS Lambda API."""
    overrides = _service_endpoints(service_endpoint)
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
        snapstart_latest=snapstart_latest,
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
        service_endpoints=tuple(overrides),
        aws_sdk_dir=(aws_sdk_dir or _default_sdk_dir()).expanduser().resolve(),
        cluster=_cluster_urls(cluster),
        node_name=node_name or None,
        cluster_replicas=cluster_replicas,
        cluster_ack_wait_seconds=cluster_ack_wait,
    )
    from hearth.service import serve as run_server  # imported late: `hearth --help` stays fast

    # Before anything touches the data dir.
    data_lock = _lock_data_dir(settings.data_dir, clustered=settings.clustered)
    choice = _choose_isolation(settings)  # probed before the event loop starts: it forks

    def announce(endpoint: str) -> None:
        data_lock.record(endpoint)
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
        # Hearth emulates no other architecture: an arm64 function runs this host's code.
        console.print(
            f"  arch:     functions run on this host's {_host_architecture()}, whatever their "
            "Architectures say (x86_64 or arm64)",
            markup=False,
        )
        # The aws CLI and boto3 refuse to send a request without credentials, even to a
        # server that checks none: say which two variables they need.
        if settings.auth_enabled:
            console.print("Point the aws CLI or boto3 at it, signing with that key:", markup=False)
            exports = f"AWS_ACCESS_KEY_ID={keys[0].access_key_id} AWS_SECRET_ACCESS_KEY=..."
        else:
            console.print(
                "Point the aws CLI or boto3 at it (they need credentials; any will do):",
                markup=False,
            )
            exports = "AWS_ACCESS_KEY_ID=hearth AWS_SECRET_ACCESS_KEY=hearth"
        console.print(f"  export {exports}", markup=False)
        console.print(
            f"  aws lambda list-functions --endpoint-url {endpoint} --region {region}", markup=False
        )
        console.print(
            f'  boto3.client("lambda", endpoint_url="{endpoint}", region_name="{region}")',
            markup=False,
        )
        console.print(_services_line(settings), markup=False)
        if settings.clustered:
            console.print(
                f"  cluster:  node {settings.node_name or '(named by host and port)'} on NATS "
                f"{','.join(settings.cluster)} (registry, code and async events in JetStream)",
                markup=False,
            )
        console.print("Press Ctrl-C to stop.", markup=False)
        sys.stdout.flush()

    from hearth.cluster.link import NatsUnavailable
    from hearth.store.datadir import DataDirProblem

    try:
        _run(run_server(settings, announce, _own_mounts(choice)))
    except DataDirProblem as exc:
        err_console.print(f"error: {exc}", markup=False)
        sys.exit(1)
    except NatsUnavailable as exc:
        err_console.print(f"error: {exc}", markup=False)
        sys.exit(1)
    except OSError as exc:
        err_console.print(f"error: cannot listen on {host}:{port}: {exc.strerror}", markup=False)
        sys.exit(1)
    except KeyboardInterrupt:
        pass  # Ctrl-C before the signal handlers are in place, or while shutting down: success
    finally:
        data_lock.release()
    console.print("Hearth stopped.")


def _service_endpoints(items: tuple[str, ...]) -> list[tuple[str, str]]:
    """--service-endpoint SERVICE=URL, each checked."""
    overrides: list[tuple[str, str]] = []
    for item in items:
        name, eq, url = item.partition("=")
        if not eq or not name or not url:
            raise click.UsageError(f"--service-endpoint takes SERVICE=URL, not {item!r}.")
        overrides.append((name.strip().lower(), url.strip()))
    return overrides


def _services_line(settings: Settings) -> str:
    if not settings.embedded_services:
        return f"  services: external, at {settings.aws_endpoint_url} (embedded ones off)"
    external = ", ".join(f"{n} at {u}" for n, u in settings.service_endpoints)
    return (
        "  services: S3, DynamoDB (+ Streams), SNS, SQS, Kinesis, EventBridge (+ Scheduler), "
        "STS, IAM, Secrets Manager, SSM on this port (embedded moto)"
        + (f"; external: {external}" if external else "")
    )


def _default_sdk_dir() -> Path:
    # Inside the runtimes' directory, where scripts/setup-aws-sdk.sh installs: a sandbox sees
    # it at /var/runtime/aws-sdk, where AWS's runtimes keep their SDK too.
    return Path(__file__).resolve().parent.parent / "runtimes" / "aws-sdk"


def _cluster_urls(value: str | None) -> tuple[str, ...]:
    """--cluster's comma-separated NATS URLs, each checked."""
    if not value:
        return ()
    urls = tuple(part.strip() for part in value.split(",") if part.strip())
    for url in urls:
        scheme, sep, rest = url.partition("://")
        if not sep or scheme not in ("nats", "tls") or not rest:
            raise click.UsageError(
                f"--cluster takes nats://HOST:PORT URLs separated by commas, not {url!r}."
            )
    if not urls:
        raise click.UsageError("--cluster needs at least one nats://HOST:PORT URL.")
    return urls


def _lock_data_dir(data_dir: Path, *, clustered: bool = False) -> DataDirLock:
    """One server per data dir (two would run async events twice); exit naming the holder.

    The read-only check of the data dir comes first, so a directory that is not Hearth's is
    refused before the lock file is made in it."""
    from hearth.store.datadir import DataDirProblem, check_data_dir
    from hearth.store.sqlite import SCHEMA_VERSION

    try:
        if not clustered:  # a node's data dir holds no registry: that is in NATS
            check_data_dir(data_dir, registry_schema=SCHEMA_VERSION)
        return DataDirLock(data_dir)
    except DataDirProblem as exc:
        err_console.print(f"error: {exc}", markup=False)
        sys.exit(1)
    except DataDirLocked as exc:
        err_console.print(
            f"error: another Hearth server ({exc.holder}) is using the data dir {data_dir}; "
            "stop it first, or give this one another --data-dir.",
            markup=False,
        )
        sys.exit(1)


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


@click.command()
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


def _own_mounts(choice: IsolationChoice) -> IsolationChoice:
    """Before any thread starts: the sandboxes' /tmp disks are mounted in a namespace of
    Hearth's own, so they go with it even if it is killed (sandbox/mount_namespace.py)."""
    if choice.sandboxed:
        from hearth.sandbox.mount_namespace import enter_private

        enter_private()
    return choice


def _run(coroutine: Any) -> None:
    try:
        import uvloop

        uvloop.run(coroutine)
    except ImportError:  # pragma: no cover - uvloop is installed wherever it builds
        asyncio.run(coroutine)


COMMANDS = (serve, doctor)


def _host_architecture() -> str:
    """This host's architecture in Lambda's words (`x86_64`, `arm64`; others as the OS
    names them)."""
    machine = platform.machine().lower()
    return {"amd64": "x86_64", "aarch64": "arm64"}.get(machine, machine)
