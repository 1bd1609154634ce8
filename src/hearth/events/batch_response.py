"""Partial batch responses (`ReportBatchItemFailures`), read with AWS's rules.

Lambda treats a batch as a complete success when the function returns null, an empty
object, `{"batchItemFailures": []}` or `{"batchItemFailures": null}` (or anything that is not
an object); as a complete failure when the answer is not JSON, or an entry's
`itemIdentifier` is null, empty, missing (a wrong key name) or not an id of the batch.
"""

from __future__ import annotations

import json
from collections.abc import Collection
from typing import Any

ALL_FAILED = None


def failed_items(payload: bytes, batch_ids: Collection[str]) -> set[str] | None:
    """The ids the function reported as failed, or None when the whole batch failed."""
    try:
        answer: Any = json.loads(payload) if payload.strip() else None
    except (ValueError, UnicodeDecodeError):
        return ALL_FAILED
    if not isinstance(answer, dict):
        return set()
    failures = answer.get("batchItemFailures")
    if failures is None:
        return set()
    if not isinstance(failures, list):
        return ALL_FAILED
    failed: set[str] = set()
    for entry in failures:
        identifier = entry.get("itemIdentifier") if isinstance(entry, dict) else None
        if not isinstance(identifier, str) or not identifier or identifier not in batch_ids:
            return ALL_FAILED
        failed.add(identifier)
    return failed
