"""Errors are data: every failure Hearth reports is a `LambdaError`.

Handlers raise; only the API edge renders (status, ``x-amzn-ErrorType``, JSON body).
The tree, by the HTTP status AWS uses::

    LambdaError
    ├── 400 InvalidParameterValueException   a value AWS's model accepts but the service does not
    ├── 400 ValidationException              a value outside the model's constraints
    ├── 400 InvalidRequestContentException   a body that is not the JSON it should be
    ├── 403 InvalidSignatureException        SigV4 mismatch or clock skew
    ├── 403 UnrecognizedClientException      unknown access key
    ├── 403 MissingAuthenticationTokenException
    ├── 404 ResourceNotFoundException
    ├── 404 UnknownOperationException        no route for method + path
    ├── 409 ResourceConflictException / ResourceInUseException
    ├── 412 PreconditionFailedException      RevisionId / CodeSha256 mismatch
    ├── 400 CodeStorageExceededException     no room for code (a full disk, on Hearth)
    ├── 413 RequestEntityTooLargeException
    ├── 429 TooManyRequestsException         carries Reason and Retry-After
    └── 500 ServiceException
"""

from __future__ import annotations

import errno
import sqlite3
from collections.abc import Sequence
from enum import StrEnum
from typing import Literal

ErrorType = Literal["User", "Service"]


class ErrorCode(StrEnum):
    """The codes callers test for: compare `LambdaError.code` with these, never with a string
    literal (a typo in a literal fails silently; a typo here fails to import)."""

    INVALID_PARAMETER_VALUE = "InvalidParameterValueException"
    VALIDATION = "ValidationException"
    INVALID_REQUEST_CONTENT = "InvalidRequestContentException"
    RESOURCE_NOT_FOUND = "ResourceNotFoundException"
    UNKNOWN_OPERATION = "UnknownOperationException"
    RESOURCE_CONFLICT = "ResourceConflictException"
    PRECONDITION_FAILED = "PreconditionFailedException"
    REQUEST_TOO_LARGE = "RequestEntityTooLargeException"
    TOO_MANY_REQUESTS = "TooManyRequestsException"
    SERVICE = "ServiceException"


# AWS spells the message key "Message" for these codes and "message" for the rest: the
# error shapes of botocore's Lambda model whose member is `Message` (those Hearth raises
# among them; the recordings agree where they show one).
_CAPITALISED_MESSAGE_CODES = frozenset(
    {
        "CodeSigningConfigNotFoundException",
        "CodeVerificationFailedException",
        "InvalidCodeSignatureException",
        "InvalidRuntimeException",
        "InvalidZipFileException",
        "RecursiveInvocationException",
        "ResourceInUseException",
        "ResourceNotFoundException",
        "ServiceException",
        "ServiceQuotaExceededException",
        "SnapStartException",
        "SnapStartNotReadyException",
        "SnapStartTimeoutException",
    }
)


class LambdaError(Exception):
    """A failure with AWS's error code, HTTP status and message."""

    def __init__(
        self,
        code: str,
        status: int,
        message: str,
        *,
        error_type: ErrorType | None = "User",
        extra: dict[str, str] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.code = code
        self.status = status
        self.message = message
        # None: AWS sends no "Type" key for this error (code signing configs' not-found).
        self.error_type: ErrorType | None = error_type
        self.extra = extra or {}
        self.headers = headers or {}

    def body(self) -> dict[str, str | None]:
        """The JSON body AWS sends for this error."""
        key = "Message" if self.code in _CAPITALISED_MESSAGE_CODES else "message"
        typed = {} if self.error_type is None else {"Type": self.error_type}
        # An empty message goes as null, as AWS's front end sends its AccessDeniedException.
        return {**typed, key: self.message or None, **self.extra}

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.code!r}, {self.status}, {self.message!r})"


def not_found(message: str) -> LambdaError:
    return LambdaError(ErrorCode.RESOURCE_NOT_FOUND, 404, message)


def function_not_found(arn: str) -> LambdaError:
    """AWS's answer for a function, version or qualified ARN that does not exist."""
    return not_found(f"Function not found: {arn}")


def alias_not_found(arn: str) -> LambdaError:
    """AWS's answer for an alias that does not exist (where a qualifier may be one)."""
    return not_found(f"Cannot find alias arn: {arn}")


def conflict(message: str) -> LambdaError:
    return LambdaError(ErrorCode.RESOURCE_CONFLICT, 409, message)


def invalid_parameter(message: str) -> LambdaError:
    return LambdaError(ErrorCode.INVALID_PARAMETER_VALUE, 400, message)


def precondition_failed(message: str) -> LambdaError:
    return LambdaError(ErrorCode.PRECONDITION_FAILED, 412, message)


def invalid_request_content(message: str) -> LambdaError:
    return LambdaError(ErrorCode.INVALID_REQUEST_CONTENT, 400, message)


def request_too_large(message: str) -> LambdaError:
    return LambdaError(ErrorCode.REQUEST_TOO_LARGE, 413, message)


def unknown_operation(method: str, path: str) -> LambdaError:
    return LambdaError(ErrorCode.UNKNOWN_OPERATION, 404, f"Unknown operation: {method} {path}")


def service_error(message: str = "An internal error occurred.") -> LambdaError:
    return LambdaError(ErrorCode.SERVICE, 500, message, error_type="Service")


def too_many_requests(reason: str, retry_after_seconds: int = 1) -> LambdaError:
    return LambdaError(
        ErrorCode.TOO_MANY_REQUESTS,
        429,
        "Rate Exceeded.",
        extra={"Reason": reason},
        headers={"Retry-After": str(retry_after_seconds)},
    )


# SQLite's result code for "database or disk is full".
_SQLITE_FULL = 13
# Operations whose failure on a full disk is about storing code, which AWS reports as
# CodeStorageExceededException (its own code storage quota).
_CODE_OPERATIONS = frozenset(
    {"CreateFunction", "UpdateFunctionCode", "PublishLayerVersion", "PublishVersion"}
)
_FREE_SPACE = (
    "free disk space there, or delete unused functions, versions and layers "
    "(deleting works on a full disk)"
)


def is_disk_full(exc: BaseException) -> bool:
    """Whether `exc` (or what caused it) is the data dir's disk running out of space."""
    seen: BaseException | None = exc
    for _ in range(5):  # a short chain: translations wrap the original once or twice
        if seen is None:
            return False
        if isinstance(seen, OSError) and seen.errno in (errno.ENOSPC, errno.EDQUOT):
            return True
        if isinstance(seen, sqlite3.Error) and (
            getattr(seen, "sqlite_errorcode", None) == _SQLITE_FULL
            or "database or disk is full" in str(seen)
        ):
            return True
        seen = seen.__cause__ or seen.__context__
    return False


def disk_full(operation: str) -> LambdaError:
    """What a request that failed because the data dir's disk is full is told."""
    if operation in _CODE_OPERATIONS:
        return LambdaError(
            "CodeStorageExceededException",
            400,
            f"Hearth's data dir has no space left on its disk to store this code: {_FREE_SPACE}.",
        )
    if operation in ("InvokeFunction", "InvokeAsync"):
        what = "the event was not queued"
    else:
        what = "nothing was changed"
    return LambdaError(
        "ServiceException",
        500,
        f"Hearth's data dir has no space left on its disk, so {what}: {_FREE_SPACE}.",
        error_type="Service",
    )


class ConstraintViolation:
    """One failed model constraint, phrased as AWS phrases it."""

    __slots__ = ("constraint", "field", "show_value", "value")

    def __init__(
        self, field: str, value: object, constraint: str, *, show_value: bool = True
    ) -> None:
        self.field = field
        self.value = value
        self.constraint = constraint
        # AWS leaves the value out for map-key and sensitive constraints.
        self.show_value = show_value

    def __str__(self) -> str:
        if not self.show_value:
            return f"Value at '{self.field}' failed to satisfy constraint: {self.constraint}"
        if self.value is None:
            return f"Value null at '{self.field}' failed to satisfy constraint: {self.constraint}"
        return (
            f"Value '{self.value}' at '{self.field}' failed to satisfy constraint: "
            f"{self.constraint}"
        )


def validation_error(violations: Sequence[ConstraintViolation]) -> LambdaError:
    """AWS's unmodeled ValidationException, listing every violated constraint."""
    count = len(violations)
    noun = "error" if count == 1 else "errors"
    details = "; ".join(str(v) for v in violations)
    return LambdaError(ErrorCode.VALIDATION, 400, f"{count} validation {noun} detected: {details}")
