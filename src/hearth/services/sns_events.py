"""What SNS hands a Lambda subscriber: AWS's event shape, and filter policies.

Pure. The shape is the one in spec/aws-recorded/sns (EventVersion 1.0, `Sns` with Type,
MessageId, TopicArn, Subject or null, Message, Timestamp, signature fields,
MessageAttributes as `{"Type", "Value"}`). Filter policies use the EventBridge pattern
language (hearth.events.patterns), which SNS shares: on the message attributes (strings,
numbers, and `String.Array` values as arrays) or, with `FilterPolicyScope: MessageBody`, on
the message as JSON.
"""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Mapping
from typing import Any

from hearth.events.patterns import InvalidPatternError, matches, validate_pattern
from hearth.services.s3_events import event_time


def sns_event(
    *,
    subscription_arn: str,
    topic_arn: str,
    message_id: str,
    message: str,
    subject: str | None,
    attributes: Mapping[str, Mapping[str, Any]],
    region: str,
    now: float | None = None,
) -> dict[str, Any]:
    # Not a real signature (no certificate of AWS's to sign with): a digest, so it is stable.
    signature = base64.b64encode(
        hashlib.sha256(f"{message_id}\n{message}\n{topic_arn}".encode()).digest()
    ).decode()
    return {
        "Records": [
            {
                "EventSource": "aws:sns",
                "EventVersion": "1.0",
                "EventSubscriptionArn": subscription_arn,
                "Sns": {
                    "Type": "Notification",
                    "MessageId": message_id,
                    "TopicArn": topic_arn,
                    "Subject": subject or None,
                    "Message": message,
                    "Timestamp": event_time(now),
                    "SignatureVersion": "1",
                    "Signature": signature,
                    "SigningCertUrl": f"https://sns.{region}.amazonaws.com/"
                    "SimpleNotificationService-hearth.pem",
                    "UnsubscribeUrl": f"https://sns.{region}.amazonaws.com/"
                    f"?Action=Unsubscribe&SubscriptionArn={subscription_arn}",
                    "MessageAttributes": {
                        name: {"Type": value.get("Type"), "Value": value.get("Value")}
                        for name, value in attributes.items()
                    },
                },
            }
        ]
    }


def _attribute_values(attributes: Mapping[str, Mapping[str, Any]]) -> dict[str, Any]:
    values: dict[str, Any] = {}
    for name, attribute in attributes.items():
        kind, value = str(attribute.get("Type", "String")), attribute.get("Value")
        if kind.startswith("Number"):
            try:
                values[name] = float(value)  # type: ignore[arg-type]
            except (TypeError, ValueError):
                continue
        elif kind == "String.Array":
            try:
                values[name] = json.loads(str(value))
            except json.JSONDecodeError:
                values[name] = value
        elif kind.startswith("String"):
            values[name] = value
        # Binary attributes are never matched by SNS.
    return values


def passes_filter(
    policy: str | None,
    scope: str | None,
    attributes: Mapping[str, Mapping[str, Any]],
    message: str,
) -> bool:
    """Whether a subscription with this FilterPolicy (and FilterPolicyScope) takes a message."""
    if not policy:
        return True
    try:
        pattern = validate_pattern(policy)
    except InvalidPatternError:
        return False  # SNS refuses such a policy when it is set; never deliver on one
    if scope == "MessageBody":
        try:
            body = json.loads(message)
        except json.JSONDecodeError:
            return False
        return isinstance(body, dict) and matches(pattern, body)
    return matches(pattern, _attribute_values(attributes))
