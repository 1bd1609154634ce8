"""The invoker's overflow (cluster mode's forwarding): only a local throttle goes there."""

from __future__ import annotations

from typing import Any

import pytest

from hearth.arns import FunctionRef
from hearth.errors import LambdaError, function_not_found
from hearth.invoke.fakes import FakeOverflow
from hearth.invoke.types import InvokeResult
from tests.unit.test_invoker import ARNS, Engine, put_active, run

ELSEWHERE = InvokeResult(b'"elsewhere"', "$LATEST", None, "tail from there")


class Observer:
    def __init__(self) -> None:
        self.throttles = 0
        self.invokes = 0

    def invoked(self, *args: Any, **kwargs: Any) -> None:
        self.invokes += 1

    def throttled(self, function: str, qualifier: str | None) -> None:
        self.throttles += 1

    def async_received(self, function: str, qualifier: str | None) -> None: ...

    def cold_start(self, function: str) -> None: ...

    def recursion_stopped(self, function: str, qualifier: str | None) -> None: ...


def engine_with(overflow: FakeOverflow, limit: int = 0) -> tuple[Engine, Observer]:
    engine = Engine(limit=limit)
    observer = Observer()
    engine.invoker._observer = observer
    engine.invoker.overflow = overflow
    put_active(engine.registry, "f")
    return engine, observer


def test_a_call_without_room_here_runs_elsewhere_and_is_no_throttle() -> None:
    async def scenario() -> None:
        overflow = FakeOverflow([ELSEWHERE])
        engine, observer = engine_with(overflow)
        result = await engine.invoker.invoke(FunctionRef("f"), b'{"a": 1}')
        assert result == ELSEWHERE
        assert overflow.calls == [(FunctionRef("f"), b'{"a": 1}', 3)]  # the function's timeout
        assert engine.started == [] and observer.throttles == 0

    run(scenario)


def test_a_call_with_room_here_never_asks_the_overflow() -> None:
    async def scenario() -> None:
        overflow = FakeOverflow([ELSEWHERE])
        engine, _ = engine_with(overflow, limit=10)
        result = await engine.invoker.invoke(FunctionRef("f"), b"{}")
        assert result.payload == b"{}" and overflow.calls == []

    run(scenario)


def test_a_full_cluster_throttles_once_with_the_local_reason() -> None:
    async def scenario() -> None:
        overflow = FakeOverflow()
        engine, observer = engine_with(overflow)
        with pytest.raises(LambdaError) as raised:
            await engine.invoker.invoke(FunctionRef("f"), b"{}")
        assert raised.value.status == 429
        assert raised.value.extra == {"Reason": "ConcurrentInvocationLimitExceeded"}
        assert len(overflow.calls) == 1 and observer.throttles == 1

    run(scenario)


def test_what_the_other_node_raised_reaches_the_caller() -> None:
    async def scenario() -> None:
        lost = LambdaError("ServiceException", 500, "node-1 left", error_type="Service")
        engine, observer = engine_with(FakeOverflow([lost]))
        with pytest.raises(LambdaError) as raised:
            await engine.invoker.invoke(FunctionRef("f"), b"{}")
        assert raised.value is lost and observer.throttles == 0

    run(scenario)


@pytest.mark.parametrize("why", ["forward=False", "streamed"])
def test_a_forwarded_or_streamed_call_is_throttled_here(why: str) -> None:
    async def scenario() -> None:
        overflow = FakeOverflow([ELSEWHERE])
        engine, observer = engine_with(overflow)
        extra: dict[str, Any] = {"forward": False} if why == "forward=False" else {}
        if why == "streamed":
            extra["sink"] = object()
        with pytest.raises(LambdaError) as raised:
            await engine.invoker.invoke(FunctionRef("f"), b"{}", **extra)
        assert raised.value.status == 429 and overflow.calls == [] and observer.throttles == 1

    run(scenario)


def test_an_error_that_is_no_throttle_never_goes_elsewhere() -> None:
    async def scenario() -> None:
        overflow = FakeOverflow([ELSEWHERE])
        engine, _ = engine_with(overflow)
        with pytest.raises(LambdaError) as raised:
            await engine.invoker.invoke(FunctionRef("missing"), b"{}")
        missing = ARNS.function("missing", "$LATEST")  # AWS names the version it looked for
        assert raised.value.message == function_not_found(missing).message
        assert overflow.calls == []

    run(scenario)
