"""Typed reads of JSON request fields, failing with AWS's ValidationException."""

from __future__ import annotations

from typing import Any

from hearth.errors import ConstraintViolation, LambdaError, validation_error


def field_name(key: str) -> str:
    """AWS names fields in messages in camel case: `FunctionVersion` → `functionVersion`."""
    return key[0].lower() + key[1:]


def violation(key: str, value: object, constraint: str) -> LambdaError:
    return validation_error([ConstraintViolation(field_name(key), value, constraint)])


def required_str(body: dict[str, Any], key: str) -> str:
    value = body.get(key)
    if value is None:
        raise violation(key, None, "Member must not be null")
    if not isinstance(value, str):
        raise violation(key, value, "Member must be of type string")
    return value


def optional_str(body: dict[str, Any], key: str) -> str | None:
    value = body.get(key)
    if value is not None and not isinstance(value, str):
        raise violation(key, value, "Member must be of type string")
    return value


def optional_bool(body: dict[str, Any], key: str) -> bool:
    value = body.get(key, False)
    if not isinstance(value, bool):
        raise violation(key, value, "Member must be of type boolean")
    return value


def str_list(body: dict[str, Any], key: str) -> list[str]:
    value = body.get(key)
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise violation(key, value, "Member must be a list of strings")
    return value
