"""One handler per CloudFormation resource type Hearth runs: properties in, Lambda calls out."""

from __future__ import annotations

import hashlib
import io
import json
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

from hearth.templates.deployer import STACK_TAG, ApiDeployer, Deployer, ServiceDeployer
from hearth.templates.errors import TemplateError
from hearth.templates.state import Deployed
from hearth.templates.translate import PLACEHOLDER_BUCKET

# CreateFunction parameters a template's AWS::Lambda::Function may carry through.
_FUNCTION_KEYS = (
    "FunctionName",
    "Runtime",
    "Role",
    "Handler",
    "Description",
    "Timeout",
    "MemorySize",
    "Environment",
    "Layers",
    "Architectures",
    "EphemeralStorage",
    "DeadLetterConfig",
    "TracingConfig",
    "LoggingConfig",
    "SnapStart",
    "PackageType",
)
_INLINE_NAMES = {"python": "index.py", "nodejs": "index.js"}


@dataclass
class Context:
    """What a handler may use: the deployers, the code of a logical id, ARN parts."""

    deployer: Deployer
    services: ServiceDeployer
    apis: ApiDeployer
    code: Callable[[str, str], bytes | None]  # (code key, runtime) → the zip
    account: str
    region: str
    stack_name: str

    def function_arn(self, name: str) -> str:
        return f"arn:aws:lambda:{self.region}:{self.account}:function:{name}"


class Handler(Protocol):
    def apply(
        self, ctx: Context, logical_id: str, props: dict[str, Any], previous: Deployed | None
    ) -> Deployed: ...

    def delete(self, ctx: Context, logical_id: str, entry: Deployed) -> None: ...


def code_key(kind: str, props: dict[str, Any]) -> str | None:
    """The key of a resource's local code (translate.py's placeholder), if it has some."""
    location = props.get(
        {"AWS::Lambda::Function": "Code", "AWS::Lambda::LayerVersion": "Content"}.get(kind, "")
    )
    if isinstance(location, dict) and location.get("S3Bucket") == PLACEHOLDER_BUCKET:
        return str(location.get("S3Key"))
    return None


def _split_function(value: Any) -> tuple[str, str | None]:
    """A FunctionName that may be a name, an ARN, or a qualified ARN → (name, qualifier)."""
    text = str(value)
    if text.startswith("arn:"):
        parts = text.split(":")
        return parts[6], (parts[7] if len(parts) > 7 else None)
    return text, None


def _inline_zip(runtime: str, source: str) -> bytes:
    name = next(
        (file for prefix, file in _INLINE_NAMES.items() if runtime.startswith(prefix)), "index"
    )
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr(zipfile.ZipInfo(name, date_time=(1980, 1, 1, 0, 0, 0)), source)
    return buffer.getvalue()


class FunctionHandler:
    def apply(
        self, ctx: Context, logical_id: str, props: dict[str, Any], previous: Deployed | None
    ) -> Deployed:
        place = f"Resources.{logical_id}.Properties"
        name = str(props.get("FunctionName") or (previous.physical_id if previous else logical_id))
        config = {key: props[key] for key in _FUNCTION_KEYS if key in props}
        config["FunctionName"] = name
        tags = {str(tag["Key"]): str(tag["Value"]) for tag in props.get("Tags", [])}
        tags.update({STACK_TAG: ctx.stack_name, "hearth:logical-id": logical_id})
        config["Tags"] = tags
        code = props.get("Code", {})
        key = code_key("AWS::Lambda::Function", props)
        zip_bytes = ctx.code(key, str(props.get("Runtime", ""))) if key else None
        if zip_bytes is None and isinstance(code, dict) and "ZipFile" in code:
            zip_bytes = _inline_zip(str(props.get("Runtime", "")), str(code["ZipFile"]))
        if zip_bytes is None:
            if isinstance(code, dict) and code.get("S3Bucket") not in (None, PLACEHOLDER_BUCKET):
                config["Code"] = {
                    k: code[k] for k in ("S3Bucket", "S3Key", "S3ObjectVersion") if k in code
                }
            else:
                raise TemplateError(place, "Code: give a local CodeUri, or inline ZipFile code")
        if previous is not None and previous.physical_id != name:
            ctx.deployer.delete_function(previous.physical_id)  # renamed: a replacement
            previous = None
        code_sha = hashlib.sha256(zip_bytes).hexdigest() if zip_bytes is not None else ""
        config_digest = hashlib.sha256(
            json.dumps(config, sort_keys=True, default=str).encode()
        ).hexdigest()
        # A save that changed only code updates only code (hearth dev's reload path).
        same_code = previous is not None and previous.attributes.get("CodeSha") == code_sha
        same_config = (
            previous is not None and previous.attributes.get("ConfigDigest") == config_digest
        )
        result = ctx.deployer.put_function(
            config, None if same_code else zip_bytes, update_config=not same_config
        )
        reserved = props.get("ReservedConcurrentExecutions")
        if reserved is not None or (previous and previous.attributes.get("Reserved") is not None):
            ctx.deployer.put_concurrency(name, None if reserved is None else int(reserved))
        return Deployed(
            "AWS::Lambda::Function",
            name,
            {
                "Arn": result.get("FunctionArn", ctx.function_arn(name)),
                "Reserved": reserved,
                "CodeSha": code_sha,
                "ConfigDigest": config_digest,
            },
        )

    def delete(self, ctx: Context, logical_id: str, entry: Deployed) -> None:
        ctx.deployer.delete_function(entry.physical_id)


class VersionHandler:
    def apply(
        self, ctx: Context, logical_id: str, props: dict[str, Any], previous: Deployed | None
    ) -> Deployed:
        name, _ = _split_function(props["FunctionName"])
        result = ctx.deployer.publish_version(name, str(props.get("Description", "")))
        arn = str(result.get("FunctionArn", f"{ctx.function_arn(name)}:{result['Version']}"))
        return Deployed(
            "AWS::Lambda::Version", arn, {"Version": str(result["Version"]), "FunctionName": name}
        )

    def delete(self, ctx: Context, logical_id: str, entry: Deployed) -> None:
        """Versions stay, as SAM's DeletionPolicy Retain keeps them."""


class AliasHandler:
    def apply(
        self, ctx: Context, logical_id: str, props: dict[str, Any], previous: Deployed | None
    ) -> Deployed:
        function, _ = _split_function(props["FunctionName"])
        params: dict[str, Any] = {
            "FunctionName": function,
            "Name": str(props["Name"]),
            "FunctionVersion": str(props["FunctionVersion"]),
            "Description": str(props.get("Description", "")),
        }
        weights = (props.get("RoutingConfig") or {}).get("AdditionalVersionWeights")
        params["RoutingConfig"] = {
            "AdditionalVersionWeights": {
                str(w["FunctionVersion"]): float(w["FunctionWeight"]) for w in weights or []
            }
        }
        if previous is not None and previous.attributes.get("Name") != params["Name"]:
            ctx.deployer.delete_alias(function, str(previous.attributes.get("Name")))
        result = ctx.deployer.put_alias(params)
        provisioned = (props.get("ProvisionedConcurrencyConfig") or {}).get(
            "ProvisionedConcurrentExecutions"
        )
        had = previous is not None and previous.attributes.get("Provisioned") is not None
        if provisioned is not None or had:
            count = None if provisioned is None else int(provisioned)
            ctx.deployer.put_provisioned(function, params["Name"], count)
        arn = str(result.get("AliasArn", f"{ctx.function_arn(function)}:{params['Name']}"))
        attributes = {"Function": function, "Name": params["Name"], "Provisioned": provisioned}
        return Deployed("AWS::Lambda::Alias", arn, attributes)

    def delete(self, ctx: Context, logical_id: str, entry: Deployed) -> None:
        ctx.deployer.delete_alias(str(entry.attributes["Function"]), str(entry.attributes["Name"]))


class LayerHandler:
    def apply(
        self, ctx: Context, logical_id: str, props: dict[str, Any], previous: Deployed | None
    ) -> Deployed:
        key = code_key("AWS::Lambda::LayerVersion", props)
        zip_bytes = ctx.code(key, "") if key else None
        if zip_bytes is None:
            raise TemplateError(f"Resources.{logical_id}.Properties", "a layer needs local content")
        name = str(props.get("LayerName") or logical_id)
        params: dict[str, Any] = {
            key: props[key]
            for key in (
                "Description",
                "CompatibleRuntimes",
                "CompatibleArchitectures",
                "LicenseInfo",
            )
            if key in props
        }
        result = ctx.deployer.publish_layer({"LayerName": name, **params}, zip_bytes)
        return Deployed(
            "AWS::Lambda::LayerVersion",
            str(result["LayerVersionArn"]),
            {"LayerName": name, "Version": int(result["Version"])},
        )

    def delete(self, ctx: Context, logical_id: str, entry: Deployed) -> None:
        if not entry.retain:
            ctx.deployer.delete_layer_version(
                str(entry.attributes["LayerName"]), int(entry.attributes["Version"])
            )


class PermissionHandler:
    _KEYS = (
        "Action",
        "Principal",
        "SourceArn",
        "SourceAccount",
        "EventSourceToken",
        "FunctionUrlAuthType",
        "PrincipalOrgID",
        "InvokedViaFunctionUrl",
    )

    def apply(
        self, ctx: Context, logical_id: str, props: dict[str, Any], previous: Deployed | None
    ) -> Deployed:
        function, qualifier = _split_function(props["FunctionName"])
        params: dict[str, Any] = {key: props[key] for key in self._KEYS if key in props}
        params.update(FunctionName=function, StatementId=logical_id)
        if qualifier:
            params["Qualifier"] = qualifier
        if previous is not None:
            self.delete(ctx, logical_id, previous)
        ctx.deployer.add_permission(params)
        return Deployed(
            "AWS::Lambda::Permission", logical_id, {"Function": function, "Qualifier": qualifier}
        )

    def delete(self, ctx: Context, logical_id: str, entry: Deployed) -> None:
        qualifier = entry.attributes.get("Qualifier")
        ctx.deployer.remove_permission(
            str(entry.attributes["Function"]), logical_id, str(qualifier) if qualifier else None
        )


class EventInvokeConfigHandler:
    def apply(
        self, ctx: Context, logical_id: str, props: dict[str, Any], previous: Deployed | None
    ) -> Deployed:
        function, _ = _split_function(props["FunctionName"])
        qualifier = str(props.get("Qualifier", "$LATEST"))
        params: dict[str, Any] = {"FunctionName": function, "Qualifier": qualifier}
        for key in ("MaximumRetryAttempts", "MaximumEventAgeInSeconds"):
            if key in props:
                params[key] = int(props[key])
        if "DestinationConfig" in props:
            params["DestinationConfig"] = props["DestinationConfig"]
        ctx.deployer.put_event_invoke_config(params)
        return Deployed(
            "AWS::Lambda::EventInvokeConfig",
            f"{function}:{qualifier}",
            {"Function": function, "Qualifier": qualifier},
        )

    def delete(self, ctx: Context, logical_id: str, entry: Deployed) -> None:
        ctx.deployer.delete_event_invoke_config(
            str(entry.attributes["Function"]), str(entry.attributes["Qualifier"])
        )


class EventSourceMappingHandler:
    """SQS, Kinesis and DynamoDB Streams mappings (SAM's SQS / Kinesis / DynamoDB events)."""

    # What a template may say that CreateEventSourceMapping takes as it is.
    _KEYS = ("EventSourceArn", "Enabled", "BatchSize", "FilterCriteria", "ScalingConfig",
             "MaximumBatchingWindowInSeconds", "ParallelizationFactor", "StartingPosition",
             "StartingPositionTimestamp", "DestinationConfig", "MaximumRecordAgeInSeconds",
             "BisectBatchOnFunctionError", "MaximumRetryAttempts", "TumblingWindowInSeconds",
             "FunctionResponseTypes", "Tags")  # fmt: skip

    def apply(
        self, ctx: Context, logical_id: str, props: dict[str, Any], previous: Deployed | None
    ) -> Deployed:
        function, qualifier = _split_function(props["FunctionName"])
        params: dict[str, Any] = {key: props[key] for key in self._KEYS if key in props}
        params["FunctionName"] = f"{function}:{qualifier}" if qualifier else function
        if isinstance(params.get("Tags"), list):
            params["Tags"] = {str(tag["Key"]): str(tag["Value"]) for tag in params["Tags"]}
        source = params.get("EventSourceArn")
        same_source = previous is not None and previous.attributes.get("Source") == source
        if previous is not None and not same_source:
            # A mapping's source cannot change: a new one replaces it, as CloudFormation does.
            ctx.deployer.delete_event_source_mapping(previous.physical_id)
        keep = previous.physical_id if previous is not None and same_source else None
        uuid = ctx.deployer.put_event_source_mapping(keep, params)
        return Deployed("AWS::Lambda::EventSourceMapping", uuid, {"Id": uuid, "Source": source})

    def delete(self, ctx: Context, logical_id: str, entry: Deployed) -> None:
        ctx.deployer.delete_event_source_mapping(entry.physical_id)


class UrlHandler:
    """Function URLs (SAM's FunctionUrlConfig); GetAtt FunctionUrl is the URL Hearth serves."""

    def apply(
        self, ctx: Context, logical_id: str, props: dict[str, Any], previous: Deployed | None
    ) -> Deployed:
        function, qualifier = _split_function(props["TargetFunctionArn"])
        qualifier = str(props["Qualifier"]) if props.get("Qualifier") else qualifier
        params: dict[str, Any] = {
            key: props[key] for key in ("AuthType", "Cors", "InvokeMode") if key in props
        }
        params["FunctionName"] = function
        if qualifier:
            params["Qualifier"] = qualifier
        where = (function, qualifier)
        if previous is not None and previous.attributes.get("Where") != list(where):
            old_function, old_qualifier = previous.attributes["Where"]
            ctx.deployer.delete_function_url(str(old_function), old_qualifier)
        result = ctx.deployer.put_function_url(params)
        return Deployed(
            "AWS::Lambda::Url",
            str(result.get("FunctionArn", ctx.function_arn(function))),
            {
                "FunctionUrl": result["FunctionUrl"],
                "FunctionArn": result.get("FunctionArn"),
                "Where": list(where),
            },
        )

    def delete(self, ctx: Context, logical_id: str, entry: Deployed) -> None:
        function, qualifier = entry.attributes["Where"]
        ctx.deployer.delete_function_url(str(function), qualifier)


class QueueHandler:
    """AWS::SQS::Queue in the companion services; Ref is the queue URL, as on AWS."""

    _ATTRIBUTES = ("DelaySeconds", "MaximumMessageSize", "MessageRetentionPeriod",
                   "ReceiveMessageWaitTimeSeconds", "VisibilityTimeout", "FifoQueue",
                   "ContentBasedDeduplication", "RedrivePolicy", "RedriveAllowPolicy")  # fmt: skip

    def apply(
        self, ctx: Context, logical_id: str, props: dict[str, Any], previous: Deployed | None
    ) -> Deployed:
        fifo = str(props.get("FifoQueue", "")).lower() == "true"
        name = str(props.get("QueueName") or f"{ctx.stack_name}-{logical_id}")
        if fifo and not name.endswith(".fifo"):
            name += ".fifo"
        attributes = {
            key: json.dumps(props[key]) if isinstance(props[key], dict) else _api_text(props[key])
            for key in self._ATTRIBUTES
            if key in props
        }
        if previous is not None and previous.attributes.get("QueueName") != name:
            ctx.services.delete_queue(previous.physical_id)
        found = ctx.services.put_queue(name, attributes)
        return Deployed("AWS::SQS::Queue", found["QueueUrl"], dict(found))

    def delete(self, ctx: Context, logical_id: str, entry: Deployed) -> None:
        ctx.services.delete_queue(entry.physical_id)


class TableHandler:
    """AWS::DynamoDB::Table (and SAM's SimpleTable); Ref is the table name."""

    _KEYS = ("AttributeDefinitions", "KeySchema", "BillingMode", "ProvisionedThroughput",
             "StreamSpecification", "GlobalSecondaryIndexes", "LocalSecondaryIndexes")  # fmt: skip

    def apply(
        self, ctx: Context, logical_id: str, props: dict[str, Any], previous: Deployed | None
    ) -> Deployed:
        name = str(props.get("TableName") or f"{ctx.stack_name}-{logical_id}")
        params: dict[str, Any] = {key: props[key] for key in self._KEYS if key in props}
        params["TableName"] = name
        if "ProvisionedThroughput" not in params:
            params.setdefault("BillingMode", "PAY_PER_REQUEST")
        stream = params.get("StreamSpecification")
        if isinstance(stream, dict) and "StreamViewType" in stream:
            params["StreamSpecification"] = {"StreamEnabled": True, **stream}
        if previous is not None and previous.physical_id != name:
            ctx.services.delete_table(previous.physical_id)
        found = ctx.services.put_table(params)
        return Deployed("AWS::DynamoDB::Table", name, dict(found))

    def delete(self, ctx: Context, logical_id: str, entry: Deployed) -> None:
        ctx.services.delete_table(entry.physical_id)


def _api_text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


class RecordedHandler:
    """IAM: recorded and shown, not enforced (Hearth does not evaluate policies)."""

    def apply(
        self, ctx: Context, logical_id: str, props: dict[str, Any], previous: Deployed | None
    ) -> Deployed:
        name = str(props.get("RoleName") or props.get("PolicyName") or logical_id)
        arn = f"arn:aws:iam::{ctx.account}:role/{name}"
        return Deployed("AWS::IAM::Role", name, {"Arn": arn, "RoleId": name})

    def delete(self, ctx: Context, logical_id: str, entry: Deployed) -> None:
        """Nothing was created."""


RECORDED_TYPES = {
    "AWS::IAM::Role",
    "AWS::IAM::Policy",
    "AWS::IAM::ManagedPolicy",
    "AWS::IAM::InstanceProfile",
}
