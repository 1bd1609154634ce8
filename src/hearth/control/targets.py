"""What per-qualifier settings (policies, event invoke configs, provisioned concurrency)
attach to."""

from __future__ import annotations

from hearth.arns import ArnFormatter, FunctionRef, is_version
from hearth.errors import not_found
from hearth.models import FunctionRecord
from hearth.store.registry import RegistryTransaction


def existing_target(
    tx: RegistryTransaction, arns: ArnFormatter, ref: FunctionRef
) -> FunctionRecord:
    """The function a reference names, after checking that its qualifier (a version or an
    alias) exists; raises ResourceNotFoundException with AWS's wording otherwise."""
    record = tx.get_function(ref.name)
    if record is None:
        raise not_found(f"Function not found: {arns.function(ref.name)}")
    qualifier = ref.qualifier
    if qualifier is None:
        return record
    arn = arns.function(ref.name, qualifier)
    if is_version(qualifier):
        if tx.get_version(ref.name, qualifier) is None:
            raise not_found(f"Function not found: {arn}")
    elif tx.get_alias(ref.name, qualifier) is None:
        raise not_found(f"Cannot find alias arn: {arn}")
    return record


def version_of(tx: RegistryTransaction, name: str, qualifier: str) -> str | None:
    """The version a qualifier names now (an alias's target), None for a vanished alias."""
    if is_version(qualifier):
        return qualifier
    alias = tx.get_alias(name, qualifier)
    return None if alias is None else alias.function_version
