"""The records the engine shares with its callers: what goes into an invocation, what comes
back, and how far provisioned concurrency has come.

The only module of `invoke/` that `events/` and `control/` may import (see the layering in
`hearth/__init__.py`): plain frozen data, no behaviour, no imports from the rest of Hearth, so
depending on it never pulls the engine in.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum, StrEnum


@dataclass(frozen=True)
class Invocation:
    """What `/runtime/invocation/next` hands to the runtime."""

    request_id: str
    payload: bytes
    deadline_ms: int
    invoked_function_arn: str
    trace_id: str
    client_context: str | None = None
    cognito_identity: str | None = None


@dataclass(frozen=True)
class InvokeResult:
    """The result of one invocation; a function error is a result too."""

    payload: bytes
    executed_version: str
    # "Unhandled" when the function failed, else None.
    function_error: str | None
    log_tail: str


class EnvironmentState(Enum):
    """STARTING → IDLE ⇄ BUSY → DEAD; a DEAD environment is never used again."""

    STARTING = "starting"
    IDLE = "idle"
    BUSY = "busy"
    DEAD = "dead"


@dataclass(frozen=True)
class InvokeOutcome:
    """What one environment's invocation came to (the invoker adds the version that ran)."""

    payload: bytes
    # "Unhandled" when the function failed, else None.
    function_error: str | None
    log_tail: str
    duration_ms: float


class InitFailed(Exception):
    """The runtime could not initialise; `payload` is the error AWS would return."""

    def __init__(self, payload: bytes, log: str = "") -> None:
        super().__init__(payload.decode(errors="replace"))
        self.payload = payload
        # What the runtime printed while initialising, then AWS's INIT_REPORT line.
        self.log = log


class ProvisionedStatus(StrEnum):
    IN_PROGRESS = "IN_PROGRESS"
    READY = "READY"
    FAILED = "FAILED"


@dataclass(frozen=True)
class Progress:
    """How far a provisioned concurrency config has come."""

    allocated: int
    status: ProvisionedStatus
    reason: str | None = None
