"""Streamed responses: what an invoke's caller hands in to receive bytes as they are written."""

from __future__ import annotations

from typing import Protocol

# AWS's soft limit on a streamed response.
MAX_STREAM_BYTES = 20 * 1024 * 1024


class ResponseSink(Protocol):
    """Receives a streamed response while the function writes it.

    Guarantees to implementations: `start` is called once, before any `write`, and only when
    the function streams (a buffered result arrives as the invoke's payload instead); calls
    come on the event loop's thread, in order. Implementations must not block.
    """

    def start(self, content_type: str, executed_version: str) -> None: ...

    def write(self, data: bytes) -> None: ...
