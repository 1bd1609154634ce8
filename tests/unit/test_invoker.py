"""The invoker (resolve → lease → pool → result) and the Invoke API in front of it, over a
memory registry and fake environments: no process is started."""

from __future__ import annotations

import asyncio
import base64
import dataclasses
import json
from collections.abc import Callable, Coroutine
from typing import Any

import pytest

from hearth.api.http import LambdaApp, Router
from hearth.api.invoke import InvokeApi
from hearth.arns import ArnFormatter, FunctionRef
from hearth.errors import LambdaError
from hearth.events.memory_queue import MemoryEventQueue
from hearth.invoke.fakes import FakeEnvironment
from hearth.invoke.invoker import Invoker
from hearth.invoke.leases import Leases, load_limits
from hearth.invoke.pool import Environment, Pool
from hearth.invoke.types import InitFailed, Invocation, InvokeOutcome
from hearth.models import Alias, FunctionVersion, State
from hearth.store.memory import MemoryRegistry
from hearth.store.notifying import NotifyingRegistry
from tests.unit.asgi import call
from tests.unit.factories import put_function

ARNS = ArnFormatter("us-east-1", "123456789012")


class Engine:
    def __init__(self, *, limit: int = 10, fail_init: bool = False) -> None:
        self.registry = NotifyingRegistry(MemoryRegistry())
        reads = self.registry.reader()
        self.started: list[FakeEnvironment] = []
        self.fail_init = fail_init
        self.pool = Pool(self.start, keep_alive_seconds=300, memory_budget_mb=10_000)
        self.invoker = Invoker(reads, ARNS, self.pool, Leases(lambda: load_limits(reads, limit)))
        self.registry.subscribe(self.invoker.invalidate)
        self.lookups = 0

    async def start(self, version: FunctionVersion, provisioned: bool) -> Environment:
        if self.fail_init:
            raise InitFailed(b'{"errorType": "Runtime.ExitError"}', "init log")
        environment = FakeEnvironment(version.memory_size, version=version.version, outcome=echo)
        self.started.append(environment)
        return environment


def put_active(registry: NotifyingRegistry, name: str, versions: int = 2) -> None:
    put_function(registry, name, versions)
    with registry.transaction() as tx:
        for version in tx.list_versions(name):
            tx.put_version(dataclasses.replace(version, state=State.ACTIVE))


def echo(invocation: Invocation) -> InvokeOutcome:
    error = "Unhandled" if invocation.payload == b'"fail"' else None
    return InvokeOutcome(invocation.payload, error, "the tail", 1.0)


def run(scenario: Callable[[], Coroutine[Any, Any, None]]) -> None:
    asyncio.run(scenario())


def test_an_invoke_runs_in_a_warm_environment_after_the_first() -> None:
    async def scenario() -> None:
        engine = Engine()
        put_active(engine.registry, "f")
        first = await engine.invoker.invoke(FunctionRef("f"), b"{}", client_context="cc")
        second = await engine.invoker.invoke(FunctionRef("f", "1"), b"[1]")
        third = await engine.invoker.invoke(FunctionRef("f"), b"[2]")
        assert (first.payload, first.executed_version, first.log_tail) == (
            b"{}",
            "$LATEST",
            "the tail",
        )
        assert second.executed_version == "1"
        assert third.payload == b"[2]"
        assert len(engine.started) == 2  # $LATEST reused its environment; version 1 got one
        (invocation, _) = engine.started[0].invocations
        assert invocation.client_context == "cc"
        assert invocation.invoked_function_arn == ARNS.function("f")
        assert invocation.trace_id.startswith("Root=1-")
        await engine.invoker.close()

    run(scenario)


def test_an_async_event_keeps_its_request_id() -> None:
    async def scenario() -> None:
        engine = Engine()
        put_active(engine.registry, "f")
        await engine.invoker.invoke(FunctionRef("f"), b"{}", request_id="event-1")
        assert engine.started[0].invocations[0].request_id == "event-1"
        await engine.invoker.close()

    run(scenario)


def test_what_cannot_be_invoked() -> None:
    async def scenario() -> None:
        engine = Engine()
        put_active(engine.registry, "f")
        with pytest.raises(LambdaError) as missing:
            await engine.invoker.invoke(FunctionRef("nope"), b"{}")
        assert missing.value.code == "ResourceNotFoundException"
        assert missing.value.message == f"Function not found: {ARNS.function('nope', '$LATEST')}"
        with pytest.raises(LambdaError) as no_version:
            await engine.invoker.invoke(FunctionRef("f", "9"), b"{}")
        assert no_version.value.message == f"Function not found: {ARNS.function('f', '9')}"
        with engine.registry.transaction() as tx:
            latest = tx.get_version("f", "$LATEST")
            assert latest is not None
            tx.put_version(dataclasses.replace(latest, state=State.PENDING))
        with pytest.raises(LambdaError) as pending:
            await engine.invoker.invoke(FunctionRef("f"), b"{}")
        assert pending.value.code == "ResourceConflictException"
        assert pending.value.message.endswith("in the following state: Pending")
        assert engine.started == []

    run(scenario)


def test_an_alias_routes_by_its_weights(monkeypatch: pytest.MonkeyPatch) -> None:
    engine = Engine()
    put_active(engine.registry, "f", versions=2)
    with engine.registry.transaction() as tx:
        tx.put_alias(Alias("f", "live", "1", "rev", routing_weights={"2": 0.25}))
    rolls = iter([0.1, 0.5])
    monkeypatch.setattr("hearth.invoke.invoker.random.random", lambda: next(rolls))
    assert engine.invoker.resolve(FunctionRef("f", "live")).version == "2"
    assert engine.invoker.resolve(FunctionRef("f", "live")).version == "1"


def test_resolutions_are_cached_until_a_write_and_reads_keep_the_cache() -> None:
    engine = Engine()
    put_active(engine.registry, "f", versions=2)
    with engine.registry.transaction() as tx:
        tx.put_alias(Alias("f", "live", "1", "rev"))
    assert engine.invoker.resolve(FunctionRef("f", "live")).version == "1"
    # A read-only transaction (GetFunction, ListFunctions) leaves the cache alone...
    with engine.registry.transaction() as tx:
        tx.list_functions()
        assert engine.invoker._resolved
    # ... and a write clears it, so the very next invoke sees the change.
    with engine.registry.transaction() as tx:
        tx.put_alias(Alias("f", "live", "2", "rev2"))
    assert not engine.invoker._resolved
    assert engine.invoker.resolve(FunctionRef("f", "live")).version == "2"


def test_a_failed_init_is_a_function_error_result() -> None:
    async def scenario() -> None:
        engine = Engine(fail_init=True)
        put_active(engine.registry, "f")
        result = await engine.invoker.invoke(FunctionRef("f"), b"{}")
        assert result.function_error == "Unhandled"
        assert result.payload == b'{"errorType": "Runtime.ExitError"}'
        assert result.log_tail == "init log"

    run(scenario)


def test_a_throttle_comes_before_the_function_runs() -> None:
    async def scenario() -> None:
        engine = Engine(limit=0)
        put_active(engine.registry, "f")
        with pytest.raises(LambdaError) as throttled:
            await engine.invoker.invoke(FunctionRef("f"), b"{}")
        assert throttled.value.status == 429
        assert engine.started == []

    run(scenario)


# The Invoke API ---------------------------------------------------------------------------
def invoke_app(engine: Engine) -> tuple[LambdaApp, MemoryEventQueue, list[int]]:
    events = MemoryEventQueue()
    woken: list[int] = []
    router = Router()
    InvokeApi(engine.invoker, events, lambda: woken.append(1)).register(router)
    return LambdaApp(router, None), events, woken


PATH = "/2015-03-31/functions/f/invocations"


def test_the_invoke_api_answers_with_the_result_and_its_headers() -> None:
    async def scenario() -> None:
        engine = Engine()
        put_active(engine.registry, "f")
        app, _, _ = invoke_app(engine)
        reply = await call(app, "POST", PATH, body={"a": 1}, headers={"X-Amz-Log-Type": "Tail"})
        assert (reply.status, reply.json()) == (200, {"a": 1})
        assert reply.headers["x-amz-executed-version"] == "$LATEST"
        assert base64.b64decode(reply.headers["x-amz-log-result"]) == b"the tail"
        failed = await call(app, "POST", PATH, body="fail")
        assert failed.headers["x-amz-function-error"] == "Unhandled"
        dry = await call(app, "POST", PATH, query="Qualifier=1", headers=DRY_RUN)
        assert (dry.status, dry.headers["x-amz-executed-version"]) == (204, "1")
        await engine.invoker.close()

    run(scenario)


DRY_RUN = {"X-Amz-Invocation-Type": "DryRun"}


def test_the_invoke_api_queues_an_event_and_wakes_the_dispatcher() -> None:
    async def scenario() -> None:
        engine = Engine()
        put_active(engine.registry, "f")
        app, events, woken = invoke_app(engine)
        reply = await call(app, "POST", PATH, body=[1], headers={"X-Amz-Invocation-Type": "Event"})
        assert reply.status == 202
        assert woken == [1]
        (queued,) = await events.claim(10, now=10**10, lease_seconds=60)
        assert (queued.target, queued.payload) == ("f", b"[1]")
        assert engine.started == []  # nothing runs before the 202

    run(scenario)


def test_the_invoke_api_refuses_bad_input_before_anything_runs() -> None:
    async def scenario() -> None:
        engine = Engine()
        put_active(engine.registry, "f")
        app, _, _ = invoke_app(engine)
        bad_type = await call(app, "POST", PATH, headers={"X-Amz-Invocation-Type": "Later"})
        assert bad_type.status == 400
        assert bad_type.json()["message"] == "Unsupported invocation type: Later"
        bad_json = await call(app, "POST", PATH, raw=b"{not json")
        assert bad_json.status == 400
        assert bad_json.headers["x-amzn-errortype"] == "InvalidRequestContentException"
        bad_context = await call(app, "POST", PATH, headers={"X-Amz-Client-Context": "%%"})
        assert bad_context.json()["message"] == (
            "Client context must be a valid Base64-encoded JSON object."
        )
        missing = await call(app, "POST", "/2015-03-31/functions/nope/invocations")
        assert missing.status == 404
        assert engine.started == []
        assert json.loads(missing.body)["Type"] == "User"

    run(scenario)
