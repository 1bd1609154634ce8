"""Recursive-loop detection: how many times a chain of requests has invoked each function.

AWS counts, in the X-Ray trace header that travels with a request (its `Lineage` field), the
functions a chain has passed through; when one function has been invoked more than 16 times
in the same chain through SQS or SNS, the next invoke is stopped, unless the function's
recursion config says `Allow`. The SDK inside a function sends its `_X_AMZN_TRACE_ID` as the
`X-Amzn-Trace-Id` header, SQS keeps it as the message's `AWSTraceHeader`, SNS passes it on,
and the invoke that the message causes reads it back here.

Hearth's `Lineage` value (the field's exact encoding on AWS is not documented): entries
`<hash>:<count>` joined by `|`, one per function of the chain, the hash being the first 8
hex digits of SHA-256 of the function's unqualified ARN. Pure functions, no I/O.
"""

from __future__ import annotations

import functools
import hashlib
import os
import time
from dataclasses import dataclass

MAX_ROUNDS = 16


@dataclass(frozen=True)
class Trace:
    header: str  # the `_X_AMZN_TRACE_ID` of this invocation
    rounds: int  # times this function has now been invoked in the chain, this one included

    @property
    def loop(self) -> bool:
        return self.rounds > MAX_ROUNDS


def _fields(header: str | None) -> dict[str, str]:
    found: dict[str, str] = {}
    for part in (header or "").split(";"):
        key, sep, value = part.strip().partition("=")
        if sep and key:
            found[key] = value
    return found


# Asked once per invoke for the same few ARNs: a sha256 each time was most of next_trace.
@functools.lru_cache(maxsize=4096)
def _function_hash(function_arn: str) -> str:
    return hashlib.sha256(function_arn.encode()).hexdigest()[:8]


def _lineage(value: str) -> dict[str, int]:
    counts: dict[str, int] = {}
    for entry in value.split("|"):
        key, _, count = entry.partition(":")
        if len(key) == 8 and count.isdigit():
            counts[key] = int(count)
    return counts


def next_trace(incoming: str | None, function_arn: str) -> Trace:
    """The trace of an invocation of `function_arn` caused by a request carrying `incoming`
    (None: a new chain). Keeps the incoming Root, takes a new Parent, counts one more round."""
    fields = _fields(incoming)
    root = fields.get("Root") or f"1-{int(time.time()):08x}-{os.urandom(12).hex()}"
    counts = _lineage(fields.get("Lineage", ""))
    key = _function_hash(function_arn)
    counts[key] = counts.get(key, 0) + 1
    lineage = "|".join(f"{k}:{n}" for k, n in counts.items())
    sampled = fields.get("Sampled", "0")
    header = f"Root={root};Parent={os.urandom(8).hex()};Sampled={sampled};Lineage={lineage}"
    return Trace(header, counts[key])
