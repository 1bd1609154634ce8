"""The durable queue behind asynchronous invocation: the `EventQueue` Protocol and its records.

Two kinds of work share one queue, so that finishing one step and queueing the next is a
single atomic write (`ack` with follow-ups):

* `Kind.INVOKE`: run a function (`target` is its name) with `payload`, as an `Event` invoke;
* `Kind.DELIVER`: send `payload` to an SQS queue or SNS topic (`target` is its ARN): a
  destination record or a dead letter on its way out of Hearth.

Guarantees every adapter gives (tests/unit/test_event_queue_contract.py checks them):

* **Durable on return.** When `enqueue` returns, the events survive a crash of the process
  (kill -9); the same holds for `ack`, `reschedule` and their follow-ups.
* **At least once.** `claim` leases an event until ``now + lease_seconds``; until then no
  other claim returns it. An event that is neither acked nor rescheduled before its lease
  ends is handed out again (its `redelivered` flag set, and the queue's `redelivered`
  count goes up). `recover` ends every lease at once: after a crash, the events that were in
  flight run again without waiting for their leases. So an event may run twice, never zero
  times; consumers see duplicates as redeliveries.
* **Stale claims lose.** A claim is identified by the event id *and* its `attempts`; `ack` and
  `reschedule` of a claim that was since handed out again do nothing and return False.
* **A queue per target, served in turn.** Each target (a function, or a destination ARN)
  is its own queue, earliest-visible first (FIFO for events enqueued without delay; retries
  overtake). Claims take from the targets with visible events in turn (round-robin by name,
  continuing after the target served last), so a backlog for one function does not hold up
  another's events, as AWS keeps a queue per function.
* **Clock from the caller.** Every time is passed in (``now``, seconds since the epoch), so
  tests drive visibility and leases without sleeping.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from enum import StrEnum
from typing import Protocol, TypeVar

T = TypeVar("T")

# A message attribute as SQS and SNS both take it: {"DataType": ..., "StringValue": ...}.
MessageAttributes = Mapping[str, Mapping[str, str]]


# An INVOKE event's attribute holding the X-Ray trace header it travels with.
TRACE_ATTRIBUTE = "AWSTraceHeader"


class Kind(StrEnum):
    INVOKE = "invoke"
    DELIVER = "deliver"


@dataclass(frozen=True)
class Event:
    """One unit of queued work, with the counters the retry policy needs."""

    id: str
    kind: Kind
    # INVOKE: the function name; DELIVER: the SQS queue or SNS topic ARN.
    target: str
    payload: bytes
    enqueued_at: float
    # INVOKE only: the version or alias invoked, None for the unqualified function.
    qualifier: str | None = None
    # DELIVER: the message attributes to send (dead letters carry RequestID etc.); INVOKE:
    # the trace header of the message that caused it, as {"AWSTraceHeader": {"StringValue"}}.
    attributes: Mapping[str, Mapping[str, str]] = field(default_factory=dict)
    # Times this event has been claimed, this claim included: the record's
    # approximateInvokeCount, and (with `id`) the claim's identity.
    attempts: int = 0
    # Attempts that ended in a function error, and re-queues after throttles / system errors.
    function_errors: int = 0
    requeues: int = 0
    # Set on a claim when an earlier claim of this event never finished (a lease ran out,
    # or the server died): the function may already have seen it.
    redelivered: bool = False

    def age(self, now: float) -> float:
        return max(0.0, now - self.enqueued_at)

    def counted(self, *, function_errors: int, requeues: int) -> Event:
        return replace(self, function_errors=function_errors, requeues=requeues)


@dataclass(frozen=True)
class QueueCounts:
    # Visible now, waiting for a dispatcher.
    ready: int
    # Waiting for a retry delay to pass.
    delayed: int
    # Claimed and not yet acked or rescheduled.
    in_flight: int
    # Claims of events whose earlier claim never finished, since the queue was created.
    redelivered: int


class EventQueue(Protocol):
    """A durable, at-least-once work queue. See the module docstring for the guarantees."""

    async def enqueue(self, events: Sequence[Event]) -> None:
        """Store new events (attempts 0), visible at once; durable when this returns.

        Raises ValueError if an id is already queued (nothing of this call is stored then).
        """
        ...

    async def claim(self, limit: int, *, now: float, lease_seconds: float) -> list[Event]:
        """Lease up to `limit` visible events until ``now + lease_seconds``; `attempts` is
        incremented in the returned events and in the queue."""
        ...

    async def ack(self, event: Event, follow_ups: Sequence[Event] = ()) -> bool:
        """Finish a claimed event and, in the same atomic write, enqueue `follow_ups`.

        False (and nothing written) if the claim is stale or the event is gone."""
        ...

    async def reschedule(self, event: Event, *, now: float, delay_seconds: float) -> bool:
        """Release a claimed event, visible again at ``now + delay_seconds``, keeping its
        `function_errors` and `requeues` as given in `event`. False if the claim is stale."""
        ...

    async def recover(self, *, now: float) -> int:
        """End every lease (a previous process's claims): those events are visible at `now`.
        Returns how many there were."""
        ...

    async def next_visible_at(self) -> float | None:
        """The earliest time an event becomes claimable (None when the queue is empty)."""
        ...

    async def counts(self, *, now: float) -> QueueCounts: ...

    async def close(self) -> None:
        """Stop accepting work; what was acknowledged stays stored."""
        ...


def turn_order(targets: Sequence[str], last_served: str | None) -> list[str]:
    """`targets` by name, starting after `last_served`: whose turn it is, in order."""
    ordered = sorted(targets)
    if last_served is None:
        return ordered
    later = [t for t in ordered if t > last_served]
    return later + [t for t in ordered if t <= last_served]


def take_in_turn(lanes: Sequence[Sequence[T]], limit: int) -> list[T]:
    """Up to `limit` items, one from each lane in turn, each lane in its own order."""
    taken: list[T] = []
    depth = 0
    while len(taken) < limit:
        row = [lane[depth] for lane in lanes if depth < len(lane)]
        if not row:
            break
        taken.extend(row[: limit - len(taken)])
        depth += 1
    return taken
