"""Settings: built once by the CLI from flags and environment, then passed down.

Nothing else in Hearth reads the environment or flags; every part receives the `Settings`
(or the few values it needs) from `service.py`.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 9070
DEFAULT_REGION = "us-east-1"
DEFAULT_ACCOUNT_ID = "123456789012"
# AWS's default concurrency quota for an account in a region.
DEFAULT_CONCURRENCY_LIMIT = 1000
# Environments may claim this share of the machine's memory (by their MemorySize); the rest is
# left to Hearth itself, the zygotes and everything else the machine runs.
MEMORY_BUDGET_SHARE = 0.75


def default_memory_budget_mb(meminfo: Path = Path("/proc/meminfo")) -> int:
    """A share of MemTotal, in MB; 4096 where /proc/meminfo cannot be read (macOS)."""
    try:
        for line in meminfo.read_text().splitlines():
            if line.startswith("MemTotal:"):
                return int(int(line.split()[1]) / 1024 * MEMORY_BUDGET_SHARE)
    except (OSError, ValueError, IndexError):
        pass
    return 4096


def default_data_dir() -> Path:
    """Per-user data dir: $XDG_DATA_HOME/hearth, else ~/.local/share/hearth."""
    xdg = os.environ.get("XDG_DATA_HOME")
    base = Path(xdg) if xdg else Path.home() / ".local" / "share"
    return base / "hearth"


class Isolation(StrEnum):
    """How execution environments are isolated (`--isolation`)."""

    AUTO = "auto"  # a sandbox where the host allows it, plain processes elsewhere
    SANDBOX = "sandbox"  # a sandbox, or refuse to start
    PROCESS = "process"  # plain processes


class Network(StrEnum):
    """Sandboxed environments' network (`--network`)."""

    HOST = "host"
    NONE = "none"  # a network namespace of its own, with loopback only


@dataclass(frozen=True)
class AccessKey:
    """One access key pair that SigV4 verification accepts."""

    access_key_id: str
    secret_access_key: str


@dataclass(frozen=True)
class Settings:
    host: str = DEFAULT_HOST
    # 0 asks the OS for a free port; the real one is printed once Hearth listens.
    port: int = DEFAULT_PORT
    data_dir: Path = field(default_factory=default_data_dir)
    region: str = DEFAULT_REGION
    account_id: str = DEFAULT_ACCOUNT_ID
    # Empty: any credentials are accepted (and `serve` says so). Otherwise SigV4 is verified.
    access_keys: tuple[AccessKey, ...] = ()
    # AWS takes a moment to move a function from Pending to Active and an update from
    # InProgress to Successful; a delay here lets deploy scripts exercise their waiters.
    settle_delay_seconds: float = 0.0
    # How long an idle execution environment is kept warm before it is reaped.
    keep_alive_seconds: float = 300.0
    # Beyond AWS: $LATEST of Python functions forked from a template, as SnapStart versions are.
    snapstart_latest: bool = False
    # Each SnapStart template keeps one environment forked ahead, so a cold start is a
    # hand-over rather than a fork; False forks on demand (for A/B measurements).
    snapstart_spare: bool = True
    isolation: Isolation = Isolation.AUTO
    # A function may choose for itself with the HEARTH_NETWORK environment variable.
    network: Network = Network.HOST
    # Host paths every sandbox also shows, read-only, at the same path.
    sandbox_expose: tuple[str, ...] = ()
    # Concurrent executions the whole account may run (AWS's ConcurrentExecutions quota).
    concurrency_limit: int = DEFAULT_CONCURRENCY_LIMIT
    # The MemorySize of all live environments together stays under this many MB; idle ones
    # are evicted, least recently used first, to make room for new ones.
    memory_budget_mb: int = 4096
    # AWS waits about a minute before the first retry of a failed async event, then twice
    # that; development and tests want a fraction of a second.
    async_retry_delay_seconds: float = 60.0
    # How many queued events run at once.
    async_concurrency: int = 16
    # Where SQS / SNS / EventBridge destinations and dead-letter queues are reached
    # (moto, LocalStack, ElasticMQ...); None means AWS itself.
    # With it set, the embedded services are off and functions are pointed at it too.
    aws_endpoint_url: str | None = None
    # The scheme and authority clients reach Hearth at, for the URLs it hands out (Code.Location)
    # when that is not the address it listens on (a proxy, a port mapping). None: the address
    # each connection arrived on; never the client's Host header.
    public_url: str | None = None
    # What one client connection may cost (see api/guard.py). None: derived from RLIMIT_NOFILE,
    # leaving descriptors for execution environments.
    max_connections: int | None = None
    # A request's headers must arrive within this many seconds of the connection (or of the
    # request's first byte); its body may pause no longer than body_timeout between reads.
    header_timeout_seconds: float = 10.0
    body_timeout_seconds: float = 30.0
    # An idle kept-alive connection is closed after this many seconds.
    idle_timeout_seconds: float = 5.0
    # Where event source mappings read their queues and streams: per botocore service name
    # ("sqs", "kinesis", "dynamodbstreams") if given, else `event_source_endpoint_url`, else
    # Hearth's own address (the embedded companion services).
    event_source_endpoint_url: str | None = None
    event_source_endpoints: tuple[tuple[str, str], ...] = ()
    # The log store's bounds: older events are deleted, and the oldest while it is larger.
    log_retention_seconds: float = 30 * 86400.0
    log_max_bytes: int = 512 * 1024 * 1024
    # Per-service endpoints (signing name → URL): that service is not embedded, and
    # functions get AWS_ENDPOINT_URL_<SERVICE> for it.
    service_endpoints: tuple[tuple[str, str], ...] = ()
    # The shared read-only AWS SDKs (boto3; the JavaScript SDK v3) every function can import;
    # None: functions get only what they bring.
    aws_sdk_dir: Path | None = None
    # Seconds between snapshots of the embedded services' state (and one at shutdown).
    services_snapshot_seconds: float = 1.0
    # Cluster mode (`--cluster`): the NATS servers' URLs. Empty: one machine, SQLite.
    cluster: tuple[str, ...] = ()
    # This node's name in the cluster (membership, commit markers); None: host name and port.
    node_name: str | None = None
    # How many NATS servers keep each bucket and stream (JetStream replicas: 1, 3 or 5).
    cluster_replicas: int = 1
    # How long an async event a node took stays its own without the node's heartbeat: a node
    # that dies mid-event has its events run elsewhere this many seconds later.
    cluster_ack_wait_seconds: float = 30.0

    @property
    def embedded_services(self) -> bool:
        """S3, DynamoDB, SNS... answered on Hearth's own port (moto, in-process)."""
        return self.aws_endpoint_url is None

    @property
    def clustered(self) -> bool:
        return bool(self.cluster)

    @property
    def auth_enabled(self) -> bool:
        return bool(self.access_keys)
