"""ARN, FunctionName and qualifier parsing and formatting.

AWS accepts a function as `name`, `name:qualifier`, `ACCOUNT:function:name[:qualifier]` or
`arn:aws:lambda:REGION:ACCOUNT:function:name[:qualifier]`. Parsing never looks anything up:
it only says which function and which qualifier a string names.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from hearth.errors import (
    ConstraintViolation,
    ErrorCode,
    LambdaError,
    invalid_parameter,
    validation_error,
)

LATEST = "$LATEST"

# AWS's model patterns (botocore lambda/2015-03-31).
_FUNCTION_NAME_PATTERN = (
    r"(arn:(aws[a-zA-Z-]*)?:lambda:)?([a-z]{2}(-gov)?-[a-z]+-\d{1}:)?(\d{12}:)?"
    r"(function:)?([a-zA-Z0-9-_]+)(:(\$LATEST|[a-zA-Z0-9-_]+))?"
)
_FUNCTION_REF = re.compile(
    r"(?:arn:(?P<partition>aws[a-zA-Z-]*)?:lambda:(?P<region>[a-z]{2}(?:-gov)?-[a-z]+-\d):)?"
    r"(?:(?P<account>\d{12}):)?"
    r"(?:function:)?"
    r"(?P<name>[a-zA-Z0-9_-]+)"
    r"(?::(?P<qualifier>\$LATEST|[a-zA-Z0-9_-]+))?"
)
_NAME = re.compile(r"[a-zA-Z0-9_-]{1,64}")
# The model's qualifier pattern: `$latest` is a qualifier (of nothing that exists).
_QUALIFIER = re.compile(r"\$LATEST(?:\.PUBLISHED)?|[a-zA-Z0-9_$-]{1,128}")
_VERSION_NUMBER = re.compile(r"[0-9]+")
_ALIAS_NAME = re.compile(r"(?!^[0-9]+$)[a-zA-Z0-9_-]{1,128}")
_LAYER_NAME = re.compile(r"[a-zA-Z0-9_-]{1,140}")
_LAYER_ARN = re.compile(
    r"arn:(?P<partition>aws[a-zA-Z-]*):lambda:(?P<region>[a-z]{2}(?:-gov)?-[a-z]+-\d):"
    r"(?P<account>\d{12}):layer:(?P<name>[a-zA-Z0-9_-]+)(?::(?P<version>[0-9]+))?"
)


@dataclass(frozen=True)
class FunctionRef:
    """A function named by a request: its plain name and the qualifier, if one was given
    (and the region, when it was named by a full ARN: not part of its identity)."""

    name: str
    qualifier: str | None = None
    region: str | None = field(default=None, compare=False)


def parse_function_ref(
    value: str,
    *,
    field: str = "functionName",
    max_length: int = 140,
    name_limit: int | None = 64,
) -> FunctionRef:
    """Parse any of AWS's FunctionName forms; raise AWS's ValidationException if malformed.
    `name_limit` None: a name longer than a function's may have is no error here (AWS looks
    such a name up, and finds nothing)."""
    match = _FUNCTION_REF.fullmatch(value) if len(value) <= max_length else None
    too_long = match is not None and name_limit is not None and len(match["name"]) > name_limit
    if not value or match is None or too_long:
        constraint = (
            f"Member must have length less than or equal to {max_length}"
            if len(value) > max_length
            else f"Member must satisfy regular expression pattern: {_FUNCTION_NAME_PATTERN}"
        )
        raise validation_error([ConstraintViolation(field, value, constraint)])
    return FunctionRef(match["name"], match["qualifier"], match["region"])


def named_account(value: str) -> str | None:
    """The account a FunctionName's ARN or partial ARN names, if it names one."""
    match = _FUNCTION_REF.fullmatch(value)
    return match["account"] if match is not None else None


def check_region(ref: FunctionRef, here: str) -> FunctionRef:
    """A full ARN naming another region is AWS's 404, before anything is looked up."""
    if ref.region is not None and ref.region != here:
        raise LambdaError(
            ErrorCode.RESOURCE_NOT_FOUND,
            404,
            f"Functions from '{ref.region}' are not reachable in this region ('{here}')",
        )
    return ref


def resolve_qualifier(ref: FunctionRef, query_qualifier: str | None) -> FunctionRef:
    """Merge a `?Qualifier=` with one carried in the name; they must agree."""
    if query_qualifier is None or query_qualifier == "":
        return ref
    check_qualifier(query_qualifier)
    if ref.qualifier is not None and ref.qualifier != query_qualifier:
        raise invalid_parameter(
            "The derived qualifier from the function name does not match the specified qualifier."
        )
    return FunctionRef(ref.name, query_qualifier, ref.region)


def check_qualifier(value: str) -> str:
    if not _QUALIFIER.fullmatch(value):
        raise validation_error(
            [
                ConstraintViolation(
                    "qualifier",
                    value,
                    "Member must satisfy regular expression pattern: "
                    "\\$(LATEST(\\.PUBLISHED)?)|[a-zA-Z0-9-_$]+",
                )
            ]
        )
    return value


def is_alias_name(qualifier: str) -> bool:
    """True for what can only name an alias (not `$LATEST`, not a version number)."""
    return bool(_ALIAS_NAME.fullmatch(qualifier))


def is_version(qualifier: str) -> bool:
    """True for `$LATEST` and published version numbers; False for alias names."""
    return qualifier == LATEST or bool(_VERSION_NUMBER.fullmatch(qualifier))


def check_alias_name(value: str, field: str = "name") -> str:
    if not _ALIAS_NAME.fullmatch(value):
        raise validation_error(
            [
                ConstraintViolation(
                    field,
                    value,
                    "Member must satisfy regular expression pattern: (?!^[0-9]+$)([a-zA-Z0-9-_]+)",
                )
            ]
        )
    return value


def check_function_name(value: str) -> str:
    if not _NAME.fullmatch(value):
        raise validation_error(
            [
                ConstraintViolation(
                    "functionName",
                    value,
                    "Member must satisfy regular expression pattern: [a-zA-Z0-9-_]+",
                )
            ]
        )
    return value


@dataclass(frozen=True)
class LayerRef:
    name: str
    version: int | None = None


def parse_layer_name(value: str) -> str:
    """A LayerName path label: a plain name or a layer ARN (without version)."""
    arn = _LAYER_ARN.fullmatch(value)
    if arn and arn["version"] is None:
        return arn["name"]
    if _LAYER_NAME.fullmatch(value):
        return value
    raise validation_error(
        [
            ConstraintViolation(
                "layerName",
                value,
                "Member must satisfy regular expression pattern: "
                "(arn:[a-zA-Z0-9-]+:lambda:[a-zA-Z0-9-]+:\\d{12}:layer:[a-zA-Z0-9-_]+)"
                "|[a-zA-Z0-9-_]+",
            )
        ]
    )


def parse_layer_version_arn(value: str, field: str = "arn") -> LayerRef:
    arn = _LAYER_ARN.fullmatch(value)
    if arn is None or arn["version"] is None:
        raise validation_error(
            [
                ConstraintViolation(
                    field,
                    value,
                    "Member must satisfy regular expression pattern: "
                    "(arn:(aws[a-zA-Z-]*)?:lambda:[a-z]{2}((-gov)|(-iso([a-z]?)))?-[a-z]+-\\d{1}:"
                    "\\d{12}:layer:[a-zA-Z0-9-_]+:[0-9]+)",
                )
            ]
        )
    return LayerRef(arn["name"], int(arn["version"]))


@dataclass(frozen=True)
class ArnFormatter:
    """Formats ARNs for one region and account."""

    region: str
    account_id: str

    def function(self, name: str, qualifier: str | None = None) -> str:
        base = f"arn:aws:lambda:{self.region}:{self.account_id}:function:{name}"
        return f"{base}:{qualifier}" if qualifier else base

    def layer(self, name: str) -> str:
        return f"arn:aws:lambda:{self.region}:{self.account_id}:layer:{name}"

    def layer_version(self, name: str, version: int) -> str:
        return f"{self.layer(name)}:{version}"


# Function URLs ------------------------------------------------------------------------------
# Names under `localhost` resolve to loopback in browsers and curl (RFC 6761), so a function
# URL can have a host name of its own without any DNS set-up.


def function_url_domain(url_id: str, region: str) -> str:
    return f"{url_id}.lambda-url.{region}.localhost"


def function_url(url_id: str, region: str, port: int | None) -> str:
    """The FunctionUrl Hearth returns: one a client on this machine can call."""
    authority = function_url_domain(url_id, region)
    if port is not None and port != 80:
        authority += f":{port}"
    return f"http://{authority}/"


def port_of(host_header: str) -> int | None:
    """The port in a Host header, None when it names none."""
    if host_header.startswith("["):  # [::1]:9070
        _, _, rest = host_header.partition("]")
        return int(rest[1:]) if rest.startswith(":") and rest[1:].isdigit() else None
    _, sep, port = host_header.rpartition(":")
    return int(port) if sep and port.isdigit() else None


class Source(StrEnum):
    """The kinds of event source a mapping can read."""

    SQS = "sqs"
    KINESIS = "kinesis"
    DYNAMODB = "dynamodb"


def source_of(arn: Any) -> Source:
    """The kind of event source an ARN names, or AWS's "Unrecognized event source."."""
    if isinstance(arn, str):
        parts = arn.split(":", 5)
        if len(parts) == 6 and parts[0] == "arn":
            service, resource = parts[2], parts[5]
            if service == "sqs" and resource:
                return Source.SQS
            if service == "kinesis" and resource.startswith("stream/"):
                return Source.KINESIS
            if service == "dynamodb" and "/stream/" in resource:
                return Source.DYNAMODB
    raise invalid_parameter("Unrecognized event source.")


def is_fifo(queue_arn: str) -> bool:
    return queue_arn.endswith(".fifo")
