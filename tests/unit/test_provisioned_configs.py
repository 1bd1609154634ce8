"""ProvisionedConfigs (the control plane) over the in-memory registry, progress faked."""

from __future__ import annotations

import pytest

from hearth.api.shapes import provisioned_concurrency_config
from hearth.arns import ArnFormatter, FunctionRef
from hearth.control.account import Account
from hearth.control.provisioned import ProvisionedConfigs, check_requested
from hearth.errors import LambdaError
from hearth.invoke.types import Progress, ProvisionedStatus
from hearth.models import Alias
from hearth.store.memory import MemoryRegistry
from tests.unit.factories import put_function

ARNS = ArnFormatter("us-east-1", "123456789012")


class FakeProgress:
    def __init__(self) -> None:
        self.asked: list[tuple[str, str, str]] = []
        self.answer = Progress(0, ProvisionedStatus.IN_PROGRESS)

    def __call__(self, function: str, version: str, last_modified: str) -> Progress:
        self.asked.append((function, version, last_modified))
        return self.answer


@pytest.fixture
def registry() -> MemoryRegistry:
    registry = MemoryRegistry()
    put_function(registry, "fn", versions=2)
    with registry.transaction() as tx:
        tx.put_alias(Alias("fn", "live", "2", "rev"))
    return registry


def error_of(call: object) -> LambdaError:
    with pytest.raises(LambdaError) as raised:
        call()  # type: ignore[operator]
    return raised.value


def test_a_qualifier_is_required(registry: MemoryRegistry) -> None:
    configs = ProvisionedConfigs(registry, ARNS, 1000, FakeProgress())
    for call in (
        lambda: configs.put(FunctionRef("fn"), 1),
        lambda: configs.get(FunctionRef("fn")),
        lambda: configs.delete(FunctionRef("fn")),
    ):
        error = error_of(call)
        assert (error.code, error.message) == (
            "ValidationException",
            "1 validation error detected: Value null at 'qualifier' failed to satisfy "
            "constraint: Member must not be null",
        )


@pytest.mark.parametrize("value", [None, 0, -1, "2", True, 1.5])
def test_requested_must_be_a_positive_integer(value: object) -> None:
    assert error_of(lambda: check_requested(value)).code == "ValidationException"


def test_an_alias_config_reports_the_progress_of_its_version(registry: MemoryRegistry) -> None:
    progress = FakeProgress()
    configs = ProvisionedConfigs(registry, ARNS, 1000, progress)
    put = configs.put(FunctionRef("fn", "live"), 3)
    progress.answer = Progress(3, ProvisionedStatus.READY)
    shown = configs.get(FunctionRef("fn", "live"))
    last_modified = put.config.last_modified
    assert provisioned_concurrency_config(put, ARNS) == {
        "RequestedProvisionedConcurrentExecutions": 3,
        "AvailableProvisionedConcurrentExecutions": 0,
        "AllocatedProvisionedConcurrentExecutions": 0,
        "Status": "IN_PROGRESS",
        "LastModified": last_modified,
    }
    assert progress.asked == [("fn", "2", last_modified)]
    assert provisioned_concurrency_config(shown, ARNS) == {
        "RequestedProvisionedConcurrentExecutions": 3,
        "AvailableProvisionedConcurrentExecutions": 3,
        "AllocatedProvisionedConcurrentExecutions": 3,
        "Status": "READY",
        "LastModified": last_modified,
    }
    progress.answer = Progress(0, ProvisionedStatus.FAILED, "FUNCTION_ERROR_INIT_FAILURE")
    assert [provisioned_concurrency_config(v, ARNS, with_arn=True) for v in configs.list("fn")] == [
        {
            "FunctionArn": "arn:aws:lambda:us-east-1:123456789012:function:fn:live",
            "RequestedProvisionedConcurrentExecutions": 3,
            "AvailableProvisionedConcurrentExecutions": 0,
            "AllocatedProvisionedConcurrentExecutions": 0,
            "Status": "FAILED",
            "StatusReason": "FUNCTION_ERROR_INIT_FAILURE",
            "LastModified": last_modified,
        }
    ]


def test_a_reput_replaces_and_only_growth_counts_against_the_pool(
    registry: MemoryRegistry,
) -> None:
    configs = ProvisionedConfigs(registry, ARNS, 150, FakeProgress())
    account = Account(registry, ARNS, 150)
    configs.put(FunctionRef("fn", "1"), 50)
    assert account.settings().unreserved_concurrent_executions == 100
    configs.put(FunctionRef("fn", "1"), 50)  # the same again: no growth
    assert error_of(lambda: configs.put(FunctionRef("fn", "1"), 51)).code == (
        "InvalidParameterValueException"
    )
    configs.put(FunctionRef("fn", "1"), 10)
    assert account.settings().unreserved_concurrent_executions == 140
    configs.delete(FunctionRef("fn", "1"))
    configs.delete(FunctionRef("fn", "1"))  # a missing config: still fine
    assert account.settings().unreserved_concurrent_executions == 150


def test_reservations_elsewhere_and_provisioned_set_asides_limit_a_reservation(
    registry: MemoryRegistry,
) -> None:
    put_function(registry, "other", versions=1)
    configs = ProvisionedConfigs(registry, ARNS, 200, FakeProgress())
    account = Account(registry, ARNS, 200)
    configs.put(FunctionRef("other", "1"), 60)
    error = error_of(lambda: account.put_reserved_concurrency("fn", 41))
    assert error.message.endswith("below its minimum value of [100].")
    account.put_reserved_concurrency("fn", 40)
    # "other" taking a reservation turns its provisioned set-aside into part of it.
    account.put_reserved_concurrency("other", 60)
    assert account.settings().unreserved_concurrent_executions == 100
