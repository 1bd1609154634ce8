"""The one builder of runtime error payloads: the `{"errorType", "errorMessage"}` JSON that a
failed invocation or init returns to the caller, as AWS's runtime manager writes it."""

from __future__ import annotations

import json


def error_payload(error_type: str, message: str) -> bytes:
    return json.dumps({"errorType": error_type, "errorMessage": message}).encode()


def error_type_of(payload: bytes) -> str:
    """The errorType a runtime's error payload names ("Runtime.Unknown" when it names none)."""
    try:
        return str(json.loads(payload).get("errorType", "Runtime.Unknown"))
    except (ValueError, AttributeError):
        return "Runtime.Unknown"
