"""Botocore clients for the queues and streams that mappings read, and the create-time check.

Every call is blocking botocore; pollers run them on `SourceClients.executor`, a thread pool of
its own so long polls (20 s ReceiveMessage) never starve the event loop's default executor.
Endpoints: per service if configured, else the one event-source endpoint, else Hearth's own
address (where the embedded companion services answer), set once the server is bound.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable, Mapping
from concurrent.futures import Executor, Future
from typing import Any

from hearth.arns import Source
from hearth.errors import LambdaError, invalid_parameter

# botocore's service names for each source kind.
SERVICE = {Source.SQS: "sqs", Source.KINESIS: "kinesis", Source.DYNAMODB: "dynamodbstreams"}
_THREADS = 64


class SourceClients:
    def __init__(
        self,
        endpoint_url: str | None,
        per_service: Mapping[str, str] | None = None,
        credentials: tuple[str, str] | None = None,
    ) -> None:
        self._endpoint_url = endpoint_url
        self._per_service = dict(per_service or {})
        self._credentials = credentials
        self.default_endpoint: str | None = None  # Hearth's own address, once bound
        self._clients: dict[tuple[str, str], Any] = {}
        self._lock = threading.Lock()
        self.executor = DaemonPool(_THREADS)
        # The embedded services (an `sqs_readers.InProcess`), when they run in this process,
        # and the services they hand to an external endpoint instead.
        self._in_process: Any = None
        self._external: frozenset[str] = frozenset()

    def use_in_process(self, services: Any, external: frozenset[str]) -> None:
        self._in_process, self._external = services, external

    def in_process(self, service: str) -> Any:
        """The embedded services when `service` is read from them (no endpoint configured
        for it: Hearth's own port), else None."""
        if self._per_service.get(service) or self._endpoint_url or service in self._external:
            return None
        return self._in_process

    def own_keys(self) -> tuple[str, str]:
        """The keys Hearth's own port accepts from its pollers (the first configured access
        key when SigV4 is required; any keys otherwise)."""
        return self._credentials or ("hearth", "hearth")

    def endpoint(self, service: str) -> str | None:
        return self._per_service.get(service) or self._endpoint_url or self.default_endpoint

    def client(self, service: str, region: str) -> Any:
        with self._lock:
            client = self._clients.get((service, region))
            if client is None:
                import boto3  # noqa: PLC0415 - only servers with mappings pay for it
                from botocore.config import Config  # noqa: PLC0415

                # Reads longer than the 20 s long poll; one try: pollers do their own retrying.
                config = Config(
                    connect_timeout=3,
                    read_timeout=30,
                    retries={"max_attempts": 1},
                    max_pool_connections=_THREADS,
                )
                session: Any = boto3.session.Session()
                keys: dict[str, str] = {}
                if self._credentials is not None:
                    keys = {
                        "aws_access_key_id": self._credentials[0],
                        "aws_secret_access_key": self._credentials[1],
                    }
                elif session.get_credentials() is None:
                    # Local endpoints accept any keys; AWS itself needs the user's own.
                    keys = {"aws_access_key_id": "hearth", "aws_secret_access_key": "hearth"}
                client = session.client(
                    service,
                    region_name=region,
                    endpoint_url=self.endpoint(service),
                    config=config,
                    **keys,
                )
                self._clients[(service, region)] = client
            return client

    def for_arn(self, source: Source, arn: str) -> Any:
        return self.client(SERVICE[source], arn.split(":")[3])

    def check(self, source: Source, arn: str) -> None:
        """Raise AWS's InvalidParameterValueException when the source does not exist."""
        client = self.for_arn(source, arn)
        try:
            if source is Source.SQS:
                client.get_queue_attributes(QueueUrl=queue_url(client, arn))
            elif source is Source.KINESIS:
                client.describe_stream_summary(StreamName=arn.split("/", 1)[1])
            else:
                client.describe_stream(StreamArn=arn, Limit=1)
        except LambdaError:
            raise
        except Exception as exc:
            code = _error_code(exc)
            if source is Source.SQS and code in _MISSING_QUEUE:
                raise invalid_parameter(
                    "Error occurred while ReceiveMessage. SQS Error Code: "
                    "AWS.SimpleQueueService.NonExistentQueue. SQS Error Message: "
                    "The specified queue does not exist."
                ) from None
            if code == "ResourceNotFoundException":
                raise invalid_parameter(f"Stream not found: {arn}") from None
            raise invalid_parameter(f"Could not reach the event source {arn}: {exc}") from None

    def close(self) -> None:
        self.executor.shutdown(wait=False, cancel_futures=True)


class DaemonPool(Executor):
    """A thread pool whose threads never hold up the process's exit.

    A poller's thread may sit in a 20 s long poll when the server stops; the standard pool
    joins its threads at exit, so the server would hang that long. Whatever such a call
    receives is delivered again after the queue's visibility timeout."""

    def __init__(self, size: int) -> None:
        self._work: queue.SimpleQueue[tuple[Future[Any], Callable[[], Any]] | None] = (
            queue.SimpleQueue()
        )
        self._size = size
        self._threads: list[threading.Thread] = []
        self._lock = threading.Lock()
        self._closed = False

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Future[Any]:
        future: Future[Any] = Future()
        with self._lock:
            if self._closed:
                raise RuntimeError("pool closed")
            self._work.put((future, lambda: fn(*args, **kwargs)))
            if len(self._threads) < self._size:
                thread = threading.Thread(target=self._run, daemon=True, name="hearth-esm")
                thread.start()
                self._threads.append(thread)
        return future

    def _run(self) -> None:
        while True:
            item = self._work.get()
            if item is None:
                return
            future, call = item
            if not future.set_running_or_notify_cancel():
                continue
            try:
                future.set_result(call())
            except BaseException as exc:
                future.set_exception(exc)

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        with self._lock:
            self._closed = True
            for _ in self._threads:
                self._work.put(None)


_MISSING_QUEUE = frozenset(
    {"AWS.SimpleQueueService.NonExistentQueue", "QueueDoesNotExist", "NonExistentQueue"}
)


def _error_code(exc: Exception) -> str:
    response = getattr(exc, "response", None)
    if isinstance(response, dict):
        return str(response.get("Error", {}).get("Code", ""))
    return ""


def is_missing_source(exc: Exception) -> bool:
    return _error_code(exc) in _MISSING_QUEUE | {"ResourceNotFoundException"}


def queue_url(client: Any, arn: str) -> str:
    _, _, _, _, account, name = arn.split(":", 5)
    return str(client.get_queue_url(QueueName=name, QueueOwnerAWSAccountId=account)["QueueUrl"])
