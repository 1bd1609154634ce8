"""Where the outcome of an asynchronous invocation goes: destination records and dead letters.

A destination is another Lambda function (the record is queued as a new `Event` invoke of it),
or an SQS queue, SNS topic or EventBridge bus reached through botocore (the record is queued
as a `Kind.DELIVER` event, so a target that is down delays the record but never loses it).
The `MessageSink` Protocol is that last hop; `BotocoreSink` talks to AWS or any endpoint that
speaks its API (moto, LocalStack, ElasticMQ), `MemorySink` is its fake.
"""

from __future__ import annotations

import json
import threading
import uuid
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any, Protocol

from hearth.arns import parse_function_ref
from hearth.events.queue import Event, Kind, MessageAttributes
from hearth.events.retry import Condition
from hearth.invoke.types import InvokeResult

# AWS puts the first kilobyte of the error message into a dead letter's ErrorMessage.
MAX_DEAD_LETTER_ERROR_MESSAGE = 1024


def aws_record_timestamp(moment: float) -> str:
    """A destination record's timestamp: `2019-11-24T23:08:25.651Z`."""
    when = datetime.fromtimestamp(moment, UTC)
    return when.strftime("%Y-%m-%dT%H:%M:%S.") + f"{when.microsecond // 1000:03d}Z"


def _json_or_text(payload: bytes) -> Any:
    try:
        return json.loads(payload)
    except (UnicodeDecodeError, json.JSONDecodeError):
        return payload.decode(errors="replace")


def destination_record(
    event: Event,
    *,
    condition: Condition,
    function_arn: str,
    result: InvokeResult | None,
    now: float,
) -> bytes:
    """The invocation record AWS sends to OnSuccess / OnFailure destinations.

    `result` is the last attempt's; None when the function never ran (throttled until the
    event grew too old), and then the record has no response parts.
    """
    record: dict[str, Any] = {
        "version": "1.0",
        "timestamp": aws_record_timestamp(now),
        "requestContext": {
            "requestId": event.id,
            "functionArn": function_arn,
            "condition": condition.value,
            "approximateInvokeCount": event.attempts,
        },
        "requestPayload": _json_or_text(event.payload),
    }
    if result is not None:
        response: dict[str, Any] = {
            "statusCode": 200,
            "executedVersion": result.executed_version,
        }
        if result.function_error:
            response["functionError"] = result.function_error
        record["responseContext"] = response
        record["responsePayload"] = _json_or_text(result.payload)
    return json.dumps(record, separators=(",", ":")).encode()


def dead_letter_attributes(
    event: Event, result: InvokeResult | None, error_code: int
) -> dict[str, dict[str, str]]:
    """AWS's message attributes on a dead letter: RequestID, ErrorCode, ErrorMessage."""
    if result is not None:
        body = _json_or_text(result.payload)
        message = body.get("errorMessage") if isinstance(body, dict) else None
        text = str(message) if message is not None else result.payload.decode(errors="replace")
    else:
        text = "The event was throttled or failed to start until it was too old."
    return {
        "RequestID": {"DataType": "String", "StringValue": event.id},
        "ErrorCode": {"DataType": "Number", "StringValue": str(error_code)},
        "ErrorMessage": {
            "DataType": "String",
            "StringValue": text[:MAX_DEAD_LETTER_ERROR_MESSAGE] or "(empty)",
        },
    }


def follow_up(target_arn: str, payload: bytes, now: float, attributes: MessageAttributes) -> Event:
    """The queued event that carries `payload` to `target_arn`."""
    service = target_arn.split(":")[2]
    if service == "lambda":
        ref = parse_function_ref(target_arn)
        return Event(str(uuid.uuid4()), Kind.INVOKE, ref.name, payload, now, ref.qualifier)
    return Event(str(uuid.uuid4()), Kind.DELIVER, target_arn, payload, now, attributes=attributes)


class MessageSink(Protocol):
    """Sends one message to an SQS queue, SNS topic or EventBridge bus named by its ARN.

    Blocking (callers run it in a thread); raises on any failure, and the caller retries
    later. Delivery is at least once: a send that timed out may have arrived.
    """

    def send(self, arn: str, body: str, attributes: MessageAttributes) -> None: ...


class MemorySink:
    """The fake: remembers what was sent; `failing` makes every send raise."""

    def __init__(self) -> None:
        self.sent: list[tuple[str, str, MessageAttributes]] = []
        self.failing = False

    def send(self, arn: str, body: str, attributes: MessageAttributes) -> None:
        if self.failing:
            raise ConnectionError(f"cannot reach {arn}")
        self.sent.append((arn, body, attributes))


class BotocoreSink:
    """Sends through botocore to `endpoint_url` (None: AWS itself), with botocore's usual
    credential chain. Each attempt is one try: the queue does the retrying."""

    def __init__(self, endpoint_url: str | None) -> None:
        self._endpoint_url = endpoint_url
        self._keys: tuple[str, str] | None = None
        self._clients: dict[tuple[str, str], Any] = {}
        self._queue_urls: dict[str, str] = {}
        self._lock = threading.Lock()

    def point_at(self, endpoint_url: str, keys: tuple[str, str]) -> None:
        """Send to `endpoint_url` (the embedded services on Hearth's port) with these keys."""
        with self._lock:
            self._endpoint_url, self._keys = endpoint_url, keys
            self._clients.clear()
            self._queue_urls.clear()

    def _client(self, service: str, region: str) -> Any:
        with self._lock:
            client = self._clients.get((service, region))
            if client is None:
                import boto3  # noqa: PLC0415 - only servers with destinations pay for it
                from botocore.config import Config  # noqa: PLC0415

                config = Config(connect_timeout=3, read_timeout=10, retries={"max_attempts": 1})
                # Any: the stubs type each service's client apart; this picks one at run time.
                session: Any = boto3.session.Session()
                keys: dict[str, str] = {}
                if self._keys is not None:
                    keys = {
                        "aws_access_key_id": self._keys[0],
                        "aws_secret_access_key": self._keys[1],
                    }
                client = session.client(
                    service,
                    region_name=region,
                    endpoint_url=self._endpoint_url,
                    config=config,
                    **keys,
                )
                self._clients[(service, region)] = client
            return client

    def send(self, arn: str, body: str, attributes: MessageAttributes) -> None:
        parts = arn.split(":", 5)
        if len(parts) != 6:
            raise ValueError(f"not an ARN: {arn}")
        _, _, service, region, account, resource = parts
        attrs = {k: dict(v) for k, v in attributes.items()}
        if service == "sqs":
            client = self._client("sqs", region)
            url = self._queue_urls.get(arn)
            if url is None:
                url = client.get_queue_url(QueueName=resource, QueueOwnerAWSAccountId=account)[
                    "QueueUrl"
                ]
                self._queue_urls[arn] = url
            client.send_message(QueueUrl=url, MessageBody=body, MessageAttributes=attrs)
        elif service == "sns":
            self._client("sns", region).publish(TopicArn=arn, Message=body, MessageAttributes=attrs)
        elif service == "events":
            answer = self._client("events", region).put_events(
                Entries=[
                    {
                        "Source": "lambda",
                        "DetailType": _detail_type(body),
                        "Detail": body,
                        "EventBusName": arn,
                    }
                ]
            )
            if answer.get("FailedEntryCount"):
                raise RuntimeError(f"EventBridge refused the record: {answer['Entries']}")
        else:
            raise ValueError(f"Hearth cannot deliver to {service} ARNs: {arn}")


def _detail_type(body: str) -> str:
    """EventBridge's detail-type for a Lambda destination record."""
    record: Mapping[str, Any] = json.loads(body)
    condition = record.get("requestContext", {}).get("condition")
    outcome = "Success" if condition == Condition.SUCCESS.value else "Failure"
    return f"Lambda Function Invocation Result - {outcome}"
