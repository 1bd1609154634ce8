"""Tags on functions: TagResource, UntagResource, ListTags."""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Iterable
from typing import Any, Protocol

from hearth.arns import ArnFormatter, parse_function_ref
from hearth.errors import (
    ConstraintViolation,
    function_not_found,
    invalid_parameter,
    validation_error,
)
from hearth.store.registry import Registry

MAX_TAGS = 50

_MAPPING_ARN = re.compile(
    r"arn:aws[a-zA-Z-]*:lambda:[a-z0-9-]+:\d{12}:event-source-mapping:"
    r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}"
)
# AWS's pattern for a taggable resource, quoted in its ValidationException.
_RESOURCE_PATTERN = (
    "arn:(aws[a-zA-Z-]*):lambda:(eusc-)?[a-z]{2}((-gov)|(-iso([a-z]?)))?-[a-z]+-\\d{1}:\\d{12}:"
    "(function:[a-zA-Z0-9-_]+(:(\\$LATEST|[a-zA-Z0-9-_]+))?|layer:([a-zA-Z0-9-_]+)|"
    "code-signing-config:csc-[a-z0-9]{17}|event-source-mapping:[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-"
    "[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}|capacity-provider:[a-zA-Z0-9-_]+)"
)


class MappingTags(Protocol):
    """Tags on event source mappings (hearth/control/mappings.py)."""

    def list_tags(self, arn: str) -> dict[str, str]: ...

    def tag(self, arn: str, tags: dict[str, str]) -> None: ...

    def untag(self, arn: str, keys: list[str]) -> None: ...


def check_tags(raw: Any) -> dict[str, str]:
    """Validate a Tags map as AWS does (keys 1-128, values 0-256, no `aws:` prefix, ≤ 50)."""
    if not isinstance(raw, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in raw.items()
    ):
        raise validation_error(
            [ConstraintViolation("tags", None, "Member must be a map of string to string")]
        )
    for key, value in raw.items():
        if not 1 <= len(key) <= 128:
            raise validation_error(
                [ConstraintViolation("tags", key, "Map keys must have length between 1 and 128")]
            )
        if len(value) > 256:
            raise validation_error(
                [
                    ConstraintViolation(
                        "tags", value, "Map values must have length less than or equal to 256"
                    )
                ]
            )
        if key.lower().startswith("aws:"):
            raise invalid_parameter(f"Tag keys prefixed with 'aws:' are reserved: {key}")
    if len(raw) > MAX_TAGS:
        raise invalid_parameter("Number of tags exceeds resource tag limit.")  # AWS's words
    return dict(raw)


class Tags:
    def __init__(
        self, registry: Registry, arns: ArnFormatter, mappings: MappingTags | None = None
    ) -> None:
        self._registry = registry
        self._arns = arns
        self._mappings = mappings

    def _mapping_arn(self, resource_arn: str) -> bool:
        """Whether the ARN names an event source mapping (ValidationException if malformed)."""
        if self._mappings is None or ":event-source-mapping:" not in resource_arn:
            return False
        if _MAPPING_ARN.fullmatch(resource_arn) is None:
            raise validation_error(
                [
                    ConstraintViolation(
                        "resource",
                        resource_arn,
                        f"Member must satisfy regular expression pattern: {_RESOURCE_PATTERN}",
                    )
                ]
            )
        return True

    def _function_name(self, resource_arn: str) -> str:
        ref = parse_function_ref(resource_arn, field="resource", max_length=256)
        if ref.qualifier is not None or not resource_arn.startswith("arn:"):
            raise invalid_parameter(
                "Tags on function aliases and versions are not supported. Please specify a "
                "function ARN."
            )
        return ref.name

    def list(self, resource_arn: str) -> dict[str, str]:
        if self._mapping_arn(resource_arn) and self._mappings is not None:
            return self._mappings.list_tags(resource_arn)
        name = self._function_name(resource_arn)
        with self._registry.transaction() as tx:
            record = tx.get_function(name)
            if record is None:
                raise function_not_found(self._arns.function(name))
            return dict(record.tags)

    def tag(self, resource_arn: str, tags: dict[str, str]) -> None:
        if self._mapping_arn(resource_arn) and self._mappings is not None:
            self._mappings.tag(resource_arn, tags)
            return
        name = self._function_name(resource_arn)
        with self._registry.transaction() as tx:
            record = tx.get_function(name)
            if record is None:
                raise function_not_found(self._arns.function(name))
            merged = check_tags({**record.tags, **tags})
            tx.put_function(dataclasses.replace(record, tags=merged))

    def untag(self, resource_arn: str, keys: Iterable[str]) -> None:
        if self._mapping_arn(resource_arn) and self._mappings is not None:
            self._mappings.untag(resource_arn, list(keys))
            return
        name = self._function_name(resource_arn)
        drop = set(keys)
        with self._registry.transaction() as tx:
            record = tx.get_function(name)
            if record is None:
                raise function_not_found(self._arns.function(name))
            kept = {k: v for k, v in record.tags.items() if k not in drop}
            tx.put_function(dataclasses.replace(record, tags=kept))
