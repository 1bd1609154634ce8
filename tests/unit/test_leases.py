"""The admission policy (pure) and the lease counting around it."""

from __future__ import annotations

from contextlib import ExitStack
from pathlib import Path

import pytest

from hearth.config import default_memory_budget_mb
from hearth.errors import LambdaError
from hearth.invoke.leases import (
    Leases,
    Limits,
    Slot,
    ThrottleReason,
    Usage,
    decide,
    load_limits,
)
from hearth.models import Alias, FunctionRecord, ProvisionedConcurrency
from hearth.store.memory import MemoryRegistry

RESERVED = ThrottleReason.RESERVED
ACCOUNT = ThrottleReason.ACCOUNT


def usage(
    per_function: dict[str, int] | None = None,
    provisioned: dict[tuple[str, str], int] | None = None,
    unreserved: int = 0,
) -> Usage:
    found = Usage()
    found.per_function.update(per_function or {})
    found.provisioned.update(provisioned or {})
    found.unreserved = unreserved
    return found


def test_unreserved_functions_share_the_account_limit() -> None:
    limits = Limits(account=3)
    assert decide(limits, usage({"a": 2}, unreserved=2), "b", "1") is Slot.UNRESERVED
    assert decide(limits, usage({"a": 2, "b": 1}, unreserved=3), "b", "1") is ACCOUNT


def test_a_reservation_is_the_functions_own_limit() -> None:
    limits = Limits(account=10, reserved={"r": 2})
    assert decide(limits, usage({"r": 1}), "r", "$LATEST") is Slot.RESERVED
    assert decide(limits, usage({"r": 2}), "r", "$LATEST") is RESERVED


def test_a_reservation_never_borrows_from_the_pool_even_when_it_is_idle() -> None:
    limits = Limits(account=1000, reserved={"r": 1})
    assert decide(limits, usage({"r": 1}), "r", "1") is RESERVED


def test_reserved_zero_stops_every_invocation() -> None:
    limits = Limits(account=1000, reserved={"off": 0})
    assert decide(limits, usage(), "off", "$LATEST") is RESERVED


def test_reservations_shrink_the_shared_pool() -> None:
    limits = Limits(account=10, reserved={"r": 7})
    assert limits.unreserved_pool == 3
    assert decide(limits, usage({"a": 3}, unreserved=3), "b", "1") is ACCOUNT
    # ...while the reserved function still has all of its own.
    assert decide(limits, usage({"a": 3}, unreserved=3), "r", "1") is Slot.RESERVED


def test_provisioned_concurrency_is_used_first_then_spills_over() -> None:
    limits = Limits(account=10, provisioned={("p", "1"): 2})
    assert decide(limits, usage(), "p", "1") is Slot.PROVISIONED
    assert decide(limits, usage({"p": 2}, {("p", "1"): 2}), "p", "1") is Slot.UNRESERVED
    # Another version of the same function has none.
    assert decide(limits, usage(), "p", "2") is Slot.UNRESERVED


def test_provisioned_concurrency_of_unreserved_functions_is_set_aside_from_the_pool() -> None:
    limits = Limits(account=10, provisioned={("p", "1"): 4})
    assert limits.unreserved_pool == 6
    assert decide(limits, usage({"a": 6}, unreserved=6), "a", "1") is ACCOUNT
    assert decide(limits, usage({"a": 6}, unreserved=6), "p", "1") is Slot.PROVISIONED


def test_provisioned_concurrency_of_a_reserved_function_is_part_of_its_reservation() -> None:
    limits = Limits(account=10, reserved={"r": 3}, provisioned={("r", "1"): 2})
    assert limits.unreserved_pool == 7  # not 5: the reservation already holds it
    assert decide(limits, usage({"r": 2}, {("r", "1"): 2}), "r", "1") is Slot.RESERVED
    assert decide(limits, usage({"r": 3}, {("r", "1"): 2}), "r", "1") is RESERVED


def test_leases_count_while_held_and_release_after() -> None:
    leases = Leases(lambda: Limits(account=2))
    with ExitStack() as stack:
        stack.enter_context(leases.lease("a", "1"))
        stack.enter_context(leases.lease("b", "1"))
        assert leases.usage.total == 2
        with pytest.raises(LambdaError) as raised, leases.lease("a", "1"):
            pass
    error = raised.value
    assert (error.status, error.code) == (429, "TooManyRequestsException")
    assert error.extra == {"Reason": "ConcurrentInvocationLimitExceeded"}
    assert error.headers == {"Retry-After": "1"}
    assert leases.usage == Usage()
    with leases.lease("a", "1") as slot:  # everything was given back
        assert slot is Slot.UNRESERVED


def test_a_lease_is_released_when_the_invocation_raises() -> None:
    leases = Leases(lambda: Limits(account=1, provisioned={("p", "1"): 1}))
    with pytest.raises(RuntimeError), leases.lease("p", "1"):
        raise RuntimeError("boom")
    assert leases.usage == Usage()


def test_limits_are_reloaded_after_invalidate() -> None:
    current = [Limits(account=1000, reserved={"f": 0})]
    leases = Leases(lambda: current[0])
    with pytest.raises(LambdaError) as raised, leases.lease("f", "1"):
        pass
    assert raised.value.extra == {"Reason": "ReservedFunctionConcurrentInvocationLimitExceeded"}
    current[0] = Limits(account=1000)
    with pytest.raises(LambdaError), leases.lease("f", "1"):
        pass  # still the old snapshot
    leases.invalidate()
    with leases.lease("f", "1") as slot:
        assert slot is Slot.UNRESERVED


def test_load_limits_reads_reservations_and_resolves_aliases() -> None:
    registry = MemoryRegistry()
    created = "2024-01-01T00:00:00.000+0000"
    with registry.transaction() as tx:
        tx.put_function(FunctionRecord("r", created, reserved_concurrency=5))
        tx.put_function(
            FunctionRecord(
                "p",
                created,
                provisioned_concurrency={
                    "2": ProvisionedConcurrency(1, created),
                    "live": ProvisionedConcurrency(3, created),
                    "gone": ProvisionedConcurrency(9, created),  # an alias since deleted
                },
            )
        )
        tx.put_alias(Alias("p", "live", "4", "rev"))
    limits = load_limits(registry, 50)
    assert limits == Limits(50, {"r": 5}, {("p", "2"): 1, ("p", "4"): 3})
    assert limits.unreserved_pool == 50 - 5 - 4


def test_the_default_memory_budget_is_three_quarters_of_memtotal(tmp_path: Path) -> None:
    meminfo = tmp_path / "meminfo"
    meminfo.write_text("MemTotal:        8192000 kB\nMemFree:  1 kB\n")
    assert default_memory_budget_mb(meminfo) == 6000
    assert default_memory_budget_mb(tmp_path / "missing") == 4096


def test_provisioned_concurrency_is_taken_out_of_the_reservation() -> None:
    # AWS: reserved 2, provisioned 2 on version 1 → $LATEST has nothing left, even idle.
    limits = Limits(account=10, reserved={"r": 2}, provisioned={("r", "1"): 2})
    assert decide(limits, usage({}, {}), "r", "$LATEST") is ThrottleReason.RESERVED
    assert decide(limits, usage({}, {}), "r", "1") is Slot.PROVISIONED
    # Reserved 3: one on-demand execution beside the two provisioned ones, and only one.
    limits = Limits(account=10, reserved={"r": 3}, provisioned={("r", "1"): 2})
    assert decide(limits, usage({"r": 1}, {("r", "1"): 1}), "r", "$LATEST") is Slot.RESERVED
    busy = usage({"r": 2}, {("r", "1"): 1})
    assert decide(limits, busy, "r", "$LATEST") is ThrottleReason.RESERVED
    assert decide(limits, busy, "r", "1") is Slot.PROVISIONED
