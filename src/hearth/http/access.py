"""Who may call a function URL: AWS's rules as pure functions over policies."""

from __future__ import annotations

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
