"""Layer version permissions: AddLayerVersionPermission, GetLayerVersionPolicy,
RemoveLayerVersionPermission, with AWS's statements, RevisionIds and errors.

Hearth serves one account, so a permission is recorded and reported but grants nothing.
"""

from __future__ import annotations

import dataclasses
import re
import uuid
from collections.abc import Mapping
from typing import Any

from hearth.arns import ArnFormatter
from hearth.errors import (
    ConstraintViolation,
    conflict,
    not_found,
    precondition_failed,
    validation_error,
)
from hearth.models import LayerVersion
from hearth.store.registry import Registry, RegistryTransaction

_STATEMENT_ID = re.compile(r"([a-zA-Z0-9-_]+)")
_PRINCIPAL = re.compile(r"\d{12}|\*|arn:(aws[a-zA-Z-]*):iam::\d{12}:root")
_ORGANIZATION = re.compile(r"o-[a-z0-9]{10,32}")
_REVISION_MISMATCH = (
    "The Revision Id provided does not match the latest Revision Id. "
    "Call the GetLayerPolicy API to retrieve the latest Revision Id"
)


class LayerPolicies:
    def __init__(self, registry: Registry, arns: ArnFormatter) -> None:
        self._registry = registry
        self._arns = arns

    def add(self, name: str, number: int, body: Mapping[str, Any]) -> tuple[dict[str, Any], str]:
        """Add one statement; returns it and the policy's new RevisionId."""
        statement_id, action, principal = _checked(body)
        with self._registry.transaction() as tx:
            layer = self._existing(tx, name, number)
            revision = body.get("RevisionId")
            if revision and revision != layer.policy_revision:
                raise precondition_failed(_REVISION_MISMATCH)
            if any(s["Sid"] == statement_id for s in layer.policy_statements):
                raise conflict(
                    f"The statement id ({statement_id}) provided already exists. Please provide "
                    "a new statement id, or remove the existing statement."
                )
            statement: dict[str, Any] = {
                "Sid": statement_id,
                "Effect": "Allow",
                "Principal": principal if principal == "*" else {"AWS": _root_arn(principal)},
                "Action": action,
                "Resource": self._arns.layer_version(name, number),
            }
            organization = body.get("OrganizationId")
            if organization:
                statement["Condition"] = {"StringEquals": {"aws:PrincipalOrgID": organization}}
            new_revision = str(uuid.uuid4())
            tx.put_layer_version(
                dataclasses.replace(
                    layer,
                    policy_statements=(*layer.policy_statements, statement),
                    policy_revision=new_revision,
                )
            )
        return statement, new_revision

    def get(self, name: str, number: int) -> tuple[dict[str, Any], str]:
        with self._registry.transaction() as tx:
            layer = self._existing(tx, name, number)
        if not layer.policy_statements or layer.policy_revision is None:
            raise not_found("No policy is associated with the given resource.")
        document = {"Version": "2012-10-17", "Id": "default"}
        return {**document, "Statement": list(layer.policy_statements)}, layer.policy_revision

    def remove(self, name: str, number: int, statement_id: str, revision: str | None) -> None:
        with self._registry.transaction() as tx:
            layer = self._existing(tx, name, number)
            kept = tuple(s for s in layer.policy_statements if s["Sid"] != statement_id)
            if len(kept) == len(layer.policy_statements):
                raise not_found(f"Statement {statement_id} is not found in resource policy.")
            if revision and revision != layer.policy_revision:
                raise precondition_failed(_REVISION_MISMATCH)
            tx.put_layer_version(
                dataclasses.replace(
                    layer,
                    policy_statements=kept,
                    policy_revision=str(uuid.uuid4()) if kept else None,
                )
            )

    def _existing(self, tx: RegistryTransaction, name: str, number: int) -> LayerVersion:
        layer = tx.get_layer_version(name, number)
        if layer is None:
            arn = self._arns.layer_version(name, number)
            raise not_found(f"Layer version {arn} does not exist.")
        return layer


def _checked(body: Mapping[str, Any]) -> tuple[str, str, str]:
    violations: list[ConstraintViolation] = []
    statement_id = body.get("StatementId")
    action = body.get("Action")
    principal = body.get("Principal")
    if not isinstance(statement_id, str) or not _STATEMENT_ID.fullmatch(statement_id):
        violations.append(
            ConstraintViolation(
                "statementId",
                statement_id,
                "Member must satisfy regular expression pattern: ([a-zA-Z0-9-_]+)",
            )
        )
    if action != "lambda:GetLayerVersion":
        violations.append(
            ConstraintViolation(
                "action",
                action,
                "Member must satisfy regular expression pattern: lambda:GetLayerVersion",
            )
        )
    if not isinstance(principal, str) or not _PRINCIPAL.fullmatch(principal):
        violations.append(
            ConstraintViolation(
                "principal",
                principal,
                "Member must satisfy regular expression pattern: "
                "\\d{12}|\\*|arn:(aws[a-zA-Z-]*):iam::\\d{12}:root",
            )
        )
    organization = body.get("OrganizationId")
    if organization is not None and (
        not isinstance(organization, str) or not _ORGANIZATION.fullmatch(organization)
    ):
        violations.append(
            ConstraintViolation(
                "organizationId",
                organization,
                "Member must satisfy regular expression pattern: o-[a-z0-9]{10,32}",
            )
        )
    if violations:
        raise validation_error(violations)
    assert isinstance(statement_id, str) and isinstance(action, str) and isinstance(principal, str)
    return statement_id, action, principal


def _root_arn(principal: str) -> str:
    return principal if principal.startswith("arn:") else f"arn:aws:iam::{principal}:root"
