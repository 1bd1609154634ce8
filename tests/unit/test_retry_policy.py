"""The async retry policy, branch by branch and boundary by boundary."""

from __future__ import annotations

import pytest

from hearth.events.retry import (
    DEFAULT_BASE_DELAY_SECONDS,
    DEFAULT_MAX_EVENT_AGE_SECONDS,
    DEFAULT_MAX_RETRY_ATTEMPTS,
    THROTTLE_MAX_DELAY_SECONDS,
    Action,
    Condition,
    Decision,
    Outcome,
    decide,
    delivery_delay,
)

RETRY = Action.RETRY
GIVE_UP = Action.GIVE_UP
EXHAUSTED = Condition.RETRIES_EXHAUSTED
TOO_OLD = Condition.EVENT_AGE_EXCEEDED


def test_aws_defaults() -> None:
    assert DEFAULT_MAX_RETRY_ATTEMPTS == 2
    assert DEFAULT_MAX_EVENT_AGE_SECONDS == 21_600
    assert DEFAULT_BASE_DELAY_SECONDS == 60.0


@pytest.mark.parametrize(
    "function_errors,requeues,age",
    [(0, 0, 0.0), (3, 7, 21_599.0), (0, 0, 99_999.0)],
)
def test_success_is_delivered_whatever_the_history(
    function_errors: int, requeues: int, age: float
) -> None:
    decision = decide(
        Outcome.SUCCESS, function_errors=function_errors, requeues=requeues, event_age_seconds=age
    )
    assert decision == Decision(Action.DELIVER_SUCCESS, 0.0, Condition.SUCCESS)


# (function_errors, max_retry_attempts, base, age, max_age) -> (action, delay, condition)
FUNCTION_ERROR_CASES = [
    # Defaults: ~1 min, then ~2 min, then give up.
    ((1, 2, 60.0, 0.0, 21_600), (RETRY, 60.0, None)),
    ((2, 2, 60.0, 60.0, 21_600), (RETRY, 120.0, None)),
    ((3, 2, 60.0, 180.0, 21_600), (GIVE_UP, 0.0, EXHAUSTED)),
    # MaximumRetryAttempts 0: the first failure is final.
    ((1, 0, 60.0, 0.0, 21_600), (GIVE_UP, 0.0, EXHAUSTED)),
    # MaximumRetryAttempts 1: one retry.
    ((1, 1, 60.0, 0.0, 21_600), (RETRY, 60.0, None)),
    ((2, 1, 60.0, 60.0, 21_600), (GIVE_UP, 0.0, EXHAUSTED)),
    # A configurable base (tests run with fractions of a second).
    ((1, 2, 0.5, 0.0, 60), (RETRY, 0.5, None)),
    ((2, 2, 0.5, 0.5, 60), (RETRY, 1.0, None)),
    # Age boundary: landing exactly on the limit is allowed, one past is not.
    ((1, 2, 60.0, 0.0, 60), (RETRY, 60.0, None)),
    ((1, 2, 60.0, 0.001, 60), (GIVE_UP, 0.0, TOO_OLD)),
    ((2, 2, 60.0, 60.0, 180), (RETRY, 120.0, None)),
    ((2, 2, 60.0, 61.0, 180), (GIVE_UP, 0.0, TOO_OLD)),
    # Exhausted retries win over age: the last permitted attempt did run.
    ((3, 2, 60.0, 99_999.0, 60), (GIVE_UP, 0.0, EXHAUSTED)),
]


@pytest.mark.parametrize("given,expected", FUNCTION_ERROR_CASES)
def test_function_errors(
    given: tuple[int, int, float, float, int], expected: tuple[Action, float, Condition | None]
) -> None:
    function_errors, max_retries, base, age, max_age = given
    decision = decide(
        Outcome.FUNCTION_ERROR,
        function_errors=function_errors,
        requeues=0,
        event_age_seconds=age,
        max_retry_attempts=max_retries,
        max_event_age_seconds=max_age,
        base_delay_seconds=base,
    )
    assert decision == Decision(*expected)


@pytest.mark.parametrize("outcome", [Outcome.THROTTLED, Outcome.SYSTEM_ERROR])
@pytest.mark.parametrize(
    "requeues,age,max_age,expected",
    [
        # 1 s doubling ...
        (0, 0.0, 21_600, (RETRY, 1.0, None)),
        (1, 1.0, 21_600, (RETRY, 2.0, None)),
        (2, 3.0, 21_600, (RETRY, 4.0, None)),
        (8, 255.0, 21_600, (RETRY, 256.0, None)),
        # ... capped at 5 minutes, however many re-queues.
        (9, 511.0, 21_600, (RETRY, 300.0, None)),
        (40, 10_000.0, 21_600, (RETRY, 300.0, None)),
        # Never past the maximum age; exactly on it is fine.
        (0, 59.0, 60, (RETRY, 1.0, None)),
        (0, 59.5, 60, (GIVE_UP, 0.0, TOO_OLD)),
        (9, 21_300.0, 21_600, (RETRY, 300.0, None)),
        (9, 21_300.5, 21_600, (GIVE_UP, 0.0, TOO_OLD)),
        (0, 21_600.0, 21_600, (GIVE_UP, 0.0, TOO_OLD)),
    ],
)
def test_throttles_and_system_errors_back_off_until_too_old(
    outcome: Outcome,
    requeues: int,
    age: float,
    max_age: int,
    expected: tuple[Action, float, Condition | None],
) -> None:
    decision = decide(
        outcome,
        function_errors=0,
        requeues=requeues,
        event_age_seconds=age,
        max_event_age_seconds=max_age,
    )
    assert decision == Decision(*expected)


def test_throttles_do_not_use_up_function_error_retries() -> None:
    # Two function errors already with MaximumRetryAttempts 2, yet a throttle is re-queued.
    decision = decide(Outcome.THROTTLED, function_errors=3, requeues=0, event_age_seconds=10.0)
    assert decision == Decision(RETRY, 1.0, None)


def test_function_error_delay_ignores_requeues() -> None:
    decision = decide(Outcome.FUNCTION_ERROR, function_errors=1, requeues=20, event_age_seconds=0.0)
    assert decision == Decision(RETRY, 60.0, None)


def test_decision_is_frozen() -> None:
    decision = decide(Outcome.SUCCESS, function_errors=0, requeues=0, event_age_seconds=0.0)
    with pytest.raises(AttributeError):
        decision.delay_seconds = 5.0  # type: ignore[misc]


@pytest.mark.parametrize(
    "kwargs",
    [
        {"function_errors": -1},
        {"requeues": -1},
        {"event_age_seconds": -0.1},
        {"max_retry_attempts": -1},
        {"max_event_age_seconds": -1},
        {"base_delay_seconds": -1.0},
    ],
)
def test_negative_inputs_are_rejected(kwargs: dict[str, float]) -> None:
    params: dict[str, float] = {"function_errors": 1, "requeues": 0, "event_age_seconds": 0.0}
    params.update(kwargs)
    with pytest.raises(ValueError, match="negative"):
        decide(Outcome.FUNCTION_ERROR, **params)  # type: ignore[arg-type]


def test_a_function_error_counts_itself() -> None:
    with pytest.raises(ValueError, match="counts itself"):
        decide(Outcome.FUNCTION_ERROR, function_errors=0, requeues=0, event_age_seconds=0.0)


def test_a_failed_delivery_backs_off_like_a_throttle_without_an_age_limit() -> None:
    assert [delivery_delay(n) for n in range(4)] == [1.0, 2.0, 4.0, 8.0]
    assert delivery_delay(50) == THROTTLE_MAX_DELAY_SECONDS
    with pytest.raises(ValueError):
        delivery_delay(-1)
