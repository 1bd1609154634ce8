"""Put/Get/Delete/ListProvisionedConcurrencyConfig(s): what is requested, with AWS's checks.

A config attaches to a published version or an alias (never $LATEST) and is stored in
`FunctionRecord.provisioned_concurrency` under that qualifier. It counts against the
function's reservation when it has one, otherwise against the account's unreserved pool,
which keeps at least its minimum (see account.py). The environments themselves are the
provisioner's business; their progress is asked of it when a config is shown.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass

from hearth.arns import LATEST, ArnFormatter, FunctionRef, is_version
from hearth.control.account import min_unreserved, unreserved_concurrency
from hearth.control.targets import existing_target
from hearth.errors import (
    ConstraintViolation,
    ErrorCode,
    LambdaError,
    conflict,
    invalid_parameter,
    validation_error,
)
from hearth.invoke.types import Progress, ProvisionedStatus
from hearth.models import FunctionRecord, ProvisionedConcurrency, aws_timestamp
from hearth.store.qualifiers import version_of
from hearth.store.registry import Registry, RegistryTransaction

# (function, version, the config's LastModified) → how far its environments have come.
ProgressOf = Callable[[str, str, str], Progress]


def _config_not_found() -> LambdaError:
    return LambdaError(
        "ProvisionedConcurrencyConfigNotFoundException",
        404,
        "No Provisioned Concurrency Config found for this function",
    )


def _qualifier_required(ref: FunctionRef) -> str:
    if ref.qualifier is None:
        raise validation_error([ConstraintViolation("qualifier", None, "Member must not be null")])
    return ref.qualifier


def check_requested(value: object) -> int:
    if value is None:
        raise validation_error(
            [
                ConstraintViolation(
                    "provisionedConcurrentExecutions", None, "Member must not be null"
                )
            ]
        )
    if not isinstance(value, int) or isinstance(value, bool) or value < 1:
        raise validation_error(
            [
                ConstraintViolation(
                    "provisionedConcurrentExecutions",
                    value,
                    "Member must have value greater than or equal to 1",
                )
            ]
        )
    return value


@dataclass(frozen=True)
class ProvisionedView:
    """One config and how far it has come (rendered by hearth.api.shapes)."""

    function_name: str
    qualifier: str
    config: ProvisionedConcurrency
    # None when the alias the config is on no longer names a version.
    progress: Progress | None


class ProvisionedConfigs:
    def __init__(
        self, registry: Registry, arns: ArnFormatter, account_limit: int, progress: ProgressOf
    ) -> None:
        self._registry = registry
        self._arns = arns
        self._limit = account_limit
        self._progress = progress

    def put(self, ref: FunctionRef, requested: int) -> ProvisionedView:
        qualifier = _qualifier_required(ref)
        if qualifier == LATEST:
            raise invalid_parameter(
                "Provisioned Concurrency Configs cannot be applied to unpublished function "
                "versions."
            )
        with self._registry.transaction() as tx:
            record = existing_target(tx, self._arns, ref)
            self._check_overlap(tx, record, qualifier)
            self._check_capacity(tx, record, qualifier, requested)
            config = ProvisionedConcurrency(requested, aws_timestamp())
            configs = {**record.provisioned_concurrency, qualifier: config}
            tx.put_function(dataclasses.replace(record, provisioned_concurrency=configs))
        return ProvisionedView(
            record.name, qualifier, config, Progress(0, ProvisionedStatus.IN_PROGRESS)
        )

    def get(self, ref: FunctionRef) -> ProvisionedView:
        qualifier = self._published(ref)
        with self._registry.transaction() as tx:
            record = existing_target(tx, self._arns, ref)
            config = record.provisioned_concurrency.get(qualifier)
            if config is None:
                raise _config_not_found()
            version = version_of(tx, record.name, qualifier)
        return self._view(record.name, qualifier, version, config)

    def delete(self, ref: FunctionRef) -> None:
        """Deleting a config that does not exist succeeds, as on AWS."""
        qualifier = self._published(ref)
        with self._registry.transaction() as tx:
            record = existing_target(tx, self._arns, ref)
            if qualifier in record.provisioned_concurrency:
                configs = {
                    k: v for k, v in record.provisioned_concurrency.items() if k != qualifier
                }
                tx.put_function(dataclasses.replace(record, provisioned_concurrency=configs))

    def list(self, name: str) -> list[ProvisionedView]:
        """Every config of the function, by qualifier, each with its FunctionArn."""
        with self._registry.transaction() as tx:
            record = existing_target(tx, self._arns, FunctionRef(name))
            found = [
                (qualifier, config, version_of(tx, name, qualifier))
                for qualifier, config in sorted(record.provisioned_concurrency.items())
            ]
        return [
            self._view(name, qualifier, v, config)
            for qualifier, config, v in found
            if v is not None
        ]

    # Helpers -------------------------------------------------------------------------------
    def _published(self, ref: FunctionRef) -> str:
        qualifier = _qualifier_required(ref)
        if qualifier == LATEST:
            raise invalid_parameter(
                "The function resource provided must be an alias or a published version."
            )
        return qualifier

    def _view(
        self, name: str, qualifier: str, version: str | None, config: ProvisionedConcurrency
    ) -> ProvisionedView:
        progress = (
            self._progress(name, version, config.last_modified) if version is not None else None
        )
        return ProvisionedView(name, qualifier, config, progress)

    def _check_overlap(
        self, tx: RegistryTransaction, record: FunctionRecord, qualifier: str
    ) -> None:
        """A version gets provisioned concurrency directly or through one alias, not both."""
        configured = record.provisioned_concurrency
        if is_version(qualifier):
            for alias in tx.list_aliases(record.name):
                if alias.function_version == qualifier and alias.name in configured:
                    raise conflict("Version is pointed by a Provisioned Concurrency alias")
            return
        version = version_of(tx, record.name, qualifier)
        if version is not None and version in configured:
            raise conflict(
                "Alias can't be used for Provisioned Concurrency configuration on an already "
                "Provisioned version"
            )

    def _check_capacity(
        self, tx: RegistryTransaction, record: FunctionRecord, qualifier: str, requested: int
    ) -> None:
        others = sum(
            c.requested for q, c in record.provisioned_concurrency.items() if q != qualifier
        )
        if record.reserved_concurrency is not None:
            if others + requested > record.reserved_concurrency:
                raise invalid_parameter(
                    "Requested Provisioned Concurrency should not be greater than the "
                    "reservedConcurrentExecution for function"
                )
            return
        current = record.provisioned_concurrency.get(qualifier)
        growth = requested - (current.requested if current is not None else 0)
        minimum = min_unreserved(self._limit)
        unreserved = unreserved_concurrency(tx.list_functions(), self._limit)
        # AWS's answers to both have no "Type", as recorded.
        if growth > unreserved:
            raise LambdaError(
                ErrorCode.INVALID_PARAMETER_VALUE,
                400,
                "Specified ConcurrentExecutions for function is greater than account's "
                f"unreserved concurrency [{unreserved}].",
                error_type=None,
            )
        if unreserved - growth < minimum:
            raise LambdaError(
                ErrorCode.INVALID_PARAMETER_VALUE,
                400,
                "Specified ConcurrentExecutions for function decreases account's "
                f"UnreservedConcurrentExecution below its minimum value of [{minimum}].",
                error_type=None,
            )
