"""Resource-based policies: AddPermission, GetPolicy, RemovePermission.

Each qualifier (the unqualified function, a version, an alias) has its own policy, kept in
`FunctionRecord.policies` under the qualifier ("" for the unqualified function). Statements are
built the way AWS builds them, so `GetPolicy` returns what a client would see on AWS.
"""

from __future__ import annotations

import dataclasses
import fnmatch
import json
import re
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from hearth.arns import LATEST, ArnFormatter, FunctionRef, is_version
from hearth.control.targets import existing_target
from hearth.errors import (
    ConstraintViolation,
    LambdaError,
    conflict,
    invalid_parameter,
    not_found,
    precondition_failed,
    validation_error,
)
from hearth.models import FunctionRecord, FunctionVersion, Policy, PolicyStatement
from hearth.store.registry import Registry, RegistryTransaction

POLICY_VERSION = "2012-10-17"
# AWS's limit on one function policy (the JSON document), in bytes.
MAX_POLICY_BYTES = 20_480
# AWS names GetPolicy while the resource has no policy yet, GetFunction/GetAlias after.
_NO_POLICY_REVISION_MISMATCH = (
    "The Revision Id provided does not match the latest Revision Id. "
    "Call the GetPolicy API to retrieve the latest Revision Id"
)
_REVISION_MISMATCH = (
    "The Revision Id provided does not match the latest Revision Id. "
    "Call the GetFunction/GetAlias API to retrieve the latest Revision Id"
)
_NO_POLICY = "The resource you requested does not exist."

# AWS's model patterns (botocore lambda/2015-03-31), as its messages quote them.
_STATEMENT_ID_PATTERN = r"([a-zA-Z0-9-_.]+)"
_ACTION_PATTERN = r"(lambda:[*]|lambda:[a-zA-Z]+|[*])"
_PRINCIPAL_PATTERN = r"[^\s]+"
_SOURCE_ARN_PATTERN = (
    r"arn:(aws[a-zA-Z0-9-]*):([a-zA-Z0-9\-])+:((eusc-)?[a-z]{2}((-gov)|(-iso([a-z]?)))?"
    r"-[a-z]+-\d{1})?:(\d{12})?:(.*)"
)
_SOURCE_ACCOUNT_PATTERN = r"\d{12}"
_EVENT_SOURCE_TOKEN_PATTERN = r"[a-zA-Z0-9._\-]+"  # noqa: S105 - a pattern, not a secret
_ORG_ID_PATTERN = r"o-[a-z0-9]{10,32}"
_AUTH_TYPES = ("NONE", "AWS_IAM")

_ACCOUNT_ID = re.compile(r"\d{12}")


@dataclass(frozen=True)
class PolicyView:
    """GetPolicy's answer: the policy document and its revision."""

    document: dict[str, Any]
    revision_id: str


@dataclass(frozen=True)
class _Permission:
    statement_id: str
    action: str
    principal: str
    source_arn: str | None
    source_account: str | None
    event_source_token: str | None
    principal_org_id: str | None
    function_url_auth_type: str | None
    invoked_via_function_url: bool | None
    revision_id: str | None


def new_revision_id() -> str:
    return str(uuid.uuid4())


def check_statement_id(value: Any, violations: list[ConstraintViolation] | None = None) -> str:
    """StatementId: 1-100 of [a-zA-Z0-9-_.]. Appends to `violations` if given, else raises."""
    found: list[ConstraintViolation] = []
    if value is None:
        found.append(ConstraintViolation("statementId", None, "Member must not be null"))
    elif not isinstance(value, str):
        found.append(ConstraintViolation("statementId", value, "Member must be a string"))
    else:
        if len(value) > 100:
            found.append(
                ConstraintViolation(
                    "statementId", value, "Member must have length less than or equal to 100"
                )
            )
        if not re.fullmatch(_STATEMENT_ID_PATTERN, value):
            found.append(_pattern_violation("statementId", value, _STATEMENT_ID_PATTERN))
    if violations is not None:
        violations.extend(found)
    elif found:
        raise validation_error(found)
    return value if isinstance(value, str) else ""


def _pattern_violation(field: str, value: object, pattern: str) -> ConstraintViolation:
    return ConstraintViolation(
        field, value, f"Member must satisfy regular expression pattern: {pattern}"
    )


def _parse_permission(fields: Mapping[str, Any]) -> _Permission:
    """Check AddPermission's body against the model; every violation is reported at once."""
    violations: list[ConstraintViolation] = []

    def text(key: str, pattern: str | None, max_length: int, required: bool = False) -> str | None:
        field = key[0].lower() + key[1:]
        value = fields.get(key)
        if value is None:
            if required:
                violations.append(ConstraintViolation(field, None, "Member must not be null"))
            return None
        if not isinstance(value, str):
            violations.append(ConstraintViolation(field, value, "Member must be a string"))
            return None
        if len(value) > max_length:
            violations.append(
                ConstraintViolation(
                    field, value, f"Member must have length less than or equal to {max_length}"
                )
            )
        if pattern is not None and not re.fullmatch(pattern, value):
            violations.append(_pattern_violation(field, value, pattern))
        return value

    statement_id = check_statement_id(fields.get("StatementId"), violations)
    action = text("Action", _ACTION_PATTERN, 10_000, required=True)
    principal = text("Principal", _PRINCIPAL_PATTERN, 2048, required=True)
    source_arn = text("SourceArn", _SOURCE_ARN_PATTERN, 10_000)
    source_account = text("SourceAccount", _SOURCE_ACCOUNT_PATTERN, 12)
    token = text("EventSourceToken", _EVENT_SOURCE_TOKEN_PATTERN, 256)
    org_id = text("PrincipalOrgID", _ORG_ID_PATTERN, 34)
    auth_type = text("FunctionUrlAuthType", None, 16)
    if auth_type is not None and auth_type not in _AUTH_TYPES:
        violations.append(
            ConstraintViolation(
                "functionUrlAuthType",
                auth_type,
                f"Member must satisfy enum value set: [{', '.join(_AUTH_TYPES)}]",
            )
        )
    via_url = fields.get("InvokedViaFunctionUrl")
    if via_url is not None and not isinstance(via_url, bool):
        violations.append(
            ConstraintViolation("invokedViaFunctionUrl", via_url, "Member must be a boolean")
        )
    revision_id = text("RevisionId", None, 1024)
    if violations:
        raise validation_error(violations)
    assert action is not None and principal is not None  # required: checked above
    return _Permission(
        statement_id=statement_id,
        action=action,
        principal=principal,
        source_arn=source_arn,
        source_account=source_account,
        event_source_token=token,
        principal_org_id=org_id,
        function_url_auth_type=auth_type,
        invoked_via_function_url=via_url,
        revision_id=revision_id or None,
    )


def statement_principal(principal: str) -> str | dict[str, str]:
    """A Principal parameter as AWS writes it into the statement."""
    if principal == "*":
        return "*"
    if ".amazonaws.com" in principal or principal.endswith(".amazon.com"):
        return {"Service": principal}
    if _ACCOUNT_ID.fullmatch(principal):
        return {"AWS": f"arn:aws:iam::{principal}:root"}
    if principal.startswith("arn:"):
        return {"AWS": principal}
    raise invalid_parameter(
        "The provided principal was invalid. Please check the principal and try again."
    )


def _build_statement(permission: _Permission, resource: str) -> dict[str, Any]:
    statement: dict[str, Any] = {
        "Sid": permission.statement_id,
        "Effect": "Allow",
        "Principal": statement_principal(permission.principal),
        "Action": permission.action,
        "Resource": resource,
    }
    # Keys under the same operator share one block, as in AWS's statements.
    condition: dict[str, dict[str, str]] = {}
    string_equals = (
        ("AWS:SourceAccount", permission.source_account),
        ("aws:PrincipalOrgID", permission.principal_org_id),
        ("lambda:FunctionUrlAuthType", permission.function_url_auth_type),
        ("lambda:EventSourceToken", permission.event_source_token),
    )
    for key, value in string_equals:
        if value is not None:
            condition.setdefault("StringEquals", {})[key] = value
    if permission.source_arn is not None:
        condition.setdefault("ArnLike", {})["AWS:SourceArn"] = permission.source_arn
    if permission.invoked_via_function_url:
        condition.setdefault("Bool", {})["lambda:InvokedViaFunctionUrl"] = "true"
    if condition:
        statement["Condition"] = condition
    return statement


def statement_allows(
    statement: Mapping[str, Any], service: str, source_arn: str, source_account: str
) -> bool:
    """An Allow statement for lambda:InvokeFunction to `service`, whose conditions hold."""
    principal = statement.get("Principal")
    if statement.get("Effect") != "Allow":
        return False
    if principal != "*" and not (
        isinstance(principal, dict) and principal.get("Service") == service
    ):
        return False
    if statement.get("Action") not in ("lambda:InvokeFunction", "lambda:*"):
        return False
    condition = statement.get("Condition", {})
    wanted_arn = condition.get("ArnLike", {}).get("AWS:SourceArn")
    if wanted_arn is not None and not fnmatch.fnmatchcase(source_arn, wanted_arn):
        return False
    wanted_account = condition.get("StringEquals", {}).get("AWS:SourceAccount")
    return wanted_account is None or wanted_account == source_account


def policy_document(policy: Policy) -> dict[str, Any]:
    return {
        "Version": POLICY_VERSION,
        "Id": "default",
        "Statement": [s.statement for s in policy.statements],
    }


def policy_json(document: Mapping[str, Any]) -> str:
    """Compact JSON, as AWS sends policies and statements."""
    return json.dumps(document, separators=(",", ":"))


class Policies:
    def __init__(self, registry: Registry, arns: ArnFormatter) -> None:
        self._registry = registry
        self._arns = arns

    def add_permission(self, ref: FunctionRef, fields: Mapping[str, Any]) -> dict[str, Any]:
        """Add one statement; returns it as AWS's AddPermission does."""
        permission = _parse_permission(fields)
        if ref.qualifier == LATEST:
            raise invalid_parameter("We currently do not support adding policies for $LATEST.")
        with self._registry.transaction() as tx:
            record, key = self._resolve(tx, ref)
            current = record.policies.get(key)
            version = _version_of(tx, ref.name, key)
            expected = _revision(version, current)
            if permission.revision_id and expected and permission.revision_id != expected:
                raise precondition_failed(
                    _REVISION_MISMATCH if current else _NO_POLICY_REVISION_MISMATCH
                )
            statements = current.statements if current else ()
            if any(s.sid == permission.statement_id for s in statements):
                raise conflict(
                    f"The statement id ({permission.statement_id}) provided already exists. "
                    "Please provide a new statement id, or remove the existing statement."
                )
            statement = _build_statement(permission, self._arns.function(ref.name, key or None))
            policy = Policy(
                statements=(*statements, PolicyStatement(permission.statement_id, statement)),
                revision_id=new_revision_id(),
            )
            size = len(policy_json(policy_document(policy)).encode())
            if size > MAX_POLICY_BYTES:
                raise LambdaError(
                    "PolicyLengthExceededException",
                    400,
                    f"The final policy size ({size}) is bigger than the limit "
                    f"({MAX_POLICY_BYTES}).",
                )
            tx.put_function(_with_policy(record, key, policy))
            _move_revision(tx, version, policy.revision_id)
        return statement

    def get_policy(self, ref: FunctionRef) -> PolicyView:
        with self._registry.transaction() as tx:
            try:
                record, key = self._resolve(tx, ref)
            except LambdaError as error:
                # AWS says no more for a function or version that is not there (recorded).
                if error.status == 404:
                    raise not_found(_NO_POLICY) from None
                raise
            policy = record.policies.get(key)
            version = _version_of(tx, ref.name, key)
        if policy is None or not policy.statements:
            raise not_found(_NO_POLICY)
        return PolicyView(policy_document(policy), _revision(version, policy) or "")

    def allows_service(
        self, ref: FunctionRef, service: str, source_arn: str, source_account: str
    ) -> bool:
        """Whether the function's resource policy lets `service` (e.g. s3.amazonaws.com)
        invoke it on behalf of `source_arn` / `source_account`. False if it does not exist."""
        try:
            view = self.get_policy(ref)
        except LambdaError:
            return False
        return any(
            statement_allows(statement, service, source_arn, source_account)
            for statement in view.document["Statement"]
        )

    def remove_permission(
        self, ref: FunctionRef, statement_id: str, revision_id: str | None = None
    ) -> None:
        check_statement_id(statement_id)
        with self._registry.transaction() as tx:
            if tx.get_function(ref.name) is None:
                raise not_found(f"No policy found for: {self._arns.function(ref.name)}")
            record, key = self._resolve(tx, ref)
            policy = record.policies.get(key)
            if policy is None:
                raise not_found("No policy is associated with the given resource.")
            kept = tuple(s for s in policy.statements if s.sid != statement_id)
            if len(kept) == len(policy.statements):
                raise not_found(f"Statement {statement_id} is not found in resource policy.")
            version = _version_of(tx, ref.name, key)
            if revision_id and revision_id != _revision(version, policy):
                raise precondition_failed(_REVISION_MISMATCH)
            # The last statement takes the policy with it: GetPolicy then finds nothing.
            revision = new_revision_id()
            remaining = Policy(kept, revision) if kept else None
            tx.put_function(_with_policy(record, key, remaining))
            _move_revision(tx, version, revision)

    # Helpers -----------------------------------------------------------------------------
    def _resolve(self, tx: RegistryTransaction, ref: FunctionRef) -> tuple[FunctionRecord, str]:
        """The function and the policies key a reference names; the qualifier must exist."""
        record = existing_target(tx, self._arns, ref)
        # $LATEST's policy is the unqualified function's.
        key = "" if ref.qualifier is None or ref.qualifier == LATEST else ref.qualifier
        return record, key


def _version_of(tx: RegistryTransaction, name: str, key: str) -> FunctionVersion | None:
    """The version whose RevisionId a policy shares ($LATEST's for the function's own);
    an alias's policy keeps a revision of its own."""
    qualifier = key or LATEST
    return tx.get_version(name, qualifier) if is_version(qualifier) else None


def _revision(version: FunctionVersion | None, policy: Policy | None) -> str | None:
    if version is not None:
        return version.reported_revision
    return policy.revision_id if policy is not None else None


def _move_revision(tx: RegistryTransaction, version: FunctionVersion | None, revision: str) -> None:
    """AWS gives the function (or version) a new RevisionId with every permission change."""
    if version is not None:
        tx.put_version(dataclasses.replace(version, public_revision=revision))


def _with_policy(record: FunctionRecord, key: str, policy: Policy | None) -> FunctionRecord:
    policies = {k: v for k, v in record.policies.items() if k != key}
    if policy is not None:
        policies[key] = policy
    return dataclasses.replace(record, policies=policies)
