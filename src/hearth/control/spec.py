"""Validation of function configuration as CreateFunction / UpdateFunctionConfiguration send it.

`parse_config` turns a request body into the `FunctionVersion` fields it sets, raising
AWS's error for the first broken rule (ValidationException for model constraints,
InvalidParameterValueException for service rules), with AWS's wording.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any

from hearth.control.runtime_names import check_runtime
from hearth.errors import ConstraintViolation, invalid_parameter, validation_error

# AWS keeps these for itself; a function may not set them.
RESERVED_ENVIRONMENT_KEYS = frozenset(
    {
        "_HANDLER",
        "_X_AMZN_TRACE_ID",
        "AWS_DEFAULT_REGION",
        "AWS_REGION",
        "AWS_EXECUTION_ENV",
        "AWS_LAMBDA_FUNCTION_NAME",
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE",
        "AWS_LAMBDA_FUNCTION_VERSION",
        "AWS_LAMBDA_INITIALIZATION_TYPE",
        "AWS_LAMBDA_LOG_GROUP_NAME",
        "AWS_LAMBDA_LOG_STREAM_NAME",
        "AWS_ACCESS_KEY",
        "AWS_ACCESS_KEY_ID",
        "AWS_SECRET_ACCESS_KEY",
        "AWS_SESSION_TOKEN",
        "AWS_LAMBDA_RUNTIME_API",
        "LAMBDA_TASK_ROOT",
        "LAMBDA_RUNTIME_DIR",
    }
)
MAX_ENVIRONMENT_BYTES = 4096
MAX_LAYERS = 5

_ENV_KEY = re.compile(r"[a-zA-Z][a-zA-Z0-9_]+")
_HANDLER = re.compile(r"[^\s]+")
_ROLE = re.compile(r"arn:(aws[a-zA-Z-]*)?:iam::\d{12}:role/?[a-zA-Z_0-9+=,.@\-_/]+")
_KMS_KEY = re.compile(r"(arn:(aws[a-zA-Z-]*)?:[a-z0-9-.]+:.*)|()")
_DLQ_TARGET = re.compile(r"(arn:(aws[a-zA-Z-]*)?:[a-z0-9-.]+:.*)|()")

# Request keys Hearth stores and echoes but does not act on.
PASSTHROUGH_KEYS = ("VpcConfig", "FileSystemConfigs", "ImageConfig", "SnapStart")
_KNOWN_KEYS = frozenset(
    {
        "FunctionName",
        "Runtime",
        "Role",
        "Handler",
        "Code",
        "Description",
        "Timeout",
        "MemorySize",
        "Publish",
        "PackageType",
        "Environment",
        "DeadLetterConfig",
        "KMSKeyArn",
        "TracingConfig",
        "Tags",
        "Layers",
        "Architectures",
        "EphemeralStorage",
        "LoggingConfig",
        "RevisionId",
        "CodeSigningConfigArn",
        "PublishTo",
        "CapacityProviderConfig",
        "DurableConfig",
        "TenancyConfig",
        *PASSTHROUGH_KEYS,
    }
)


def _violation(
    field: str, value: object, constraint: str, *, show_value: bool = True
) -> ConstraintViolation:
    return ConstraintViolation(field, value, constraint, show_value=show_value)


def _require_type(body: Mapping[str, Any], key: str, kind: type | tuple[type, ...]) -> Any:
    value = body[key]
    # bool is an int in Python; JSON true is never a valid integer here.
    if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
        raise validation_error(
            [
                _violation(
                    key[0].lower() + key[1:], value, f"Member must be of type {_kind_name(kind)}"
                )
            ]
        )
    return value


def _kind_name(kind: type | tuple[type, ...]) -> str:
    names = {int: "integer", str: "string", dict: "structure", list: "list", bool: "boolean"}
    if isinstance(kind, tuple):
        return " or ".join(names.get(k, k.__name__) for k in kind)
    return names.get(kind, kind.__name__)


# One branch per configuration key AWS accepts, in the model's order: flat is what reads best.
def parse_config(body: Mapping[str, Any], *, creating: bool) -> dict[str, Any]:  # noqa: PLR0912, PLR0915
    """Validate the configuration keys of a request body; return FunctionVersion fields.

    Only keys present in the body appear in the result, so an update changes only what the
    caller sent. Layers are returned as a list of ARNs under `layer_arns` for the caller to
    resolve against the registry.
    """
    violations: list[ConstraintViolation] = []
    fields: dict[str, Any] = {}

    if "Runtime" in body:
        fields["runtime"] = check_runtime(_require_type(body, "Runtime", str))
    if "Handler" in body:
        handler = _require_type(body, "Handler", str)
        if len(handler) > 128:
            violations.append(
                _violation("handler", handler, "Member must have length less than or equal to 128")
            )
        elif not _HANDLER.fullmatch(handler):
            violations.append(
                _violation(
                    "handler", handler, "Member must satisfy regular expression pattern: [^\\s]+"
                )
            )
        fields["handler"] = handler
    if "Role" in body:
        role = _require_type(body, "Role", str)
        if not _ROLE.fullmatch(role):
            violations.append(
                _violation(
                    "role", role, f"Member must satisfy regular expression pattern: {_ROLE.pattern}"
                )
            )
        fields["role"] = role
    if "Description" in body:
        description = _require_type(body, "Description", str)
        if len(description) > 256:
            violations.append(
                _violation(
                    "description", description, "Member must have length less than or equal to 256"
                )
            )
        fields["description"] = description
    if "Timeout" in body:
        timeout = _require_type(body, "Timeout", int)
        violations.extend(_range("timeout", timeout, 1, 900))
        fields["timeout"] = timeout
    if "MemorySize" in body:
        memory = _require_type(body, "MemorySize", int)
        violations.extend(_range("memorySize", memory, 128, 10240))
        fields["memory_size"] = memory
    if "EphemeralStorage" in body:
        storage = _require_type(body, "EphemeralStorage", dict)
        size = storage.get("Size")
        if not isinstance(size, int) or isinstance(size, bool):
            violations.append(_violation("ephemeralStorage.size", size, "Member must not be null"))
        else:
            violations.extend(_range("ephemeralStorage.size", size, 512, 10240))
            fields["ephemeral_storage"] = size
    if "Architectures" in body:
        architectures = _require_type(body, "Architectures", list)
        if len(architectures) != 1 or architectures[0] not in ("x86_64", "arm64"):
            violations.append(
                _violation(
                    "architectures",
                    architectures,
                    "Member must have length less than or equal to 1, and each member must "
                    "satisfy enum value set: [x86_64, arm64]",
                )
            )
        else:
            fields["architectures"] = tuple(architectures)
    if violations:
        raise validation_error(violations)

    if "Environment" in body:
        fields["environment"] = _parse_environment(body["Environment"])
        fields["environment_sent"] = True
    if "TracingConfig" in body:
        mode = _require_type(body, "TracingConfig", dict).get("Mode", "PassThrough")
        if mode not in ("Active", "PassThrough"):
            raise validation_error(
                [
                    _violation(
                        "tracingConfig.mode",
                        mode,
                        "Member must satisfy enum value set: [Active, PassThrough]",
                    )
                ]
            )
        fields["tracing_mode"] = mode
    if "DeadLetterConfig" in body:
        target = _require_type(body, "DeadLetterConfig", dict).get("TargetArn") or None
        if target is not None and not _DLQ_TARGET.fullmatch(str(target)):
            raise validation_error(
                [
                    _violation(
                        "deadLetterConfig.targetArn",
                        target,
                        f"Member must satisfy regular expression pattern: {_DLQ_TARGET.pattern}",
                    )
                ]
            )
        fields["dead_letter_target_arn"] = target
    if "KMSKeyArn" in body:
        key = _require_type(body, "KMSKeyArn", str) or None
        fields["kms_key_arn"] = key
    if "LoggingConfig" in body:
        fields.update(_parse_logging(_require_type(body, "LoggingConfig", dict)))
        if creating:
            fields.setdefault("log_format", "Text")
            resolve_logging(fields, "Text", None, None)
    if "Layers" in body:
        layers = _require_type(body, "Layers", list)
        if len(layers) > MAX_LAYERS:
            raise invalid_parameter(f"Cannot reference more than {MAX_LAYERS} layers.")
        if not all(isinstance(arn, str) for arn in layers):
            raise validation_error(
                [_violation("layers", layers, "Member must be a list of strings")]
            )
        fields["layer_arns"] = list(layers)
    if body.get("PackageType", "Zip") != "Zip":
        raise invalid_parameter(
            "Hearth runs .zip file archives only: PackageType Image is not supported."
        )
    passthrough = {key: body[key] for key in PASSTHROUGH_KEYS if key in body}
    if passthrough:
        fields["passthrough"] = passthrough

    if creating:
        missing = [key for key in ("Runtime", "Handler") if key not in body]
        if missing:
            raise invalid_parameter(
                "Runtime and Handler are mandatory parameters for functions created "
                "with deployment packages."
            )
        if "Role" not in body:
            raise validation_error([_violation("role", None, "Member must not be null")])
    return fields


def unknown_keys(body: Mapping[str, Any]) -> list[str]:
    return sorted(set(body) - _KNOWN_KEYS)


def _range(field: str, value: int, low: int, high: int) -> list[ConstraintViolation]:
    if value < low:
        return [_violation(field, value, f"Member must have value greater than or equal to {low}")]
    if value > high:
        return [_violation(field, value, f"Member must have value less than or equal to {high}")]
    return []


def _parse_environment(raw: Any) -> dict[str, str]:
    if not isinstance(raw, dict):
        raise validation_error([_violation("environment", raw, "Member must be a structure")])
    variables = raw.get("Variables") or {}
    if not isinstance(variables, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in variables.items()
    ):
        raise validation_error(
            [_violation("environment.variables", None, "Member must be a map of string to string")]
        )
    bad_keys = [key for key in variables if not _ENV_KEY.fullmatch(key)]
    if bad_keys:
        raise validation_error(
            [
                _violation(
                    "environment.variables",
                    None,
                    "Map keys must satisfy constraint: [Member must satisfy regular expression "
                    "pattern: [a-zA-Z]([a-zA-Z0-9_])+]",
                    show_value=False,
                )
            ]
        )
    reserved = sorted(key for key in variables if key in RESERVED_ENVIRONMENT_KEYS)
    if reserved:
        raise invalid_parameter(
            "Lambda was unable to configure your environment variables because the environment "
            "variables you have provided contains reserved keys that are currently not supported "
            f"for modification. Reserved keys used in this request: {', '.join(reserved)}"
        )
    measured = json.dumps(variables, separators=(",", ":"))
    if len(measured.encode()) > MAX_ENVIRONMENT_BYTES:
        raise invalid_parameter(
            "Lambda was unable to configure your environment variables because the environment "
            "variables you have provided exceeded the 4KB limit. "
            f"String measured: {measured}"
        )
    return dict(variables)


def _parse_logging(raw: Mapping[str, Any]) -> dict[str, Any]:
    """Only the keys the request names: an update that names one keeps the others."""
    fields: dict[str, Any] = {}
    if "LogFormat" in raw:
        log_format = raw["LogFormat"]
        if log_format not in ("Text", "JSON"):
            raise validation_error(
                [
                    _violation(
                        "loggingConfig.logFormat",
                        log_format,
                        "Member must satisfy enum value set: [JSON, Text]",
                    )
                ]
            )
        fields["log_format"] = log_format
    if raw.get("LogGroup"):
        fields["log_group"] = str(raw["LogGroup"])
    for key, field in (
        ("ApplicationLogLevel", "application_log_level"),
        ("SystemLogLevel", "system_log_level"),
    ):
        if key in raw:
            if raw[key] not in LOG_LEVELS:
                raise validation_error(
                    [
                        _violation(
                            f"loggingConfig.{key[0].lower()}{key[1:]}",
                            raw[key],
                            f"Member must satisfy enum value set: [{', '.join(LOG_LEVELS)}]",
                        )
                    ]
                )
            fields[field] = raw[key]
    return fields


LOG_LEVELS = ("TRACE", "DEBUG", "INFO", "WARN", "ERROR", "FATAL")


def resolve_logging(
    fields: dict[str, Any], log_format: str, application: str | None, system: str | None
) -> None:
    """Settle the log levels against the format the function ends up with, as AWS does: JSON
    defaults both levels to INFO; Text has none, and a request that sets one with Text fails.
    `log_format`, `application`, `system`: what the function has now."""
    named = {"application_log_level", "system_log_level"} & fields.keys()
    if not named and "log_format" not in fields:
        return
    final = fields.get("log_format", log_format)
    if final == "Text":
        if named:
            raise invalid_parameter(
                'LogLevel is not supported when LogFormat is set to "Text". Remove LogLevel '
                'from your request or change the LogFormat to "JSON" and try again.'
            )
        fields["application_log_level"] = fields["system_log_level"] = None
        return
    fields.setdefault("application_log_level", application or "INFO")
    fields.setdefault("system_log_level", system or "INFO")
