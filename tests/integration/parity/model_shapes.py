"""Whether an answer has the shape botocore's model gives its operation (restJson1).

boto3's parser takes what it knows of a body and drops the rest, so it cannot tell a key the
model lacks, a number sent as a string, or an enum value AWS never sends. These checks can:
every key of a JSON body must be a body member of the model's shape (by its wire name), of the
member's type, with enum values from the model's list; an error must be one the model lists
for the operation, with its status code and only its error shape's members. Pure.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from botocore.model import OperationModel, Shape, StructureShape

# Errors AWS's front end answers for any operation, before the operation's own handler
# (the model does not list them per operation).
FRONT_END_ERRORS = {
    "ValidationException": 400,
    "SerializationException": 400,
    "UnrecognizedClientException": 403,
    "InvalidSignatureException": 403,
    "MissingAuthenticationTokenException": 403,
    "AccessDeniedException": 403,
}
# Values AWS sends that the model's enums lack (the recordings win): an update's
# `LastUpdateStatusReasonCode` while InProgress is "Creating" in 42 recorded answers.
RECORDED_ENUM_VALUES = {"LastUpdateStatusReasonCode": {"Creating"}}
_NOT_IN_BODY = {"header", "headers", "statusCode"}


def _wire_name(name: str, member: Shape) -> str:
    return str(member.serialization.get("name", name))


def _structure(shape: StructureShape, value: Any, path: str) -> list[str]:
    if not isinstance(value, dict):
        return [f"{path}: expected an object ({shape.name}), got {value!r}"[:300]]
    members = {
        _wire_name(name, member): member
        for name, member in shape.members.items()
        if member.serialization.get("location") not in _NOT_IN_BODY
    }
    problems = [f"{path}.{key}: not in {shape.name}" for key in value if key not in members]
    for key, item in value.items():
        if key in members:
            problems += shape_problems(members[key], item, f"{path}.{key}")
    return problems


def shape_problems(shape: Shape, value: Any, path: str = "") -> list[str]:  # noqa: PLR0911
    """Where a JSON value departs from `shape`, one line each (empty: it fits)."""
    if value is None:
        return [f"{path}: null ({shape.name})"]
    if isinstance(shape, StructureShape):
        return _structure(shape, value, path)
    if shape.type_name == "list":
        if not isinstance(value, list):
            return [f"{path}: expected a list ({shape.name}), got {value!r}"[:300]]
        member = shape.member  # type: ignore[attr-defined]
        return [
            p for i, item in enumerate(value) for p in shape_problems(member, item, f"{path}[{i}]")
        ]
    if shape.type_name == "map":
        if not isinstance(value, dict):
            return [f"{path}: expected a map ({shape.name}), got {value!r}"[:300]]
        of = shape.value  # type: ignore[attr-defined]
        return [p for k, item in value.items() for p in shape_problems(of, item, f"{path}[{k!r}]")]
    return _scalar(shape, value, path)


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


# What a scalar of each kind must be on the wire, and how to say it is not.
_SCALARS: dict[str, tuple[Callable[[Any], bool], str]] = {
    "string": (lambda v: isinstance(v, str), "a string"),
    "integer": (lambda v: isinstance(v, int) and not isinstance(v, bool), "an integer"),
    "long": (lambda v: isinstance(v, int) and not isinstance(v, bool), "an integer"),
    "float": (_is_number, "a number"),
    "double": (_is_number, "a number"),
    "boolean": (lambda v: isinstance(v, bool), "a boolean"),
    "timestamp": (lambda v: _is_number(v) or isinstance(v, str), "a timestamp"),
    "blob": (lambda v: isinstance(v, str), "base64"),
}


def _scalar(shape: Shape, value: Any, path: str) -> list[str]:
    fits, wanted = _SCALARS.get(shape.type_name, (lambda v: True, "any JSON"))  # documents
    if not fits(value):
        return [f"{path}: expected {wanted} ({shape.name}), got {value!r}"[:300]]
    enum: list[str] = getattr(shape, "enum", None) or []
    if enum and value not in enum and value not in RECORDED_ENUM_VALUES.get(shape.name, ()):
        return [f"{path}: {value!r} is not one of {shape.name}'s values"]
    return []


def answer_problems(
    operation: OperationModel, status: int, headers: dict[str, str], body: bytes
) -> list[str]:
    """What is wrong with an answer to `operation`, as the model says it is to look."""
    if status >= 300:
        return _error_problems(operation, status, headers, body)
    expected = int(operation.http.get("responseCode", 200))
    problems = [] if status == expected else [f"status {status}, the model says {expected}"]
    output = operation.output_shape
    if output is None or output.serialization.get("payload") or not body.strip():
        return problems
    try:
        document = json.loads(body)
    except ValueError:
        return [*problems, f"body is not JSON: {body[:120]!r}"]
    return problems + shape_problems(output, document)


def _error_problems(
    operation: OperationModel, status: int, headers: dict[str, str], body: bytes
) -> list[str]:
    lowered = {k.lower(): v for k, v in headers.items()}
    try:
        document = json.loads(body) if body.strip() else {}
    except ValueError:
        return [f"error body is not JSON: {body[:120]!r}"]
    code = (
        lowered.get("x-amzn-errortype", "").split(":")[0]
        or str(document.get("__type", document.get("Type", ""))).split("#")[-1]
    )
    modelled = {shape.name: shape for shape in operation.error_shapes}
    if code in modelled:
        shape = modelled[code]
        wanted = int(shape.metadata.get("error", {}).get("httpStatusCode", 400))
        problems = [] if status == wanted else [f"{code}: status {status}, model says {wanted}"]
        return problems + shape_problems(shape, document, code)
    if code in FRONT_END_ERRORS:
        wanted = FRONT_END_ERRORS[code]
        return [] if status == wanted else [f"{code}: status {status}, AWS sends {wanted}"]
    return [f"{code or 'no error code'} (status {status}) is not an error of {operation.name}"]
