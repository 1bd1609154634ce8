"""The provisioner makes the pool match the registry's provisioned concurrency configs, and
reports AWS's progress; over a memory registry and fake environments (no process)."""

from __future__ import annotations

import asyncio
import dataclasses

from hearth.invoke.fakes import FakeEnvironment
from hearth.invoke.pool import Environment, Pool
from hearth.invoke.provisioner import INIT_FAILURE, Provisioner
from hearth.invoke.types import EnvironmentState, InitFailed, ProvisionedStatus
from hearth.models import Alias, FunctionVersion, ProvisionedConcurrency
from hearth.store.memory import MemoryRegistry
from hearth.store.notifying import NotifyingRegistry
from tests.unit.factories import put_function


class Setup:
    def __init__(self, budget_mb: int = 10_000) -> None:
        self.registry = NotifyingRegistry(MemoryRegistry())
        self.started: list[FakeEnvironment] = []
        self.failing = False
        self.pool = Pool(self.start, keep_alive_seconds=300, memory_budget_mb=budget_mb)
        self.provisioner = Provisioner(self.registry.reader(), self.pool)
        self.registry.subscribe(self.provisioner.invalidate)

    async def start(self, version: FunctionVersion, provisioned: bool) -> Environment:
        assert provisioned
        if self.failing:
            raise InitFailed(b"{}")
        environment = FakeEnvironment(version.memory_size, version=version.version)
        self.started.append(environment)
        return environment

    def configure(self, qualifier: str, requested: int, stamp: str = "t1") -> None:
        with self.registry.transaction() as tx:
            record = tx.get_function("f")
            assert record is not None
            configs = {qualifier: ProvisionedConcurrency(requested, stamp)}
            tx.put_function(dataclasses.replace(record, provisioned_concurrency=configs))


def test_configs_are_filled_trimmed_and_reported() -> None:
    async def scenario() -> None:
        setup = Setup()
        put_function(setup.registry, "f")
        setup.configure("1", 3)
        assert setup.provisioner.progress("f", "1", "t1").status is ProvisionedStatus.IN_PROGRESS
        await setup.provisioner.reconcile()
        assert setup.pool.provisioned_count("f", "1") == 3
        ready = setup.provisioner.progress("f", "1", "t1")
        assert (ready.allocated, ready.status) == (3, ProvisionedStatus.READY)
        # A stale request (another LastModified) is not READY for the new one.
        assert setup.provisioner.progress("f", "1", "t0").status is ProvisionedStatus.IN_PROGRESS
        setup.configure("1", 1, "t2")
        await setup.provisioner.reconcile()
        assert setup.pool.provisioned_count("f", "1") == 1
        setup.configure("2", 1, "t3")  # the config on 1 is gone, one on 2 is new
        await setup.provisioner.reconcile()
        assert setup.pool.provisioned_versions() == {("f", "2")}
        await asyncio.sleep(0)  # the surplus is destroyed in the background
        assert sum(e.state is EnvironmentState.DEAD for e in setup.started) == 3
        await setup.pool.close()

    asyncio.run(scenario())


def test_an_init_failure_sticks_until_the_config_is_put_again() -> None:
    async def scenario() -> None:
        setup = Setup()
        put_function(setup.registry, "f")
        setup.failing = True
        setup.configure("1", 2)
        await setup.provisioner.reconcile()
        failed = setup.provisioner.progress("f", "1", "t1")
        assert (failed.status, failed.reason) == (ProvisionedStatus.FAILED, INIT_FAILURE)
        setup.failing = False
        await setup.provisioner.reconcile()  # not retried for the same request
        assert setup.pool.provisioned_count("f", "1") == 0
        setup.configure("1", 2, "t2")
        await setup.provisioner.reconcile()
        assert setup.provisioner.progress("f", "1", "t2").status is ProvisionedStatus.READY
        await setup.pool.close()

    asyncio.run(scenario())


def test_no_room_in_the_memory_budget_is_a_failure_with_a_reason() -> None:
    async def scenario() -> None:
        setup = Setup(budget_mb=128)
        put_function(setup.registry, "f")
        setup.configure("1", 2)
        await setup.provisioner.reconcile()
        failed = setup.provisioner.progress("f", "1", "t1")
        assert failed.status is ProvisionedStatus.FAILED
        assert failed.reason is not None and "--memory-budget-mb" in failed.reason
        await setup.pool.close()

    asyncio.run(scenario())


def test_a_config_on_an_alias_provisions_its_version() -> None:
    async def scenario() -> None:
        setup = Setup()
        put_function(setup.registry, "f")
        with setup.registry.transaction() as tx:
            tx.put_alias(Alias("f", "live", "2", "rev"))
        setup.configure("live", 1)
        await setup.provisioner.reconcile()
        assert setup.pool.provisioned_versions() == {("f", "2")}
        await setup.pool.close()

    asyncio.run(scenario())
