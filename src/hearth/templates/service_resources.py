"""Handlers for the companion services' resources a template declares: S3 buckets (with their
Lambda notifications), SNS topics and subscriptions, EventBridge buses and rules, EventBridge
Scheduler schedules, and CloudWatch Logs log groups and subscription filters. Properties in,
ServiceDeployer calls out.

Names a template leaves out are made as CloudFormation makes them, from the stack and the
logical id (without its random suffix, so a second `up` finds the same resource).
"""

from __future__ import annotations

import json
import re
from typing import Any

from hearth.templates.errors import TemplateError
from hearth.templates.resources import Context
from hearth.templates.state import Deployed


def _text(value: Any) -> str:
    """A property as the APIs take attribute values: JSON for documents, true/false."""
    if isinstance(value, dict | list):
        return json.dumps(value)
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _generated(ctx: Context, logical_id: str, limit: int) -> str:
    return f"{ctx.stack_name}-{logical_id}"[:limit]


class BucketHandler:
    """AWS::S3::Bucket; Ref is the bucket name. NotificationConfiguration's Lambda, queue and
    topic configurations become the bucket's notification configuration, so a PutObject
    triggers the function through Hearth's S3 hook."""

    def apply(
        self, ctx: Context, logical_id: str, props: dict[str, Any], previous: Deployed | None
    ) -> Deployed:
        name = str(props.get("BucketName") or "")
        if not name:
            name = re.sub(r"[^a-z0-9.-]", "-", _generated(ctx, logical_id, 63).lower())
        notifications = _notifications(
            props.get("NotificationConfiguration") or {},
            f"Resources.{logical_id}.Properties.NotificationConfiguration",
        )
        if previous is not None and previous.physical_id != name and not previous.retain:
            ctx.services.delete_bucket(previous.physical_id)
        ctx.services.put_bucket(name, notifications)
        return Deployed(
            "AWS::S3::Bucket",
            name,
            {
                "Arn": f"arn:aws:s3:::{name}",
                "DomainName": f"{name}.s3.amazonaws.com",
                "RegionalDomainName": f"{name}.s3.{ctx.region}.amazonaws.com",
                "WebsiteURL": f"http://{name}.s3-website-{ctx.region}.amazonaws.com",
            },
        )

    def delete(self, ctx: Context, logical_id: str, entry: Deployed) -> None:
        if not entry.retain:
            ctx.services.delete_bucket(entry.physical_id)


# CloudFormation's configuration list → (the API's list, the API's ARN member, CFN's member).
_NOTIFICATION_KINDS = (
    ("LambdaConfigurations", "LambdaFunctionConfigurations", "LambdaFunctionArn", "Function"),
    ("QueueConfigurations", "QueueConfigurations", "QueueArn", "Queue"),
    ("TopicConfigurations", "TopicConfigurations", "TopicArn", "Topic"),
)


def _notifications(config: Any, place: str) -> dict[str, Any]:
    """CloudFormation's NotificationConfiguration as PutBucketNotificationConfiguration's."""
    if not isinstance(config, dict):
        raise TemplateError(place, "must be a mapping")
    found: dict[str, Any] = {}
    for template_key, api_key, arn_key, target_key in _NOTIFICATION_KINDS:
        items = config.get(template_key) or []
        if not isinstance(items, list):
            raise TemplateError(f"{place}.{template_key}", "must be a list")
        converted = []
        for index, item in enumerate(items):
            where = f"{place}.{template_key}[{index}]"
            if not isinstance(item, dict) or "Event" not in item or target_key not in item:
                raise TemplateError(where, f"needs Event and {target_key}")
            entry: dict[str, Any] = {arn_key: str(item[target_key]), "Events": [item["Event"]]}
            rules = ((item.get("Filter") or {}).get("S3Key") or {}).get("Rules")
            if rules:
                entry["Filter"] = {
                    "Key": {
                        "FilterRules": [
                            {"Name": str(r["Name"]), "Value": str(r["Value"])} for r in rules
                        ]
                    }
                }
            converted.append(entry)
        if converted:
            found[api_key] = converted
    bridge = config.get("EventBridgeConfiguration")
    if isinstance(bridge, dict) and str(bridge.get("EventBridgeEnabled")).lower() == "true":
        found["EventBridgeConfiguration"] = {}
    return found


class TopicHandler:
    """AWS::SNS::Topic; Ref is the topic ARN. Its Subscription list is subscribed too."""

    _ATTRIBUTES = ("DisplayName", "FifoTopic", "ContentBasedDeduplication", "KmsMasterKeyId",
                   "SignatureVersion", "TracingConfig")  # fmt: skip

    def apply(
        self, ctx: Context, logical_id: str, props: dict[str, Any], previous: Deployed | None
    ) -> Deployed:
        fifo = str(props.get("FifoTopic", "")).lower() == "true"
        name = str(props.get("TopicName") or _generated(ctx, logical_id, 251))
        if fifo and not name.endswith(".fifo"):
            name += ".fifo"
        attributes = {k: _text(props[k]) for k in self._ATTRIBUTES if k in props}
        if previous is not None and previous.attributes.get("TopicName") != name:
            ctx.services.delete_topic(previous.physical_id)
            previous = None
        found = ctx.services.put_topic(name, attributes)
        arn = found["TopicArn"]
        subscriptions = []
        for item in props.get("Subscription") or []:
            subscriptions.append(
                ctx.services.put_subscription(arn, str(item["Protocol"]), str(item["Endpoint"]), {})
            )
        for stale in (previous.attributes.get("Subscriptions") or []) if previous else []:
            if stale not in subscriptions:
                ctx.services.delete_subscription(str(stale))
        return Deployed(
            "AWS::SNS::Topic",
            arn,
            {"TopicArn": arn, "TopicName": name, "Subscriptions": subscriptions},
        )

    def delete(self, ctx: Context, logical_id: str, entry: Deployed) -> None:
        if not entry.retain:
            ctx.services.delete_topic(entry.physical_id)


class SubscriptionHandler:
    """AWS::SNS::Subscription (SAM's SNS event, with its FilterPolicy); Ref is its ARN."""

    _ATTRIBUTES = ("FilterPolicy", "FilterPolicyScope", "RawMessageDelivery", "RedrivePolicy")

    def apply(
        self, ctx: Context, logical_id: str, props: dict[str, Any], previous: Deployed | None
    ) -> Deployed:
        place = f"Resources.{logical_id}.Properties"
        for key in ("TopicArn", "Protocol", "Endpoint"):
            if key not in props:
                raise TemplateError(place, f"{key} is required")
        attributes = {k: _text(props[k]) for k in self._ATTRIBUTES if k in props}
        if previous is not None:
            # A changed subscription is made again, so attributes the template dropped go.
            ctx.services.delete_subscription(previous.physical_id)
        arn = ctx.services.put_subscription(
            str(props["TopicArn"]), str(props["Protocol"]), str(props["Endpoint"]), attributes
        )
        return Deployed("AWS::SNS::Subscription", arn, {"Arn": arn})

    def delete(self, ctx: Context, logical_id: str, entry: Deployed) -> None:
        ctx.services.delete_subscription(entry.physical_id)


class RuleHandler:
    """AWS::Events::Rule (SAM's EventBridgeRule, CloudWatchEvent and Schedule events); Ref is
    the rule's name. Lambda targets are delivered by Hearth's EventBridge hook."""

    _TARGET_KEYS = ("Id", "Arn", "Input", "InputPath", "InputTransformer", "RoleArn",
                    "RetryPolicy", "DeadLetterConfig", "SqsParameters")  # fmt: skip

    def apply(
        self, ctx: Context, logical_id: str, props: dict[str, Any], previous: Deployed | None
    ) -> Deployed:
        place = f"Resources.{logical_id}.Properties"
        name = str(props.get("Name") or _generated(ctx, logical_id, 64))
        if "EventPattern" not in props and "ScheduleExpression" not in props:
            raise TemplateError(place, "a rule needs an EventPattern or a ScheduleExpression")
        params: dict[str, Any] = {"Name": name, "State": str(props.get("State", "ENABLED"))}
        if "EventPattern" in props:
            pattern = props["EventPattern"]
            params["EventPattern"] = pattern if isinstance(pattern, str) else json.dumps(pattern)
        for key in ("ScheduleExpression", "Description", "RoleArn", "EventBusName"):
            if props.get(key):
                params[key] = str(props[key])
        targets = []
        for index, target in enumerate(props.get("Targets") or []):
            if not isinstance(target, dict) or "Id" not in target or "Arn" not in target:
                raise TemplateError(f"{place}.Targets[{index}]", "needs Id and Arn")
            targets.append({k: target[k] for k in self._TARGET_KEYS if k in target})
        bus = params.get("EventBusName")
        if previous is not None and (
            previous.physical_id != name or previous.attributes.get("Bus") != bus
        ):
            ctx.services.delete_rule(previous.physical_id, previous.attributes.get("Bus"))
        found = ctx.services.put_rule(params, targets)
        return Deployed("AWS::Events::Rule", name, {"Arn": found["Arn"], "Bus": bus})

    def delete(self, ctx: Context, logical_id: str, entry: Deployed) -> None:
        ctx.services.delete_rule(entry.physical_id, entry.attributes.get("Bus"))


class EventBusHandler:
    """AWS::Events::EventBus (a custom bus for rules); Ref is its name."""

    def apply(
        self, ctx: Context, logical_id: str, props: dict[str, Any], previous: Deployed | None
    ) -> Deployed:
        if not props.get("Name"):
            raise TemplateError(f"Resources.{logical_id}.Properties", "Name is required")
        name = str(props["Name"])
        if previous is not None and previous.physical_id != name:
            ctx.services.delete_event_bus(previous.physical_id)
        found = ctx.services.put_event_bus(name)
        return Deployed("AWS::Events::EventBus", name, {"Arn": found["Arn"], "Name": name})

    def delete(self, ctx: Context, logical_id: str, entry: Deployed) -> None:
        ctx.services.delete_event_bus(entry.physical_id)


class ScheduleHandler:
    """AWS::Scheduler::Schedule (SAM's ScheduleV2 event); Ref is the schedule's name."""

    _KEYS = ("GroupName", "ScheduleExpression", "ScheduleExpressionTimezone", "Description",
             "State", "StartDate", "EndDate", "KmsKeyArn", "Target",
             "FlexibleTimeWindow")  # fmt: skip

    def apply(
        self, ctx: Context, logical_id: str, props: dict[str, Any], previous: Deployed | None
    ) -> Deployed:
        place = f"Resources.{logical_id}.Properties"
        for key in ("ScheduleExpression", "Target"):
            if key not in props:
                raise TemplateError(place, f"{key} is required")
        name = str(props.get("Name") or _generated(ctx, logical_id, 64))
        params: dict[str, Any] = {k: props[k] for k in self._KEYS if k in props}
        params["Name"] = name
        params.setdefault("FlexibleTimeWindow", {"Mode": "OFF"})
        window = params["FlexibleTimeWindow"]
        if isinstance(window, dict) and "MaximumWindowInMinutes" in window:
            window["MaximumWindowInMinutes"] = int(window["MaximumWindowInMinutes"])
        retry = params["Target"].get("RetryPolicy") if isinstance(params["Target"], dict) else None
        if isinstance(retry, dict):
            params["Target"]["RetryPolicy"] = {k: int(v) for k, v in retry.items()}
        group = params.get("GroupName")
        if previous is not None and (
            previous.physical_id != name or previous.attributes.get("Group") != group
        ):
            ctx.services.delete_schedule(previous.physical_id, previous.attributes.get("Group"))
        found = ctx.services.put_schedule(params)
        return Deployed("AWS::Scheduler::Schedule", name, {"Arn": found["Arn"], "Group": group})

    def delete(self, ctx: Context, logical_id: str, entry: Deployed) -> None:
        ctx.services.delete_schedule(entry.physical_id, entry.attributes.get("Group"))


class LogGroupHandler:
    """AWS::Logs::LogGroup in Hearth's own Logs; Ref is the group's name."""

    def apply(
        self, ctx: Context, logical_id: str, props: dict[str, Any], previous: Deployed | None
    ) -> Deployed:
        name = str(props.get("LogGroupName") or _generated(ctx, logical_id, 512))
        retention = props.get("RetentionInDays")
        if previous is not None and previous.physical_id != name and not previous.retain:
            ctx.services.delete_log_group(previous.physical_id)
        found = ctx.services.put_log_group(name, None if retention is None else int(retention))
        return Deployed("AWS::Logs::LogGroup", name, {"Arn": found["Arn"]})

    def delete(self, ctx: Context, logical_id: str, entry: Deployed) -> None:
        if not entry.retain:
            ctx.services.delete_log_group(entry.physical_id)


class SubscriptionFilterHandler:
    """AWS::Logs::SubscriptionFilter (SAM's CloudWatchLogs event) on one of Hearth's log
    groups, delivering to a function; Ref is the filter's name."""

    def apply(
        self, ctx: Context, logical_id: str, props: dict[str, Any], previous: Deployed | None
    ) -> Deployed:
        place = f"Resources.{logical_id}.Properties"
        for key in ("LogGroupName", "DestinationArn", "FilterPattern"):
            if key not in props:
                raise TemplateError(place, f"{key} is required")
        group = _text(props["LogGroupName"])
        name = str(props.get("FilterName") or _generated(ctx, logical_id, 512))
        if previous is not None and (
            previous.physical_id != name or previous.attributes.get("LogGroupName") != group
        ):
            ctx.services.delete_subscription_filter(
                str(previous.attributes.get("LogGroupName")), previous.physical_id
            )
        params: dict[str, Any] = {
            "logGroupName": group,
            "filterName": name,
            "filterPattern": _text(props["FilterPattern"]),
            "destinationArn": _text(props["DestinationArn"]),
        }
        if "RoleArn" in props:
            params["roleArn"] = _text(props["RoleArn"])
        if "Distribution" in props:
            params["distribution"] = _text(props["Distribution"])
        ctx.services.put_subscription_filter(params)
        return Deployed("AWS::Logs::SubscriptionFilter", name, {"LogGroupName": group})

    def delete(self, ctx: Context, logical_id: str, entry: Deployed) -> None:
        ctx.services.delete_subscription_filter(
            str(entry.attributes.get("LogGroupName")), entry.physical_id
        )
