"""Function URLs: Create/Get/Update/Delete/ListFunctionUrlConfig(s), with AWS's validation.

A URL belongs to the unqualified function or to one alias (never a version or `$LATEST`).
Its id is random and never changes; the address clients call is rendered from it at the API
edge, since only the edge knows the host and port Hearth answers on.
"""

from __future__ import annotations

import dataclasses
import re
import secrets
import string
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from hearth.arns import ArnFormatter, FunctionRef
from hearth.errors import (
    ConstraintViolation,
    conflict,
    invalid_request_content,
    not_found,
    validation_error,
)
from hearth.models import FunctionUrlConfig
from hearth.store.registry import Registry, RegistryTransaction

AUTH_TYPES = ("AWS_IAM", "NONE")
# In the order AWS's messages list them.
INVOKE_MODES = ("RESPONSE_STREAM", "BUFFERED")
_URL_ID_ALPHABET = string.ascii_lowercase + string.digits

_FUNCTION_MISSING = "Function does not exist"
_URL_MISSING = "The resource you requested does not exist."
_QUALIFIER_PATTERN = r"((?!^\d+$)^[0-9a-zA-Z-_]+$)"
_QUALIFIER = re.compile(r"(?!\d+$)[0-9a-zA-Z_-]{1,128}")


def url_timestamp(moment: datetime | None = None) -> str:
    """CreationTime / LastModifiedTime: ISO-8601 with microseconds, in UTC."""
    moment = moment or datetime.now(UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def check_url_qualifier(value: str) -> str:
    """A URL's qualifier is an alias name: not a version number, not `$LATEST`."""
    if _QUALIFIER.fullmatch(value) is None:
        raise validation_error(
            [
                ConstraintViolation(
                    "qualifier",
                    value,
                    f"Member must satisfy regular expression pattern: {_QUALIFIER_PATTERN}",
                )
            ]
        )
    return value


# Validation ---------------------------------------------------------------------------------


def _enum(fields: Mapping[str, Any], key: str, field: str, allowed: tuple[str, ...]) -> str | None:
    value = fields.get(key)
    if value is None:
        return None
    if value not in allowed:
        raise validation_error(
            [
                ConstraintViolation(
                    field, value, f"Member must satisfy enum value set: [{', '.join(allowed)}]"
                )
            ]
        )
    return str(value)


def _string_list(
    cors: Mapping[str, Any], key: str, max_items: int, member_max: int, member_min: int
) -> list[ConstraintViolation]:
    value = cors.get(key)
    field = f"cors.{key[0].lower()}{key[1:]}"
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise invalid_request_content(
            f"Could not parse request body into json: {key} must be a list of strings"
        )
    violations = []
    if len(value) > max_items:
        violations.append(
            ConstraintViolation(
                field, value, f"Member must have length less than or equal to {max_items}"
            )
        )
    if any(not member_min <= len(v) <= member_max for v in value):
        shown = "[" + ", ".join(value) + "]"
        violations.append(
            ConstraintViolation(
                field,
                shown,
                "Member must satisfy constraint: ["
                f"Member must have length less than or equal to {member_max}, "
                f"Member must have length greater than or equal to {member_min}, "
                "Member must satisfy regular expression pattern: .*]",
            )
        )
    return violations


def parse_cors(value: Any) -> dict[str, Any] | None:
    """AWS's Cors shape, checked against the model's constraints; kept as given."""
    if value is None:
        return None
    if not isinstance(value, dict):
        raise invalid_request_content(
            "Could not parse request body into json: Cors must be an object"
        )
    known = {
        "AllowCredentials",
        "AllowHeaders",
        "AllowMethods",
        "AllowOrigins",
        "ExposeHeaders",
        "MaxAge",
    }
    violations: list[ConstraintViolation] = []
    violations += _string_list(value, "AllowHeaders", 100, 1024, 0)
    violations += _string_list(value, "AllowMethods", 6, 6, 0)
    violations += _string_list(value, "AllowOrigins", 100, 253, 1)
    violations += _string_list(value, "ExposeHeaders", 100, 1024, 0)
    credentials = value.get("AllowCredentials")
    if credentials is not None and not isinstance(credentials, bool):
        raise invalid_request_content(
            "Could not parse request body into json: AllowCredentials must be a boolean"
        )
    max_age = value.get("MaxAge")
    if max_age is not None:
        if isinstance(max_age, bool) or not isinstance(max_age, int):
            raise invalid_request_content(
                "Could not parse request body into json: MaxAge must be an integer"
            )
        if max_age > 86400:
            violations.append(
                ConstraintViolation(
                    "cors.maxAge", max_age, "Member must have value less than or equal to 86400"
                )
            )
        if max_age < 0:
            violations.append(
                ConstraintViolation(
                    "cors.maxAge", max_age, "Member must have value greater than or equal to 0"
                )
            )
    if violations:
        raise validation_error(violations)
    return {k: v for k, v in value.items() if k in known}


@dataclasses.dataclass(frozen=True)
class UrlChanges:
    """What a Create or Update asks for; None: not given."""

    auth_type: str | None
    invoke_mode: str | None
    cors: dict[str, Any] | None
    cors_given: bool


def parse_changes(fields: Mapping[str, Any], *, creating: bool) -> UrlChanges:
    auth_type = _enum(fields, "AuthType", "authType", AUTH_TYPES)
    if creating and auth_type is None:
        raise validation_error([ConstraintViolation("authType", None, "Member must not be null")])
    return UrlChanges(
        auth_type=auth_type,
        invoke_mode=_enum(fields, "InvokeMode", "invokeMode", INVOKE_MODES),
        cors=parse_cors(fields.get("Cors")),
        cors_given="Cors" in fields,
    )


# The service ----------------------------------------------------------------------------------


class FunctionUrls:
    def __init__(self, registry: Registry, arns: ArnFormatter) -> None:
        self._registry = registry
        self._arns = arns

    def _key(self, tx: RegistryTransaction, ref: FunctionRef, missing: str) -> str:
        """The qualifier key of a URL request ("" unqualified); the function and alias must
        exist, else ResourceNotFoundException with `missing` as its message."""
        if tx.get_function(ref.name) is None:
            raise not_found(missing)
        qualifier = ref.qualifier or ""
        if qualifier and tx.get_alias(ref.name, qualifier) is None:
            raise not_found(missing)
        return qualifier

    def create(self, ref: FunctionRef, fields: Mapping[str, Any]) -> FunctionUrlConfig:
        changes = parse_changes(fields, creating=True)
        assert changes.auth_type is not None  # required: parse_changes checked
        now = url_timestamp()
        with self._registry.transaction() as tx:
            qualifier = self._key(tx, ref, _FUNCTION_MISSING)
            if tx.get_function_url(ref.name, qualifier) is not None:
                arn = self._arns.function(ref.name, qualifier or None)
                raise conflict(
                    f"Failed to create function url config for [functionArn = {arn}]. "
                    "Error message:  FunctionUrlConfig exists for this Lambda function"
                )
            url_id = self._new_url_id(tx)
            config = FunctionUrlConfig(
                url_id=url_id,
                function_name=ref.name,
                qualifier=qualifier,
                auth_type=changes.auth_type,
                creation_time=now,
                last_modified_time=now,
                invoke_mode=changes.invoke_mode or "BUFFERED",
                invoke_mode_set=changes.invoke_mode is not None,
                cors=changes.cors,
            )
            tx.put_function_url(config)
        return config

    def get(self, ref: FunctionRef) -> FunctionUrlConfig:
        with self._registry.transaction() as tx:
            qualifier = self._key(tx, ref, _URL_MISSING)
            config = tx.get_function_url(ref.name, qualifier)
        if config is None:
            raise not_found(_URL_MISSING)
        return config

    def update(self, ref: FunctionRef, fields: Mapping[str, Any]) -> FunctionUrlConfig:
        changes = parse_changes(fields, creating=False)
        with self._registry.transaction() as tx:
            qualifier = self._key(tx, ref, _FUNCTION_MISSING)
            current = tx.get_function_url(ref.name, qualifier)
            if current is None:
                raise not_found(_URL_MISSING)
            config = dataclasses.replace(
                current,
                auth_type=changes.auth_type or current.auth_type,
                invoke_mode=changes.invoke_mode or current.invoke_mode,
                invoke_mode_set=current.invoke_mode_set or changes.invoke_mode is not None,
                cors=changes.cors if changes.cors_given else current.cors,
                last_modified_time=url_timestamp(),
            )
            tx.put_function_url(config)
        return config

    def delete(self, ref: FunctionRef) -> None:
        with self._registry.transaction() as tx:
            qualifier = self._key(tx, ref, _URL_MISSING)
            if tx.get_function_url(ref.name, qualifier) is None:
                raise not_found(_URL_MISSING)
            tx.delete_function_url(ref.name, qualifier)

    def list(self, function_name: str) -> list[FunctionUrlConfig]:
        with self._registry.transaction() as tx:
            if tx.get_function(function_name) is None:
                raise not_found(_FUNCTION_MISSING)
            return tx.list_function_urls(function_name)

    @staticmethod
    def _new_url_id(tx: RegistryTransaction) -> str:
        while True:  # 36^32 ids: a collision is a curiosity, but a silent one would be a bug
            url_id = "".join(secrets.choice(_URL_ID_ALPHABET) for _ in range(32))
            if tx.find_function_url(url_id) is None:
                return url_id
