"""Records → AWS's JSON shapes. Pure functions; no I/O."""

from __future__ import annotations

import base64
import hashlib
from typing import Any

from hearth.arns import LATEST, ArnFormatter
from hearth.control import snapstart
from hearth.control.event_config import EventConfigView
from hearth.control.provisioned import ProvisionedView
from hearth.models import Alias, FunctionVersion, LayerVersion

# ListFunctions returns a subset of the configuration: AWS leaves these out.
_STATE_KEYS = (
    "State",
    "StateReason",
    "StateReasonCode",
    "LastUpdateStatus",
    "LastUpdateStatusReason",
    "LastUpdateStatusReasonCode",
)


def code_sha256_b64(hex_digest: str) -> str:
    return base64.b64encode(bytes.fromhex(hex_digest)).decode()


def function_configuration(
    version: FunctionVersion,
    arns: ArnFormatter,
    *,
    arn_qualifier: str | None = None,
    with_state: bool = True,
    unqualified_arn: bool = False,
) -> dict[str, Any]:
    """A FunctionConfiguration. `$LATEST` is reported under the unqualified ARN unless the
    caller named it (`arn_qualifier`); list entries (`with_state=False`) leave out the state
    and the runtime version, as on AWS."""
    qualifier = arn_qualifier or (None if version.is_latest else version.version)
    if unqualified_arn:
        qualifier = None
    shape: dict[str, Any] = {
        "FunctionName": version.function_name,
        "FunctionArn": arns.function(version.function_name, qualifier),
        "Runtime": version.runtime,
        "Role": version.role,
        "Handler": version.handler,
        "CodeSize": version.code_size,
        "Description": version.description,
        "Timeout": version.timeout,
        "MemorySize": version.memory_size,
        "LastModified": version.last_modified,
        "CodeSha256": code_sha256_b64(version.code_sha256_hex),
        "Version": version.version,
        "TracingConfig": {"Mode": version.tracing_mode},
        "RevisionId": version.reported_revision,
        "PackageType": "Zip",
        "Architectures": list(version.architectures),
        "EphemeralStorage": {"Size": version.ephemeral_storage},
        "SnapStart": snapstart.response_shape(version),
        "LoggingConfig": _logging_config(version),
    }
    if version.environment or version.environment_sent:
        shape["Environment"] = {"Variables": dict(version.environment)}
    if version.layers:
        shape["Layers"] = [
            {"Arn": layer.arn, "CodeSize": layer.code_size} for layer in version.layers
        ]
    if version.dead_letter_target_arn:
        shape["DeadLetterConfig"] = {"TargetArn": version.dead_letter_target_arn}
    if version.kms_key_arn:
        shape["KMSKeyArn"] = version.kms_key_arn
    for key, value in version.passthrough.items():
        shape.setdefault(key, value)
    if with_state:
        shape["RuntimeVersionConfig"] = {
            "RuntimeVersionArn": runtime_version_arn(arns.region, version.runtime)
        }
        shape["State"] = version.state.value
        if version.state_reason:
            shape["StateReason"] = version.state_reason
            shape["StateReasonCode"] = version.state_reason_code
        if version.last_update_status is not None:
            shape["LastUpdateStatus"] = version.last_update_status.value
            if version.last_update_status_reason:
                shape["LastUpdateStatusReason"] = version.last_update_status_reason
                shape["LastUpdateStatusReasonCode"] = version.last_update_status_reason_code
    return shape


def runtime_version_arn(region: str, runtime: str) -> str:
    """AWS names each runtime build by a hash; Hearth's runtime is one build per name."""
    digest = hashlib.sha256(f"hearth:{runtime}".encode()).hexdigest()
    return f"arn:aws:lambda:{region}::runtime:{digest}"


def _logging_config(version: FunctionVersion) -> dict[str, str]:
    config = {
        "LogFormat": version.log_format,
        "LogGroup": version.log_group or f"/aws/lambda/{version.function_name}",
    }
    if version.application_log_level:
        config["ApplicationLogLevel"] = version.application_log_level
    if version.system_log_level:
        config["SystemLogLevel"] = version.system_log_level
    return config


def alias_configuration(alias: Alias, arns: ArnFormatter) -> dict[str, Any]:
    shape: dict[str, Any] = {
        "AliasArn": arns.function(alias.function_name, alias.name),
        "Name": alias.name,
        "FunctionVersion": alias.function_version,
        "Description": alias.description,
        "RevisionId": alias.revision_id,
    }
    if alias.routing_weights:
        shape["RoutingConfig"] = {"AdditionalVersionWeights": dict(alias.routing_weights)}
    return shape


def layer_version_item(layer: LayerVersion, arns: ArnFormatter) -> dict[str, Any]:
    """A LayerVersionsListItem."""
    shape: dict[str, Any] = {
        "LayerVersionArn": arns.layer_version(layer.layer_name, layer.version),
        "Version": layer.version,
        "Description": layer.description,
        "CreatedDate": layer.created_date,
    }
    if layer.compatible_runtimes or "CompatibleRuntimes" in layer.named_lists:
        shape["CompatibleRuntimes"] = list(layer.compatible_runtimes)
    if layer.compatible_architectures or "CompatibleArchitectures" in layer.named_lists:
        shape["CompatibleArchitectures"] = list(layer.compatible_architectures)
    if layer.license_info is not None:
        shape["LicenseInfo"] = layer.license_info
    return shape


def layer_version_detail(layer: LayerVersion, arns: ArnFormatter, location: str) -> dict[str, Any]:
    """PublishLayerVersion / GetLayerVersion's answer."""
    return {
        **layer_version_item(layer, arns),
        "Content": {
            "Location": location,
            "CodeSha256": code_sha256_b64(layer.code_sha256_hex),
            "CodeSize": layer.code_size,
        },
        "LayerArn": arns.layer(layer.layer_name),
    }


def event_invoke_config(view: EventConfigView, arns: ArnFormatter) -> dict[str, Any]:
    stored = view.stored
    # AWS names the unqualified config `:$LATEST` and always sends both destinations, `{}`
    # where none is set (recorded).
    shape: dict[str, Any] = {
        "LastModified": stored["LastModified"],
        "FunctionArn": arns.function(view.ref.name, view.ref.qualifier or LATEST),
    }
    for key in ("MaximumRetryAttempts", "MaximumEventAgeInSeconds"):
        if key in stored:
            shape[key] = stored[key]
    destinations = stored.get("DestinationConfig") or {}
    shape["DestinationConfig"] = {
        "OnSuccess": destinations.get("OnSuccess", {}),
        "OnFailure": destinations.get("OnFailure", {}),
    }
    return shape


def provisioned_concurrency_config(
    view: ProvisionedView, arns: ArnFormatter, *, with_arn: bool = False
) -> dict[str, Any]:
    """Get/Put's shape; List's items (`with_arn`) lead with the FunctionArn."""
    config, progress = view.config, view.progress
    allocated = 0 if progress is None else min(progress.allocated, config.requested)
    shape: dict[str, Any] = {}
    if with_arn:
        shape["FunctionArn"] = arns.function(view.function_name, view.qualifier)
    shape |= {
        "RequestedProvisionedConcurrentExecutions": config.requested,
        "AvailableProvisionedConcurrentExecutions": allocated,
        "AllocatedProvisionedConcurrentExecutions": allocated,
        "Status": "IN_PROGRESS" if progress is None else progress.status.value,
        "LastModified": config.last_modified,
    }
    if progress is not None and progress.reason is not None:
        shape["StatusReason"] = progress.reason
    return shape
