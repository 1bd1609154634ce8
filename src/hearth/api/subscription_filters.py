"""PutSubscriptionFilter, DescribeSubscriptionFilters, DeleteSubscriptionFilter, for Hearth's
log groups, with CloudWatch Logs' validation (spec/aws-recorded/logs/
test_logs_subscription_filters): at most two filters per group ("Resource limit exceeded."),
a Lambda destination in this account whose resource policy lets CloudWatch Logs invoke it
for this group (`logs.amazonaws.com` or `logs.<region>.amazonaws.com`), else "Could not
execute the lambda function...". Only Lambda destinations are delivered to; Kinesis and
Firehose destinations are refused.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from typing import Any

from hearth.api import logs_input as field
from hearth.arns import FunctionRef
from hearth.errors import LambdaError
from hearth.logs.patterns import MAX_PATTERN_LENGTH, PatternError, compile_pattern
from hearth.logs.store import LogStore
from hearth.logs.subscriptions import SubscriptionFilter, Subscriptions

MAX_FILTERS_PER_GROUP = 2
PAGE = 50
FILTER_NAME = re.compile(r"[^:*]*")
_LAMBDA_ARN = re.compile(
    r"arn:aws[a-zA-Z-]*:lambda:(?P<region>[a-z0-9-]+):(?P<account>\d{12}):function:"
    r"(?P<name>[a-zA-Z0-9_-]{1,64})(?::(?P<qualifier>\$LATEST|[a-zA-Z0-9_-]{1,128}))?"
)
_ARN = re.compile(r"arn:aws[a-zA-Z-]*:(?P<service>[a-z0-9-]+):[^:]*:(?P<account>\d*):.+")
# The function, the service principal, the source ARN, the source account → allowed?
MayInvoke = Callable[[FunctionRef, str, str, str], bool]


def _cannot_execute() -> LambdaError:
    return field.invalid(
        "Could not execute the lambda function. Make sure you have given CloudWatch Logs "
        "permission to execute your function."
    )


class SubscriptionFiltersApi:
    def __init__(
        self,
        store: LogStore,
        subscriptions: Subscriptions,
        may_invoke: MayInvoke,
        region: str,
        account_id: str,
    ) -> None:
        self._store = store
        self._subscriptions = subscriptions
        self._may_invoke = may_invoke
        self._region = region
        self._account = account_id

    def operations(self) -> dict[str, Callable[[dict[str, Any]], dict[str, Any]]]:
        return {
            "PutSubscriptionFilter": self.put,
            "DescribeSubscriptionFilters": self.describe,
            "DeleteSubscriptionFilter": self.delete,
        }

    def group_deleted(self, group: str) -> None:
        """A deleted log group takes its subscription filters with it."""
        self._subscriptions.delete_group(group)

    def _existing_group(self, body: dict[str, Any]) -> str:
        name = field.group_name(body)
        if self._store.get_group(name) is None:
            raise field.group_missing()
        return name

    def put(self, body: dict[str, Any]) -> dict[str, Any]:
        group = field.group_name(body)
        name = field.name(body, "filterName", FILTER_NAME)
        pattern = body.get("filterPattern")
        if pattern is None:
            raise field.invalid(
                "1 validation error detected: Value null at 'filterPattern' failed to satisfy "
                "constraint: Member must not be null"
            )
        if not isinstance(pattern, str):
            raise field.invalid("Value for filterPattern must be a string")
        if len(pattern) > MAX_PATTERN_LENGTH:
            raise field.invalid(
                f"1 validation error detected: Value '{pattern}' at 'filterPattern' failed to "
                f"satisfy constraint: Member must have length less than or equal to "
                f"{MAX_PATTERN_LENGTH}"
            )
        try:
            compile_pattern(pattern)
        except PatternError as exc:
            raise field.invalid(f"Invalid filter pattern: {exc}") from exc
        distribution = body.get("distribution", "ByLogStream")
        if distribution not in ("Random", "ByLogStream"):
            raise field.invalid(
                f"1 validation error detected: Value '{distribution}' at 'distribution' failed "
                "to satisfy constraint: Member must satisfy enum value set: [Random, ByLogStream]"
            )
        role = body.get("roleArn")
        if role is not None and not isinstance(role, str):
            raise field.invalid("Value for roleArn must be a string")
        destination = self._destination(body, role)
        if self._store.get_group(group) is None:
            raise field.group_missing()
        found = _LAMBDA_ARN.fullmatch(destination)
        assert found is not None  # _destination let only a Lambda ARN through
        ref = FunctionRef(found["name"], found["qualifier"])
        source = f"arn:aws:logs:{self._region}:{self._account}:log-group:{group}:*"
        principals = ("logs.amazonaws.com", f"logs.{self._region}.amazonaws.com")
        if not any(self._may_invoke(ref, p, source, self._account) for p in principals):
            raise _cannot_execute()
        existing = {f.name for f in self._subscriptions.for_group(group)}
        if name not in existing and len(existing) >= MAX_FILTERS_PER_GROUP:
            raise field.logs_error("LimitExceededException", "Resource limit exceeded.")
        self._subscriptions.put(
            SubscriptionFilter(
                group=group,
                name=name,
                pattern=pattern,
                destination_arn=destination,
                created_ms=int(time.time() * 1000),
                role_arn=role,
                distribution=distribution,
            )
        )
        return {}

    def _destination(self, body: dict[str, Any], role: str | None) -> str:
        destination = body.get("destinationArn")
        if not isinstance(destination, str) or not destination:
            raise field.invalid(
                "1 validation error detected: Value null at 'destinationArn' failed to "
                "satisfy constraint: Member must not be null"
            )
        parsed = _ARN.fullmatch(destination)
        if parsed is None:
            raise field.invalid(f"Invalid destinationArn: {destination}")
        service = parsed["service"]
        if service == "lambda":
            if parsed["account"] != self._account:
                raise field.logs_error(
                    "AccessDeniedException",
                    "Cross-account lambda invocation passing is not allowed. You must use "
                    "DestinationPolicies to create cross account lambda triggers.",
                )
            if _LAMBDA_ARN.fullmatch(destination) is None:
                raise _cannot_execute()
            return destination
        if service in ("kinesis", "firehose") and role is None:
            raise field.invalid(
                f"destinationArn for vendor {service} cannot be used without roleArn"
            )
        # A divergence, said plainly: Hearth delivers to Lambda functions only.
        raise field.invalid(
            f"Hearth delivers subscription filters to Lambda functions only, not {service}."
        )

    def describe(self, body: dict[str, Any]) -> dict[str, Any]:
        group = self._existing_group(body)
        prefix = field.name(body, "filterNamePrefix", FILTER_NAME, required=False)
        limit = field.integer(body, "limit", PAGE, 1, PAGE)
        after = field.untoken(body)
        filters = [f for f in self._subscriptions.for_group(group) if f.name.startswith(prefix)]
        if after is not None:
            filters = [f for f in filters if f.name > after]
        page = filters[:limit]
        shape: dict[str, Any] = {"subscriptionFilters": [_shape(f) for f in page]}
        if len(filters) > limit:
            shape["nextToken"] = field.token(page[-1].name)
        return shape

    def delete(self, body: dict[str, Any]) -> dict[str, Any]:
        group = self._existing_group(body)
        name = field.name(body, "filterName", FILTER_NAME)
        if not self._subscriptions.delete(group, name):
            raise field.logs_error(
                "ResourceNotFoundException", "The specified subscription filter does not exist."
            )
        return {}


def _shape(subscription: SubscriptionFilter) -> dict[str, Any]:
    shape: dict[str, Any] = {
        "filterName": subscription.name,
        "logGroupName": subscription.group,
        "filterPattern": subscription.pattern,
        "destinationArn": subscription.destination_arn,
        "distribution": subscription.distribution,
        "applyOnTransformedLogs": False,
        "creationTime": subscription.created_ms,
    }
    if subscription.role_arn is not None:
        shape["roleArn"] = subscription.role_arn
    return shape
