"""Every request checked against botocore's service model before any handler runs.

AWS's front end deserializes a request into the operation's input shape, then checks the
shape's constraints; Hearth does the same from the model botocore ships (the one boto3 and the
aws CLI were built from), so a value AWS would refuse never reaches a handler or the registry:

- a JSON value of the wrong type (`"VpcConfig": 123`, `"Timeout": "3"`), or a number past its
  type's range, is AWS's 400 `SerializationException`;
- a missing required member, a length, value range, enum or pattern not met is AWS's 400
  `ValidationException`, every violation listed in one message, in AWS's wording ("1 validation
  error detected: Value 'x' at 'functionName' failed to satisfy constraint: ...").

An explicit JSON `null` reads as absent and unknown members are ignored, as on AWS. Rules the
model cannot express (Hearth's supported runtimes, 4 KB of environment) stay in the handlers.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from typing import Any

from botocore.model import OperationModel, ServiceModel, Shape, StringShape, StructureShape

from hearth.api.http import Request
from hearth.errors import ConstraintViolation, LambdaError, validation_error

# Hearth's route names where they differ from the model's operation names.
_OPERATION_ALIASES = {"InvokeFunction": "Invoke"}
_INT_RANGE = {"integer": (-(2**31), 2**31 - 1), "long": (-(2**63), 2**63 - 1)}
_TYPE_NAMES = {
    "string": "String",
    "integer": "Integer",
    "long": "Long",
    "boolean": "Boolean",
    "double": "Double",
    "float": "Float",
    "blob": "Blob",
    "timestamp": "Date",
    "structure": "Structure",
    "list": "List",
    "map": "Map",
}
# Java's \p{..} classes, which Python's re lacks (only TagKey / TagValue use them).
_UNICODE_CLASSES = {
    r"\p{L}": r"\w",
    r"\p{N}": r"\w",
    r"\p{Z}": "\u0020\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000",
}


def serialization_error(message: str) -> LambdaError:
    return LambdaError("SerializationException", 400, message)


@dataclass(frozen=True)
class _Plan:
    """Where each input member of one operation is read from, worked out once."""

    shape: StructureShape
    uri: tuple[tuple[str, Shape, str], ...]
    query: tuple[tuple[str, Shape, str], ...]
    header: tuple[tuple[str, Shape, str], ...]
    body: tuple[str, ...]
    payload: str | None
    payload_kind: str | None


def _plan(shape: StructureShape) -> _Plan:
    places: dict[str | None, list[tuple[str, Shape, str]]] = {}
    for name, member in shape.members.items():
        location = member.serialization.get("location")
        wire = member.serialization.get("name", name)
        places.setdefault(location, []).append(
            (name, member, wire.lower() if location == "header" else wire)
        )
    payload = shape.serialization.get("payload")
    return _Plan(
        shape,
        tuple(places.get("uri", ())),
        tuple(places.get("querystring", ())),
        tuple(places.get("header", ())),
        tuple(name for name, _, _ in places.get(None, ()) if name != payload),
        payload,
        shape.members[payload].type_name if payload else None,
    )


class ModelChecker:
    """Checks requests against one service model (botocore's `lambda`)."""

    def __init__(self, model: ServiceModel) -> None:
        self._model = model
        self._operations = set(model.operation_names)
        self._plans: dict[str, _Plan | None] = {}

    def operation(self, name: str) -> OperationModel | None:
        name = _OPERATION_ALIASES.get(name, name)
        return self._model.operation_model(name) if name in self._operations else None

    def check(self, request: Request) -> None:
        """Raise AWS's SerializationException / ValidationException for a request that does
        not fit its operation's input shape; operations the model lacks pass unchecked."""
        if request.operation not in self._plans:
            operation = self.operation(request.operation)
            shape = operation.input_shape if operation is not None else None
            self._plans[request.operation] = _plan(shape) if shape is not None else None
        plan = self._plans[request.operation]
        if plan is None:
            return
        values = _gather(request, plan)
        violations: list[ConstraintViolation] = []
        _check_structure(plan.shape, values, "", violations, top=True)
        if violations:
            raise validation_error(violations)


def _gather(request: Request, plan: _Plan) -> dict[str, Any]:
    """The input members as JSON would carry them: path labels, query, headers and body."""
    # The order is the order AWS lists violations in: query before path (a recorded GetFunction
    # names a bad `qualifier` before a bad `functionName`), then headers, then the body.
    values: dict[str, Any] = {}
    if plan.query and request.query_string:
        query = request.query
        for name, member, wire in plan.query:
            found = query.get(wire)
            if found is not None:
                values[name] = (
                    found if member.type_name == "list" else _from_text(member, found[0], name)
                )
    for name, member, wire in plan.uri:
        raw = request.params.get(wire)
        if raw is not None:
            values[name] = _from_text(member, raw, name)
    for name, member, wire in plan.header:
        header = request.headers.get(wire)
        if header is not None:
            values[name] = _from_text(member, header, name)
    if plan.payload is None and plan.body:
        body = request.json()
        for name in plan.body:
            if body.get(name) is not None:
                values[name] = body[name]
    elif plan.payload_kind == "structure":
        values[plan.payload] = request.json()  # type: ignore[index]
    elif plan.payload is not None:
        values[plan.payload] = request.body  # raw bytes: its handler reads them as they come
    return values


def _from_text(member: Shape, raw: str, name: str) -> Any:
    """A path / query / header value in the member's type (as AWS's deserializer reads it)."""
    kind = member.type_name
    if kind in _INT_RANGE:
        low, high = _INT_RANGE[kind]
        if not re.fullmatch(r"-?\d{1,40}", raw) or not low <= int(raw) <= high:
            raise validation_error(
                [ConstraintViolation(_field(name), raw, "Member must be a number")]
            )
        return int(raw)
    if kind == "boolean":
        if raw.lower() not in ("true", "false"):
            raise serialization_error(f"Cannot convert '{raw}' to Boolean")
        return raw.lower() == "true"
    return raw


def _field(name: str) -> str:
    return name[0].lower() + name[1:] if name else name


def _path(prefix: str, name: str) -> str:
    return f"{prefix}.{_field(name)}" if prefix else _field(name)


def _check_structure(
    shape: StructureShape,
    value: Mapping[str, Any],
    prefix: str,
    violations: list[ConstraintViolation],
    *,
    top: bool = False,
) -> None:
    for name in shape.required_members:
        if value.get(name) is None:
            violations.append(
                ConstraintViolation(_path(prefix, name), None, "Member must not be null")
            )
    members = shape.members
    for name, item in value.items():
        member = members.get(name)
        if member is None or item is None:  # unknown members are ignored, null is absent
            continue
        if top and (member.serialization.get("location") is not None or isinstance(item, bytes)):
            # Path, query and header values were read in their type already (`_from_text`).
            _check_constraints(member, item, _path(prefix, name), violations)
            continue
        _check_value(member, item, _path(prefix, name), violations)


def _check_value(
    shape: Shape, value: Any, path: str, violations: list[ConstraintViolation]
) -> None:
    """Type (raising SerializationException), then constraints, recursing into containers."""
    _check_type(shape, value)
    _check_constraints(shape, value, path, violations)
    if isinstance(shape, StructureShape):
        _check_structure(shape, value, path, violations)
    elif shape.type_name == "list":
        member = shape.member  # type: ignore[attr-defined]
        for item in value:
            if item is not None:
                _check_type(member, item)
                _check_nested(member, item, path, violations)
        failed = [item for item in value if item is None or _constraint_failures(member, item)]
        if failed and _constraint_list(member):
            violations.append(_container_violation(shape, value, path, "Member", member))
    elif shape.type_name == "map":
        key_shape, value_shape = shape.key, shape.value  # type: ignore[attr-defined]
        for item in value.values():
            if item is not None:
                _check_type(value_shape, item)
                _check_nested(value_shape, item, path, violations)
        if any(_constraint_failures(key_shape, key) for key in value):
            violations.append(_container_violation(shape, value, path, "Map keys", key_shape))
        if any(item is None or _constraint_failures(value_shape, item) for item in value.values()):
            violations.append(_container_violation(shape, value, path, "Map value", value_shape))


def _check_nested(
    shape: Shape, value: Any, path: str, violations: list[ConstraintViolation]
) -> None:
    """Structures and containers inside a list or map: AWS names them by the list's path."""
    if isinstance(shape, StructureShape):
        _check_structure(shape, value, path, violations)
    elif shape.type_name in ("list", "map"):
        _check_value(shape, value, path, violations)


def _container_violation(
    shape: Shape, value: Any, path: str, what: str, member: Shape
) -> ConstraintViolation:
    listed = _constraint_list(member)
    if what != "Map keys" and member.type_name not in ("structure", "list", "map"):
        listed.append("Member must not be null")  # a list item or map value may be null
    constraint = f"{what} must satisfy constraint: [{', '.join(listed)}]"
    show = not (shape.metadata.get("sensitive") or member.metadata.get("sensitive"))
    return ConstraintViolation(path, _java(value), constraint, show_value=show)


def _check_constraints(
    shape: Shape, value: Any, path: str, violations: list[ConstraintViolation]
) -> None:
    show = not shape.metadata.get("sensitive")
    for failure in _constraint_failures(shape, value):
        violations.append(ConstraintViolation(path, _java(value), failure, show_value=show))


def _constraint_failures(shape: Shape, value: Any) -> list[str]:
    if not _constrained(shape):
        return []
    meta = shape.metadata
    failures: list[str] = []
    kind = shape.type_name
    if kind in ("string", "list", "map", "blob") and not isinstance(value, bool):
        size = len(value) if isinstance(value, (str, list, dict)) else None
        if size is not None:
            if "max" in meta and size > meta["max"]:
                failures.append(f"Member must have length less than or equal to {meta['max']}")
            if "min" in meta and size < meta["min"]:
                failures.append(f"Member must have length greater than or equal to {meta['min']}")
    elif kind in ("integer", "long", "double", "float") and isinstance(value, (int, float)):
        if "max" in meta and value > meta["max"]:
            failures.append(f"Member must have value less than or equal to {_java(meta['max'])}")
        if "min" in meta and value < meta["min"]:
            failures.append(f"Member must have value greater than or equal to {_java(meta['min'])}")
    if kind == "string" and isinstance(value, str):
        pattern = meta.get("pattern")
        if pattern and not _fullmatch(pattern, value):
            failures.append(f"Member must satisfy regular expression pattern: {_printed(shape)}")
        enum = _enum(shape)
        if enum and value not in enum:
            failures.append(f"Member must satisfy enum value set: [{', '.join(enum)}]")
    return failures


@cache
def _constrained(shape: Shape) -> bool:
    meta = shape.metadata
    return bool({"min", "max", "pattern"} & meta.keys()) or bool(_enum(shape))


def _constraint_list(shape: Shape) -> list[str]:
    """Every constraint of a container's member shape, as AWS lists them."""
    meta, listed = shape.metadata, []
    if shape.type_name in ("integer", "long", "double", "float"):
        if "max" in meta:
            listed.append(f"Member must have value less than or equal to {_java(meta['max'])}")
        if "min" in meta:
            listed.append(f"Member must have value greater than or equal to {_java(meta['min'])}")
    else:
        if "max" in meta:
            listed.append(f"Member must have length less than or equal to {meta['max']}")
        if "min" in meta:
            listed.append(f"Member must have length greater than or equal to {meta['min']}")
    if meta.get("pattern"):
        listed.append(f"Member must satisfy regular expression pattern: {_printed(shape)}")
    if _enum(shape):
        listed.append(f"Member must satisfy enum value set: [{', '.join(_enum(shape))}]")
    return listed


# Patterns AWS's messages print otherwise than botocore's model has them (recorded on AWS:
# the LayerVersionArn pattern without the model's outer parentheses); the same regex.
_AWS_PRINTED_PATTERN = {
    "LayerVersionArn": "(arn:(aws[a-zA-Z-]*)?:lambda:(eusc-)?[a-z]{2}((-gov)|(-iso([a-z]?)))?"
    "-[a-z]+-\\d{1}:\\d{12}:layer:[a-zA-Z0-9-_]+:[0-9]+)|"
    "(arn:[a-zA-Z0-9-]+:lambda:::awslayer:[a-zA-Z0-9-_]+)",
}


def _printed(shape: Shape) -> str:
    pattern: str = shape.metadata["pattern"]
    printed = _AWS_PRINTED_PATTERN.get(shape.name)
    # Only where the model still has the pattern AWS printed, wrapped: a newer model wins.
    return printed if printed is not None and pattern == f"({printed})" else pattern


# Enums AWS does not check at its front end: a Runtime may also be a runtime version's ARN,
# so an unknown one is the handler's InvalidParameterValueException ("... or be a valid ARN").
_HANDLER_CHECKED_ENUMS = frozenset({"Runtime"})


# AWS lists an enum's values in its own order, not the model's (a hash order of its service's
# code): the orders recorded on AWS (../shared/spec/aws-recorded), used when they name the
# same values as the model.
_AWS_ENUM_ORDER: dict[str, list[str]] = {
    "EventSourcePosition": ["LATEST", "AT_TIMESTAMP", "TRIM_HORIZON"],
    "RecursiveLoop": ["Terminate", "Allow"],
    "InvokeMode": ["RESPONSE_STREAM", "BUFFERED"],
    "SnapStartApplyOn": ["PublishedVersions", "None"],
}


def _enum(shape: Shape) -> list[str]:
    if not isinstance(shape, StringShape) or shape.name in _HANDLER_CHECKED_ENUMS:
        return []
    values = list(shape.enum)
    aws_order = _AWS_ENUM_ORDER.get(shape.name)
    return aws_order if aws_order is not None and set(aws_order) == set(values) else values


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


# What JSON scalar each model type reads (structures, lists and maps read none).
_SCALAR_FITS = {
    "string": lambda v: isinstance(v, str),
    "blob": lambda v: isinstance(v, str),  # base64 in JSON
    "boolean": lambda v: isinstance(v, bool),
    "integer": lambda v: isinstance(v, int) and not isinstance(v, bool),
    "long": lambda v: isinstance(v, int) and not isinstance(v, bool),
    "double": lambda v: _is_number(v) and math.isfinite(v),
    "float": lambda v: _is_number(v) and math.isfinite(v),
    "timestamp": lambda v: _is_number(v) or isinstance(v, str),
}


def _check_type(shape: Shape, value: Any) -> None:
    kind = shape.type_name
    if isinstance(value, dict):
        if kind not in ("structure", "map"):
            raise serialization_error("Start of structure or map found where not expected.")
        return
    if isinstance(value, list):
        if kind != "list":
            raise serialization_error("Start of list found where not expected.")
        return
    expected = _TYPE_NAMES.get(kind, kind)
    fits = _SCALAR_FITS.get(kind)
    if fits is None or not fits(value):
        raise serialization_error(f"{_token(value)} can not be converted to {expected}")
    if kind in _INT_RANGE:
        low, high = _INT_RANGE[kind]
        if not low <= value <= high:
            raise serialization_error(f"NUMBER_VALUE {value} is out of range for {expected}")


def _token(value: Any) -> str:
    if value is True:
        return "TRUE_VALUE"
    if value is False:
        return "FALSE_VALUE"
    if isinstance(value, (int, float)):
        return "NUMBER_VALUE"
    return "STRING_VALUE"


def _java(value: Any) -> Any:
    """A value as AWS (Java) prints it in a message: [a, b], {k=v}, 1.0, true."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return repr(value)
    if isinstance(value, list):
        return "[" + ", ".join(str(_java(v)) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k}={_java(v)}" for k, v in value.items()) + "}"
    return value


def _fullmatch(pattern: str, value: str) -> bool:
    compiled = _compile(pattern)
    return compiled is None or compiled.fullmatch(value) is not None


@cache
def _compile(pattern: str) -> re.Pattern[str] | None:
    for java, python in _UNICODE_CLASSES.items():
        pattern = pattern.replace(java, python)
    try:
        return re.compile(pattern, re.DOTALL)
    except re.error:  # a pattern Python cannot read is not enforced
        return None
