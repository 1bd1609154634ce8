"""Account-wide settings and reserved concurrency.

Reserved concurrency is stored here and reported by GetAccountSettings; the invoke path
enforces it (invoke/leases.py). AWS keeps at least 100 executions unreserved for functions
without a reservation (or the whole limit, on accounts whose limit is lower than that).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable
from dataclasses import dataclass

from hearth.arns import LATEST, ArnFormatter
from hearth.errors import ErrorCode, LambdaError, function_not_found, invalid_parameter
from hearth.models import FunctionRecord
from hearth.store.code import MAX_UNZIPPED_BYTES, MAX_ZIPPED_BYTES
from hearth.store.registry import Registry

MIN_UNRESERVED = 100
# AWS's default quota for all code in a region: 75 GB.
TOTAL_CODE_SIZE_LIMIT = 80_530_636_800


def min_unreserved(limit: int) -> int:
    """What must stay unreserved: 100, or the whole limit when it is lower (new AWS accounts
    with a limit of 10 report a minimum of [10])."""
    return min(MIN_UNRESERVED, limit)


def unreserved_concurrency(functions: Iterable[FunctionRecord], limit: int) -> int:
    """AWS's UnreservedConcurrentExecutions: the limit minus every reservation, minus the
    provisioned concurrency of functions without one (set aside out of the shared pool)."""
    taken = 0
    for record in functions:
        if record.reserved_concurrency is not None:
            taken += record.reserved_concurrency
        else:
            taken += sum(c.requested for c in record.provisioned_concurrency.values())
    return limit - taken


@dataclass(frozen=True)
class AccountSettings:
    concurrent_executions: int
    unreserved_concurrent_executions: int
    total_code_size: int
    function_count: int


class Account:
    def __init__(self, registry: Registry, arns: ArnFormatter, concurrency_limit: int) -> None:
        self._registry = registry
        self._arns = arns
        self._limit = concurrency_limit

    def settings(self) -> AccountSettings:
        with self._registry.transaction() as tx:
            functions = tx.list_functions()
            unreserved = unreserved_concurrency(functions, self._limit)
            code_size = sum(v.code_size for f in functions for v in tx.list_versions(f.name))
            layer_size = sum(
                v.code_size
                for layer in tx.list_layers()
                for v in tx.list_layer_versions(layer.name)
            )
        return AccountSettings(
            concurrent_executions=self._limit,
            unreserved_concurrent_executions=unreserved,
            total_code_size=code_size + layer_size,
            function_count=len(functions),
        )

    def put_reserved_concurrency(self, name: str, value: int) -> int:
        with self._registry.transaction() as tx:
            record = tx.get_function(name)
            if record is None:
                # AWS names $LATEST here (and only here).
                raise function_not_found(self._arns.function(name, LATEST))
            provisioned = sum(c.requested for c in record.provisioned_concurrency.values())
            if value < provisioned:
                # AWS's spacing, as recorded.
                raise invalid_parameter(
                    f" ReservedConcurrentExecutions  {value} should not be lower than function's "
                    f"total provisioned concurrency [{provisioned}]."
                )
            others = [f for f in tx.list_functions() if f.name != name]
            minimum = min_unreserved(self._limit)
            if unreserved_concurrency(others, self._limit) - value < minimum:
                raise LambdaError(
                    ErrorCode.INVALID_PARAMETER_VALUE,
                    400,
                    "Specified ReservedConcurrentExecutions for function decreases account's "
                    f"UnreservedConcurrentExecution below its minimum value of [{minimum}].",
                    error_type=None,  # AWS's answer has no "Type", as recorded
                )
            tx.put_function(dataclasses.replace(record, reserved_concurrency=value))
        return value

    def get_reserved_concurrency(self, name: str) -> int | None:
        with self._registry.transaction() as tx:
            record = tx.get_function(name)
            if record is None:
                raise function_not_found(self._arns.function(name))
            return record.reserved_concurrency

    def delete_reserved_concurrency(self, name: str) -> None:
        with self._registry.transaction() as tx:
            record = tx.get_function(name)
            if record is None:
                raise function_not_found(self._arns.function(name))
            tx.put_function(dataclasses.replace(record, reserved_concurrency=None))


ACCOUNT_LIMITS = {
    "TotalCodeSize": TOTAL_CODE_SIZE_LIMIT,
    "CodeSizeUnzipped": MAX_UNZIPPED_BYTES,
    "CodeSizeZipped": MAX_ZIPPED_BYTES,
}
