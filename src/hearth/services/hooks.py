"""Where Hearth takes over moto's own deliveries to Lambda.

moto would invoke its own in-memory Lambda for S3 notifications and SNS `lambda`
subscriptions; Hearth replaces those calls (the rest of moto's notification code, to SQS,
SNS and EventBridge, runs unchanged) and hands AWS-shaped events to `Triggers`. Every hook
runs on moto's thread, inside the request that fired it. moto is pinned to a minor version in
pyproject.toml because these are its internals.
"""

from __future__ import annotations

import hashlib
import logging
import uuid
from collections.abc import Callable
from typing import Any

from hearth.arns import parse_function_ref
from hearth.events.patterns import InvalidPatternError, matches, validate_pattern
from hearth.services import moto_kinesis, moto_speedups
from hearth.services.embedded import WireRequest
from hearth.services.eventbridge_events import eventbridge_event, target_input
from hearth.services.s3_events import ObjectChange, event_matches, key_matches, record
from hearth.services.s3_permissions import MayInvoke
from hearth.services.sns_events import passes_filter, sns_event
from hearth.services.triggers import Triggers

logger = logging.getLogger("hearth.services")

CurrentRequest = Callable[[], WireRequest | None]


class _Target:
    """Where the installed hooks send: moto's modules are patched once per process, and the
    last `install` (one Hearth per process; tests may build several) says where to."""

    def __init__(self) -> None:
        self.triggers: Triggers | None = None
        self.current: CurrentRequest = lambda: None
        self.region = "us-east-1"
        self.may_invoke: MayInvoke = lambda ref, service, source, account: True
        self.installed = False

    def deliver(self, function_arn: str, event: Any, trace_header: str | None = None) -> None:
        if self.triggers is not None:
            self.triggers.deliver(function_arn, event, trace_header)


_target = _Target()


def install(
    triggers: Triggers, current: CurrentRequest, region: str, may_invoke: MayInvoke
) -> None:
    _target.triggers, _target.current, _target.region = triggers, current, region
    _target.may_invoke = may_invoke
    if _target.installed:
        return
    # Late-bound: a later install replaces `current`.
    _install_s3(_target, lambda: _target.current())  # noqa: PLW0108
    _install_sns(_target, region)
    _install_dynamodb_streams()
    _install_eventbridge(_target)
    moto_speedups.install_sqs()
    moto_kinesis.install_kinesis()
    _target.installed = True


def _principal(current: CurrentRequest) -> tuple[str, str]:
    request = current()
    if request is None:
        return "AWS:hearth", "127.0.0.1"
    from hearth.services.scope import credential_scope  # noqa: PLC0415

    scope = credential_scope(request.headers, request.query_string)
    return f"AWS:{scope.access_key if scope else 'anonymous'}", request.client


def _trace_header(current: CurrentRequest) -> str | None:
    request = current()
    return request.headers.get("x-amzn-trace-id") if request is not None else None


def _install_s3(triggers: Triggers, current: CurrentRequest) -> None:
    from moto.s3 import models, notifications  # noqa: PLC0415

    original_send = notifications.send_event

    completing: list[bool] = []  # inside CompleteMultipartUpload (moto's thread only)

    def send_event(account_id: str, event_name: Any, bucket: Any, key: Any) -> None:
        name = str(getattr(event_name, "value", event_name))
        if completing and name == "s3:ObjectCreated:Put":
            return  # moto stores the upload with a PutObject of its own: S3 sends no Put
        original_send(account_id, event_name, bucket, key)  # SQS, SNS, EventBridge: moto's
        config = bucket.notification_configuration
        if config is None or key is None:
            return
        removal = name.startswith("s3:ObjectRemoved")
        principal, source_ip = _principal(current)
        # The writer's trace header goes on with the event, as S3 carries it to Lambda: a
        # function that writes to the bucket that triggers it is counted round by round.
        trace = _trace_header(current)
        change = ObjectChange(
            event_name=name,
            region=bucket.region_name,
            bucket=bucket.name,
            key=key.name,
            size=None if removal else key.size,
            etag=None if removal else key.etag,
            version_id=str(key.version_id) if bucket.is_versioned and key.version_id else None,
            principal_id=principal,
            source_ip=source_ip,
            request_id=uuid.uuid4().hex[:16].upper(),
            host_id=hashlib.sha256(uuid.uuid4().bytes).hexdigest(),
            owner_id=_owner(account_id),
        )
        for notification in config.cloud_function:
            rules = {
                rule["Name"]: rule["Value"]
                for rule in notification.filters.get("S3Key", {}).get("FilterRule", [])
            }
            if event_matches(notification.events, name) and key_matches(rules, key.name):
                payload = {"Records": [record(change, notification.id)]}
                triggers.deliver(notification.arn, payload, trace)

    def no_lambda(*args: Any, **kwargs: Any) -> None:
        return None  # moto's own Lambda is not Hearth's: the hook above delivers instead

    notifications.send_event = send_event
    notifications._invoke_awslambda = no_lambda

    original_complete = models.S3Backend.complete_multipart_upload

    def complete_multipart_upload(self: Any, *args: Any, **kwargs: Any) -> Any:
        completing.append(True)
        try:
            return original_complete(self, *args, **kwargs)
        finally:
            completing.pop()

    models.S3Backend.complete_multipart_upload = complete_multipart_upload  # type: ignore[method-assign]

    # A versioned bucket's delete without a version id leaves a delete marker; moto sends
    # nothing for it, S3 sends ObjectRemoved:DeleteMarkerCreated.
    backend_class = models.S3Backend
    original_marker = backend_class._set_delete_marker

    def set_delete_marker(self: Any, bucket_name: str, key_name: str) -> Any:
        marker = original_marker(self, bucket_name, key_name)
        bucket = self.get_bucket(bucket_name)
        send_event(
            self.account_id,
            "s3:ObjectRemoved:DeleteMarkerCreated",
            bucket,
            _MarkerView(key_name, marker.version_id),
        )
        return marker

    backend_class._set_delete_marker = set_delete_marker  # type: ignore[method-assign]


class _MarkerView:
    """What the S3 hook reads of a key, for a delete marker."""

    def __init__(self, name: str, version_id: Any) -> None:
        self.name, self.version_id, self.size, self.etag = name, version_id, 0, ""


def _owner(account_id: str) -> str:
    # A stable stand-in for the bucket owner's canonical user id.
    return hashlib.sha256(f"owner:{account_id}".encode()).hexdigest()[:14].upper()


def _install_sns(triggers: Triggers, region: str) -> None:
    from moto.sns import models  # noqa: PLC0415

    subscription_class = models.Subscription
    original_publish = subscription_class.publish

    def publish(
        self: Any,
        message: str,
        message_id: str,
        subject: str | None = None,
        message_attributes: dict[str, Any] | None = None,
        group_id: str | None = None,
        deduplication_id: str | None = None,
        message_structure: str | None = None,
    ) -> None:
        if self.protocol != "lambda":
            original_publish(
                self,
                message,
                message_id,
                subject=subject,
                message_attributes=message_attributes,
                group_id=group_id,
                deduplication_id=deduplication_id,
                message_structure=message_structure,
            )
            return
        attributes = message_attributes or {}
        policy = self.attributes.get("FilterPolicy")
        scope = self.attributes.get("FilterPolicyScope")
        if not passes_filter(policy, scope, attributes, message):
            return
        if message_structure == "json":
            message = self._parse_message_structure(message, "lambda")
        topic_region = self.topic.arn.split(":")[3] or region
        function = parse_function_ref(self.endpoint)
        if not _target.may_invoke(function, "sns.amazonaws.com", self.topic.arn, self.account_id):
            # SNS's delivery fails without the permission (AddPermission for sns.amazonaws.com)
            logger.warning(
                "SNS %s may not invoke %s: no permission for sns.amazonaws.com",
                self.topic.arn,
                self.endpoint,
            )
            return
        event = sns_event(
            subscription_arn=self.arn,
            topic_arn=self.topic.arn,
            message_id=message_id,
            message=message,
            subject=subject,
            attributes=attributes,
            region=topic_region,
        )
        # The publisher's trace header goes on with the event: a loop through SNS is counted.
        triggers.deliver(self.endpoint, event, _trace_header(_target.current))

    subscription_class.publish = publish  # type: ignore[method-assign]

    # SNS takes a MessageStructure other than "json" as a plain message (AWS's own Lambda
    # labs, the seeds' TotalNotifier and StockCheck, publish with MessageStructure='raw');
    # moto refuses it.
    backend_class = models.SNSBackend
    original_backend_publish = backend_class.publish

    def backend_publish(self: Any, *args: Any, **kwargs: Any) -> str:
        if kwargs.get("message_structure") not in (None, "json"):
            kwargs["message_structure"] = None
        result: str = original_backend_publish(self, *args, **kwargs)
        return result

    backend_class.publish = backend_publish  # type: ignore[method-assign]


def _install_dynamodb_streams() -> None:
    """DynamoDB Streams records as DynamoDB writes them: one per change (moto writes two
    INSERTs for an UpdateItem that creates its item), none for a write that changes nothing,
    `eventVersion` 1.1 and the table's own region."""
    from moto.dynamodb import models  # noqa: PLC0415
    from moto.dynamodb.models import table as tables  # noqa: PLC0415

    record_class = tables.StreamRecord
    original_record_init = record_class.__init__

    def record_init(self: Any, table: Any, *args: Any, **kwargs: Any) -> None:
        original_record_init(self, table, *args, **kwargs)
        self.record["eventVersion"] = "1.1"
        self.record["awsRegion"] = table.region_name

    record_class.__init__ = record_init  # type: ignore[method-assign]

    shard_class = tables.StreamShard
    original_add = shard_class.add

    def add(self: Any, old: Any, new: Any) -> None:
        if old is not None and new is not None and old.to_json() == new.to_json():
            return  # nothing changed: DynamoDB writes no stream record
        original_add(self, old, new)

    shard_class.add = add  # type: ignore[method-assign]

    backend_class = models.DynamoDBBackend
    original_update = backend_class.update_item

    def update_item(self: Any, table_name: str, *args: Any, **kwargs: Any) -> Any:
        table = self.get_table(table_name)
        shard = table.stream_shard
        before = len(shard.items) if shard is not None else 0
        result = original_update(self, table_name, *args, **kwargs)
        if shard is not None and len(shard.items) - before == 2:
            # moto stored the new item with a PutItem of its own, then recorded the update:
            # one change, one record, in the first one's place in the shard.
            first, second = shard.items[before], shard.items[before + 1]
            sequence = first.record["dynamodb"]["SequenceNumber"]
            second.record["dynamodb"]["SequenceNumber"] = sequence
            del shard.items[before]
        return result

    backend_class.update_item = update_item  # type: ignore[method-assign]


def _install_eventbridge(triggers: Triggers) -> None:
    """EventBridge rules with Lambda targets: moto keeps its own delivery to the other
    targets (SQS, logs, buses); Lambda targets get AWS's event, matched by Hearth's pattern
    engine, shaped by the target's Input / InputPath / InputTransformer."""
    from moto.events import models  # noqa: PLC0415

    rule_class = models.Rule
    original_send = rule_class.send_to_targets

    def send_to_targets(self: Any, original_event: Any, transform_input: bool = True) -> None:
        everything = self.targets
        lambdas = [t for t in everything if t["Arn"].split(":")[2:3] == ["lambda"]]
        self.targets = [t for t in everything if t not in lambdas]
        try:
            original_send(self, original_event, transform_input)
        finally:
            self.targets = everything
        if not lambdas or self.state != "ENABLED" or not self.event_pattern._raw_pattern:
            return  # scheduled rules (no pattern) are not run by Hearth yet
        event = eventbridge_event(original_event)
        try:
            if not matches(validate_pattern(self.event_pattern._raw_pattern), event):
                return
        except InvalidPatternError:
            return  # PutRule refuses such a pattern; never deliver on one
        for target in lambdas:
            function = parse_function_ref(target["Arn"])
            if not _target.may_invoke(function, "events.amazonaws.com", self.arn, self.account_id):
                logger.warning(
                    "rule %s may not invoke %s: no permission for events.amazonaws.com",
                    self.arn,
                    target["Arn"],
                )
                continue
            triggers.deliver(target["Arn"], target_input(target, event))

    rule_class.send_to_targets = send_to_targets  # type: ignore[method-assign]
