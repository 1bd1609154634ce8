"""Aliases: CreateAlias, GetAlias, UpdateAlias, DeleteAlias, ListAliases.

An alias names one published version (or `$LATEST`) and may send a share of its traffic to
one more published version (weighted routing). The checks follow AWS's order: model
constraints (ValidationException) first, then existence, then the service's own rules.
"""

from __future__ import annotations

import dataclasses
import re
import uuid
from collections.abc import Mapping
from typing import Any

from hearth.arns import LATEST, ArnFormatter, check_alias_name
from hearth.errors import (
    ConstraintViolation,
    ErrorCode,
    LambdaError,
    alias_not_found,
    conflict,
    function_not_found,
    invalid_parameter,
    not_found,
    precondition_failed,
    validation_error,
)
from hearth.models import Alias
from hearth.store.registry import Registry, RegistryTransaction

MAX_DESCRIPTION = 256
# AWS's model pattern for FunctionVersion (`$LATEST.PUBLISHED` passes it, then is not found).
_VERSION_PATTERN = r"(\$LATEST(\.PUBLISHED)?|[0-9]+)"
_VERSION = re.compile(_VERSION_PATTERN)
_ADDITIONAL_VERSION = re.compile(r"[0-9]{1,1024}")
_WEIGHTS_FIELD = "routingConfig.additionalVersionWeights"
_REVISION_MISMATCH = (
    "The Revision Id provided does not match the latest Revision Id. "
    "Call the GetFunction/GetAlias API to retrieve the latest Revision Id"
)


def new_revision_id() -> str:
    return str(uuid.uuid4())


def parse_routing_config(raw: Any) -> dict[str, float] | None:
    """A request's RoutingConfig → its AdditionalVersionWeights; None when it was not sent.

    An empty RoutingConfig or empty weights map gives `{}`, which clears routing on update.
    """
    if raw is None:
        return None
    if not isinstance(raw, Mapping):
        raise validation_error(
            [ConstraintViolation("routingConfig", None, "Member must be a structure")]
        )
    weights = raw.get("AdditionalVersionWeights")
    if weights is None:
        return {}
    if not isinstance(weights, Mapping):
        raise validation_error(
            [ConstraintViolation(_WEIGHTS_FIELD, None, "Member must be a map of string to double")]
        )
    parsed: dict[str, float] = {}
    for key, value in weights.items():
        # bool is an int in Python, but not a number in JSON.
        if not isinstance(key, str) or isinstance(value, bool):
            raise _weights_violation(key, value, "Member must be a map of string to double")
        if not isinstance(value, int | float):
            raise _weights_violation(key, value, "Member must be a map of string to double")
        parsed[key] = float(value)
    return parsed


def check_description(value: Any) -> str:
    if not isinstance(value, str):
        raise validation_error(
            [ConstraintViolation("description", value, "Member must be a string")]
        )
    if len(value) > MAX_DESCRIPTION:
        raise validation_error(
            [
                ConstraintViolation(
                    "description",
                    value,
                    f"Member must have length less than or equal to {MAX_DESCRIPTION}",
                )
            ]
        )
    return value


def check_function_version(value: Any, field: str = "functionVersion") -> str:
    if not isinstance(value, str) or not _VERSION.fullmatch(value) or len(value) > 1024:
        raise validation_error(
            [
                ConstraintViolation(
                    field,
                    value,
                    f"Member must satisfy regular expression pattern: {_VERSION_PATTERN}",
                )
            ]
        )
    return value


def _weights_violation(key: object, value: object, constraint: str) -> LambdaError:
    # AWS prints the offending entry the way Java prints a map: {2=1.5}.
    return validation_error([ConstraintViolation(_WEIGHTS_FIELD, f"{{{key}={value}}}", constraint)])


class Aliases:
    def __init__(self, registry: Registry, arns: ArnFormatter) -> None:
        self._registry = registry
        self._arns = arns

    # Reading ---------------------------------------------------------------------------
    def get(self, function_name: str, name: str) -> Alias:
        check_alias_name(name)
        with self._registry.transaction() as tx:
            return self._existing(tx, function_name, name)

    def list(self, function_name: str, function_version: str | None = None) -> list[Alias]:
        """Sorted by name; with `function_version`, only aliases whose primary version it is."""
        if function_version is not None:
            check_function_version(function_version)
        with self._registry.transaction() as tx:
            self._require_function(tx, function_name)
            aliases = tx.list_aliases(function_name)
        if function_version is None:
            return aliases
        return [a for a in aliases if a.function_version == function_version]

    # Changing ----------------------------------------------------------------------------
    def create(
        self,
        function_name: str,
        name: str,
        function_version: str,
        *,
        description: str = "",
        routing_weights: Mapping[str, float] | None = None,
    ) -> Alias:
        check_alias_name(name)
        check_function_version(function_version)
        check_description(description)
        weights = _check_weights_shape(routing_weights or {})
        with self._registry.transaction() as tx:
            # No function, no version: AWS names the version it looked for (recorded).
            self._require_version(tx, function_name, function_version)
            if tx.get_alias(function_name, name) is not None:
                raise conflict(f"Alias already exists: {self._arns.function(function_name, name)}")
            self._check_routing(tx, function_name, function_version, weights)
            alias = Alias(
                function_name=function_name,
                name=name,
                function_version=function_version,
                revision_id=new_revision_id(),
                description=description,
                routing_weights=weights,
            )
            tx.put_alias(alias)
        return alias

    def update(
        self,
        function_name: str,
        name: str,
        *,
        function_version: str | None = None,
        description: str | None = None,
        routing_weights: Mapping[str, float] | None = None,
        revision_id: str | None = None,
    ) -> Alias:
        """Change what is given; `routing_weights={}` clears routing, None keeps it."""
        check_alias_name(name)
        if function_version is not None:
            check_function_version(function_version)
        if description is not None:
            check_description(description)
        weights = None if routing_weights is None else _check_weights_shape(routing_weights)
        with self._registry.transaction() as tx:
            self._require_function(tx, function_name)
            alias = tx.get_alias(function_name, name)
            if alias is None:
                # UpdateAlias words it differently from GetAlias (AWS's recorded answer).
                raise not_found(f"Alias not found: {self._arns.function(function_name, name)}")
            if revision_id and revision_id != alias.revision_id:
                raise precondition_failed(_REVISION_MISMATCH)
            primary = alias.function_version if function_version is None else function_version
            if function_version is not None:
                self._require_version(tx, function_name, function_version)
            routing = alias.routing_weights if weights is None else weights
            # A new primary is checked against the routing it keeps, too.
            self._check_routing(tx, function_name, primary, routing)
            # Every update gets a new RevisionId, even one that changes nothing (as on AWS).
            updated = dataclasses.replace(
                alias,
                function_version=primary,
                description=alias.description if description is None else description,
                routing_weights=dict(routing),
                revision_id=new_revision_id(),
            )
            tx.put_alias(updated)
        return updated

    def delete(self, function_name: str, name: str) -> None:
        """Remove the alias and the resource policy attached to it. A missing alias is
        not an error (AWS answers 204)."""
        check_alias_name(name)
        with self._registry.transaction() as tx:
            self._require_function(tx, function_name)
            if tx.get_alias(function_name, name) is None:
                return
            tx.delete_alias(function_name, name)
            record = tx.get_function(function_name)
            if record is not None:
                tx.put_function(record.without_qualifier(name))

    # Helpers -----------------------------------------------------------------------------
    def _require_function(self, tx: RegistryTransaction, function_name: str) -> None:
        if tx.get_function(function_name) is None:
            raise function_not_found(self._arns.function(function_name))

    def _require_version(self, tx: RegistryTransaction, function_name: str, version: str) -> None:
        if tx.get_version(function_name, version) is None:
            raise function_not_found(self._arns.function(function_name, version))

    def _existing(self, tx: RegistryTransaction, function_name: str, name: str) -> Alias:
        self._require_function(tx, function_name)
        alias = tx.get_alias(function_name, name)
        if alias is None:
            # AWS's wording for GetAlias/UpdateAlias/DeleteAlias on a missing alias.
            raise alias_not_found(self._arns.function(function_name, name))
        return alias

    def _check_routing(
        self,
        tx: RegistryTransaction,
        function_name: str,
        primary: str,
        weights: Mapping[str, float],
    ) -> None:
        """AWS's service rules for weighted routing (the model rules ran before)."""
        for version in weights:
            if version == primary:
                raise invalid_parameter(
                    f"Invalid function version {primary}. Function version {primary} is "
                    "already included in routing configuration."
                )
            if primary == LATEST:
                # AWS sends this one without a "Type" (recorded).
                raise LambdaError(
                    ErrorCode.INVALID_PARAMETER_VALUE,
                    400,
                    "$LATEST is not supported for an alias pointing to more than 1 version",
                    error_type=None,
                )
            self._require_version(tx, function_name, version)


def _check_weights_shape(weights: Mapping[str, float]) -> dict[str, float]:
    """The model's constraints on AdditionalVersionWeights, and AWS's one-version limit."""
    for key, value in weights.items():
        if not _ADDITIONAL_VERSION.fullmatch(key):
            raise _weights_violation(
                key,
                value,
                "Map keys must satisfy constraint: [Member must have length less than or equal "
                "to 1024, Member must have length greater than or equal to 1, Member must "
                "satisfy regular expression pattern: [0-9]+]",
            )
        if not 0.0 <= value <= 1.0:
            raise _weights_violation(
                key,
                value,
                "Map value must satisfy constraint: [Member must have value less than or equal "
                "to 1.0, Member must have value greater than or equal to 0.0]",
            )
    if len(weights) > 1:
        raise invalid_parameter(
            "Number of items in AdditionalVersionWeights cannot be greater than 1"
        )
    return dict(weights)
