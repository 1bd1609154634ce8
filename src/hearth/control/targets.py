"""What per-qualifier settings (policies, event invoke configs, provisioned concurrency)
attach to."""

from __future__ import annotations

from hearth.arns import ArnFormatter, FunctionRef, is_alias_name
from hearth.errors import alias_not_found, function_not_found
from hearth.models import FunctionRecord
from hearth.store.registry import RegistryReads


def existing_target(tx: RegistryReads, arns: ArnFormatter, ref: FunctionRef) -> FunctionRecord:
    """The function a reference names, after checking that its qualifier (a version or an
    alias) exists; raises ResourceNotFoundException with AWS's wording otherwise."""
    record = tx.get_function(ref.name)
    qualifier = ref.qualifier
    if qualifier is None:
        if record is None:
            raise function_not_found(arns.function(ref.name))
        return record
    # With a qualifier, AWS names what is missing by it, even when the function is.
    arn = arns.function(ref.name, qualifier)
    if not is_alias_name(qualifier):  # a version, or a qualifier with `$` (never an alias)
        if record is None or tx.get_version(ref.name, qualifier) is None:
            raise function_not_found(arn)
    elif record is None or tx.get_alias(ref.name, qualifier) is None:
        raise alias_not_found(arn)
    return record
