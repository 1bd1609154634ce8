"""The retry policy for asynchronous invocations: a pure function, no clocks, no I/O.

After every attempt the queue asks `decide(...)` what to do next and gets a `Decision`:

* **Success** → `DELIVER_SUCCESS` (condition ``Success``): send the OnSuccess record.
* **Function error** (the handler raised, timed out or ran out of memory): retried at most
  `MaximumRetryAttempts` times (0-2, default 2). Retry *n* (1-based) waits
  ``base_delay_seconds * 2^(n-1)``: AWS waits about 1 minute, then about 2 minutes, so the
  base is 60 s there and configurable here (tests use a fraction of a second). Once the
  retries are used up → `GIVE_UP` with ``RetriesExhausted``; that condition wins even if
  the event is also old, because the last permitted attempt has genuinely run.
* **Throttle / system error** (no capacity, the sandbox failed to start): these do not
  count against `MaximumRetryAttempts`, as on AWS. The event is re-queued with exponential
  backoff — 1 s, 2 s, 4 s … capped at 5 minutes — for as long as it stays young enough.
* **Delivery** of a destination record or dead letter that failed: the same backoff, with no
  age limit (a record is never dropped): `delivery_delay(...)`.
* **Age**: a retry is never scheduled past `MaximumEventAgeInSeconds` (60-21600, default
  21600): if ``event_age + delay`` would exceed it → `GIVE_UP` with ``EventAgeExceeded``.
  Landing exactly on the limit is still allowed; AWS discards events *older* than it.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

DEFAULT_MAX_RETRY_ATTEMPTS = 2
DEFAULT_MAX_EVENT_AGE_SECONDS = 21_600
# AWS's first function-error retry comes after about a minute.
DEFAULT_BASE_DELAY_SECONDS = 60.0
THROTTLE_INITIAL_DELAY_SECONDS = 1.0
THROTTLE_MAX_DELAY_SECONDS = 300.0


class Outcome(StrEnum):
    SUCCESS = "Success"
    FUNCTION_ERROR = "FunctionError"
    THROTTLED = "Throttled"
    SYSTEM_ERROR = "SystemError"


class Action(StrEnum):
    DELIVER_SUCCESS = "DeliverSuccess"
    RETRY = "Retry"
    GIVE_UP = "GiveUp"


class Condition(StrEnum):
    """The `requestContext.condition` of a destination record."""

    SUCCESS = "Success"
    RETRIES_EXHAUSTED = "RetriesExhausted"
    EVENT_AGE_EXCEEDED = "EventAgeExceeded"


@dataclass(frozen=True)
class Decision:
    action: Action
    # Only meaningful for RETRY: how long to wait before the next attempt.
    delay_seconds: float = 0.0
    # Set for DELIVER_SUCCESS and GIVE_UP; None for RETRY.
    condition: Condition | None = None


DELIVER = Decision(Action.DELIVER_SUCCESS, condition=Condition.SUCCESS)
RETRIES_EXHAUSTED = Decision(Action.GIVE_UP, condition=Condition.RETRIES_EXHAUSTED)
EVENT_AGE_EXCEEDED = Decision(Action.GIVE_UP, condition=Condition.EVENT_AGE_EXCEEDED)


def decide(
    outcome: Outcome,
    *,
    function_errors: int,
    requeues: int,
    event_age_seconds: float,
    max_retry_attempts: int = DEFAULT_MAX_RETRY_ATTEMPTS,
    max_event_age_seconds: int = DEFAULT_MAX_EVENT_AGE_SECONDS,
    base_delay_seconds: float = DEFAULT_BASE_DELAY_SECONDS,
) -> Decision:
    """What to do after an attempt that ended with `outcome`.

    `function_errors` counts the attempts so far that ended in a function error, this one
    included; `requeues` counts the throttle/system-error re-queues before this attempt
    (it picks the backoff step). `event_age_seconds` is the time since the event was queued.
    """
    if function_errors < 0 or requeues < 0 or event_age_seconds < 0:
        raise ValueError("attempt counts and event age must not be negative")
    if max_retry_attempts < 0 or max_event_age_seconds < 0 or base_delay_seconds < 0:
        raise ValueError("limits and delays must not be negative")
    if outcome is Outcome.SUCCESS:
        return DELIVER
    if outcome is Outcome.FUNCTION_ERROR:
        if function_errors < 1:
            raise ValueError("a function error outcome counts itself in function_errors")
        retries_done = function_errors - 1
        if retries_done >= max_retry_attempts:
            return RETRIES_EXHAUSTED
        delay = base_delay_seconds * 2**retries_done
    else:
        delay = _backoff(requeues)
    if event_age_seconds + delay > max_event_age_seconds:
        return EVENT_AGE_EXCEEDED
    return Decision(Action.RETRY, delay_seconds=delay)


def delivery_delay(requeues: int) -> float:
    """How long to wait before delivering a record again after `requeues` failed tries."""
    if requeues < 0:
        raise ValueError("requeues must not be negative")
    return _backoff(requeues)


def _backoff(requeues: int) -> float:
    return min(THROTTLE_INITIAL_DELAY_SECONDS * 2.0**requeues, THROTTLE_MAX_DELAY_SECONDS)
