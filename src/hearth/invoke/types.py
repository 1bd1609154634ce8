"""The records the engine shares with its callers: what goes into an invocation, what comes
back, and how far provisioned concurrency has come.

The only module of `invoke/` that `events/` and `control/` may import (see the layering in
`hearth/__init__.py`): plain frozen data, no behaviour, no imports from the rest of Hearth, so
depending on it never pulls the engine in.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


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
