"""Reading CloudWatch Logs request fields: AWS's validation messages and opaque tokens."""

from __future__ import annotations

import base64
import binascii
import re
from typing import Any

from hearth.errors import LambdaError

GROUP_NAME = re.compile(r"[\.\-_/#A-Za-z0-9]+")
STREAM_NAME = re.compile(r"[^:*]*")
MAX_NAME = 512
RETENTION_DAYS = (
    1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557,
    2922, 3288, 3653,
)  # fmt: skip


def logs_error(code: str, message: str) -> LambdaError:
    """CloudWatch Logs answers every client error with HTTP 400 and `__type`."""
    return LambdaError(code, 400, message, extra={"__type": code})


def invalid(message: str) -> LambdaError:
    return logs_error("InvalidParameterException", message)


def group_missing() -> LambdaError:
    return logs_error("ResourceNotFoundException", "The specified log group does not exist.")


def stream_missing() -> LambdaError:
    return logs_error("ResourceNotFoundException", "The specified log stream does not exist.")


def _violation(value: Any, field: str, constraint: str) -> LambdaError:
    return invalid(
        f"1 validation error detected: Value '{value}' at '{field}' failed to satisfy "
        f"constraint: {constraint}"
    )


def name(body: dict[str, Any], field: str, pattern: re.Pattern[str], required: bool = True) -> str:
    value = body.get(field)
    if value is None:
        if not required:
            return ""
        raise _violation(None, field, "Member must not be null")
    if not isinstance(value, str):
        raise invalid(f"Value for {field} must be a string")
    if not 1 <= len(value) <= MAX_NAME:
        raise _violation(
            value, field, f"Member must have length between 1 and {MAX_NAME} inclusive"
        )
    if not pattern.fullmatch(value):
        raise _violation(
            value, field, f"Member must satisfy regular expression pattern: {pattern.pattern}"
        )
    return value


def group_name(body: dict[str, Any]) -> str:
    """`logGroupName`, or the name inside `logGroupIdentifier` (a name or an ARN)."""
    identifier = body.get("logGroupIdentifier")
    if body.get("logGroupName") is not None and identifier is not None:
        raise invalid("LogGroup name and LogGroup ARN are mutually exclusive parameters.")
    if isinstance(identifier, str):
        found = re.fullmatch(r"arn:[^:]+:logs:[^:]*:[^:]*:log-group:([^:]+)(?::\*)?", identifier)
        body = {"logGroupName": found.group(1) if found else identifier}
    return name(body, "logGroupName", GROUP_NAME)


def stream_name(body: dict[str, Any]) -> str:
    return name(body, "logStreamName", STREAM_NAME)


def integer(
    body: dict[str, Any], field: str, default: int, low: int | None = None, high: int | None = None
) -> int:
    value = body.get(field)
    if value is None:
        return default
    if isinstance(value, bool) or not isinstance(value, int):
        raise invalid(f"Value for {field} must be an integer")
    if low is not None and value < low:
        raise _violation(value, field, f"Member must have value greater than or equal to {low}")
    if high is not None and value > high:
        raise _violation(value, field, f"Member must have value less than or equal to {high}")
    return value


def boolean(body: dict[str, Any], field: str, default: bool = False) -> bool:
    value = body.get(field, default)
    if not isinstance(value, bool):
        raise invalid(f"Value for {field} must be a boolean")
    return value


def tags(value: Any, field: str = "tags") -> dict[str, str]:
    if value is None:
        return {}
    if not isinstance(value, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in value.items()
    ):
        raise invalid(f"Value for {field} must be a map of strings")
    if len(value) > 50:
        raise _violation(value, field, "Member must have length less than or equal to 50")
    for key, tag in value.items():
        if not 1 <= len(key) <= 128 or key.startswith("aws:"):
            raise _violation(key, f"{field}.key", "Member must have length between 1 and 128")
        if len(tag) > 256:
            raise _violation(tag, f"{field}.value", "Member must have length less than 256")
    return dict(value)


def token(text: str) -> str:
    """An opaque token for a position string (what a client must hand back unchanged)."""
    return base64.urlsafe_b64encode(b"hearth:" + text.encode()).decode()


def untoken(body: dict[str, Any], field: str = "nextToken") -> str | None:
    value = body.get(field)
    if value is None:
        return None
    try:
        if not isinstance(value, str):
            raise ValueError
        decoded = base64.b64decode(value.encode(), altchars=b"-_", validate=True).decode()
        if not decoded.startswith("hearth:"):
            raise ValueError
        return decoded.removeprefix("hearth:")
    except (ValueError, binascii.Error, UnicodeDecodeError) as exc:
        raise invalid("The specified nextToken is invalid.") from exc
