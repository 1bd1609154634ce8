"""Concurrency leases: may an invocation start now? Provisioned → reserved → account pool, else 429.

The rules are AWS's:
- A function with reserved concurrency R runs at most R invocations at once, and never takes
  from the shared pool (R = 0 stops every invocation). Its provisioned concurrency P is part
  of R and taken out of it: on-demand invocations get R - P, so with R = P an invocation that
  finds no provisioned environment free (of `$LATEST`, say) is throttled.
- Functions without a reservation share the unreserved pool: the account limit minus every
  reservation, minus the provisioned concurrency of functions without a reservation (that
  capacity is set aside for them). Invocations served by a version's provisioned concurrency
  use it first and spill over to the pool.
- Over a reservation: ReservedFunctionConcurrentInvocationLimitExceeded; over the pool:
  ConcurrentInvocationLimitExceeded. Both are 429 TooManyRequestsException, raised before the
  function runs, so a caller (the async dispatcher) may retry later.

`decide` is the pure policy; `Leases` keeps the counts and hands out leases as context managers.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from enum import Enum, StrEnum
from functools import cached_property

from hearth.errors import too_many_requests
from hearth.store.qualifiers import version_of
from hearth.store.registry import RegistryReader

# What a throttled caller is told to wait, in seconds (the Retry-After header).
RETRY_AFTER_SECONDS = 1

VersionKey = tuple[str, str]  # (function name, version)


class ThrottleReason(StrEnum):
    RESERVED = "ReservedFunctionConcurrentInvocationLimitExceeded"
    ACCOUNT = "ConcurrentInvocationLimitExceeded"


class Slot(Enum):
    """Which capacity an admitted invocation uses."""

    PROVISIONED = "provisioned"
    RESERVED = "reserved"
    UNRESERVED = "unreserved"


@dataclass(frozen=True)
class Limits:
    """The configured concurrency, as one snapshot."""

    account: int
    # Function → ReservedConcurrentExecutions (functions without a reservation are absent).
    reserved: Mapping[str, int] = field(default_factory=dict)
    # (function, version) → provisioned concurrent executions configured for that version.
    provisioned: Mapping[VersionKey, int] = field(default_factory=dict)

    @cached_property
    def provisioned_per_function(self) -> Counter[str]:
        totals: Counter[str] = Counter()
        for (name, _), count in self.provisioned.items():
            totals[name] += count
        return totals

    @property
    def unreserved_pool(self) -> int:
        """What functions without a reservation share (AWS's UnreservedConcurrentExecutions)."""
        set_aside = sum(
            count for (name, _), count in self.provisioned.items() if name not in self.reserved
        )
        return max(0, self.account - sum(self.reserved.values()) - set_aside)


@dataclass
class Usage:
    """Invocations in flight, counted the ways the policy needs."""

    per_function: Counter[str] = field(default_factory=Counter)
    provisioned: Counter[VersionKey] = field(default_factory=Counter)
    unreserved: int = 0

    @property
    def total(self) -> int:
        return sum(self.per_function.values())


def decide(limits: Limits, usage: Usage, function: str, version: str) -> Slot | ThrottleReason:
    """The slot one more invocation of function:version would use, or why it is throttled."""
    reserved = limits.reserved.get(function)
    if reserved is not None and usage.per_function[function] >= reserved:
        return ThrottleReason.RESERVED
    key = (function, version)
    if usage.provisioned[key] < limits.provisioned.get(key, 0):
        return Slot.PROVISIONED
    if reserved is not None:
        served = sum(n for (name, _), n in usage.provisioned.items() if name == function)
        on_demand = usage.per_function[function] - served
        if on_demand >= reserved - limits.provisioned_per_function[function]:
            return ThrottleReason.RESERVED
        return Slot.RESERVED
    if usage.unreserved >= limits.unreserved_pool:
        return ThrottleReason.ACCOUNT
    return Slot.UNRESERVED


class Leases:
    """Counts invocations in flight against the limits that `load_limits` returns.

    The limits are loaded on the first lease after `invalidate` (the control plane changed
    something), so a new reservation applies to the very next invocation.
    """

    def __init__(self, load_limits: Callable[[], Limits]) -> None:
        self._load = load_limits
        self._limits: Limits | None = None
        self.usage = Usage()

    def invalidate(self) -> None:
        self._limits = None

    @property
    def limits(self) -> Limits:
        if self._limits is None:
            self._limits = self._load()
        return self._limits

    @contextmanager
    def lease(self, function: str, version: str) -> Iterator[Slot]:
        """Hold one concurrent execution of function:version for the block; raises
        TooManyRequestsException (with AWS's Reason) when there is none to hold."""
        decision = decide(self.limits, self.usage, function, version)
        if isinstance(decision, ThrottleReason):
            raise too_many_requests(decision.value, RETRY_AFTER_SECONDS)
        usage = self.usage
        usage.per_function[function] += 1
        if decision is Slot.PROVISIONED:
            usage.provisioned[function, version] += 1
        elif decision is Slot.UNRESERVED:
            usage.unreserved += 1
        try:
            yield decision
        finally:
            usage.per_function[function] -= 1
            if not usage.per_function[function]:
                del usage.per_function[function]
            if decision is Slot.PROVISIONED:
                usage.provisioned[function, version] -= 1
                if not usage.provisioned[function, version]:
                    del usage.provisioned[function, version]
            elif decision is Slot.UNRESERVED:
                usage.unreserved -= 1


def load_limits(registry: RegistryReader, account_limit: int) -> Limits:
    """The limits the registry holds now: reservations, and provisioned concurrency by the
    version it applies to (an alias's config applies to the version the alias points at)."""
    reserved: dict[str, int] = {}
    provisioned: Counter[VersionKey] = Counter()
    with registry.transaction() as tx:
        for record in tx.list_functions():
            if record.reserved_concurrency is not None:
                reserved[record.name] = record.reserved_concurrency
            for qualifier, config in record.provisioned_concurrency.items():
                version = version_of(tx, record.name, qualifier)
                if version is not None:
                    provisioned[record.name, version] += config.requested
    return Limits(account_limit, reserved, dict(provisioned))
