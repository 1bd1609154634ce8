"""Who may call a function URL: AWS's rules as pure functions over policies."""

from __future__ import annotations

import fnmatch
from collections.abc import Iterable
from typing import Any

from hearth.models import PolicyStatement

_ACTIONS = frozenset({"lambda:InvokeFunctionUrl", "lambda:*", "*"})


def _listed(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def _public(principal: Any) -> bool:
    if principal == "*":
        return True
    return isinstance(principal, dict) and "*" in _listed(principal.get("AWS"))


def allows_public_url(statements: Iterable[PolicyStatement]) -> bool:
    """AuthType NONE: the resource policy must let anyone (`Principal: *`) call
    `lambda:InvokeFunctionUrl`; a `lambda:FunctionUrlAuthType` condition must say NONE."""
    for entry in statements:
        statement = entry.statement
        if statement.get("Effect") != "Allow" or not _public(statement.get("Principal")):
            continue
        if not _ACTIONS.intersection(_listed(statement.get("Action"))):
            continue
        condition = statement.get("Condition") or {}
        auth_type = (condition.get("StringEquals") or {}).get("lambda:FunctionUrlAuthType")
        if auth_type is None or auth_type == "NONE":
            return True
    return False


def _arn_like(pattern: str, value: str) -> bool:
    return fnmatch.fnmatchcase(value, pattern.replace("[", "[[]"))


def allows_service(
    statements: Iterable[PolicyStatement], service: str, source_arn: str, account: str
) -> bool:
    """Whether a resource policy lets an AWS service (API Gateway: `apigateway.amazonaws.com`)
    invoke the function for `source_arn`: an Allow of `lambda:InvokeFunction` to that service
    principal whose `AWS:SourceArn` (ArnLike) and `AWS:SourceAccount` conditions, if any,
    match."""
    for entry in statements:
        statement = entry.statement
        principal = statement.get("Principal")
        by_service = isinstance(principal, dict) and service in _listed(principal.get("Service"))
        if statement.get("Effect") != "Allow" or not (by_service or principal == "*"):
            continue
        actions = set(_listed(statement.get("Action")))
        if not actions & {"lambda:InvokeFunction", "lambda:*", "*"}:
            continue
        condition = statement.get("Condition") or {}
        arns = (condition.get("ArnLike") or {}).get("AWS:SourceArn")
        if arns is not None and not any(_arn_like(a, source_arn) for a in _listed(arns)):
            continue
        accounts = (condition.get("StringEquals") or {}).get("AWS:SourceAccount")
        if accounts is not None and account not in _listed(accounts):
            continue
        return True
    return False
