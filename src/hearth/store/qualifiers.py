"""What a qualifier names in the registry: the one resolver of `$LATEST`, a version number or
an alias, used by the control plane and the invoke path alike.

Pure reads through a `RegistryReads`; errors are the caller's to raise, since "not found"
is worded differently by each API (see `hearth.errors.function_not_found`).
"""

from __future__ import annotations

from hearth.arns import LATEST, is_version
from hearth.models import FunctionVersion
from hearth.store.registry import RegistryReads

# An alias's extra versions with their weights (RoutingConfig.AdditionalVersionWeights).
Weights = tuple[tuple[FunctionVersion, float], ...]


def version_of(tx: RegistryReads, name: str, qualifier: str) -> str | None:
    """The version a qualifier names now (an alias's target), None for a vanished alias."""
    if is_version(qualifier):
        return qualifier
    alias = tx.get_alias(name, qualifier)
    return None if alias is None else alias.function_version


def resolve_version(tx: RegistryReads, name: str, qualifier: str | None) -> FunctionVersion | None:
    """The version a qualifier (None: $LATEST) names: an alias's primary version."""
    number = version_of(tx, name, qualifier or LATEST)
    return None if number is None else tx.get_version(name, number)


def resolve_routing(
    tx: RegistryReads, name: str, qualifier: str | None
) -> tuple[FunctionVersion | None, Weights]:
    """The version a qualifier names and, for an alias, its weighted extra versions (those
    that still exist)."""
    qualifier = qualifier or LATEST
    if is_version(qualifier):
        return tx.get_version(name, qualifier), ()
    alias = tx.get_alias(name, qualifier)
    if alias is None:
        return None, ()
    weights = tuple(
        (version, weight)
        for number, weight in alias.routing_weights.items()
        if (version := tx.get_version(name, number)) is not None
    )
    return tx.get_version(name, alias.function_version), weights
