"""Whether an execution role's IAM policies allow an action, from the embedded IAM (moto).

The statements are evaluated by moto's own policy evaluator (`moto.iam.access_control`),
after three corrections that make it safe to decide with: action names match case-insensitively
(as IAM's do) and `?` / regex characters in patterns mean what they mean to IAM; an Allow whose
Condition, NotResource or missing Resource Hearth cannot evaluate never allows; a Deny of that
kind always denies. Not applied (documented divergences): conditions, permission boundaries,
session policies, resource-based policies of the target.
"""

from __future__ import annotations

import enum
import json
import logging
import re
from collections.abc import Iterable
from typing import Any, Protocol

from hearth.services.embedded import EmbeddedServices

logger = logging.getLogger("hearth.services")


class Decision(enum.Enum):
    ALLOWED = "allowed"
    IMPLICIT_DENY = "implicit"  # no identity-based policy allows it
    EXPLICIT_DENY = "explicit"  # an identity-based policy denies it


class RolePolicies(Protocol):
    """Decides an action for a role. Guarantees: never raises; a role it does not know,
    or cannot read, allows nothing."""

    async def decide(self, role_arn: str, action: str, resource: str) -> Decision:
        """The decision of the role's identity-based policies on `action` over `resource`."""


class NoPolicies:
    """No IAM to read (external endpoints): a function's role allows nothing here."""

    async def decide(self, role_arn: str, action: str, resource: str) -> Decision:
        return Decision.IMPLICIT_DENY


class StaticPolicies:
    """In-memory role → policy documents (tests)."""

    def __init__(self, documents: dict[str, list[str]]) -> None:
        self._documents = documents

    async def decide(self, role_arn: str, action: str, resource: str) -> Decision:
        return evaluate(self._documents.get(role_arn, []), action, resource)


class EmbeddedIamPolicies:
    """The role's inline and attached policies, read from moto's IAM on moto's thread."""

    def __init__(self, embedded: EmbeddedServices, region: str) -> None:
        self._embedded = embedded
        self._region = region

    async def decide(self, role_arn: str, action: str, resource: str) -> Decision:
        try:
            return await self._embedded.run(
                lambda: evaluate(self._documents(role_arn), action, resource)
            )
        except Exception:
            logger.exception("could not read the policies of %s", role_arn)
            return Decision.IMPLICIT_DENY

    def _documents(self, role_arn: str) -> list[str]:
        from moto.iam.models import iam_backends  # noqa: PLC0415 - moto loads on its thread
        from moto.utilities.utils import get_partition  # noqa: PLC0415 - moto loads on its thread

        parts = role_arn.split(":")
        if len(parts) < 6:
            return []
        backend = iam_backends[parts[4]][get_partition(self._region)]
        try:
            role = backend.get_role_by_arn(role_arn)
        except Exception:  # moto's NotFoundException: no such role allows nothing
            return []
        documents = list(role.policies.values())
        for policy in role.managed_policies.values():
            version = next((v for v in policy.versions if v.is_default), None)
            if version is not None:
                documents.append(version.document)
        return documents


def evaluate(documents: Iterable[str | dict[str, Any]], action: str, resource: str) -> Decision:
    """Explicit deny wins over any allow; nothing allowed is an implicit deny."""
    from moto.iam.access_control import IAMPolicy, PermissionResult  # noqa: PLC0415 - moto loads on its thread

    allowed = False
    for document in documents:
        statements = _statements(document)
        if not statements:
            continue
        result = IAMPolicy(json.dumps({"Statement": statements})).is_action_permitted(
            action.lower(), resource
        )
        if result == PermissionResult.DENIED:
            return Decision.EXPLICIT_DENY
        allowed = allowed or result == PermissionResult.PERMITTED
    return Decision.ALLOWED if allowed else Decision.IMPLICIT_DENY


def _statements(document: str | dict[str, Any]) -> list[dict[str, Any]]:
    try:
        parsed = json.loads(document) if isinstance(document, str) else document
        raw = parsed.get("Statement", [])
    except (ValueError, AttributeError):
        return []
    listed = raw if isinstance(raw, list) else [raw]
    kept = []
    for statement in listed:
        if isinstance(statement, dict):
            fixed = _statement(statement)
            if fixed is not None:
                kept.append(fixed)
    return kept


def _statement(statement: dict[str, Any]) -> dict[str, Any] | None:
    deny = statement.get("Effect") == "Deny"
    if statement.get("Effect") not in ("Allow", "Deny"):
        return None
    unsure = "Condition" in statement or "NotResource" in statement or "Resource" not in statement
    if unsure and not deny:
        return None
    fixed: dict[str, Any] = {"Effect": statement["Effect"]}
    for key in ("Action", "NotAction"):
        if key in statement:
            fixed[key] = [_pattern(a.lower()) for a in _strings(statement[key])]
    if "Action" not in fixed and "NotAction" not in fixed:
        return None
    # A Deny Hearth cannot scope is taken to cover every resource.
    fixed["Resource"] = ["*"] if unsure else [_pattern(r) for r in _strings(statement["Resource"])]
    return fixed


def _strings(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, list):
        return [v for v in value if isinstance(v, str)]
    return []


def _pattern(iam: str) -> str:
    """IAM's wildcards as the regex moto builds from a pattern (it turns `*` into `.*`)."""
    return "".join("*" if c == "*" else "." if c == "?" else re.escape(c) for c in iam)
